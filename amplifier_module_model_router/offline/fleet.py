"""One process of a simulated fleet: a real session that delegates against shared routing state.

The shared-state benchmark and tests start several of these at once (separate processes, as a
team's terminals, CI jobs and workers are) and add up what each saw. Each runs a real
``AmplifierSession`` with the model-router hook and the offline providers; only the providers
are simulated: catalogs answer after ``catalog_delay`` seconds and the ``limited`` providers
answer 429 to every call.

    python -m amplifier_module_model_router.offline.fleet --bundle bundle.md \\
        --state '{"backend": "sqlite", "path": "/tmp/x/state.db"}' --delegations 25 \\
        --catalog-delay 0.2 --limited anthropic --start-at 1764650000.5

The delegations run ``batch`` at a time (parallel within a turn, turns one after another).
Prints one JSON object: catalog calls per provider, every ``complete()`` sent to a limited
provider (model, start and end on the wall clock), each spawn's routing time, the time the
children spent reading shared cooldowns before their model calls, failures, wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["run_worker"]

PROVIDERS = ("openai", "anthropic", "gemini", "github-copilot")
"""openai first: the parent session runs on it (a limited provider cannot carry the parent)."""


def _turns(agents: Sequence[str], delegations: int, batch: int) -> list[str]:
    """Prompts of ``batch`` parallel delegations each, ``delegations`` in all."""
    lines = [f"DELEGATE {agents[i % len(agents)]}: task {i}" for i in range(delegations)]
    return ["\n".join(lines[i : i + batch]) for i in range(0, len(lines), max(1, batch))]


async def run_worker(
    *,
    bundle_path: str | Path,
    state: Mapping[str, Any],
    delegations: int = 25,
    batch: int = 5,
    catalog_delay: float = 0.2,
    limited: Sequence[str] = ("anthropic",),
    latency: float = 0.02,
    start_at: float | None = None,
) -> dict[str, Any]:
    """Run one session (see module doc) and return what it saw."""
    from amplifier_core import AmplifierSession
    from amplifier_core.models import HookResult

    from ..bundle.loader import agent_configs, load_bundle
    from ..failover.cooldown import shared_cooldowns
    from ..shared import close_shared
    from .plan import offline_mount_plan
    from .recorder import RECORDER

    bundle = load_bundle(bundle_path)
    tiered = sorted(name for name, agent in bundle.agents.items() if agent.tier)
    provider_config = {
        name: {"list_models": {"delay": catalog_delay}, "latency": latency} for name in PROVIDERS
    }
    hook = {
        "module": "model-router",
        "config": {**dict(bundle.module_config), "use_settings_files": False, "state": dict(state)},
    }
    plan = offline_mount_plan(
        agent_configs(bundle), providers=PROVIDERS, flaky=limited, provider_config=provider_config, hooks=[hook]
    )
    if start_at is not None:  # every process starts its session at the same moment
        await asyncio.sleep(max(0.0, start_at - time.time()))
    resolved: list[dict[str, Any]] = []
    failures: list[str] = []
    session = AmplifierSession(plan)

    async def on_resolved(event: str, data: dict[str, Any]) -> HookResult:
        resolved.append(data)
        return HookResult()

    async def on_error(event: str, data: dict[str, Any]) -> HookResult:
        failures.append(str(data.get("error") or data)[:200])
        return HookResult()

    session.coordinator.hooks.register("model_router:resolved", on_resolved, name="fleet-resolved")
    session.coordinator.hooks.register("delegate:error", on_error, name="fleet-error")
    started = time.perf_counter()
    started_wall = time.time()
    try:
        await session.initialize()
        for prompt in _turns([f"model-router:{a}" for a in tiered], delegations, batch):
            await session.execute(prompt)
    finally:
        await session.cleanup()
    wall = time.perf_counter() - started
    sync = shared_cooldowns().listener
    sync_ms = list(sync.sync_ms) if sync is not None else []
    store = sync.store if sync is not None else None
    limited_calls = [
        {"provider": c.provider, "model": c.model, "end": c.at, "start": c.at - latency, "error": c.error}
        for c in RECORDER.completions()
        if c.provider in limited
    ]
    result = {
        "catalog_calls": {p: len(RECORDER.catalog_calls(provider=p)) for p in PROVIDERS},
        "limited_calls": limited_calls,
        "resolution_ms": [round(float(r.get("resolution_ms", 0.0)), 4) for r in resolved],
        "from_cache": [bool(r.get("from_cache")) for r in resolved],
        "sync_ms": sync_ms,
        "store": store.status() if store is not None else "memory",
        "store_stats": dataclasses.asdict(store.stats) if store is not None else {},
        "session_started": started_wall,
        "delegations": len(resolved),
        "failures": failures,
        "wall_s": wall,
    }
    await close_shared()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--state", default='{"backend": "memory"}', help="the state setting, as JSON")
    parser.add_argument("--delegations", type=int, default=25)
    parser.add_argument("--batch", type=int, default=5, help="delegations run in parallel per turn")
    parser.add_argument("--catalog-delay", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--limited", action="append", default=None)
    parser.add_argument("--start-at", type=float, default=None)
    args = parser.parse_args(argv)
    result = asyncio.run(
        run_worker(
            bundle_path=args.bundle,
            state=json.loads(args.state),
            delegations=args.delegations,
            batch=args.batch,
            catalog_delay=args.catalog_delay,
            limited=tuple(args.limited or ("anthropic",)),
            latency=args.latency,
            start_at=args.start_at,
        )
    )
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main()
    # Skip interpreter teardown: amplifier-core's engine has been seen to abort there
    # (DESIGN.md pitfalls) after every session was cleaned up; the result is already out.
    os._exit(code)
