"""Time to load bundle.md (16 agents) and the derived bundle, cold and warm.

Cold: the loader's parsed-file cache is cleared before each load, so every file is read,
parsed (bounded YAML) and validated again; the OS page cache is warm either way. Warm: the
cache is kept, so a load only stats the files and composes. Reference: the same files read
the obvious way (python-frontmatter, ``yaml.safe_load`` with its default loader), with no
validation or composition at all.

Run: python benchmarks/bench_load.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import frontmatter

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
    for path in paths:
        frontmatter.load(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per measurement (median)")
    runs = parser.parse_args().runs

    print(f"median of {runs} runs (warm: {runs * 10} runs), microseconds")
    print(f"{'bundle':<26}{'files':>6}{'agents':>8}{'cold':>10}{'warm':>10}{'reference':>11}")
    for label, path in BUNDLES.items():
        paths = files_of(path)
        agents = len(load_bundle(path).agents)
        cold = median_us(lambda: load_bundle(path), runs, before=clear_cache)
        load_bundle(path)
        warm = median_us(lambda: load_bundle(path), runs * 10)
        naive = median_us(lambda: naive_read(paths), max(runs // 3, 10))
        print(f"{label:<26}{len(paths):>6}{agents:>8}{cold:>10.0f}{warm:>10.0f}{naive:>11.0f}")
    print("reference = python-frontmatter + yaml.safe_load of the same files, no validation")


if __name__ == "__main__":
    main()
