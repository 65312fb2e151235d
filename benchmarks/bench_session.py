"""Delegations in real AmplifierSessions: what routing adds to a spawn, against no routing and
against foundation's per-spawn resolution, and what a rate-limited provider receives.

1. **overhead**: the same delegations, interleaved round by round, in three sessions: routed by
   model-router's own spawner; routed, wrapping an app spawner; no model-router (the app spawner
   alone, as app-cli runs without us: its agents name no model, each child runs on the
   session's). Every delegation must answer (a failed one stops the run: it would be cheaper).
   p50 wall and CPU per delegation; goal: routed within 1.5 ms p50 of unrouted. Measured twice:
   with the kernel as it is (it rescans the installed entry points for every module it loads;
   an app spawner's routed child loads one module more: ours), and with that scan memoised for
   every side. The parent's history is cleared after each
   delegation (in section 2 too), so every parent turn costs the same. Then the router's own time per spawn
   (``model_router:resolved.resolution_ms``), warm, and cold (caches emptied before each spawn).
2. **vs foundation**: 100 delegations, sequential then concurrent, every catalog answering after
   0.2 s and all caches cold at the start of a run. App-cli's way (an app spawner calling
   foundation's ``spawn_utils.apply_provider_preferences_with_resolution``: one ``list_models()``
   per spawn for a glob) against model-router (its own spawner; and wrapping that same app
   spawner, which then gets concrete models and lists nothing). The entry-point scan is memoised
   for every side alike. Goals: sequential at least 25x faster, concurrent no slower (1x). A
   fourth side, the app spawner alone with no catalog wait (agents inherit the session's model),
   is what a delegation costs in this harness without any routing work: at 0.2 s a catalog, 25x
   leaves 6.4 ms per delegation, all in.
   amplifier-foundation is not on PyPI: pass a checkout with ``--foundation DIR`` (or install
   it); it is put on ``sys.path`` for this section only.
3. **failover**: 100 delegations with Anthropic (first in every tier) answering 429 to every
   call; the calls it received, against one per delegation without the shared cooldown.

Run: python benchmarks/bench_session.py [--spawns 40] [--delegations 100] [--latency 0.2]
     [--rounds 2] [--foundation DIR] [--only overhead,foundation,failover]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from amplifier_core import AmplifierSession  # noqa: E402
from amplifier_core.models import HookResult  # noqa: E402
from session_kit import ALL_AGENTS, BUNDLE, AppCliStandIn, routed_plan  # noqa: E402

from amplifier_module_model_router.bundle.loader import agent_configs  # noqa: E402
from amplifier_module_model_router.failover.cooldown import shared_cooldowns  # noqa: E402
from amplifier_module_model_router.offline import RECORDER, offline_mount_plan  # noqa: E402
from amplifier_module_model_router.resolve.catalog import shared_caches  # noqa: E402

SESSION_MODEL = "anthropic/claude-opus-4-8"
PROVIDERS = ("anthropic", "openai", "gemini", "github-copilot")
OVERHEAD_GOAL_MS = 1.5
SEQUENTIAL_GOAL = 25.0
CONCURRENT_GOAL = 1.0
CEILING = "app spawner alone, no catalog wait"
"""The same delegations with nothing resolved and nothing listed (agents inherit the session's
model): the cost of a delegation in this harness with no routing work at all."""


# -- shared pieces -----------------------------------------------------------------------------


@contextlib.contextmanager
def memoised_entry_points(on: bool = True) -> Iterator[None]:
    """The kernel calls ``importlib.metadata.entry_points(group=...)`` for every module it loads;
    with ``on`` each distinct call is answered once, for every session alike."""
    if not on:
        yield
        return
    real = importlib.metadata.entry_points
    answers: dict[tuple, Any] = {}

    def entry_points(**params: Any) -> Any:
        key = tuple(sorted(params.items()))
        if key not in answers:
            answers[key] = real(**params)
        return answers[key]

    importlib.metadata.entry_points = entry_points
    try:
        yield
    finally:
        importlib.metadata.entry_points = real


def cold_start() -> None:
    """Empty every process-wide cache and cooldown, and the call recorder."""
    for cache in shared_caches():
        cache.invalidate()
    shared_cooldowns().clear()
    RECORDER.clear()


def slow_catalogs(latency: float) -> dict[str, dict[str, Any]]:
    return {name: {"list_models": {"mode": "ok", "delay": latency}} for name in PROVIDERS}


def unrouted_plan(*, tiered: bool = False, **kwargs: Any) -> dict[str, Any]:
    """No model-router. ``tiered``: the agents keep the bundle's glob chains, for an app spawner
    that resolves them itself (foundation's); otherwise they name no model and inherit the
    session's, which is how a delegation runs without a router (an app spawner handed a glob
    it cannot resolve sends it as the model name, and the child fails at once)."""
    agents = agent_configs(BUNDLE)
    if not tiered:
        agents = {
            name: {k: v for k, v in cfg.items() if k not in ("provider_preferences", "model_tier")}
            for name, cfg in agents.items()
        }
    return offline_mount_plan(agents, session_model=SESSION_MODEL, **kwargs)


def succeeded(output: str, expected: int = 1) -> str:
    """``output`` of a turn whose ``expected`` delegations all answered; else stop the run:
    a failed delegation is cheaper than an answered one, and would flatter its side."""
    failed = output.count("delegation failed")
    if failed or output.count(" done: ") < expected + 1:
        raise SystemExit(f"a delegation failed, numbers would be meaningless:\n{output[:800]}")
    return output


def delegate(i: int) -> str:
    return f"DELEGATE model-router:{ALL_AGENTS[i % len(ALL_AGENTS)]}: task {i}"


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def fresh_turn(session: AmplifierSession) -> None:
    """Forget the parent's history, so the 100th delegation's turn costs what the first did
    (the offline loop and provider work over the whole history on every request)."""
    await session.coordinator.get("context").clear()


async def started(plan: dict[str, Any], spawner: Any = None) -> AmplifierSession:
    session = AmplifierSession(plan)
    await session.initialize()
    if spawner is not None:  # as app-cli: after initialize(), before the first execute()
        session.coordinator.register_capability("session.spawn", spawner)
    return session


# -- 1. overhead -------------------------------------------------------------------------------


async def overhead(spawns: int, memo: bool) -> dict[str, tuple[list[float], list[float]]]:
    """Per-delegation (wall ms, CPU ms) for each side, the sides taking turns every round."""
    sides = {
        "routed, model-router's own spawner": (routed_plan(session_model=SESSION_MODEL), None),
        "routed, wrapping an app spawner": (routed_plan(session_model=SESSION_MODEL), AppCliStandIn()),
        "no model-router (the app spawner alone)": (unrouted_plan(), AppCliStandIn()),
    }
    cold_start()
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in sides}
    with memoised_entry_points(memo):
        sessions = {name: await started(plan, spawner) for name, (plan, spawner) in sides.items()}
        try:
            for session in sessions.values():  # imports, first loads, catalogs: out of the way
                for i in range(3):
                    await session.execute(delegate(i))
            order = list(sessions.items())
            for i in range(spawns):
                # each side goes first, second and last in turn: none is always the one that
                # runs right after a given other (caches, the allocator, the scheduler)
                for name, session in order[i % len(order):] + order[: i % len(order)]:
                    cpu, wall = time.process_time(), time.perf_counter()
                    succeeded(await session.execute(delegate(i)))
                    results[name][0].append((time.perf_counter() - wall) * 1000)
                    results[name][1].append((time.process_time() - cpu) * 1000)
                    await fresh_turn(session)
                RECORDER.clear()
        finally:
            for session in sessions.values():
                await session.cleanup()
    return results


async def router_times(spawns: int, latency: float) -> tuple[list[float], list[float]]:
    """``resolution_ms`` per spawn: warm, and cold (caches emptied before each, prefetch off)."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for cold in (False, True):
        options = {"prefetch": False} if cold else {}
        plan = routed_plan(session_model=SESSION_MODEL, provider_config=slow_catalogs(latency),
                           hook_options=options)
        cold_start()
        session = AmplifierSession(plan)

        async def on_resolved(event: str, data: dict, cold: bool = cold) -> HookResult:
            times[cold].append(data["resolution_ms"])
            return HookResult()

        session.coordinator.hooks.register("model_router:resolved", on_resolved, name="bench")
        try:
            await session.initialize()
            await session.execute(delegate(0))  # the first spawn pays the catalogs: not counted
            times[cold].clear()
            for i in range(spawns):
                if cold:
                    for cache in shared_caches():
                        cache.invalidate()
                await session.execute(delegate(i))
                RECORDER.clear()
        finally:
            await session.cleanup()
    return times[False], times[True]


def report_overhead(spawns: int, latency: float) -> None:
    print(f"1. overhead: {spawns} sequential delegations per side, cycling the 16 agents, the sides "
          f"taking turns; catalogs warm")
    for memo in (False, True):
        results = asyncio.run(overhead(spawns, memo))
        label = "entry-point scan memoised" if memo else "the kernel as it is (entry points rescanned per module load)"
        print(f"  {label}:")
        for name, (wall, cpu) in results.items():
            print(f"    {name:<42} wall p50 {p50(wall):7.2f} ms  p95 {p95(wall):7.2f}   "
                  f"CPU p50 {p50(cpu):6.2f} ms  min {min(cpu):6.2f}")
        (own_wall, own_cpu), (_, _), (bare_wall, bare_cpu) = results.values()
        gap = p50(own_wall) - p50(bare_wall)
        verdict = "met" if gap <= OVERHEAD_GOAL_MS else "MISSED"
        paired = p50([own - bare for own, bare in zip(own_wall, bare_wall)])
        print(f"    routed (own spawner) - unrouted: wall p50 {gap:+.2f} ms, CPU p50 "
              f"{p50(own_cpu) - p50(bare_cpu):+.2f} ms, CPU min {min(own_cpu) - min(bare_cpu):+.2f} ms   "
              f"goal <= {OVERHEAD_GOAL_MS} ms: {verdict}")
        print(f"    (the same round by round: p50 of the {len(own_wall)} wall differences {paired:+.2f} ms, "
              "which a slow stretch of the machine moves less)")
    warm, cold = asyncio.run(router_times(max(spawns // 2, 10), latency))
    print("  router time per spawn (decide + resolve + event), from model_router:resolved.resolution_ms:")
    print(f"    warm (catalogs cached)                      p50 {p50(warm):8.3f} ms   p95 {p95(warm):8.3f} ms")
    print(f"    cold (caches emptied, list_models {latency:g}s)     p50 {p50(cold):8.3f} ms   p95 "
          f"{p95(cold):8.3f} ms   reference: one catalog round trip, all fetched at once")


# -- 2. against foundation's per-spawn resolution ----------------------------------------------


def load_foundation(source: str | None) -> Any:
    """foundation's ``apply_provider_preferences_with_resolution``, or None (with the reason)."""
    if source:
        sys.path.insert(0, str(Path(source).expanduser().resolve()))
    try:
        from amplifier_foundation.spawn_utils import apply_provider_preferences_with_resolution
    except ImportError as err:
        print(f"2. vs foundation: skipped ({err}); pass --foundation DIR, a checkout of "
              "github.com/microsoft/amplifier-foundation (not on PyPI)")
        return None
    return apply_provider_preferences_with_resolution


async def delegations(
    plan: dict[str, Any], spawner: Any, n: int, concurrent: bool
) -> tuple[float, float, int]:
    """Wall and CPU seconds for ``n`` delegations from cold caches, and the list_models() calls."""
    cold_start()
    session = await started(plan, spawner)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        if concurrent:
            succeeded(await session.execute("\n".join(delegate(i) for i in range(n))), n)
        else:
            for i in range(n):
                succeeded(await session.execute(delegate(i)))
                await fresh_turn(session)
        seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return seconds, cpu, len(RECORDER.catalog_calls())
    finally:
        await session.cleanup()
        RECORDER.clear()


def report_foundation(apply: Any, n: int, latency: float, rounds: int) -> None:
    print(f"2. vs foundation's per-spawn resolution: {n} delegations, list_models() {latency:g}s, "
          f"caches cold at the start of each run, entry-point scan memoised for every side; "
          f"median of {rounds} round(s), the sides taking turns")
    routed = routed_plan(session_model=SESSION_MODEL, provider_config=slow_catalogs(latency))
    unrouted = unrouted_plan(tiered=True, provider_config=slow_catalogs(latency))
    bare = unrouted_plan(provider_config=slow_catalogs(latency))
    sides = {
        "foundation (app spawner + spawn_utils)": lambda: (unrouted, AppCliStandIn(apply)),
        "model-router, own spawner": lambda: (routed, None),
        "model-router wrapping the app spawner": lambda: (routed, AppCliStandIn(apply)),
        CEILING: lambda: (bare, AppCliStandIn()),
    }
    with memoised_entry_points():
        asyncio.run(delegations(routed, None, 3, False))  # imports and first loads out of the way
        print("  (wall time is what the goals compare; CPU is the process's, steadier on a busy machine)")
        for concurrent in (False, True):
            walls: dict[str, list[float]] = {name: [] for name in sides}
            cpus: dict[str, list[float]] = {name: [] for name in sides}
            calls: dict[str, int] = {}
            for _ in range(rounds):
                for name, side in sides.items():
                    plan, spawner = side()
                    seconds, cpu, calls[name] = asyncio.run(delegations(plan, spawner, n, concurrent))
                    walls[name].append(seconds)
                    cpus[name].append(cpu)
            mode = "concurrent" if concurrent else "sequential"
            goal = CONCURRENT_GOAL if concurrent else SEQUENTIAL_GOAL
            reference = p50(walls["foundation (app spawner + spawn_utils)"])
            print(f"  {n} {mode} delegations:")
            for name, seconds in walls.items():
                ratio = reference / p50(seconds)
                verdict = "" if name.startswith("foundation") or name == CEILING else (
                    f"   goal >= {goal:g}x: {'met' if ratio >= goal else 'MISSED'}")
                print(f"    {name:<42} {p50(seconds):7.3f} s  ({ratio:5.2f}x)  CPU {p50(cpus[name]):6.3f} s  "
                      f"list_models() calls {calls[name]:>3}{verdict}")


# -- 3. failover in real sessions ----------------------------------------------------------------


async def rate_limited(delegations_n: int, batch: int, retry_after: float) -> tuple[int, int, int, float]:
    """Delegations through the module while Anthropic always 429s; (calls to it, models, answered
    by the next candidate, seconds)."""
    cold_start()
    fault = {"type": "RateLimitError", "retry_after": retry_after}
    plan = routed_plan(session_model="openai/gpt-5.5", provider_config={"anthropic": {"complete_error": fault}})
    session = await started(plan)
    wall = time.perf_counter()
    try:
        for first in range(0, delegations_n, batch):
            await session.execute("\n".join(delegate(i) for i in range(first, min(first + batch, delegations_n))))
    finally:
        await session.cleanup()
    seconds = time.perf_counter() - wall
    children = {c.session_id for c in RECORDER.completions() if c.session_id != session.session_id}
    answered = sum(
        1 for sid in children
        if any(c.error is None and c.provider != "anthropic" for c in RECORDER.completions(session_id=sid))
    )
    limited = RECORDER.completions(provider="anthropic")
    return len(limited), len({c.model for c in limited}), answered, seconds


def report_failover(n: int, retry_after: float = 30.0) -> None:
    print(f"3. failover: {n} real delegations, Anthropic answering 429 (retry-after {retry_after:g}s) to every call")
    for batch in (1, 10):
        calls, models, answered, seconds = asyncio.run(rate_limited(n, batch, retry_after))
        print(f"  started {batch:>2} at a time ({seconds:.1f}s): calls to Anthropic = {calls} over {models} "
              f"models (goal: one per model per {retry_after:g}s window, plus siblings already in flight; "
              f"reference without the shared cooldown = {n}); answered by the next candidate {answered}/{n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=40, help="delegations per side, overhead")
    parser.add_argument("--delegations", type=int, default=100, help="delegations per run, vs foundation/failover")
    parser.add_argument("--latency", type=float, default=0.2, help="list_models() latency, seconds")
    parser.add_argument("--rounds", type=int, default=2, help="runs per side, vs foundation (median)")
    parser.add_argument("--foundation", default=os.environ.get("AMPLIFIER_FOUNDATION_SRC"),
                        help="an amplifier-foundation checkout (or $AMPLIFIER_FOUNDATION_SRC)")
    parser.add_argument("--only", default="overhead,foundation,failover")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    if "overhead" in wanted:
        report_overhead(args.spawns, args.latency)
    if "foundation" in wanted:
        apply = load_foundation(args.foundation)
        if apply is not None:
            report_foundation(apply, args.delegations, args.latency, args.rounds)
    if "failover" in wanted:
        report_failover(args.delegations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
