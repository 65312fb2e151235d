"""Shared test isolation: no test sees the developer's settings or another test's caches.

The router keeps process-wide state on purpose (catalog caches, cooldowns, spawn handoffs are
shared by a parent session and its children); tests must each start from a clean slate.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import settings

from amplifier_module_model_router.offline.modules import make_importable

# Deterministic property tests everywhere: fixed derandomised examples, no example database,
# so CI runs the same cases every time (individual tests may still set their own budgets).
settings.register_profile("model-router", derandomize=True, database=None)
settings.load_profile("model-router")

# The offline modules (loop, context, simulated providers, delegate) are importable packages,
# not entry points: tests that hand-build a mount plan need them importable too.
make_importable()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, AMPLIFIER_HOME, the org settings variable and cwd all point at empty tmp folders."""
    home = tmp_path / "isolated-home"
    work = tmp_path / "isolated-cwd"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("AMPLIFIER_HOME", raising=False)
    monkeypatch.delenv("AMPLIFIER_MODEL_ROUTER_ORG_SETTINGS", raising=False)
    # Routing state stays in memory unless a test names a backend in its settings.
    monkeypatch.setenv("AMPLIFIER_MODEL_ROUTER_STATE", "memory")
    monkeypatch.chdir(work)
    return work


@pytest.fixture(autouse=True)
def fresh_routing_state():
    """Every piece of process-wide state empty: cold catalog caches, no cooldowns, no spawn
    handoffs, no cost or spend counted, an empty call recorder (one registry, one reset); after
    the test, whatever it opened (state stores: sqlite threads, Redis clients) is closed."""
    from amplifier_module_model_router.shared import close_shared, reset_shared

    reset_shared()
    yield
    asyncio.run(close_shared())


class FakeClock:
    """A monotonic clock tests move by hand (cooldowns, TTLs)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock: FakeClock):
    """A cooldown registry of its own on the fake clock (not the process-wide one)."""
    from amplifier_module_model_router.failover.cooldown import CooldownRegistry

    return CooldownRegistry(clock=clock)
