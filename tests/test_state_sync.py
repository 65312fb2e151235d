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
