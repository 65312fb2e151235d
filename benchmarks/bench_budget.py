"""Spend caps, printed (never asserted): refuse and budget-only under a session cap, a daily cap
shared by 8 processes, and what a budget costs a spawn.

Run: ``.venv/bin/python benchmarks/bench_budget.py [--processes 8] [--redis-url URL]``
(``MODEL_ROUTER_TEST_REDIS_URL`` is read when ``--redis-url`` is not given.)

Known costs: every Anthropic call reports 100,000 input tokens and no output, so it costs
$0.50 on Opus, $0.30 on Sonnet and $0.10 on Haiku (the embedded catalog's list prices); the
root session runs on OpenAI gpt-5.4 with 10 tokens a call (next to nothing) until a cap
moves it. The scripted session, at full tiers (no budget):

    zen-architect -> git-ops   Opus call, Haiku child, Opus call      $1.10
    explorer                   Sonnet                                  $0.30
    ... zen, explorer, zen, zen                                        total $5.00

1. That session under a $2.00 session cap with ``at_cap: refuse``: the spend, the calls in
   flight when the cap was crossed, every refusal's message. Goal: spend <= $2.00 + the one
   call in flight.
2. The same with ``at_cap: budget-only``: every delegation finishes; the calls after the cap
   and their rate; where each step down happened against its configured fraction.
3. A daily cap shared by N processes (memory, sqlite, redis when a URL is given), each running
   its own session of Haiku delegations, ``at_cap: refuse``: total spend, overshoot, and the
   calls in flight when the shared total crossed the cap. Goal: overshoot <= those calls.
4. Router time per spawn: no budget vs a budget far from its cap (p50/p95 over warm spawns).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import amplifier_module_event_tap as tap  # noqa: E402
from amplifier_core import AmplifierSession  # noqa: E402

from amplifier_module_model_router.bundle.loader import agent_configs, load_bundle  # noqa: E402
from amplifier_module_model_router.resolve.prices import price_of  # noqa: E402
from amplifier_module_model_router.cost.report import usd  # noqa: E402
from amplifier_module_model_router.cost.summary import Tokens  # noqa: E402
from amplifier_module_model_router.offline import RECORDER, offline_mount_plan  # noqa: E402
from amplifier_module_model_router.resolve.snapshot import load_catalog  # noqa: E402

BUNDLE = load_bundle(ROOT / "bundle.md")
CATALOG = load_catalog()
TAPPED = ("model_router:resolved", "model_router:budget", "delegate:error")
CAP = Decimal("2.00")


def has_state_store() -> bool:
    try:
        import amplifier_module_model_router.state  # noqa: F401
    except ImportError:
        return False
    return True


def plan(budget: dict[str, Any] | None, *, state: dict[str, Any] | None = None, latency: float = 0.0) -> dict:
    config: dict[str, Any] = {**dict(BUNDLE.module_config), "use_settings_files": False}
    if budget is not None:
        config["budget"] = budget
    if state is not None:
        config["state"] = state
    result = offline_mount_plan(
        agent_configs(BUNDLE),
        providers=("openai", "anthropic"),
        session_model="openai/gpt-5.4",
        hooks=[{"module": "model-router", "config": config}],
        provider_config={
            "anthropic": {"usage": {"input_tokens": 100_000, "output_tokens": 0}, "latency": latency},
            "openai": {"usage": {"input_tokens": 10, "output_tokens": 0}, "latency": latency},
        },
    )
    result["hooks"].append({"module": "event-tap", "config": {"events": list(TAPPED)}})
    return result


def cost(call: Any) -> Decimal:
    if call.error is not None:
        return Decimal(0)
    price = price_of(CATALOG.model(call.provider, call.model))
    assert price is not None, call
    return price.cost(Tokens(input=call.input_tokens, output=call.output_tokens, cache_read=call.cache_read_tokens))


def zen_nested() -> str:
    return 'DELEGATE model-router:zen-architect: ' + json.dumps("DELEGATE model-router:git-ops: tidy up")


SCRIPT = [zen_nested(), "DELEGATE model-router:explorer: look", zen_nested(),
          "DELEGATE model-router:explorer: look", zen_nested(), zen_nested()]


async def scripted(budget: dict[str, Any] | None) -> dict[str, Any]:
    """Run the scripted session; every call with its cost, events, and how the root ended."""
    from amplifier_module_model_router.budget import shared_book

    RECORDER.clear()
    tap.TAP.clear()
    shared_book().reset()
    root_error = None
    session = AmplifierSession(plan(budget))
    try:
        await session.initialize()
        for prompt in SCRIPT:
            try:
                await session.execute(prompt)
            except RuntimeError as err:
                root_error = str(err)
                break
    finally:
        await session.cleanup()
    calls = sorted((c for c in RECORDER.completions() if c.error is None), key=lambda c: c.at)
    return {"calls": calls, "events": list(tap.TAP), "root_error": root_error}


def crossing(calls: list[Any], cap: Decimal) -> tuple[int | None, Decimal]:
    """Index of the call whose end took the running spend to the cap, and the spend before it."""
    spent = Decimal(0)
    for i, call in enumerate(calls):
        if spent + cost(call) >= cap:
            return i, spent
        spent += cost(call)
    return None, spent


def in_flight_at(calls: list[Any], moment: float) -> list[Any]:
    """The calls running at ``moment`` (the one ending then included)."""
    return [c for c in calls if (c.started or c.at) <= moment <= c.at]


def part_full_and_caps() -> None:
    full = asyncio.run(scripted(None))
    full_spend = sum(map(cost, full["calls"]), Decimal(0))
    print(f"1/2. scripted session at full tiers (no budget): {len(full['calls'])} calls, {usd(full_spend)}")
    print()

    refuse = asyncio.run(scripted({"session_usd": float(CAP), "at_cap": "refuse"}))
    calls = refuse["calls"]
    spend = sum(map(cost, calls), Decimal(0))
    index, _ = crossing(calls, CAP)
    flying = in_flight_at(calls, calls[index].at) if index is not None else []
    refusals = [d["error"] for _, e, d in refuse["events"] if e == "delegate:error"]
    if refuse["root_error"]:
        refusals.append(refuse["root_error"])
    largest = max((cost(c) for c in flying), default=Decimal(0))
    print(f"1. cap {usd(CAP)}, at_cap: refuse")
    print(f"   spend {usd(spend)} · over the cap by {usd(max(spend - CAP, Decimal(0)))} · calls in flight when "
          f"it was crossed: {len(flying)} ({usd(largest)} the largest) · goal: spend <= {usd(CAP)} + that call: "
          f"{'met' if spend <= CAP + largest else 'MISSED'}")
    print(f"   {len(refusals)} refusal(s), each saying why:")
    for message in refusals:
        print(f"     - {message[message.find('model-router (budget)'):][:170]}")
    print()

    only = asyncio.run(scripted({"session_usd": float(CAP), "at_cap": "budget-only"}))
    calls = only["calls"]
    spend = sum(map(cost, calls), Decimal(0))
    index, _ = crossing(calls, CAP)
    after = calls[index + 1 :] if index is not None else []
    budget_models = {"claude-haiku-4-5"}
    failed = [d for _, e, d in only["events"] if e == "delegate:error"]
    spawns = [d for _, e, d in only["events"] if e == "model_router:resolved"]
    print(f"2. cap {usd(CAP)}, at_cap: budget-only")
    print(f"   {len(spawns)} delegations, {len(failed)} failed · root session ended "
          f"{'normally' if only['root_error'] is None else 'with ' + only['root_error']}")
    post = sum(map(cost, after), Decimal(0))
    on_budget = all(c.model in budget_models for c in after)
    print(f"   spend {usd(spend)} · after the cap: {len(after)} call(s), {usd(post)}, "
          f"{usd(post / len(after)) if after else '-'} a call, all on the budget tier: {'yes' if on_budget else 'NO'}")
    print("   steps (configured fraction -> spend when the event fired; the next spawn's tier):")
    steps = [d for _, e, d in only["events"] if e == "model_router:budget" and d["action"] in ("degrade", "at_cap")]
    for step in steps:
        after_step = [s for s in spawns if s.get("budget", {}).get("level", 0) >= step["level"]]
        nxt = after_step[0] if after_step else None
        where = f"{nxt['agent'].removeprefix('model-router:')} on {nxt['tier']}" if nxt else "-"
        print(f"     {step['action']:8} at {step['threshold']:.0%} of the cap -> fired at {usd(Decimal(str(step['spend_usd'])))} "
              f"({step['spend_usd'] / float(CAP):.0%}) · next spawn: {where}")
    moved = [d for _, e, d in only["events"] if e == "model_router:budget" and d["action"] == "moved"]
    for move in moved:
        print(f"     moved mid-run: {move['agent']} {move['from_tier'] or 'its own model'} -> {move['to_tier']} at "
              f"{usd(Decimal(str(move['spend_usd'])))}")
    print()


# -- 3. a daily cap shared by N processes ------------------------------------------------------


async def worker(state: dict[str, Any] | None, cap: float, delegations: int, start_at: float) -> dict[str, Any]:
    session = AmplifierSession(plan({"daily_usd": cap, "at_cap": "refuse"}, state=state, latency=0.05))
    refused = 0
    root_refused = False
    try:
        await session.initialize()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        for i in range(delegations):
            try:
                await session.execute(f"DELEGATE model-router:git-ops: task {i}")
            except RuntimeError:
                root_refused = True
                break
    finally:
        await session.cleanup()
    refused = sum(1 for _, e, _ in tap.TAP if e == "delegate:error")
    calls = [c for c in RECORDER.completions() if c.error is None]
    if state is not None and has_state_store():
        from amplifier_module_model_router.shared import close_shared

        await close_shared()
    return {
        "calls": [{"started": c.started, "ended": c.at, "cost": str(cost(c))} for c in calls],
        "refused": refused,
        "root_refused": root_refused,
    }


def fleet(backend: str, state: dict[str, Any] | None, processes: int, cap: float, delegations: int) -> dict[str, Any]:
    start_at = time.time() + 3.0
    args = [sys.executable, __file__, "--worker", json.dumps(state), str(cap), str(delegations), str(start_at)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        line = next((ln for ln in reversed(out.splitlines()) if ln.startswith("{")), None)
        if line is None:
            raise SystemExit(f"worker failed ({backend}): {err[-2000:]}")
        results.append(json.loads(line))
    calls = sorted((c for r in results for c in r["calls"]), key=lambda c: c["ended"])
    cap_d = Decimal(str(cap))
    spent, crossed_at = Decimal(0), None
    for call in calls:
        spent += Decimal(call["cost"])
        if crossed_at is None and spent >= cap_d:
            crossed_at = call["ended"]
    # in flight when the total crossed the cap: the crossing call itself and every call begun
    # before that moment and still running
    flying = [c for c in calls if crossed_at is not None and c["started"] <= crossed_at <= c["ended"]]
    # begun after that moment: admitted by a check that read the total just before it was
    # stored (the check and the call's start are not one atomic step across processes)
    started_after = [c for c in calls if crossed_at is not None and c["started"] > crossed_at]
    return {
        "backend": backend,
        "spend": spent,
        "over": max(spent - cap_d, Decimal(0)),
        "in_flight": len(flying),
        "in_flight_usd": sum((Decimal(c["cost"]) for c in flying), Decimal(0)),
        "started_after": len(started_after),
        "started_after_usd": sum((Decimal(c["cost"]) for c in started_after), Decimal(0)),
        "calls": len(calls),
        "refusals": sum(r["refused"] + r["root_refused"] for r in results),
    }


def part_fleet(processes: int, redis_url: str | None) -> None:
    cap, delegations = 3.0, 10
    print(f"3. daily cap ${cap:.2f} shared by {processes} processes, each up to {delegations} delegations "
          "to git-ops (Haiku, $0.10 a call, 50 ms a call), at_cap: refuse")
    backends: list[tuple[str, dict[str, Any] | None]] = [("memory", None)]
    if has_state_store():
        folder = tempfile.mkdtemp(prefix="bench-budget-")
        backends.append(("sqlite", {"backend": "sqlite", "path": f"{folder}/state.db"}))
        if redis_url:
            backends.append(("redis", {"backend": "redis", "url": redis_url, "namespace": f"bench-budget-{os.getpid()}"}))
        else:
            print("   redis: skipped (no --redis-url and no MODEL_ROUTER_TEST_REDIS_URL)")
    else:
        print("   sqlite/redis: skipped (this checkout has no routing state store)")
    print(f"   {'backend':8} {'spend':>8} {'over cap':>9} {'in flight at crossing':>22} {'started after':>14} "
          f"{'calls':>6} {'refusals':>9}  goal: over <= in flight (+ started after)")
    for name, state in backends:
        r = fleet(name, state, processes, cap, delegations)
        goal = "met" if r["over"] <= r["in_flight_usd"] + r["started_after_usd"] else "MISSED"
        if name == "memory":
            goal = "(no shared total: each process counts its own day)"
        print(f"   {name:8} {usd(r['spend']):>8} {usd(r['over']):>9} "
              f"{r['in_flight']:>6} calls ({usd(r['in_flight_usd'])}) {r['started_after']:>14} {r['calls']:>6} "
              f"{r['refusals']:>9}  {goal}")
    print()


# -- 4. router time per spawn ------------------------------------------------------------------


async def spawn_times(budget: dict[str, Any] | None, spawns: int = 300) -> list[float]:
    from amplifier_module_model_router.budget import shared_book

    shared_book().reset()
    session = AmplifierSession(plan(budget))
    times: list[float] = []
    try:
        await session.initialize()
        routing = session.coordinator.get_capability("session.spawn")
        if routing is None:
            await session.execute("hello")
            routing = session.coordinator.get_capability("session.spawn")
        router = routing.router
        configs = session.coordinator.config["agents"]
        for i in range(spawns + 20):
            request = router.decide("model-router:explorer", configs, None)
            started = time.perf_counter()
            await router.route(session.coordinator, request, sub_session_id=f"bench-{i}")
            if i >= 20:
                times.append((time.perf_counter() - started) * 1000)
    finally:
        await session.cleanup()
    return times


def part_overhead() -> None:
    rows = []
    for label, budget in (("no budget", None), ("budget, 0% spent", {"session_usd": 1000, "daily_usd": 1000})):
        runs = [asyncio.run(spawn_times(budget)) for _ in range(3)]
        values = sorted(v for run in runs for v in run)
        rows.append((label, statistics.median(values), values[int(len(values) * 0.95)]))
    print("4. router time per warm spawn (route(): decide is outside), 3 x 300 spawns")
    for label, p50, p95 in rows:
        print(f"   {label:18} p50 {p50 * 1000:7.1f} µs   p95 {p95 * 1000:7.1f} µs")
    print()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        state = json.loads(sys.argv[2])
        result = asyncio.run(worker(state, float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
        print(json.dumps(result))
        sys.stdout.flush()
        os._exit(0)  # the kernel's engine has been seen to abort at interpreter exit
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--redis-url", default=os.environ.get("MODEL_ROUTER_TEST_REDIS_URL"))
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    options = parser.parse_args()
    part_full_and_caps()
    if not options.skip_fleet:
        part_fleet(options.processes, options.redis_url)
    if not options.skip_overhead:
        part_overhead()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
