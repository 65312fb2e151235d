"""FailoverProvider + error policy, with small Provider-protocol doubles and a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from amplifier_core import llm_errors as le
from amplifier_core.message_models import (
    ChatRequest,
    ChatResponse,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCall,
    ToolCallBlock,
)
from amplifier_core.models import ProviderInfo

from amplifier_module_model_router.events import FAILOVER
from amplifier_module_model_router.failover.cooldown import CooldownRegistry
from amplifier_module_model_router.failover.history import ROUTER_METADATA_KEY
from amplifier_module_model_router.failover.policy import DEFAULT_POLICY, CooldownPolicy, classify
from amplifier_module_model_router.failover.provider import (
    FailoverCandidate,
    FailoverProvider,
    lower_internal_retries,
)


class ScriptedProvider:
    """Provider protocol: each complete() takes the next script step (error, callable, or text)."""

    def __init__(self, name: str, script: list[Any] | None = None, *, window: int = 200_000,
                 output: int = 32_000, capabilities: tuple[str, ...] = ("tools", "streaming")) -> None:
        self.name = name
        self.script = list(script or [])
        self.window, self.output, self.capabilities = window, output, capabilities
        self.calls: list[tuple[ChatRequest, dict[str, Any]]] = []
        self.parsed = 0
        self.listed = 0

    def get_info(self) -> ProviderInfo:
        return ProviderInfo(id=self.name, display_name=self.name, capabilities=list(self.capabilities),
                            defaults={"context_window": self.window, "max_output_tokens": self.output})

    async def list_models(self) -> list[Any]:
        self.listed += 1
        return []

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        self.calls.append((request, kwargs))
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return step(request, kwargs)
        return ChatResponse(content=[TextBlock(text=f"{self.name}/{kwargs['model']}")], metadata={"own": 1})

    def parse_tool_calls(self, response: ChatResponse) -> list[ToolCall]:
        self.parsed += 1
        return list(response.tool_calls or [])






@pytest.fixture
def events() -> list[tuple[str, dict[str, Any]]]:
    return []


def chain(*links: tuple[ScriptedProvider, str], registry: CooldownRegistry, events: list | None = None,
          **kwargs: Any) -> FailoverProvider:
    async def emit(name: str, payload: dict[str, Any]) -> None:
        events.append((name, payload))

    candidates = [FailoverCandidate(p.name, p, model) for p, model in links]
    return FailoverProvider(candidates, registry=registry, emit=emit if events is not None else None,
                            agent="git-ops", **kwargs)


def ask(text: str = "hi") -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)])


async def test_429_on_first_candidate_second_answers_with_one_failover_event(registry, events):
    first = ScriptedProvider("anthropic", [le.RateLimitError("slow down", retry_after=12.0)])
    second = ScriptedProvider("openai")
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5"), registry=registry, events=events)

    response = await provider.complete(ask())

    assert response.content[0].text == "openai/gpt-5.5"
    assert response.metadata[ROUTER_METADATA_KEY] == {"provider": "openai", "model": "gpt-5.5", "vendor": "openai"}
    assert response.metadata["own"] == 1, "the answering provider's own metadata is kept"
    assert provider.answered == ("openai", "gpt-5.5") and provider.default_model == "gpt-5.5"
    assert [name for name, _ in events] == [FAILOVER]
    payload = events[0][1]
    assert payload["agent"] == "git-ops"
    assert payload["from"] == {"provider": "anthropic", "model": "claude-sonnet-5"}
    assert payload["to"] == {"provider": "openai", "model": "gpt-5.5"}
    assert (payload["error_type"], payload["cooldown_s"]) == ("RateLimitError", 12.0)
    assert payload["cooldown_scope"] == "model"
    assert "slow down" in payload["error"]
    assert registry.remaining("anthropic", "claude-sonnet-5") == 12.0
    assert registry.remaining("anthropic", "claude-opus-5") == 0.0, "a rate limit cools the model only"


async def test_each_candidate_gets_its_model_as_kwarg_and_on_a_request_copy(registry):
    first = ScriptedProvider("anthropic", [le.ProviderUnavailableError("529 overloaded")])
    second = ScriptedProvider("github-copilot")
    provider = chain((first, "claude-opus-5"), (second, "gpt-5.5"), registry=registry)
    request = ask()
    await provider.complete(request, extended_thinking=True)
    for prov, model in ((first, "claude-opus-5"), (second, "gpt-5.5")):
        sent, kwargs = prov.calls[0]
        assert kwargs == {"extended_thinking": True, "model": model}
        assert sent.model == model
    assert request.model is None, "the caller's request is not modified"


async def test_sibling_sharing_the_registry_never_calls_the_cooled_candidate(registry, events):
    first = ScriptedProvider("anthropic", [le.RateLimitError("429")])
    provider = chain((first, "claude-sonnet-5"), (ScriptedProvider("openai"), "gpt-5.5"),
                     registry=registry, events=events)
    await provider.complete(ask())

    # A sibling child mounts fresh provider instances under the same mount names.
    sibling_first, sibling_second = ScriptedProvider("anthropic"), ScriptedProvider("openai")
    sibling = chain((sibling_first, "claude-sonnet-5"), (sibling_second, "gpt-5.5"),
                    registry=registry, events=events)
    for _ in range(3):
        await sibling.complete(ask())
    assert sibling_first.calls == []
    assert len(sibling_second.calls) == 3
    assert len(events) == 1 and sibling.failovers == 0, "skipping a cooling candidate is not a failover"


async def test_cooldown_ends_and_the_first_candidate_is_used_again(registry, clock):
    first = ScriptedProvider("anthropic", [le.RateLimitError("429", retry_after=5)])
    provider = chain((first, "claude-sonnet-5"), (ScriptedProvider("openai"), "gpt-5.5"), registry=registry)
    await provider.complete(ask())
    clock.now += 5
    response = await provider.complete(ask())
    assert response.metadata[ROUTER_METADATA_KEY]["provider"] == "anthropic"


async def test_siblings_in_flight_when_a_cooldown_ends_send_one_probe_not_one_each(registry, clock):
    class StillLimited(ScriptedProvider):
        async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
            self.calls.append((request, kwargs))
            await asyncio.sleep(0)  # in flight while the siblings pick their candidate
            raise le.RateLimitError("429", retry_after=30)

    limited = StillLimited("anthropic")
    registry.cool("anthropic", "claude-sonnet-5", seconds=30)
    clock.now += 30
    siblings = [chain((limited, "claude-sonnet-5"), (ScriptedProvider("openai"), "gpt-5.5"), registry=registry)
                for _ in range(10)]
    answers = await asyncio.gather(*(s.complete(ask()) for s in siblings))
    assert len(limited.calls) == 1
    assert {a.metadata[ROUTER_METADATA_KEY]["provider"] for a in answers} == {"openai"}
    assert registry.remaining("anthropic", "claude-sonnet-5") == 30, "the probe's 429 re-armed the cooldown"


async def test_a_successful_probe_reopens_the_candidate_for_everyone(registry, clock):
    recovered = ScriptedProvider("anthropic")
    registry.cool("anthropic", "claude-sonnet-5", seconds=30)
    clock.now += 30
    provider = chain((recovered, "claude-sonnet-5"), (ScriptedProvider("openai"), "gpt-5.5"), registry=registry)
    for _ in range(3):
        answer = await provider.complete(ask())
        assert answer.metadata[ROUTER_METADATA_KEY]["provider"] == "anthropic"
    assert len(registry) == 0


@pytest.mark.parametrize(
    "error",
    [
        le.ContextLengthError("prompt is too long", status_code=400),
        le.ContentFilterError("blocked"),
        le.InvalidRequestError("bad request"),
        le.InvalidToolCallError("bad json", tool_name="grep"),
        le.AbortError("cancelled by user"),
        le.LLMError("unknown permanent failure", retryable=False),
        ValueError("a bug in a provider"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_never_failover_errors_surface_unchanged(registry, events, error):
    first = ScriptedProvider("anthropic", [error])
    second = ScriptedProvider("openai")
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5"), registry=registry, events=events)
    with pytest.raises(type(error)) as raised:
        await provider.complete(ask())
    assert raised.value is error
    assert second.calls == [] and events == []
    assert len(registry) == 0, "nothing is cooled"


async def test_cancellation_propagates_without_failover(registry):
    first = ScriptedProvider("anthropic", [asyncio.CancelledError()])
    second = ScriptedProvider("openai")
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5"), registry=registry)
    with pytest.raises(asyncio.CancelledError):
        await provider.complete(ask())
    assert second.calls == []


async def test_exhausted_chain_surfaces_the_last_error(registry, events):
    last = le.LLMTimeoutError("timed out")
    first = ScriptedProvider("anthropic", [le.RateLimitError("429")])
    second = ScriptedProvider("openai", [last])
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5"), registry=registry, events=events)
    with pytest.raises(le.LLMTimeoutError) as raised:
        await provider.complete(ask())
    assert raised.value is last
    assert len(events) == 1, "one switch happened; exhaustion itself is not a switch"
    assert registry.remaining("openai", "anything") == DEFAULT_POLICY.unavailable_s, "a timeout cools the provider"


async def test_all_cooling_tries_the_one_that_frees_first(registry):
    first, second, third = ScriptedProvider("anthropic"), ScriptedProvider("openai"), ScriptedProvider("gemini")
    registry.cool("anthropic", seconds=300)
    registry.cool("openai", "gpt-5.5", seconds=20)
    registry.cool("gemini", seconds=90)
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5"), (third, "gemini-3-pro"), registry=registry)
    response = await provider.complete(ask())
    assert response.metadata[ROUTER_METADATA_KEY]["provider"] == "openai"
    assert first.calls == [] and third.calls == []
    assert registry.remaining("openai", "gpt-5.5") == 0.0, "an answer while cooling ends that cooldown"
    assert registry.remaining("anthropic") == 300, "the others keep theirs"


async def test_only_one_attempt_on_a_cooling_candidate_per_call(registry, events):
    first = ScriptedProvider("anthropic", [le.RateLimitError("429")])
    second = ScriptedProvider("openai", [le.RateLimitError("429 too")])
    third = ScriptedProvider("gemini")
    registry.cool("openai", seconds=10)
    registry.cool("gemini", seconds=50)
    provider = chain((first, "a"), (second, "b"), (third, "c"), registry=registry, events=events)
    with pytest.raises(le.RateLimitError):
        await provider.complete(ask())
    assert len(second.calls) == 1 and third.calls == []


async def test_provider_outage_cools_every_model_of_that_provider(registry):
    anthropic = ScriptedProvider("anthropic", [le.ProviderUnavailableError("503")])
    openai = ScriptedProvider("openai")
    provider = chain((anthropic, "claude-opus-5"), (anthropic, "claude-sonnet-5"), (openai, "gpt-5.5"),
                     registry=registry)
    response = await provider.complete(ask())
    assert response.metadata[ROUTER_METADATA_KEY]["provider"] == "openai"
    assert len(anthropic.calls) == 1, "the second anthropic model is skipped: the provider is cooling"


async def test_rate_limit_moves_to_another_model_of_the_same_provider(registry):
    anthropic = ScriptedProvider("anthropic", [le.RateLimitError("429")])
    provider = chain((anthropic, "claude-opus-5"), (anthropic, "claude-sonnet-5"),
                     (ScriptedProvider("openai"), "gpt-5.5"), registry=registry)
    response = await provider.complete(ask())
    assert response.metadata[ROUTER_METADATA_KEY]["model"] == "claude-sonnet-5"


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(10_000.0, DEFAULT_POLICY.max_s), (0.01, DEFAULT_POLICY.min_s), (None, DEFAULT_POLICY.rate_limit_s),
     (42.0, 42.0), (float("inf"), DEFAULT_POLICY.max_s), (float("nan"), DEFAULT_POLICY.rate_limit_s)],
)
async def test_retry_after_is_honoured_within_bounds(registry, events, retry_after, expected):
    error = le.RateLimitError("429", retry_after=retry_after, retryable=retry_after != 10_000.0)
    provider = chain((ScriptedProvider("anthropic", [error]), "m"), (ScriptedProvider("openai"), "n"),
                     registry=registry, events=events)
    await provider.complete(ask())
    assert events[0][1]["cooldown_s"] == expected
    assert registry.remaining("anthropic", "m") == expected


@pytest.mark.parametrize(
    ("error", "failover", "scope", "seconds"),
    [
        (le.QuotaExceededError("quota"), True, "model", DEFAULT_POLICY.quota_s),
        (le.AuthenticationError("401"), True, "provider", DEFAULT_POLICY.long_s),
        (le.AccessDeniedError("403"), True, "model", DEFAULT_POLICY.long_s),
        (le.NotFoundError("404 model"), True, "model", DEFAULT_POLICY.long_s),
        (le.ConfigurationError("no api key"), True, "provider", DEFAULT_POLICY.long_s),
        (le.NetworkError("dns"), True, "provider", DEFAULT_POLICY.unavailable_s),
        (le.ProviderUnavailableError("503", retry_after=7), True, "provider", 7.0),
        (le.StreamError("reset mid-stream"), True, "provider", DEFAULT_POLICY.unavailable_s),
        (le.LLMError("wrapped unknown", retryable=True), True, "provider", DEFAULT_POLICY.unavailable_s),
        (TimeoutError(), True, "provider", DEFAULT_POLICY.unavailable_s),
        (ConnectionResetError(), True, "provider", DEFAULT_POLICY.unavailable_s),
        (le.ContextLengthError("too long", retryable=True), False, None, 0.0),
        (KeyboardInterrupt(), False, None, 0.0),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_policy_table(error, failover, scope, seconds):
    decision = classify(error)
    assert (decision.failover, decision.scope, decision.seconds) == (failover, scope, seconds)


def test_policy_rejects_nonsense_bounds():
    with pytest.raises(ValueError):
        CooldownPolicy(min_s=10, max_s=5)
    with pytest.raises(ValueError):
        CooldownPolicy(rate_limit_s=0)


async def test_a_custom_policy_is_applied(registry):
    policy = CooldownPolicy(unavailable_s=3)
    provider = chain((ScriptedProvider("anthropic", [le.NetworkError("refused")]), "m"),
                     (ScriptedProvider("openai"), "n"), registry=registry, policy=policy)
    await provider.complete(ask())
    assert registry.remaining("anthropic") == 3


async def test_parse_tool_calls_goes_to_the_candidate_that_answered(registry):
    first = ScriptedProvider("anthropic", [le.RateLimitError("429")])
    second = ScriptedProvider("openai")
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5"), registry=registry)
    response = await provider.complete(ask())
    provider.parse_tool_calls(response)
    assert (first.parsed, second.parsed) == (0, 1)


async def test_a_named_model_in_the_chain_is_tried_first_and_an_unknown_one_is_ignored(registry):
    first, second = ScriptedProvider("anthropic"), ScriptedProvider("openai")
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5-mini"), registry=registry)
    answered = await provider.complete(ask(), model="GPT-5.5-mini")
    assert answered.metadata[ROUTER_METADATA_KEY]["model"] == "gpt-5.5-mini"
    answered = await provider.complete(ask(), model="not-in-chain")
    assert answered.metadata[ROUTER_METADATA_KEY]["model"] == "claude-sonnet-5"


async def test_a_failing_observer_never_breaks_the_run(registry):
    async def broken_emit(name: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("observer down")

    candidates = [FailoverCandidate("anthropic", ScriptedProvider("anthropic", [le.RateLimitError("429")]), "m"),
                  FailoverCandidate("openai", ScriptedProvider("openai"), "n")]
    provider = FailoverProvider(candidates, registry=registry, emit=broken_emit)
    response = await provider.complete(ask())
    assert response.metadata[ROUTER_METADATA_KEY]["provider"] == "openai"
    assert provider.failovers == 1


async def test_get_info_reports_the_smallest_window_and_a_budget_that_fits_every_link(registry):
    big = ScriptedProvider("anthropic", window=1_000_000, output=128_000, capabilities=("tools", "thinking"))
    small = ScriptedProvider("openai", window=272_000, output=128_000, capabilities=("tools", "vision"))
    provider = FailoverProvider(
        [FailoverCandidate("anthropic", big, "claude-opus-5"),
         FailoverCandidate("openai", small, "gpt-5.5", context_window=200_000, max_output_tokens=16_000)],
        registry=registry,
    )
    info = provider.get_info()
    assert info.defaults["context_window"] == 200_000
    budget = info.defaults["context_window"] - info.defaults["max_output_tokens"]
    assert budget <= min(1_000_000 - 128_000, 200_000 - 16_000)
    assert info.capabilities == ["tools"]
    assert provider.priority < 0 and provider.name == "model-router"
    models = await provider.list_models()
    assert [m.id for m in models] == ["claude-opus-5", "gpt-5.5"]
    assert [m.context_window for m in models] == [1_000_000, 200_000]
    assert big.listed == small.listed == 0, "listing the chain costs no catalog lookups"


def test_a_chain_needs_candidates(registry):
    with pytest.raises(ValueError):
        FailoverProvider([], registry=registry)


# -- history across a switch ---------------------------------------------------------------


def thinking_answer(text: str):
    def answer(request: ChatRequest, kwargs: dict[str, Any]) -> ChatResponse:
        return ChatResponse(content=[ThinkingBlock(thinking="private", signature="sig"), TextBlock(text=text)])
    return answer


def follow_up(first: ChatResponse) -> ChatRequest:
    return ChatRequest(messages=[
        Message(role="user", content="q1"),
        Message(role="assistant", content=first.content, metadata=first.metadata),
        Message(role="user", content="q2"),
    ])


def sent_block_types(provider: ScriptedProvider, call: int) -> list[str]:
    request = provider.calls[call][0]
    return [b.type for m in request.messages if isinstance(m.content, list) for b in m.content]


async def test_thinking_is_cleaned_before_another_vendor_and_kept_for_the_same_vendor(registry):
    anthropic = ScriptedProvider("anthropic", [thinking_answer("a1"), le.RateLimitError("429")])
    openai = ScriptedProvider("openai")
    provider = chain((anthropic, "claude-sonnet-5"), (openai, "gpt-5.5"), registry=registry)
    first = await provider.complete(ask("q1"))
    await provider.complete(follow_up(first))
    assert sent_block_types(anthropic, 1) == ["thinking", "text"]
    assert sent_block_types(openai, 0) == ["text"]

    same_vendor = ScriptedProvider("anthropic-eu")
    registry2 = CooldownRegistry()
    provider = chain((ScriptedProvider("anthropic", [thinking_answer("a1"), le.RateLimitError("429")]),
                      "claude-sonnet-5"), (same_vendor, "claude-haiku-4-5"), registry=registry2)
    first = await provider.complete(ask("q1"))
    await provider.complete(follow_up(first))
    assert sent_block_types(same_vendor, 0) == ["thinking", "text"]


# -- tool calls across a failover, in a loop shaped like the standard ones ----------------


async def run_loop(provider: FailoverProvider, tools: dict[str, Any], prompt: str) -> ChatResponse:
    """complete -> parse tool calls -> execute each -> complete again, like loop-basic/streaming."""
    messages = [Message(role="user", content=prompt)]
    for _ in range(6):
        response = await provider.complete(ChatRequest(messages=messages))
        calls = provider.parse_tool_calls(response)
        messages.append(Message(role="assistant", content=response.content, metadata=response.metadata,
                                tool_calls=[{"id": c.id, "tool": c.name, "arguments": c.arguments} for c in calls]))
        if not calls:
            return response
        for call in calls:
            output = await tools[call.name](call.arguments)
            messages.append(Message(role="tool", tool_call_id=call.id, content=output))
    raise AssertionError("loop did not finish")


async def test_tool_calls_are_never_executed_twice_across_a_failover(registry, events):
    def tool_call(request: ChatRequest, kwargs: dict[str, Any]) -> ChatResponse:
        call = ToolCall(id="call_1", name="write_file", arguments={"path": "x"})
        return ChatResponse(content=[ToolCallBlock(id="call_1", name="write_file", input={"path": "x"})],
                            tool_calls=[call])

    executed: list[dict[str, Any]] = []

    async def write_file(arguments: dict[str, Any]) -> str:
        executed.append(arguments)
        return "written"

    first = ScriptedProvider("anthropic", [tool_call, le.RateLimitError("429 mid-run")])
    second = ScriptedProvider("openai")
    provider = chain((first, "claude-sonnet-5"), (second, "gpt-5.5"), registry=registry, events=events)

    final = await run_loop(provider, {"write_file": write_file}, "write x")

    assert executed == [{"path": "x"}]
    assert final.metadata[ROUTER_METADATA_KEY]["provider"] == "openai"
    assert len(events) == 1
    handed_over = second.calls[0][0].messages
    assert [m.role for m in handed_over] == ["user", "assistant", "tool"], "the tool result reaches the next model"


# -- lower_internal_retries --------------------------------------------------------------


def test_lower_internal_retries_lowers_keeps_lower_values_and_copies():
    config = {"max_retries": 5, "max_retry_delay": 60.0, "min_retry_delay": 1.0, "fallback_on_overload": True,
              "default_model": "claude-sonnet-5"}
    lowered = lower_internal_retries(config)
    assert lowered["max_retries"] == 1 and lowered["max_retry_delay"] == 5.0
    assert lowered["overloaded_delay_multiplier"] == 2.0
    assert lowered["fallback_on_overload"] is False
    assert lowered["default_model"] == "claude-sonnet-5" and lowered["min_retry_delay"] == 1.0
    assert config["max_retries"] == 5, "the input is not modified"

    kept = lower_internal_retries({"max_retries": 0, "max_retry_delay": 2, "overloaded_delay_multiplier": 1.0})
    assert (kept["max_retries"], kept["max_retry_delay"], kept["overloaded_delay_multiplier"]) == (0, 2.0, 1.0)
    assert lower_internal_retries({"max_retries": "many"})["max_retries"] == 1
    assert lower_internal_retries(None)["max_retries"] == 1
    assert "fallback_on_overload" not in lower_internal_retries({})


# -- a real AmplifierSession (offline harness, loop-basic's shape) -------------------------


class CountingTool:
    """A tool the loop runs; counts executions so a repeated tool call would show."""

    name = "record_step"
    description = "Record one step of work."
    input_schema = {"type": "object", "properties": {}}

    def __init__(self) -> None:
        self.runs = 0

    async def execute(self, input: dict[str, Any]) -> Any:
        from amplifier_core.models import ToolResult

        self.runs += 1
        return ToolResult(success=True, output=f"step {self.runs} recorded")


async def test_real_session_429_mid_run_ends_on_the_second_candidate(registry):
    from amplifier_core import AmplifierSession
    from amplifier_core.models import HookResult

    from amplifier_module_model_router.offline import RECORDER, offline_mount_plan

    plan = offline_mount_plan(
        providers=("anthropic", "openai"),
        provider_config={
            # Answers the first call (a tool call), then 429s: the failure lands mid-run.
            "anthropic": {"thinking": True, "complete_error": {"type": "RateLimitError", "from_call": 2,
                                                               "retry_after": 45.0}},
            # Signs its own answers and rejects history holding another vendor's state.
            "openai": {"thinking": True},
        },
    )
    session = AmplifierSession(plan)
    failovers: list[dict[str, Any]] = []

    async def on_failover(event: str, data: dict[str, Any]) -> HookResult:
        failovers.append(data)
        return HookResult()

    try:
        await session.initialize()
        coordinator = session.coordinator
        providers = coordinator.get("providers")
        candidates = [FailoverCandidate(name, providers[name], providers[name].default_model)
                      for name in ("anthropic", "openai")]
        tool = CountingTool()
        await coordinator.mount("tools", tool, name=tool.name)
        coordinator.hooks.register(FAILOVER, on_failover, name="test-failover-observer")
        failover = FailoverProvider(candidates, registry=registry, emit=coordinator.hooks.emit, agent="self")
        await coordinator.mount("providers", failover, name="model-router")

        RECORDER.clear()
        answer = await session.execute("CALL record_step {}")

        calls = RECORDER.completions(session_id=coordinator.session_id)
        assert [(c.provider, c.error) for c in calls] == [
            ("anthropic", None), ("anthropic", "RateLimitError"), ("openai", None)
        ]
        assert calls[-1].model == candidates[1].model and calls[-1].model_source == "kwargs"
        assert calls[-1].foreign_state == (), "anthropic's thinking and response id were cleaned"
        assert answer, "the run finished with the second candidate's text"
        assert tool.runs == 1, "the tool call was executed once"
        assert len(failovers) == 1
        assert failovers[0]["from"]["provider"] == "anthropic" and failovers[0]["to"]["provider"] == "openai"
        assert failovers[0]["cooldown_s"] == 45.0
        assert failover.answered == ("openai", candidates[1].model)
    finally:
        await session.cleanup()


async def test_a_config_scoped_candidate_cools_its_own_entry_and_honours_the_shared_one(registry, events):
    """Issue 13 item 4: an instance on a caller's config writes ``name~scope``, reads ``name``."""
    first = ScriptedProvider("anthropic", [le.RateLimitError("slow down", retry_after=12.0)])
    second = ScriptedProvider("openai")
    scoped = FailoverCandidate("anthropic", first, "claude-sonnet-5", config_scope="config:abcd1234")
    provider = FailoverProvider([scoped, FailoverCandidate("openai", second, "gpt-5.5")],
                                registry=registry, agent="git-ops")

    assert (await provider.complete(ask())).content[0].text == "openai/gpt-5.5"
    assert registry.remaining("anthropic", "claude-sonnet-5") == 0.0
    assert registry.remaining("anthropic~config:abcd1234", "claude-sonnet-5") == 12.0

    registry.clear()
    registry.cool("anthropic", None, seconds=30, reason="outage")  # the shared entry rests
    assert (await provider.complete(ask())).content[0].text == "openai/gpt-5.5"
    assert len(first.calls) == 1, "the scoped instance is not called while the provider rests"
