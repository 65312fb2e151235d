"""Failover numbers, printed (never asserted): calls to a rate-limited provider, and overhead.

Run: ``.venv/bin/python benchmarks/bench_failover.py``

1. 100 delegations, each a fresh child (fresh provider instances, 3 model calls each), while
   the first candidate answers 429 (retry-after 30 s) to every call. Simulated time advances
   1 s per delegation. Reference: a router that forgets the chain, or keeps it without a
   shared cooldown, sends at least one call per delegation to the limited provider.
2. The same with delegations started 10 at a time (siblings in flight together).
3. Wall-clock overhead of the failover wrapper per ``complete()`` and of history cleaning.
4. End to end: 100 real delegations (AmplifierSession, model-router hook, offline providers)
   with Anthropic answering 429 (retry-after 30 s) to every call; calls it received.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amplifier_core import llm_errors as le  # noqa: E402
from amplifier_core.message_models import (  # noqa: E402
    ChatRequest,
    ChatResponse,
    Message,
    TextBlock,
    ThinkingBlock,
)

from amplifier_module_model_router.failover.cooldown import CooldownRegistry  # noqa: E402
from amplifier_module_model_router.failover.history import ROUTER_METADATA_KEY, clean_for_vendor  # noqa: E402
from amplifier_module_model_router.failover.provider import FailoverCandidate, FailoverProvider  # noqa: E402

RETRY_AFTER = 30.0
DELEGATIONS = 100
TURNS = 3


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Limited:
    """Always 429; counts calls across every instance (one process-wide quota)."""

    calls = 0

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        Limited.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        raise le.RateLimitError("429", retry_after=RETRY_AFTER)


class Healthy:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency

    def get_info(self) -> Any:
        return None

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        return ChatResponse(content=[TextBlock(text="ok")])

    def parse_tool_calls(self, response: ChatResponse) -> list[Any]:
        return []


def child(registry: CooldownRegistry, latency: float) -> FailoverProvider:
    return FailoverProvider(
        [FailoverCandidate("anthropic", Limited(latency), "claude-sonnet-5"),
         FailoverCandidate("openai", Healthy(latency), "gpt-5.5")],
        registry=registry,
    )


async def delegation(registry: CooldownRegistry, latency: float) -> None:
    provider = child(registry, latency)
    request = ChatRequest(messages=[Message(role="user", content="go")])
    for _ in range(TURNS):
        await provider.complete(request)


async def run(batch: int, shared: bool, latency: float) -> tuple[int, float]:
    Limited.calls = 0
    clock = Clock()
    registry = CooldownRegistry(clock=clock)
    for start in range(0, DELEGATIONS, batch):
        size = min(batch, DELEGATIONS - start)
        registries = [registry if shared else CooldownRegistry(clock=clock) for _ in range(size)]
        await asyncio.gather(*(delegation(r, latency) for r in registries))
        clock.now += float(size)
    return Limited.calls, clock.now


async def overhead() -> tuple[float, float, float, float]:
    """Median microseconds: direct call, through the wrapper, and cleaning a 200-message history."""
    healthy = Healthy()
    wrapper = FailoverProvider([FailoverCandidate("openai", healthy, "gpt-5.5")], registry=CooldownRegistry())
    request = ChatRequest(messages=[Message(role="user", content="go")])

    async def timed(call) -> float:
        samples = []
        for _ in range(2000):
            started = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - started) * 1e6)
        return statistics.median(samples)

    direct = await timed(lambda: healthy.complete(request, model="gpt-5.5"))
    wrapped = await timed(lambda: wrapper.complete(request))

    history: list[Message] = []
    for i in range(100):
        history.append(Message(role="user", content=f"q{i}"))
        history.append(Message(role="assistant", content=[ThinkingBlock(thinking="t" * 200, signature="s"),
                                                            TextBlock(text="a" * 200)],
                               metadata={ROUTER_METADATA_KEY: {"vendor": "anthropic"}}))
    long_request = ChatRequest(messages=history)

    def clean_timed(vendor: str) -> float:
        samples = []
        for _ in range(50):
            started = time.perf_counter()
            clean_for_vendor(long_request, vendor)
            samples.append((time.perf_counter() - started) * 1e6)
        return statistics.median(samples)

    return direct, wrapped, clean_timed("anthropic"), clean_timed("openai")


async def main() -> None:
    windows = lambda span: int(span // RETRY_AFTER) + 1  # noqa: E731
    print(f"{DELEGATIONS} delegations x {TURNS} calls, first candidate always 429 (retry-after {RETRY_AFTER:.0f}s),"
          " 1 simulated second per delegation")
    for batch, latency in ((1, 0.0), (10, 0.001)):
        shared_calls, span = await run(batch, True, latency)
        alone_calls, _ = await run(batch, False, latency)
        print(f"  started {batch:>2} at a time: calls to the limited provider = {shared_calls:>3} with the shared "
              f"cooldown ({windows(span)} cooldown windows in {span:.0f}s); reference without a shared cooldown "
              f"= {alone_calls} (one per delegation)")
    direct, wrapped, same, switch = await overhead()
    print(f"complete() median: direct {direct:.1f} us, through FailoverProvider {wrapped:.1f} us "
          f"(+{wrapped - direct:.1f} us per model call)")
    print(f"history check, 200 messages: same vendor {same:.0f} us (no copy), "
          f"vendor switch {switch:.0f} us (cleaned copy)")
    for batch in (1, 10):
        calls, models, answered, seconds = await real_sessions(batch)
        print(f"real sessions, {DELEGATIONS} delegations started {batch:>2} at a time in {seconds:.1f}s: "
              f"calls to the limited provider = {calls} over {models} models (a 429 cools one model: goal "
              f"one call per model per {RETRY_AFTER:.0f}s window, plus siblings already in flight; "
              f"reference without the shared cooldown = {DELEGATIONS}); answered by the next candidate: "
              f"{answered}/{DELEGATIONS}")


async def real_sessions(batch: int) -> tuple[int, int, int, float]:
    """Delegations through the real module; Anthropic (first in every tier) always 429s."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from amplifier_core import AmplifierSession
    from session_kit import ALL_AGENTS, routed_plan

    from amplifier_module_model_router.failover.cooldown import shared_cooldowns
    from amplifier_module_model_router.offline import RECORDER

    shared_cooldowns().clear()
    RECORDER.clear()
    fault = {"type": "RateLimitError", "retry_after": RETRY_AFTER}
    plan = routed_plan(session_model="openai/gpt-5.5",
                       provider_config={"anthropic": {"complete_error": fault}})
    session = AmplifierSession(plan)
    started = time.perf_counter()
    try:
        await session.initialize()
        for first in range(0, DELEGATIONS, batch):
            lines = [f"DELEGATE model-router:{ALL_AGENTS[i % len(ALL_AGENTS)]}: task {i}"
                     for i in range(first, min(first + batch, DELEGATIONS))]
            await session.execute("\n".join(lines))
    finally:
        await session.cleanup()
    seconds = time.perf_counter() - started
    children = {c.session_id for c in RECORDER.completions() if c.session_id != session.session_id}
    answered = sum(
        1 for sid in children
        if any(c.error is None and c.provider != "anthropic" for c in RECORDER.completions(session_id=sid))
    )
    limited = RECORDER.completions(provider="anthropic")
    return len(limited), len({c.model for c in limited}), answered, seconds


if __name__ == "__main__":
    asyncio.run(main())
