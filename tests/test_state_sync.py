"""Cooldowns shared between processes: two registries (two processes' front tiers) on one store.

Real stores only (a sqlite file, the CI Redis server). A 429 learnt by one process is honoured
by the other's next call; with Redis the change is pushed, so a warm call reads nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis_kit import redis_url

from amplifier_module_model_router.failover.cooldown import CooldownRegistry
from amplifier_module_model_router.state import CooldownSync, GuardedStore
from amplifier_module_model_router.state.redis import RedisStore
from amplifier_module_model_router.state.sqlite import SqliteStore

SONNET = ("anthropic#acct1", "claude-sonnet-4-6")


async def _store(kind: str, tmp_path: Path, namespace: str) -> GuardedStore:
    if kind == "sqlite":
        return GuardedStore(await SqliteStore.open(tmp_path / "state.db"), op_timeout=2.0)
    return GuardedStore(RedisStore(redis_url(), namespace=namespace), op_timeout=2.0)


@pytest.fixture(params=["sqlite", "redis"])
async def two_processes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple]:
    """Two registries, each with its own store connection, on one shared store."""
    namespace = f"test-{uuid.uuid4().hex}"
    stores = [await _store(request.param, tmp_path, namespace) for _ in range(2)]
    pairs = []
    for store in stores:
        registry = CooldownRegistry()
        sync = CooldownSync(registry, store, refresh_s=0.05)
        registry.attach(sync)
        pairs.append((registry, sync))
    yield request.param, pairs
    for (_, sync), store in zip(pairs, stores, strict=True):
        await sync.close()
        await store.close()


async def test_a_429_in_one_process_rests_the_model_in_the_other(two_processes) -> None:
    _, ((a, a_sync), (b, b_sync)) = two_processes
    assert b.remaining(*SONNET) == 0.0
    a.cool(*SONNET, seconds=30, reason="rate_limit (RateLimitError)")
    await a_sync.flush()
    await b.sync([SONNET])  # what the failover provider does before each model call
    assert 29 < b.remaining(*SONNET) <= 30
    assert not b.claim(*SONNET)
    assert b.remaining("anthropic#acct1", "claude-haiku-4-5") == 0.0, "a rate limit rests one model"
    assert b.remaining("anthropic#acct2", "claude-sonnet-4-6") == 0.0, "another account is not cooled"


async def test_a_provider_outage_rests_every_model_elsewhere(two_processes) -> None:
    _, ((a, a_sync), (b, _)) = two_processes
    a.cool("openai#acct1", None, seconds=60, reason="unavailable")
    await a_sync.flush()
    await b.sync([("openai#acct1", "gpt-5.5")])
    assert b.remaining("openai#acct1", "gpt-5.5") > 59


async def test_reading_a_cooldown_back_never_writes_it_again(two_processes) -> None:
    _, ((a, a_sync), (b, b_sync)) = two_processes
    a.cool(*SONNET, seconds=30, reason="rate_limit")
    await a_sync.flush()
    await b.sync([SONNET])
    calls_before = b_sync.store.stats.calls
    await b_sync.flush()
    assert not b_sync._pending and b_sync.store.stats.calls == calls_before


async def test_the_resolver_side_re_reads_in_the_background(two_processes) -> None:
    _, ((a, a_sync), (b, _)) = two_processes
    b.remaining(*SONNET)  # b has looked at this candidate: it is watched
    a.cool(*SONNET, seconds=30, reason="rate_limit")
    await a_sync.flush()
    for _ in range(100):  # remaining() never waits; it starts a re-read at most every refresh_s
        if b.remaining(*SONNET) > 0:
            break
        await asyncio.sleep(0.02)
    assert b.remaining(*SONNET) > 0


async def test_a_cooldown_cleared_in_one_process_is_dropped_by_the_other_at_its_next_read(two_processes) -> None:
    """The model answered in a: the store's row goes, and b, which only read the cooldown from
    the store, stops resting the model at its next read (sqlite keeps no trace of a clear but
    the row's absence). A cooldown b learnt itself is b's own and stays: its absence may be b's
    own write not landed yet."""
    kind, ((a, a_sync), (b, b_sync)) = two_processes
    own = ("anthropic#acct1", "claude-haiku-4-5")
    a.cool(*SONNET, seconds=30, reason="rate_limit")
    await a_sync.flush()
    await b.sync([SONNET])
    assert b.remaining(*SONNET) > 29
    b.cool(*own, seconds=30, reason="rate_limit")  # b's own, written to the store too
    await b_sync.flush()
    a.settle(*SONNET, proven=True)  # the model answered after all
    a.clear(*own)  # and a clears the other one in the store as well
    await a_sync.flush()
    await b.sync([SONNET, own])
    assert b.remaining(*SONNET) == 0.0
    if kind == "sqlite":  # Redis pushes a's clear itself, and b drops its own too
        assert b.remaining(*own) > 29, "what b learnt itself is not dropped by the store's absence"


async def test_a_store_that_cannot_answer_drops_no_learnt_cooldown(tmp_path: Path) -> None:
    store = GuardedStore(await SqliteStore.open(tmp_path / "state.db"), op_timeout=2.0)
    writer, reader = CooldownRegistry(), CooldownRegistry()
    w_sync, r_sync = CooldownSync(writer, store), CooldownSync(reader, store)
    writer.attach(w_sync)
    reader.attach(r_sync)
    try:
        writer.cool(*SONNET, seconds=30, reason="rate_limit")
        await w_sync.flush()
        await reader.sync([SONNET])
        assert reader.remaining(*SONNET) > 29
        await store.close()  # the store is gone: reads answer nothing and say so
        await reader.sync([SONNET])
        assert reader.remaining(*SONNET) > 29
    finally:
        await w_sync.close()
        await r_sync.close()


@pytest.mark.parametrize("two_processes", ["redis"], indirect=True)  # only Redis pushes changes
async def test_redis_pushes_cooldowns_so_a_warm_call_reads_nothing(two_processes) -> None:
    _, ((a, a_sync), (b, b_sync)) = two_processes
    await b.sync([SONNET])  # starts b's subscription and reads the key once
    for _ in range(100):
        if b_sync._live:
            break
        await asyncio.sleep(0.01)
    await b.sync([SONNET])
    reads = b_sync.store.stats.calls
    await b.sync([SONNET])
    assert b_sync.store.stats.calls == reads, "a key read since the subscription began is not read again"
    a.cool(*SONNET, seconds=30, reason="rate_limit")
    await a_sync.flush()
    for _ in range(100):
        if b.remaining(*SONNET) > 0:
            break
        await asyncio.sleep(0.01)
    assert b.remaining(*SONNET) > 0, "the cooldown was pushed"
    a.settle(*SONNET, proven=True)  # the model answered after all: cleared everywhere
    await a_sync.flush()
    for _ in range(100):
        if b.remaining(*SONNET) == 0:
            break
        await asyncio.sleep(0.01)
    assert b.remaining(*SONNET) == 0
