"""The module in real AmplifierSessions: every agent gets its tier's model, whatever happens.

Each scenario runs one parent session that delegates to all 16 agents and ``self`` in parallel
through a tool-delegate-shaped tool; what a child's provider actually received is read from the
offline providers' call recorder, never from our own event.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from amplifier_core.models import HookResult
from session_kit import (
    AGENT_TIER,
    ALL_AGENTS,
    BUNDLE,
    NS,
    ROOT,
    AppCliStandIn,
    Run,
    delegate_lines,
    routed_plan,
    run,
    session,
)

from amplifier_module_model_router import mount
from amplifier_module_model_router.bundle.loader import agent_configs, load_bundle
from amplifier_module_model_router.errors import BundleError, SettingsError
from amplifier_module_model_router.offline import RECORDER
from amplifier_module_model_router.resolve.globs import is_glob
from amplifier_module_model_router.session.router import session_entries

ANTHROPIC = {
    "budget": ("anthropic", "claude-haiku-4-5"),
    "strong": ("anthropic", "claude-sonnet-5"),
    "strong-code": ("anthropic", "claude-sonnet-5"),
    "frontier": ("anthropic", "claude-opus-4-8"),
}
OPENAI = {
    # the recorded OpenAI list has no 5.6 line yet: the bare flagship via each group, and the
    # first budget glob that matches (gpt-5-mini; no luna, no gpt-5.x-mini)
    "budget": ("openai", "gpt-5-mini"),
    "strong": ("openai", "gpt-5.5"),
    "strong-code": ("openai", "gpt-5.5"),  # newest across the codex/terra/bare group: 5.5 beats 5.3-codex
    "frontier": ("openai", "gpt-5.5"),
}
EVERYONE = delegate_lines((*ALL_AGENTS, "self"))


def assert_routed(result: Run, expected: dict[str, tuple[str, str]], self_model: tuple[str, str]) -> None:
    wrong = {}
    for agent in ALL_AGENTS:
        used = set(result.child_models(agent))
        if used != {expected[AGENT_TIER[agent]]}:
            wrong[agent] = used
    assert not wrong, f"agents on the wrong model: {wrong}"
    assert set(result.child_models("self")) == {self_model}


@pytest.mark.parametrize(
    "session_model",
    ["anthropic/claude-opus-4-8", "anthropic/claude-haiku-4-5", "openai/gpt-5-nano"],
)
async def test_every_agent_runs_on_its_tiers_newest_model_whatever_the_parents_model(
    session_model: str,
) -> None:
    result = await run(routed_plan(session_model=session_model), EVERYONE)

    provider, model = session_model.split("/")
    assert_routed(result, ANTHROPIC, self_model=(provider, model))
    # the parent itself never moved
    assert {(c.provider, c.model) for c in RECORDER.completions(session_id=result.session_id)} == {
        (provider, model)
    }


async def test_budget_agents_downgrade_and_the_architect_upgrades() -> None:
    frontier_parent = await run(
        routed_plan(session_model="anthropic/claude-opus-4-8"), delegate_lines(["git-ops"])
    )
    assert frontier_parent.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]

    RECORDER.clear()
    budget_parent = await run(
        routed_plan(session_model="openai/gpt-5-nano"), delegate_lines(["zen-architect"])
    )
    assert budget_parent.child_models("zen-architect") == [("anthropic", "claude-opus-4-8")]


async def test_anthropic_not_mounted_every_agent_lands_on_openai() -> None:
    result = await run(routed_plan(down=["anthropic"], session_model="openai/gpt-5.5"), EVERYONE)

    assert_routed(result, OPENAI, self_model=("openai", "gpt-5.5"))
    skipped = result.resolved("git-ops")["skipped"]
    assert skipped[0]["provider"] == "anthropic" and "not mounted" in skipped[0]["reason"]


async def test_anthropic_catalog_raising_every_agent_lands_on_openai_with_one_lookup() -> None:
    result = await run(
        routed_plan(failing=["anthropic"], session_model="anthropic/claude-sonnet-4-6"), EVERYONE
    )

    assert_routed(result, OPENAI, self_model=("anthropic", "claude-sonnet-4-6"))
    reason = result.resolved("zen-architect")["skipped"][0]["reason"]
    assert "ProviderUnavailableError" in reason or "lookup failed" in reason
    assert len(RECORDER.catalog_calls(provider="anthropic")) == 1


async def test_only_openai_and_copilot_copilot_takes_what_openai_lacks() -> None:
    small_openai = [
        {"id": "gpt-5.4-mini", "context_window": 400000, "max_output_tokens": 128000},
        {"id": "gpt-5-nano", "context_window": 400000, "max_output_tokens": 128000},
    ]
    plan = routed_plan(
        providers=("openai", "github-copilot"),
        session_model="openai/gpt-5-nano",
        provider_config={"openai": {"models": small_openai, "default_model": "gpt-5-nano"}},
    )
    result = await run(plan, EVERYONE)

    expected = {
        "budget": ("openai", "gpt-5.4-mini"),
        "strong": ("github-copilot", "claude-sonnet-5"),
        "strong-code": ("github-copilot", "claude-sonnet-5"),
        "frontier": ("github-copilot", "claude-opus-4.8"),
    }
    assert_routed(result, expected, self_model=("openai", "gpt-5-nano"))
    reasons = [s["reason"] for s in result.resolved("zen-architect")["skipped"]]
    assert any("no model matches" in r or "no member of the group matches" in r for r in reasons), reasons


async def test_preferences_in_the_delegate_call_override_the_tier() -> None:
    prefs = [{"provider": "openai", "model": "gpt-[0-9].[0-9]"}]
    result = await run(routed_plan(), delegate_lines(["git-ops"], prefs=prefs))

    assert result.child_models("git-ops") == [("openai", "gpt-5.5")]
    event = result.resolved("git-ops")
    assert event["source"] == "call" and event["tier"] == "budget"
    assert event["requested"] == prefs


async def test_plain_and_namespaced_agent_keys_both_route() -> None:
    plain = {name.removeprefix(NS): cfg for name, cfg in agent_configs(BUNDLE).items()}
    result = await run(
        routed_plan(agents=plain), "DELEGATE git-ops: commit\nDELEGATE model-router:zen-architect: plan"
    )

    assert result.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]
    assert result.child_models("zen-architect") == [("anthropic", "claude-opus-4-8")]


async def test_resolved_event_payload_field_by_field() -> None:
    result = await run(
        routed_plan(down=["anthropic"], session_model="openai/gpt-5.5"), delegate_lines(["git-ops"])
    )
    event = result.resolved("git-ops")

    budget = [p.to_dict() for p in BUNDLE.tiers["budget"]]
    assert event["agent"] == f"{NS}git-ops"
    assert event["tier"] == "budget"
    assert event["source"] == "agent"
    assert event["outcome"] == "routed"
    assert event["requested"] == budget
    assert (event["provider"], event["model"]) == ("openai", "gpt-5-mini")
    assert event["fallbacks"][0] == {"provider": "openai", "model": "gpt-5-nano"}
    assert all(not is_glob(f["model"]) for f in event["fallbacks"])
    assert event["skipped"][0] == {
        "provider": "anthropic",
        "model": "claude-haiku-*",
        "reason": event["skipped"][0]["reason"],
    }
    assert "not mounted" in event["skipped"][0]["reason"]
    assert event["from_cache"] is True  # session:start prefetched the catalogs the tiers need
    assert isinstance(event["resolution_ms"], float) and event["resolution_ms"] >= 0
    assert event["sub_session_id"] and event["sub_session_id"].endswith("_model-router-git-ops")
    assert event["reason"] is None
    assert event["session_id"] == result.session_id  # kernel default field: emitted by the parent


async def test_without_prefetch_the_first_spawn_fetches_and_says_so() -> None:
    result = await run(routed_plan(hook_options={"prefetch": False}), delegate_lines(["git-ops"]))
    assert result.resolved("git-ops")["from_cache"] is False
    assert result.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]


async def test_self_and_untiered_agents_inherit_the_parents_model_and_say_so() -> None:
    agents = agent_configs(BUNDLE)
    agents["helper"] = {"description": "no tier, no preferences", "instruction": "help"}
    result = await run(
        routed_plan(agents=agents, session_model="gemini/gemini-2.5-pro"),
        "DELEGATE helper: hi\nDELEGATE self: hi",
    )

    for agent in ("helper", "self"):
        assert result.child_models(agent) == [("gemini", "gemini-2.5-pro")]
        event = result.resolved(agent)
        assert (event["source"], event["outcome"]) == ("inherit", "inherit")
        assert (event["provider"], event["model"]) == ("gemini", "gemini-2.5-pro")


async def test_fifty_concurrent_delegations_cost_one_catalog_call_per_provider() -> None:
    agents = [ALL_AGENTS[i % len(ALL_AGENTS)] for i in range(50)]
    result = await run(routed_plan(), delegate_lines(agents))

    assert len(result.named("model_router:resolved")) == 50
    per_provider = {
        p: len(RECORDER.catalog_calls(provider=p))
        for p in ("anthropic", "openai", "gemini", "github-copilot")
    }
    assert all(n <= 1 for n in per_provider.values()), per_provider
    assert per_provider["anthropic"] == 1


async def test_an_app_spawner_only_ever_receives_concrete_models() -> None:
    app = AppCliStandIn()
    result = await run(
        routed_plan(session_model="anthropic/claude-opus-4-8"), EVERYONE, capabilities={"session.spawn": app}
    )

    assert len(app.calls) == len(ALL_AGENTS) + 1
    for call in app.calls:
        prefs = call["provider_preferences"] or []
        assert all(not is_glob(p.model) for p in prefs), call["agent_name"]
        own = call["agent_configs"].get(call["agent_name"], {})
        assert all(not is_glob(p["model"]) for p in own.get("provider_preferences") or [])
    self_call = next(c for c in app.calls if c["agent_name"] == "self")
    assert self_call["provider_preferences"] is None
    assert_routed(result, ANTHROPIC, self_model=("anthropic", "claude-opus-4-8"))
    # the app's spawner did no catalog lookup of its own: only the router's prefetch/resolution
    assert all(
        len(RECORDER.catalog_calls(provider=p)) <= 1
        for p in ("anthropic", "openai", "gemini", "github-copilot")
    )


async def test_nothing_resolvable_inherits_loudly_and_strict_mode_fails_the_spawn() -> None:
    tiers = {"budget": [{"provider": "anthropic", "model": "claude-haiku-*"}]}
    agents = {"model-router:git-ops": {"model_tier": "budget", "instruction": "commit"}}
    loose = await run(
        routed_plan(
            agents=agents, down=["anthropic"], session_model="openai/gpt-5.5", hook_options={"tiers": tiers}
        ),
        delegate_lines(["git-ops"]),
    )
    event = loose.resolved("git-ops")
    assert event["outcome"] == "unresolved" and "inherit" in event["reason"]
    assert loose.child_models("git-ops") == [("openai", "gpt-5.5")]

    strict = await run(
        routed_plan(
            agents=agents,
            down=["anthropic"],
            session_model="openai/gpt-5.5",
            hook_options={"tiers": tiers, "strict": True},
        ),
        delegate_lines(["git-ops"]),
    )
    errors = strict.named("delegate:error")
    assert len(errors) == 1
    text = json.dumps(errors[0])
    assert "model-router:git-ops" in text and "anthropic/claude-haiku-*" in text and "not mounted" in text
    refused = strict.resolved("git-ops")
    assert (refused["outcome"], refused["provider"], refused["model"]) == ("refused", None, None)
    assert refused["skipped"][0]["reason"] == "provider 'anthropic' is not mounted"
    assert RECORDER.completions(provider="anthropic") == []
    assert {c.session_id for c in RECORDER.completions(root=strict.session_id)} == {strict.session_id}


async def test_derived_bundle_routes_the_inherited_agents_exactly_as_the_base() -> None:
    derived = load_bundle(ROOT / "bundles" / "amplifier-dev.md")
    own = sorted(set(derived.agents) - set(BUNDLE.agents))
    assert own, "the derived bundle adds agents of its own"
    derived_agents = agent_configs(derived)
    own_keys = [key for key in derived_agents if key.rsplit(":", 1)[-1] in own]
    result = await run(
        routed_plan(bundle=derived, agents=derived_agents, session_model="openai/gpt-5-nano"),
        delegate_lines([*ALL_AGENTS, *own_keys]),
    )

    base = await run(routed_plan(), delegate_lines(ALL_AGENTS))
    for agent in ALL_AGENTS:
        assert result.child_models(agent) == base.child_models(agent), agent
    for agent, key in zip(own, own_keys):
        tier = derived.agents[agent].tier
        assert result.resolved(key)["tier"] == tier
        assert result.child_models(key) == [ANTHROPIC[tier]], agent


async def test_a_resumed_session_routes_too() -> None:
    result = await run(routed_plan(), delegate_lines(["git-ops"]), is_resumed=True)
    assert result.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]


async def test_agents_that_declare_a_model_role_stay_routing_matrixs() -> None:
    agents = agent_configs(BUNDLE)
    agents["matrix:coder"] = {"model_role": "coding", "instruction": "code"}
    written: dict[str, Any] = {}

    async def routing_matrix(event: str, data: dict[str, Any]) -> HookResult:
        live = s.coordinator.config["agents"]
        live["matrix:coder"]["provider_preferences"] = [{"provider": "gemini", "model": "gemini-2.5-pro"}]
        written["ran"] = True
        return HookResult()

    async with session(routed_plan(agents=agents)) as (s, seen):
        s.coordinator.hooks.register("session:start", routing_matrix, priority=5, name="hooks-routing")
        await s.execute("DELEGATE matrix:coder: write code\nDELEGATE model-router:git-ops: commit")
        result = Run(s.session_id, "", seen)
        live = s.coordinator.config["agents"]

    assert written["ran"]
    assert live["matrix:coder"]["provider_preferences"] == [{"provider": "gemini", "model": "gemini-2.5-pro"}]
    assert "model_tier" not in live["matrix:coder"]
    assert result.child_models("matrix:coder") == [("gemini", "gemini-2.5-pro")]
    assert live["model-router:git-ops"]["provider_preferences"] == [
        p.to_dict() for p in BUNDLE.tiers["budget"]
    ]


async def test_invalid_module_config_fails_the_mount_and_the_session_shows_it() -> None:
    class Coordinator:  # mount() must refuse before touching the coordinator
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"touched coordinator.{name}")

    with pytest.raises(SettingsError, match="cache_tll"):
        await mount(Coordinator(), {"tiers": {}, "cache_tll": 5})
    with pytest.raises(BundleError, match=r"tiers.*\[0\].*model"):
        await mount(Coordinator(), {"tiers": {"budget": [{"provider": "anthropic"}]}})

    plan = routed_plan(hook_options={"strict": "yes"})
    async with session(plan) as (s, seen):
        failures = [d for e, d in seen if e == "module:load_failed"]
    assert failures and failures[0]["module_id"] == "model-router"
    assert "strict" in failures[0]["error"]


async def test_cleanup_leaves_no_task_behind() -> None:
    before = {t for t in asyncio.all_tasks()}
    await run(
        routed_plan(
            providers=("anthropic", "openai"),
            provider_config={"openai": {"list_models": {"mode": "ok", "delay": 0.05}}},
        ),
        delegate_lines(["git-ops"]),
    )
    leftover = {t for t in asyncio.all_tasks() if t not in before and not t.done()}
    assert leftover == set()


async def test_event_names_are_advertised_for_observers() -> None:
    async with session(routed_plan()) as (s, _):
        contributed = await s.coordinator.collect_contributions("observability.events")
    names = {name for item in contributed for name in (item if isinstance(item, list) else [item])}
    assert {"model_router:resolved", "model_router:failover", "model_router:cost"} <= names


async def test_a_custom_app_routes_by_calling_the_spawner_itself() -> None:
    """App-level routing, as the README shows it: no hook in the plan, the app registers the
    routing spawner and calls it; the child session is built by the router."""
    from amplifier_module_model_router.offline import offline_mount_plan
    from amplifier_module_model_router.session.mount import build_router
    from amplifier_module_model_router.session.spawner import RoutingSpawner
    from amplifier_module_model_router.settings.options import RouterConfig

    router = build_router(RouterConfig.from_mount({"tiers": dict(BUNDLE.module_config)["tiers"]}))
    plan = offline_mount_plan(agent_configs(BUNDLE), session_model="openai/gpt-5.5")
    async with session(plan) as (s, seen):
        spawn = RoutingSpawner(router, s.coordinator)
        s.coordinator.register_capability("session.spawn", spawn)
        result = await spawn(
            agent_name="model-router:zen-architect",
            instruction="plan the release",
            parent_session=s,
            agent_configs=s.coordinator.config["agents"],
        )

    assert set(result) == {"output", "session_id", "status", "turn_count", "metadata"}
    assert result["status"] == "success"
    assert result["metadata"]["model_router"] == {
        "agent": "model-router:zen-architect",
        "tier": "frontier",
        "source": "agent",
        "provider": "anthropic",
        "model": "claude-opus-4-8",
    }
    assert [(c.provider, c.model) for c in RECORDER.completions(session_id=result["session_id"])] == [
        ("anthropic", "claude-opus-4-8")
    ]
    assert "[anthropic/claude-opus-4-8]" in result["output"]


async def test_prefetch_never_delays_the_first_turn_and_a_hung_provider_costs_one_call() -> None:
    plan = routed_plan(
        session_model="openai/gpt-5.5",
        hook_options={"lookup_timeout": 0.2},
        provider_config={"anthropic": {"list_models": {"mode": "hang"}}},
    )
    async with session(plan) as (s, seen):
        await s.execute("a plain first turn")
        router = s.coordinator.get_capability("session.spawn").router
        anthropic = next(e for e in session_entries(s.coordinator) if e.name == "anthropic")
        # the turn is over while anthropic's catalog lookup (started at session:start) still hangs
        assert [c.outcome for c in RECORDER.catalog_calls(provider="anthropic")] == ["hang"]
        assert router.cache.peek(anthropic) is None
        await asyncio.sleep(0.3)  # past the lookup timeout: the failure is remembered
        await s.execute(delegate_lines(["git-ops", "zen-architect"]))
        result = Run(s.session_id, "", seen)

    assert result.child_models("git-ops") == [("openai", "gpt-5-mini")]
    assert "timed out" in result.resolved("zen-architect")["skipped"][0]["reason"]
    assert len(RECORDER.catalog_calls(provider="anthropic")) == 1
