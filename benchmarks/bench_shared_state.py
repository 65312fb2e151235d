"""A fleet on one set of provider accounts: memory vs sqlite vs Redis state, side by side.

K real processes (default 8) each run a real AmplifierSession (model-router hook, offline
providers) that makes 25 delegations, 5 in parallel per turn. Every catalog answers after
0.2 s and Anthropic answers 429 (retry-after 30 s) to every call from the start. The processes
start their sessions at the same moment. Per backend this prints:

- list_models() calls for the whole fleet (goal with sqlite/redis: 1 per provider per TTL;
  memory: K per provider);
- calls that reached the rate-limited provider, per model, and how many of them were already
  in flight when that model's first 429 came back (goal: at most 1 per distinct model plus
  those in flight);
- wall time (slowest process's session) and failed delegations;
- spawn overhead: the router's time per warm spawn (``resolution_ms`` of model_router:resolved,
  every turn after the first) p50/p95, and the shared-cooldown read each routed child makes
  before a model call, next to memory's (goal: within 0.2 ms p50 of memory).

Run: python benchmarks/bench_shared_state.py [--processes 8] [--delegations 25]
Redis: MODEL_ROUTER_TEST_REDIS_URL, else a private redis-server started here (if installed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from redis_kit import URL_ENV, PrivateRedis  # noqa: E402

LIMITED = "anthropic"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_fleet(state: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Start ``args.processes`` workers that begin together; their JSON results."""
    start_at = time.time() + args.warmup
    command = [
        sys.executable, "-m", "amplifier_module_model_router.offline.fleet",
        "--bundle", str(ROOT / "bundle.md"), "--state", json.dumps(state),
        "--delegations", str(args.delegations), "--batch", str(args.batch),
        "--catalog-delay", str(args.catalog_delay), "--latency", str(args.latency),
        "--limited", LIMITED, "--start-at", repr(start_at),
    ]
    env = {**os.environ, "AMPLIFIER_MODEL_ROUTER_STATE": "memory"}
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(args.processes)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        if worker.returncode != 0:
            raise SystemExit(f"worker failed ({worker.returncode}):\n{err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def summarise(results: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    calls: dict[str, int] = defaultdict(int)
    for r in results:
        for provider, n in r["catalog_calls"].items():
            calls[provider] += n
    limited = sorted((c for r in results for c in r["limited_calls"]), key=lambda c: c["start"])
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in limited:
        by_model[call["model"]].append(call)
    in_flight = 0
    for model_calls in by_model.values():
        first_429_end = min(c["end"] for c in model_calls)
        in_flight += sum(1 for c in model_calls[1:] if c["start"] < first_429_end)
    # Warm: every turn after the first (the first one's spawns may wait for the catalogs,
    # fetched by this process or, with a shared store, by another one).
    warm = [ms for r in results for ms in r["resolution_ms"][batch:]]
    sync = [ms for r in results for ms in r["sync_ms"]]
    return {
        "list_models": sum(calls.values()),
        "per_provider": dict(calls),
        "limited": len(limited),
        "models": len(by_model),
        "in_flight": in_flight,
        "excess": max(0, len(limited) - len(by_model) - in_flight),
        "wall": max(r["wall_s"] for r in results),
        "failed": sum(len(r["failures"]) for r in results),
        "delegations": sum(r["delegations"] for r in results),
        "warm_p50": pct(warm, 0.5),
        "warm_p95": pct(warm, 0.95),
        "sync_p50": pct(sync, 0.5) if sync else 0.0,
        "sync_p95": pct(sync, 0.95) if sync else 0.0,
        "stores": sorted({r["store"] for r in results}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--delegations", type=int, default=25)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--catalog-delay", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds each complete() takes")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds for the workers to import")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-shared-state-"))
    private = None
    url = os.environ.get(URL_ENV)
    if not url and shutil.which("redis-server"):
        private = PrivateRedis(shutil.which("redis-server"))
        private.start()
        url = private.url
    backends: dict[str, dict[str, Any]] = {
        "memory": {"backend": "memory"},
        "sqlite": {"backend": "sqlite", "path": str(folder / "state.db")},
    }
    if url:
        backends["redis"] = {"backend": "redis", "url": url, "namespace": f"bench-{uuid.uuid4().hex[:8]}"}
    try:
        summary = {name: summarise(run_fleet(state, args), args.batch) for name, state in backends.items()}
    finally:
        if private is not None:
            private.close()
        shutil.rmtree(folder, ignore_errors=True)

    names = list(summary)
    base = summary["memory"]
    print(
        f"{args.processes} processes x {args.delegations} delegations ({args.batch} in parallel per turn), "
        f"catalogs answer after {args.catalog_delay:g} s, {LIMITED} answers 429 from the first call\n"
    )
    rows = [
        ("list_models() calls, whole fleet", lambda s: f"{s['list_models']}"),
        ("  per provider", lambda s: " ".join(f"{v}" for v in s["per_provider"].values())),
        (f"calls that reached {LIMITED}", lambda s: f"{s['limited']}"),
        ("  distinct models / in flight at 1st 429", lambda s: f"{s['models']} / {s['in_flight']}"),
        ("  beyond the goal (1/model + in flight)", lambda s: f"{s['excess']}"),
        ("wall time, slowest session (s)", lambda s: f"{s['wall']:.2f}"),
        ("failed delegations", lambda s: f"{s['failed']} of {s['delegations']}"),
        ("warm spawn routing p50 / p95 (ms)", lambda s: f"{s['warm_p50']:.3f} / {s['warm_p95']:.3f}"),
        ("  p50 vs memory (ms)", lambda s: f"{s['warm_p50'] - base['warm_p50']:+.3f}"),
        ("cooldown read before a call p50/p95 (ms)", lambda s: f"{s['sync_p50']:.3f} / {s['sync_p95']:.3f}"),
        ("spawn overhead p50 vs memory (ms)",
         lambda s: f"{s['warm_p50'] + s['sync_p50'] - base['warm_p50'] - base['sync_p50']:+.3f}"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    print(" " * width + "".join(f"{n:>16}" for n in names))
    for label, cell in rows:
        print(f"{label:<{width}}" + "".join(f"{cell(summary[n]):>16}" for n in names))
    print("\nstores:", "; ".join(f"{n}: {', '.join(summary[n]['stores'])}" for n in names))
    print("per provider order:", ", ".join(base["per_provider"]))


if __name__ == "__main__":
    main()
