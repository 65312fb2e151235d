"""Wall time of ``amplifier-model-router verify``: the goal is under 3 s on a 2-core machine.

Two measurements, each the median of N runs:

- **command**: the installed console script as a user runs it, in a fresh process every time
  (interpreter start, imports, loading the bundle and catalog, the session run, printing);
  with ``--flaky anthropic`` too, where every routed child fails over once or skips a cooling
  candidate.
- **session**: the in-process part alone (scenario built, expected routes resolved, one
  parent session delegating to 16 agents + ``self`` in parallel), as ``verify`` reports it in
  ``--json`` (``elapsed_s`` is the session run only).

Run: python benchmarks/bench_verify.py [--runs N]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bundle.md"
GOAL_S = 3.0


def command() -> list[str]:
    script = Path(sys.executable).parent / "amplifier-model-router"
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-m", "amplifier_module_model_router.cli"]
    )


def time_command(args: list[str], runs: int, env: dict[str, str]) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*command(), *args], capture_output=True, text=True, env=env)
        samples.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"verify failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return samples


def time_in_process(runs: int) -> tuple[list[float], list[float]]:
    from amplifier_module_model_router.cli.expect import Planner
    from amplifier_module_model_router.cli.scenario import ScenarioOptions, build_scenario
    from amplifier_module_model_router.cli.verify import run_verify

    totals, sessions = [], []
    for _ in range(runs):
        start = time.perf_counter()
        scenario = build_scenario(ScenarioOptions(bundle=BUNDLE))
        planner = Planner(scenario)

        async def once(scenario=scenario, planner=planner):
            return await run_verify(scenario, await planner.routes())

        result = asyncio.run(once())
        totals.append(time.perf_counter() - start)
        sessions.append(result.elapsed_s)
        assert result.ok, result.summary()
    return totals, sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as home:  # no user settings; verify ignores them anyway
        env = dict(os.environ, HOME=home)
        env.pop("AMPLIFIER_HOME", None)
        rows = [
            ("verify (command, fresh process)", time_command(["verify", str(BUNDLE)], runs, env)),
            (
                "verify --flaky anthropic (command)",
                time_command(["verify", str(BUNDLE), "--flaky", "anthropic"], runs, env),
            ),
        ]
        probe = subprocess.run(
            [*command(), "verify", str(BUNDLE), "--json"], capture_output=True, text=True, env=env
        )
        agents = len(json.loads(probe.stdout)["agents"])
    totals, sessions = time_in_process(runs)
    rows += [
        ("in process: scenario + routes + session", totals),
        ("in process: session run only", sessions),
    ]

    print(
        f"verify on {BUNDLE.name}: {agents} delegations in one parent turn; "
        f"median of {runs} runs, seconds (goal < {GOAL_S:g} s, {os.cpu_count()} cores)"
    )
    print(f"{'measurement':<42}{'median':>8}{'min':>8}{'max':>8}")
    for name, samples in rows:
        print(
            f"{name:<42}{statistics.median(samples):>8.2f}{min(samples):>8.2f}{max(samples):>8.2f}"
        )


if __name__ == "__main__":
    main()
