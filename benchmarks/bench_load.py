"""What a user waits for: loading the bundle, and ``amplifier-model-router verify``.

1. **load**: bundle.md (16 agents) and the derived bundle, cold and warm. Cold: the loader's
   parsed-file cache is cleared before each load, so every file is read, parsed (bounded YAML)
   and validated again; the OS page cache is warm either way. Warm: the cache is kept, so a load
   only stats the files and composes. Reference: the same files read the obvious way
   (python-frontmatter, ``yaml.safe_load`` with its default loader), with no validation or
   composition at all.
2. **verify**: wall time, goal under 3 s on a 2-core machine, the median of N runs: the installed
   console script as a user runs it, in a fresh process every time (interpreter start, imports,
   loading the bundle and catalog, the session run, printing), also with ``--flaky anthropic``
   (every routed child fails over once or skips a cooling candidate); and the in-process part
   alone (scenario built, expected routes resolved, one parent session delegating to 16 agents +
   ``self`` in parallel), with ``elapsed_s``, the session run only, as ``verify --json`` reports it.

Run: python benchmarks/bench_load.py [--runs N] [--verify-runs N] [--only load,verify]
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
from collections.abc import Callable
from pathlib import Path

from amplifier_module_model_router.bundle.loader import clear_cache, load_bundle

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = {
    "bundle.md": ROOT / "bundle.md",
    "bundles/amplifier-dev.md": ROOT / "bundles" / "amplifier-dev.md",
}


def median_us(
    action: Callable[[], object], runs: int, *, before: Callable[[], None] | None = None
) -> float:
    samples: list[float] = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter_ns()
        action()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(samples)


def files_of(path: Path) -> list[Path]:
    bundle = load_bundle(path)
    return [bundle.path, *bundle.includes, *(a.source for a in bundle.agents.values())]


def naive_read(paths: list[Path]) -> None:
    import frontmatter  # the bench extra: pip install -e '.[bench]'

    for path in paths:
        frontmatter.load(str(path))



# -- 2. verify --------------------------------------------------------------------------------

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



def report_load(runs: int) -> None:
    print(f"1. load: median of {runs} runs (warm: {runs * 10} runs), microseconds")
    print(f"{'bundle':<26}{'files':>6}{'agents':>8}{'cold':>10}{'warm':>10}{'reference':>11}")
    for label, path in BUNDLES.items():
        paths = files_of(path)
        agents = len(load_bundle(path).agents)
        cold = median_us(lambda: load_bundle(path), runs, before=clear_cache)
        load_bundle(path)
        warm = median_us(lambda: load_bundle(path), runs * 10)
        try:
            naive = f"{median_us(lambda: naive_read(paths), max(runs // 3, 10)):>11.0f}"
        except ImportError:
            naive = f"{'-':>11}"
        print(f"{label:<26}{len(paths):>6}{agents:>8}{cold:>10.0f}{warm:>10.0f}{naive}")
    print("reference = python-frontmatter + yaml.safe_load of the same files, no validation "
          "(pip install -e '.[bench]'; '-' when it is not installed)")


def report_verify(runs: int) -> None:
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
        f"2. verify on {BUNDLE.name}: {agents} delegations in one parent turn; "
        f"median of {runs} runs, seconds (goal < {GOAL_S:g} s, {os.cpu_count()} cores)"
    )
    print(f"{'measurement':<42}{'median':>8}{'min':>8}{'max':>8}")
    for name, samples in rows:
        print(
            f"{name:<42}{statistics.median(samples):>8.2f}{min(samples):>8.2f}{max(samples):>8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per load measurement (median)")
    parser.add_argument("--verify-runs", type=int, default=7, help="runs per verify measurement (median)")
    parser.add_argument("--only", default="load,verify")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    if "load" in wanted:
        report_load(args.runs)
    if "verify" in wanted:
        report_verify(args.verify_runs)


if __name__ == "__main__":
    main()
