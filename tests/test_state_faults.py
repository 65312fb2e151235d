"""The state store when things go wrong: never a failed or stalled spawn, one warning.

Real faults only: a real redis-server killed and restarted mid-run, a port that accepts and
never answers, a sqlite file overwritten with junk, a sqlite file locked by another
connection, an Amplifier home that cannot be written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest
from redis_kit import PrivateRedis, StalledServer, redis_binary

from amplifier_module_model_router.state import GuardedStore, StateSettings, StoredCatalog, open_store
from amplifier_module_model_router.state.redis import RedisStore
from amplifier_module_model_router.state.sqlite import SqliteStore

CATALOG = StoredCatalog(models=({"id": "gpt-5.2"},))


@pytest.fixture(autouse=True)
def state_logs(caplog: pytest.LogCaptureFixture) -> None:
    """See the store's messages whatever level an earlier test (the CLI) left the root at."""
    caplog.set_level(logging.INFO, logger="amplifier_module_model_router.state")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "state store" in r.getMessage()]


async def _every_op(store: GuardedStore) -> None:
    await store.get_catalog("k")
    await store.put_catalog("k", CATALOG, 5)
    await store.put_cooldown("a#1", "m", 5, "rate_limit")
    await store.get_cooldowns([("a#1", "m")])
    await store.acquire_lease("l", "me", 1)
    await store.incr("c", 1, 5)


async def test_redis_killed_mid_run_keeps_answering_locally_then_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    server = PrivateRedis(redis_binary())
    server.start()
    store = GuardedStore(RedisStore(server.url, namespace="fault"), op_timeout=0.25, retry_s=0.1)
    try:
        await store.put_cooldown("a#1", "m", 30, "rate_limit")
        assert [c.reason for c in await store.get_cooldowns([("a#1", "m")])] == ["rate_limit"]

        server.kill()
        started = time.monotonic()
        for _ in range(20):
            await _every_op(store)
        # one failed call, then local answers at once (waiting on each: 20 x 9 ops x 0.25 s = 45 s);
        # the slack is for a loaded machine
        assert time.monotonic() - started < 2.5
        assert not store.up and store.stats.skipped >= 100
        assert await store.acquire_lease("catalog:x", "me", 1) is True  # nobody to coordinate with
        assert await store.incr("c", 1, 5) is None  # the caller keeps counting locally
        assert len(_warnings(caplog)) == 1

        server.start()  # same port, empty server
        deadline = time.monotonic() + 5
        while not store.up and time.monotonic() < deadline:
            await store.get_catalog("k")  # each call may start the background probe; none waits
            await asyncio.sleep(0.05)
        assert store.up and store.stats.reconnects == 1
        await store.put_cooldown("a#1", "m", 30, "again")
        assert [c.reason for c in await store.get_cooldowns([("a#1", "m")])] == ["again"]
        assert len(_warnings(caplog)) == 1  # a recovery is not a warning
    finally:
        await store.close()
        server.close()


async def test_a_stalled_redis_costs_one_bounded_wait_then_nothing(caplog: pytest.LogCaptureFixture) -> None:
    stalled = StalledServer()
    store = GuardedStore(RedisStore(stalled.url, namespace="fault", op_timeout=5), op_timeout=0.2, retry_s=0.1)
    try:
        started = time.monotonic()
        assert await store.get_catalog("k") is None
        first = time.monotonic() - started
        assert 0.15 < first < 2.0  # the guard's bound (0.2 s, slack for a loaded machine), not the client's 5 s
        started = time.monotonic()
        for _ in range(50):
            await _every_op(store)
            await asyncio.sleep(0)
        # later calls never wait on it (probes run aside); waiting would be 50 x 9 ops x 0.2 s
        assert time.monotonic() - started < 2.5
        assert not store.up and len(_warnings(caplog)) == 1
    finally:
        await store.close()
        stalled.close()


async def test_a_corrupt_sqlite_file_falls_back_to_memory_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache" / "model-router" / "state.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, it was overwritten by something else\n" * 100)
    store = await open_store(StateSettings(backend="sqlite"), amplifier_home=tmp_path)
    try:
        assert store.backend == "memory" and "state.db" in store.fallback_reason  # type: ignore[attr-defined]
        await _every_op(store)  # works, per process
        assert await store.incr("c", 1, 5) == 2
        warnings = _warnings(caplog)
        assert len(warnings) == 1 and str(path) in warnings[0]
    finally:
        await store.close()


async def test_a_read_only_amplifier_home_falls_back_to_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "ro-home"
    home.mkdir()
    os.chmod(home, 0o555)
    if os.access(home, os.W_OK):  # root ignores permission bits: use a place no one may write
        home = Path("/sys/model-router-test-home")
        try:
            home.mkdir()
        except OSError:
            pass
        else:  # pragma: no cover - a writable /sys: nothing read-only to test with
            home.rmdir()
            pytest.skip("no read-only folder available")
    store = await open_store(StateSettings(backend="sqlite"), amplifier_home=home)
    try:
        assert store.backend == "memory"
        await _every_op(store)
        assert len(_warnings(caplog)) == 1
    finally:
        await store.close()
        os.chmod(tmp_path / "ro-home", 0o755)


async def test_a_locked_sqlite_file_never_stalls_the_event_loop(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.db"
    backend = await SqliteStore.open(path, busy_timeout=2.0)
    store = GuardedStore(backend, op_timeout=0.1, retry_s=0.05)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    try:
        started = time.monotonic()
        await store.put_cooldown("a#1", "m", 5, "rate_limit")
        elapsed = time.monotonic() - started
        # On the loop thread, sqlite would have held it for its whole 2 s busy timeout.
        assert elapsed < 1.6 and not store.up  # below the 2 s busy timeout, with slack for load
        assert ticks >= 2  # the loop kept running while sqlite waited on its thread
        locker.execute("ROLLBACK")
        deadline = time.monotonic() + 5
        while not store.up and time.monotonic() < deadline:
            await store.get_cooldowns([("a#1", "m")])
            await asyncio.sleep(0.05)
        assert store.up
        assert len(_warnings(caplog)) == 1
    finally:
        task.cancel()
        locker.close()
        await store.close()
