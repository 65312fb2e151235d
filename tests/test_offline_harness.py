"""The offline harness runs a real ``AmplifierSession``: loop, context, providers, delegate.

Every session here is a kernel session built from ``offline_mount_plan`` and the entry points
``model-router-loop``, ``model-router-context``, ``provider-model-router-sim`` and
``tool-model-router-delegate``. A minimal app-style ``session.spawn`` (below) stands in for the
router's spawner, which the harness does not depend on.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from amplifier_core import AmplifierSession, HookResult, llm_errors
from amplifier_core.message_models import ChatRequest, Message, ThinkingBlock
from amplifier_core.models import ModelInfo
from session_kit import session

from amplifier_module_model_router.errors import CatalogError, UsageError
from amplifier_module_model_router.offline import RECORDER, offline_mount_plan
from amplifier_module_model_router.offline.script import ScriptError, parse_script
from amplifier_module_model_router.resolve.preferences import ProviderPreference
from amplifier_module_model_router.resolve.prices import Price, price_of
from amplifier_module_model_router.resolve.snapshot import load_catalog

SPAWN_KEYWORDS = {
    "agent_name",
    "instruction",
    "parent_session",
    "agent_configs",
    "sub_session_id",
    "tool_inheritance",
    "hook_inheritance",
    "orchestrator_config",
    "provider_preferences",
    "self_delegation_depth",
    "session_metadata",
}
AGENTS: dict[str, dict[str, Any]] = {
    "git-ops": {
        "description": "Commits and pushes",
        "provider_preferences": [{"provider": "openai", "model": "gpt-5.4"}],
    },
    "explorer": {
        "description": "Reads code",
        "provider_preferences": [{"provider": "github-copilot", "model": "claude-haiku-4.5"}],
    },
    "no-prefs": {"description": "Inherits the parent's model"},
}
LOOP_EVENTS = (
    "prompt:submit",
    "llm:request",
    "llm:response",
    "provider:error",
    "prompt:complete",
    "orchestrator:complete",
    "delegate:agent_spawned",
    "delegate:agent_completed",
    "delegate:error",
    "module:load_failed",
)


class MiniSpawner:
    """An app's ``session.spawn`` at its smallest: parent plan, first mounted preference promoted.

    Keyword-only by construction (``**kwargs``), so a positional call would fail loudly.
    """

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        parent = kwargs["parent_session"]
        plan = copy.deepcopy(parent.config)
        for pref in kwargs["provider_preferences"] or []:
            entry = next((e for e in plan["providers"] if e["instance_id"] == pref.provider), None)
            if entry is not None:
                entry["config"].update(priority=0, default_model=pref.model)
                break
        child = AmplifierSession(
            plan, session_id=kwargs["sub_session_id"], parent_id=parent.session_id
        )
        completion: dict[str, Any] = {}

        async def on_complete(event: str, data: dict[str, Any]) -> HookResult:
            completion.update(data)
            return HookResult()

        try:
            await child.initialize()
            child.coordinator.register_capability("session.spawn", self)
            child.coordinator.register_capability(
                "self_delegation_depth", kwargs["self_delegation_depth"]
            )
            child.coordinator.hooks.register(
                "orchestrator:complete", on_complete, name="mini-spawner"
            )
            output = await child.execute(kwargs["instruction"])
        finally:
            await child.cleanup()
        return {
            "output": output,
            "session_id": child.session_id,
            "status": completion.get("status", "success"),
            "turn_count": completion.get("turn_count", 1),
            "metadata": {},
        }

    def call_for(self, agent: str) -> dict[str, Any]:
        return next(c for c in self.calls if c["agent_name"] == agent)


class RoleResolver:
    """A ``model_role_resolver`` capability: role name -> preferences (routing-matrix's shape)."""

    def __init__(self, roles: dict[str, list[ProviderPreference]]) -> None:
        self.roles = roles

    async def resolve(self, role: str) -> list[ProviderPreference]:
        return self.roles.get(role, [])


@asynccontextmanager
async def running(
    plan: dict[str, Any],
    *,
    spawner: MiniSpawner | None = None,
    capabilities: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[AmplifierSession, list[tuple[str, dict[str, Any]]]]]:
    """An initialized session with every loop event captured; always cleaned up."""
    registered = {"session.spawn": spawner} if spawner is not None else {}
    caps = {**registered, **(capabilities or {})}
    async with session(plan, capabilities=caps, events=LOOP_EVENTS) as run:
        yield run


def events_named(seen: list[tuple[str, dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    return [data for event, data in seen if event == name]


def list_price(provider: str, model_id: str) -> Price:
    record = load_catalog().model(provider, model_id)
    assert record is not None and record.pricing is not None
    return record.pricing


@pytest.fixture(autouse=True)
def fresh_recorder() -> None:
    RECORDER.clear()


# --- catalog snapshot files -------------------------------------------------------------------


def test_embedded_catalog_serves_four_providers_with_their_defaults() -> None:
    snapshot = load_catalog()
    assert snapshot.source is None and snapshot.date.startswith("2026-")
    assert {"anthropic", "openai", "gemini", "github-copilot"} <= set(snapshot.providers)
    for name in snapshot.providers:
        assert snapshot.model(name, snapshot.default_model(name) or "") is not None
        for model in snapshot.models(name):
            if model.alias_of:
                assert snapshot.model(name, model.alias_of) is not None
    # Copilot bills premium requests: no token pricing, which must read as unknown.
    assert all(m.pricing is None for m in snapshot.models("github-copilot"))
    assert all(m.pricing is not None for m in snapshot.models("anthropic"))


def one_model(**fields: Any) -> str:
    """A one-provider catalog whose single model has ``fields`` over valid defaults."""
    model = {"id": "m-1", "context_window": 1000, "max_output_tokens": 100, **fields}
    return json.dumps({"date": "2026-11", "providers": {"p": {"models": [model]}}})


VALID_MODEL = {"id": "m-1", "context_window": 1000, "max_output_tokens": 100}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (json.dumps({"providers": {"p": {"models": [VALID_MODEL]}}}), "date"),
        (json.dumps({"date": "2026-11", "providers": {}}), "providers"),
        (one_model(context_window="big"), "providers.p.models[0].context_window"),
        (one_model(max_output_tokens=0), "providers.p.models[0].max_output_tokens"),
        (one_model(id="m-*"), "providers.p.models[0].id"),
        (one_model(pricing={"input": 1.0}), "providers.p.models[0].pricing"),
        (one_model(pricing={"input": -1, "output": 2}), "providers.p.models[0].pricing.input"),
        (one_model(alias_of="gone"), "providers.p.models[0].alias_of"),
        (one_model(price=3), "providers.p.models[0]"),
        (
            json.dumps({"date": "2026-11", "providers": {"p": {"models": [VALID_MODEL] * 2}}}),
            "providers.p.models[1].id",
        ),
        (
            json.dumps(
                {
                    "date": "2026-11",
                    "providers": {"p": {"default_model": "x", "models": [VALID_MODEL]}},
                }
            ),
            "providers.p.default_model",
        ),
    ],
)
def test_bad_catalog_file_names_the_file_and_the_field(
    tmp_path: Path, text: str, field: str
) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert caught.value.file == str(path)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{path}: {field}: ")


def test_unreadable_or_malformed_catalog_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CatalogError, match="cannot read catalog") as caught:
        load_catalog(missing)
    assert caught.value.file == str(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("date: '2026-11'\nproviders:\n  p: [unclosed\n")
    with pytest.raises(CatalogError, match="invalid YAML") as caught:
        load_catalog(broken)
    assert caught.value.file == str(broken) and caught.value.line is not None


# --- the script language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "tool", "arguments"),
    [
        (
            "DELEGATE git-ops: commit it",
            "delegate",
            {"agent": "git-ops", "instruction": "commit it"},
        ),
        (
            "DELEGATE model-router:git-ops: a: b",
            "delegate",
            {"agent": "model-router:git-ops", "instruction": "a: b"},
        ),
        (
            'DELEGATE x PREFS [{"provider": "openai", "model": "gpt-5*"}]: go',
            "delegate",
            {
                "agent": "x",
                "instruction": "go",
                "provider_preferences": [{"provider": "openai", "model": "gpt-5*"}],
            },
        ),
        (
            "DELEGATE x ROLE fast: go",
            "delegate",
            {"agent": "x", "instruction": "go", "model_role": "fast"},
        ),
        (
            'DELEGATE self: "DELEGATE a: one\\nDELEGATE b: two"',
            "delegate",
            {"agent": "self", "instruction": "DELEGATE a: one\nDELEGATE b: two"},
        ),
        ('CALL todo {"items": [1]}', "todo", {"items": [1]}),
    ],
)
def test_script_directives_become_tool_calls(
    prompt: str, tool: str, arguments: dict[str, Any]
) -> None:
    ((called, given),), text = parse_script("some words\n" + prompt)
    assert called == tool and text == "some words"
    assert {k: v for k, v in given.items() if k != "context_depth"} == arguments


@pytest.mark.parametrize(
    "prompt",
    [
        "DELEGATE",
        "DELEGATE a",
        "DELEGATE a:",
        "DELEGATE a PREFS {}: x",
        "DELEGATE a PREFS [oops]: x",
        'DELEGATE a: "x" y',
        "CALL t [1]",
    ],
)
def test_malformed_directive_names_its_line(prompt: str) -> None:
    with pytest.raises(ScriptError, match=r"^line 2: "):
        parse_script("fine text\n" + prompt)


# --- delegation in real sessions ---------------------------------------------------------------


async def test_parent_delegates_and_the_child_runs_on_the_agents_preference() -> None:
    spawner = MiniSpawner()
    async with running(offline_mount_plan(AGENTS), spawner=spawner) as (session, seen):
        output = await session.execute("ship the release\nDELEGATE git-ops: commit the work")
    call = spawner.call_for("git-ops")
    assert set(call) == SPAWN_KEYWORDS
    assert [(p.provider, p.model) for p in call["provider_preferences"]] == [
        ("openai", "gpt-5.4")
    ]
    assert call["parent_session"] is session and call["agent_configs"] == session.config["agents"]
    assert call["self_delegation_depth"] == 0 and call["session_metadata"] == {
        "agent_name": "git-ops"
    }
    assert call["sub_session_id"].endswith("_git-ops")

    child_id = call["sub_session_id"]
    assert set(RECORDER.models_used(session.session_id)) == {("anthropic", "claude-sonnet-4-5")}
    assert RECORDER.models_used(child_id) == [("openai", "gpt-5.4")]
    assert set(RECORDER.by_session(root=session.session_id)) == {session.session_id, child_id}
    assert output.splitlines() == [
        "[anthropic/claude-sonnet-4-5] done: ship the release",
        "- git-ops: [openai/gpt-5.4] done: commit the work",
    ]

    (spawned,) = events_named(seen, "delegate:agent_spawned")
    assert spawned["provider_preferences"] == [{"provider": "openai", "model": "gpt-5.4"}]
    assert (
        spawned["sub_session_id"] == child_id and spawned["parent_session_id"] == session.session_id
    )
    assert events_named(seen, "delegate:agent_completed")[0]["success"] is True
    responses = events_named(seen, "llm:response")
    assert [(d["provider"], d["model"], d["status"]) for d in responses] == [
        ("anthropic", "claude-sonnet-4-5", "ok")
    ] * 2
    assert responses[0]["usage"]["input_tokens"] > 0
    (complete,) = events_named(seen, "orchestrator:complete")
    assert complete == {**complete, "turn_count": 1, "status": "success"}


GEMINI_FLASH = [{"provider": "gemini", "model": "gemini-2.5-flash"}]
ROLE_PREFS = {"fast": [ProviderPreference("github-copilot", "gpt-5-mini")], "empty": []}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"DELEGATE git-ops PREFS {json.dumps(GEMINI_FLASH)}: x", ("gemini", "gemini-2.5-flash")),
        ("DELEGATE git-ops ROLE fast: x", ("github-copilot", "gpt-5-mini")),
        (
            f"DELEGATE git-ops ROLE fast PREFS {json.dumps(GEMINI_FLASH)}: x",
            ("gemini", "gemini-2.5-flash"),
        ),
        ("DELEGATE git-ops ROLE empty: x", ("openai", "gpt-5.4")),
        ("DELEGATE git-ops: x", ("openai", "gpt-5.4")),
        ("DELEGATE no-prefs: x", ("anthropic", "claude-sonnet-4-5")),
        ("DELEGATE self: x", ("anthropic", "claude-sonnet-4-5")),
    ],
)
async def test_preference_precedence_call_then_role_then_agent(
    line: str, expected: tuple[str, str]
) -> None:
    spawner = MiniSpawner()
    capabilities = {"model_role_resolver": RoleResolver(ROLE_PREFS)}
    async with running(offline_mount_plan(AGENTS), spawner=spawner, capabilities=capabilities) as (
        session,
        _,
    ):
        await session.execute(line)
    (call,) = spawner.calls
    assert RECORDER.models_used(call["sub_session_id"]) == [expected]
    prefs = call["provider_preferences"]
    if call["agent_name"] in ("self", "no-prefs"):
        assert prefs is None
    else:
        assert (prefs[0].provider, prefs[0].model) == expected
    assert call["self_delegation_depth"] == (1 if call["agent_name"] == "self" else 0)


async def test_nested_and_parallel_delegations_form_one_tree() -> None:
    spawner = MiniSpawner()
    prompt = 'plan it\nDELEGATE self: "split\\nDELEGATE git-ops: one\\nDELEGATE explorer: two"'
    async with running(offline_mount_plan(AGENTS), spawner=spawner) as (session, _):
        output = await session.execute(prompt)
    self_call = spawner.call_for("self")
    inner = [
        c for c in spawner.calls if c["parent_session"].session_id == self_call["sub_session_id"]
    ]
    assert sorted(c["agent_name"] for c in inner) == ["explorer", "git-ops"]
    span = self_call["sub_session_id"].split("-")[1].split("_")[0]
    assert all(c["sub_session_id"].startswith(span + "-") for c in inner)
    tree = RECORDER.by_session(root=session.session_id)
    assert len(tree) == 4
    assert RECORDER.models_used(spawner.call_for("explorer")["sub_session_id"]) == [
        ("github-copilot", "claude-haiku-4.5")
    ]
    # Both grandchildren were asked for in one response: one round of tool calls.
    assert [c.tool_calls for c in tree[self_call["sub_session_id"]]] == [
        ("delegate", "delegate"),
        (),
    ]
    assert "  - git-ops: [openai/gpt-5.4] done: one" in output.splitlines()
    assert "  - explorer: [github-copilot/claude-haiku-4.5] done: two" in output.splitlines()


@pytest.mark.parametrize(
    ("line", "register_spawner", "message"),
    [
        ("DELEGATE git-ops: x", False, "Session spawning not available"),
        ("DELEGATE nobody: x", True, "Agent 'nobody' not found"),
        ('DELEGATE git-ops PREFS [{"provider": "openai"}]: x', True, "missing 'model'"),
        (
            "DELEGATE git-ops PREFS "
            '[{"provider": "openai", "model": "m", "config": {"api_key": "k"}}]: x',
            True,
            "credentials and endpoints",
        ),
    ],
)
async def test_delegation_failures_come_back_as_the_tools_answer(
    line: str, register_spawner: bool, message: str
) -> None:
    spawner = MiniSpawner() if register_spawner else None
    async with running(offline_mount_plan(AGENTS), spawner=spawner) as (session, seen):
        output = await session.execute(line)
    assert message in output
    assert not events_named(seen, "delegate:agent_spawned")
    assert spawner is None or not spawner.calls


async def test_self_delegation_stops_at_the_depth_limit() -> None:
    spawner = MiniSpawner()
    prompt = (
        'DELEGATE self: "DELEGATE self: \\"DELEGATE self: \\\\\\"DELEGATE self: deep\\\\\\"\\""'
    )
    async with running(offline_mount_plan(AGENTS), spawner=spawner) as (session, _):
        output = await session.execute(prompt)
    assert [c["self_delegation_depth"] for c in spawner.calls] == [1, 2, 3]
    assert "Self-delegation depth limit (3) exceeded" in output


# --- provider behaviour and faults --------------------------------------------------------------


async def test_list_models_serves_the_catalog_or_the_configured_fault() -> None:
    plan = offline_mount_plan(
        failing=["openai"],
        provider_config={
            "gemini": {"list_models": "junk"},
            "github-copilot": {"list_models": {"mode": "hang"}},
        },
    )
    async with running(plan) as (session, _):
        providers = session.coordinator.get("providers")
        anthropic = await providers["anthropic"].list_models()
        with pytest.raises(llm_errors.ProviderUnavailableError):
            await providers["openai"].list_models()
        junk = await providers["gemini"].list_models()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(providers["github-copilot"].list_models(), 0.05)
    snapshot = load_catalog()
    assert [m.id for m in anthropic] == [m.id for m in snapshot.models("anthropic")]
    assert all(isinstance(m, ModelInfo) and m.pricing is not None for m in anthropic)
    haiku = next(m for m in anthropic if m.id == "claude-haiku-4-5-20251001")
    assert price_of(haiku) == list_price("anthropic", haiku.id)
    assert junk and not any(isinstance(m, ModelInfo) for m in junk)
    outcomes = {
        c.provider: c.outcome for c in RECORDER.catalog_calls(session_id=session.session_id)
    }
    assert outcomes == {
        "anthropic": "ok",
        "openai": "raise",
        "gemini": "junk",
        "github-copilot": "hang",
    }


@pytest.mark.parametrize(("mode", "expected"), [("strings", str), ("empty", None)])
async def test_list_models_can_return_plain_ids_or_nothing(
    mode: str, expected: type | None
) -> None:
    plan = offline_mount_plan(
        providers=["openai"], provider_config={"openai": {"list_models": mode}}
    )
    async with running(plan) as (session, _):
        models = await session.coordinator.get("providers")["openai"].list_models()
    if expected is None:
        assert models == []
    else:
        assert models == [m.id for m in load_catalog().models("openai")]


async def test_flaky_session_provider_raises_a_rate_limit_through_the_loop() -> None:
    async with running(offline_mount_plan(flaky=["anthropic"])) as (session, seen):
        provider = session.coordinator.get("providers")["anthropic"]
        with pytest.raises(llm_errors.RateLimitError) as caught:
            await provider.complete(ChatRequest(messages=[Message(role="user", content="hi")]))
        # The kernel's execute() re-raises a loop error as a RuntimeError naming its type.
        with pytest.raises(RuntimeError, match="RateLimitError"):
            await session.execute("hello")
    assert caught.value.retry_after == 30.0 and caught.value.status_code == 429
    assert caught.value.provider == "anthropic" and caught.value.model == "claude-sonnet-4-5"
    (error,) = events_named(seen, "provider:error")
    assert error["provider"] == "anthropic" and error["error"]["type"] == "RateLimitError"
    assert [c.error for c in RECORDER.completions(session_id=session.session_id)] == [
        "RateLimitError"
    ] * 2


async def test_a_fault_from_the_second_call_strikes_mid_run() -> None:
    spawner = MiniSpawner()
    fault = {"anthropic": {"complete_error": {"type": "ProviderUnavailableError", "from_call": 2}}}
    async with running(offline_mount_plan(AGENTS, provider_config=fault), spawner=spawner) as (
        session,
        _,
    ):
        with pytest.raises(RuntimeError, match="ProviderUnavailableError"):
            await session.execute("DELEGATE git-ops: commit")
    parent = RECORDER.completions(session_id=session.session_id)
    assert [(c.call_index, c.error) for c in parent] == [(1, None), (2, "ProviderUnavailableError")]
    assert RECORDER.models_used(spawner.calls[0]["sub_session_id"]) == [("openai", "gpt-5.4")]


async def test_fault_limited_to_some_models_and_some_calls() -> None:
    fault = {
        "openai": {"complete_error": {"type": "RateLimitError", "times": 1, "models": ["gpt-5.4*"]}}
    }
    async with running(offline_mount_plan(providers=["openai"], provider_config=fault)) as (
        session,
        _,
    ):
        provider = session.coordinator.get("providers")["openai"]
        request = ChatRequest(messages=[Message(role="user", content="hi")])
        await provider.complete(request, model="gpt-5-mini")
        with pytest.raises(llm_errors.RateLimitError):
            await provider.complete(request, model="gpt-5.4")
        await provider.complete(request, model="gpt-5.4")
    calls = RECORDER.completions(session_id=session.session_id)
    assert [(c.model, c.error) for c in calls] == [
        ("gpt-5-mini", None),
        ("gpt-5.4", "RateLimitError"),
        ("gpt-5.4", None),
    ]


async def test_model_per_call_is_kwarg_then_request_then_default() -> None:
    async with running(offline_mount_plan(providers=["github-copilot"])) as (session, _):
        provider = session.coordinator.get("providers")["github-copilot"]
        plain = ChatRequest(messages=[Message(role="user", content="hi")])
        pinned = ChatRequest(messages=[Message(role="user", content="hi")], model="gpt-5.4")
        await provider.complete(pinned, model="claude-opus-4.8")
        answer = await provider.complete(pinned)
        await provider.complete(plain)
        for model in ("claude-opus-*", "claude-opus-4-8"):
            with pytest.raises(llm_errors.NotFoundError):
                await provider.complete(plain, model=model)
    calls = RECORDER.completions(session_id=session.session_id)
    assert [(c.model, c.model_source) for c in calls[:3]] == [
        ("claude-opus-4.8", "kwargs"),
        ("gpt-5.4", "request"),
        ("claude-opus-4.5", "default"),
    ]
    assert [c.error for c in calls[3:]] == ["NotFoundError", "NotFoundError"]
    assert answer.content[0].text == "[github-copilot/gpt-5.4] done: hi"


async def test_loop_runs_on_the_lowest_priority_provider() -> None:
    plan = offline_mount_plan(session_model="gemini/gemini-2.5-pro", down=["anthropic"])
    async with running(plan) as (session, seen):
        assert list(session.coordinator.get("providers")) == ["gemini", "openai", "github-copilot"]
        output = await session.execute("hello there")
    assert output == "[gemini/gemini-2.5-pro] done: hello there"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"down": ["azure"]}, "down"),
        ({"failing": ["google"]}, "failing"),
        ({"providers": ["anthropic", "mistral"]}, "providers"),
        ({"session_model": "openai/gpt-9"}, "session_model"),
        ({"session_model": "gpt-5"}, "session_model"),
        ({"session_model": "anthropic/claude-sonnet-4-6", "down": ["anthropic"]}, "session_model"),
        ({"down": ["anthropic", "openai", "gemini", "github-copilot"]}, "down"),
    ],
)
def test_mount_plan_rejects_what_it_cannot_build(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(UsageError) as caught:
        offline_mount_plan(**kwargs)
    assert caught.value.field == field


async def test_a_bad_provider_config_is_a_visible_load_failure() -> None:
    plan = offline_mount_plan(provider_config={"openai": {"list_models": {"mode": "explode"}}})
    async with running(plan) as (session, seen):
        assert "openai" not in session.coordinator.get("providers")
    (failed,) = events_named(seen, "module:load_failed")
    assert failed["module_id"] == "provider-model-router-sim" and failed["instance_id"] == "openai"
    assert "list_models.mode" in failed["error"]


async def test_usage_carries_cost_only_where_reported_and_priced() -> None:
    config = {"anthropic": {"report_cost": True}, "github-copilot": {"report_cost": True}}
    spawner = MiniSpawner()
    async with running(offline_mount_plan(AGENTS, provider_config=config), spawner=spawner) as (
        session,
        seen,
    ):
        await session.execute("DELEGATE explorer: look\nDELEGATE git-ops: commit")
    by_provider: dict[str, list[Any]] = {}
    for call in RECORDER.completions(root=session.session_id):
        by_provider.setdefault(call.provider, []).append(call)
    price = list_price("anthropic", "claude-sonnet-4-6")
    for call in by_provider["anthropic"]:
        expected = (
            Decimal(str(price.input_per_million)) * (call.input_tokens - call.cache_read_tokens)
            + Decimal(str(price.cache_read_per_million)) * call.cache_read_tokens
            + Decimal(str(price.output_per_million)) * call.output_tokens
        ) / 1_000_000
        assert call.cost_usd == expected
    assert by_provider["anthropic"][1].cache_read_tokens > 0
    assert [c.cost_usd for c in by_provider["github-copilot"]] == [None]
    assert [c.cost_usd for c in by_provider["openai"]] == [None]
    parent_costs = [d["usage"]["cost_usd"] for d in events_named(seen, "llm:response")]
    assert parent_costs == [str(c.cost_usd) for c in by_provider["anthropic"]]


async def test_thinking_provider_signs_its_state_and_rejects_another_vendors() -> None:
    plan = offline_mount_plan(
        providers=["anthropic"], provider_config={"anthropic": {"thinking": True}}
    )
    async with running(plan) as (session, _):
        provider = session.coordinator.get("providers")["anthropic"]
        first = await provider.complete(ChatRequest(messages=[Message(role="user", content="hi")]))
        own = Message(role="assistant", content=first.content, metadata=first.metadata)
        await provider.complete(ChatRequest(messages=[own, Message(role="user", content="again")]))
        foreign = Message(
            role="assistant",
            content=[ThinkingBlock(thinking="t", signature="sim:openai:1")],
            metadata={"openai:response_id": "resp_1"},
        )
        with pytest.raises(llm_errors.InvalidRequestError):
            await provider.complete(
                ChatRequest(messages=[foreign, Message(role="user", content="x")])
            )
    calls = RECORDER.completions(session_id=session.session_id)
    assert [c.foreign_state for c in calls] == [
        (),
        (),
        ("thinking:sim:openai:1", "openai:response_id"),
    ]
    assert calls[2].error == "InvalidRequestError"


async def test_a_catalog_file_replaces_the_embedded_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    claude = {
        "id": "claude-test-9",
        "context_window": 9000,
        "max_output_tokens": 900,
        "pricing": {"input": 1, "output": 2},
    }
    gpt = {"id": "gpt-test-1", "context_window": 8000, "max_output_tokens": 800}
    path.write_text(
        json.dumps(
            {
                "date": "2027-01-15",
                "providers": {
                    "anthropic": {"default_model": "claude-test-9", "models": [claude]},
                    "openai": {"models": [gpt]},
                },
            }
        )
    )
    plan = offline_mount_plan(providers=["anthropic", "openai"], catalog=path)
    async with running(plan) as (session, _):
        providers = session.coordinator.get("providers")
        assert [m.id for m in await providers["openai"].list_models()] == ["gpt-test-1"]
        output = await session.execute("hi")
    assert output == "[anthropic/claude-test-9] done: hi"


async def test_endpoint_names_the_catalog_so_caches_never_mix_scenarios() -> None:
    plans = [
        offline_mount_plan(providers=["openai"]),
        offline_mount_plan(providers=["openai"], session_model="openai/gpt-5.4"),
        offline_mount_plan(providers=["openai"], failing=["openai"]),
    ]
    endpoints = []
    for plan in plans:
        async with running(plan) as (session, _):
            endpoints.append(session.coordinator.get("providers")["openai"].base_url)
    assert endpoints[0] == endpoints[1] != endpoints[2]
    assert all(e.startswith("sim://offline/openai/") for e in endpoints)
