"""Routing overhead per spawn inside a real AmplifierSession, warm and cold.

A child session costs ~10 ms here before any routing (module loading rescans entry points), so
routing is measured on its own: the time the router spends deciding + resolving a spawn, read
from the ``resolution_ms`` of its ``model_router:resolved`` events, next to the whole spawn.

- warm: catalogs cached (the normal case after the first delegation of a session)
- cold: caches emptied before every delegation, list_models() answering after LATENCY seconds,
        prefetch off (so the spawn itself pays for the lookups)
- baseline: the same delegation with no model-router mounted (app spawner only)

Run: python benchmarks/bench_session.py [--spawns 40] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from amplifier_core import AmplifierSession  # noqa: E402
from amplifier_core.models import HookResult  # noqa: E402
from session_kit import ALL_AGENTS, BUNDLE, AppCliStandIn, routed_plan  # noqa: E402

from amplifier_module_model_router.bundle.loader import agent_configs  # noqa: E402
from amplifier_module_model_router.offline import RECORDER, offline_mount_plan  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def delegations(plan: dict, spawns: int, *, cold: bool, app: bool) -> tuple[list[float], list[float]]:
    """Per-spawn wall ms and router ms over ``spawns`` sequential delegations in one session."""
    session = AmplifierSession(plan)
    routing_ms: list[float] = []

    async def on_resolved(event: str, data: dict) -> HookResult:
        routing_ms.append(data["resolution_ms"])
        return HookResult()

    session.coordinator.hooks.register("model_router:resolved", on_resolved, name="bench")
    wall: list[float] = []
    try:
        await session.initialize()
        if app:
            session.coordinator.register_capability("session.spawn", AppCliStandIn())
        for i in range(spawns):
            agent = ALL_AGENTS[i % len(ALL_AGENTS)]
            spawner = session.coordinator.get_capability("session.spawn")
            if cold and spawner is not None:  # registered at session:start (first execute)
                spawner.router.cache.invalidate()
            started = time.perf_counter()
            await session.execute(f"DELEGATE model-router:{agent}: task {i}")
            wall.append((time.perf_counter() - started) * 1000)
            RECORDER.clear()
    finally:
        await session.cleanup()
    return wall, routing_ms


def line(label: str, values: list[float]) -> str:
    return f"  {label:<44} p50 {statistics.median(values):8.3f} ms   p95 {pct(values, 0.95):8.3f} ms   n={len(values)}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spawns", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.2, help="list_models() latency, cold runs")
    args = parser.parse_args()

    slow = {name: {"list_models": {"mode": "ok", "delay": args.latency}}
            for name in ("anthropic", "openai", "gemini", "github-copilot")}
    warm_plan = routed_plan(session_model="anthropic/claude-opus-4-8")
    cold_plan = routed_plan(session_model="anthropic/claude-opus-4-8", provider_config=slow,
                            hook_options={"prefetch": False})
    bare_plan = offline_mount_plan(agent_configs(BUNDLE), session_model="anthropic/claude-opus-4-8")

    print(f"routing overhead per spawn, {args.spawns} sequential delegations cycling the 16 agents")
    await delegations(warm_plan, 3, cold=False, app=False)  # import + first-load costs out of the way
    warm_wall, warm_route = await delegations(warm_plan, args.spawns, cold=False, app=False)
    cold_wall, cold_route = await delegations(cold_plan, args.spawns, cold=True, app=False)
    app_wall, app_route = await delegations(warm_plan, args.spawns, cold=False, app=True)
    bare_wall, _ = await delegations(bare_plan, args.spawns, cold=False, app=True)
    print("router time (decide + resolve + event), from model_router:resolved.resolution_ms:")
    print(line("warm (catalogs cached)", warm_route))
    print(line(f"cold (caches emptied, list_models {args.latency}s)", cold_route))
    print(line("warm, wrapping an app spawner", app_route))
    print("whole delegation (parent turn + child session), for scale:")
    print(line("routed, our spawner, warm", warm_wall))
    print(line("routed, wrapping an app spawner, warm", app_wall))
    print(line("no model-router (app spawner only)", bare_wall))
    print(f"reference: a child session costs ~10 ms here before any routing (DESIGN.md); "
          f"warm routing adds {statistics.median(warm_route):.3f} ms p50")


if __name__ == "__main__":
    asyncio.run(main())
