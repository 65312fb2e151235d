"""The routing state store's contract, run on every backend against real storage.

memory: dicts; sqlite: a real file in a temp Amplifier home; redis: the real server that
``.ci/run`` starts (skipped only when ``MODEL_ROUTER_TEST_REDIS_URL`` is unset).
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from amplifier_module_model_router.state import (
    GuardedStore,
    MemoryStore,
    StateSettings,
    StoredCatalog,
    fetch_once,
    open_store,
    provider_identity,
)
from amplifier_module_model_router.state.redis import RedisStore, redacted_url
from amplifier_module_model_router.state.sqlite import SqliteStore

from redis_kit import redis_url

BACKENDS = ("memory", "sqlite", "redis")


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GuardedStore]:
    if request.param == "memory":
        backend = MemoryStore()
    elif request.param == "sqlite":
        backend = await SqliteStore.open(tmp_path / "home" / "cache" / "model-router" / "state.db")
    else:
        backend = RedisStore(redis_url(), namespace=f"test-{uuid.uuid4().hex}")
    guarded = GuardedStore(backend, op_timeout=2.0)
    yield guarded
    await guarded.close()


CATALOG = StoredCatalog(
    models=({"id": "claude-sonnet-4-6", "context_window": 200000, "input_per_mtok": 3.0},
            {"id": "claude-haiku-4-5", "capabilities": ["tools"]}),
)


async def test_a_catalog_round_trips_and_expires(store: GuardedStore) -> None:
    assert await store.get_catalog("anthropic#1") is None
    await store.put_catalog("anthropic#1", CATALOG, ttl=0.3)
    got = await store.get_catalog("anthropic#1")
    assert got is not None and [m["id"] for m in got.models] == ["claude-sonnet-4-6", "claude-haiku-4-5"]
    assert got.models[0]["context_window"] == 200000 and got.error is None
    assert 0 < got.remaining <= 0.3
    await asyncio.sleep(0.35)
    assert await store.get_catalog("anthropic#1") is None


async def test_a_failed_lookup_is_shared_with_its_error(store: GuardedStore) -> None:
    await store.put_catalog("slow#1", StoredCatalog(models=(), error="timed out after 10s", timed_out=True), ttl=5)
    got = await store.get_catalog("slow#1")
    assert got is not None and got.error == "timed out after 10s" and got.timed_out and got.models == ()


async def test_cooldowns_keep_the_longer_one_and_expire(store: GuardedStore) -> None:
    await store.put_cooldown("anthropic#a", "claude-sonnet-4-6", 0.4, "rate_limit")
    await store.put_cooldown("anthropic#a", "claude-sonnet-4-6", 0.1, "shorter")  # ignored
    await store.put_cooldown("openai#b", None, 5, "outage")
    found = await store.get_cooldowns(
        [("anthropic#a", "claude-sonnet-4-6"), ("anthropic#a", None), ("openai#b", None), ("gemini#c", None)]
    )
    by_key = {(c.identity, c.model): c for c in found}
    assert set(by_key) == {("anthropic#a", "claude-sonnet-4-6"), ("openai#b", None)}
    assert by_key[("anthropic#a", "claude-sonnet-4-6")].reason == "rate_limit"
    assert 0.2 < by_key[("anthropic#a", "claude-sonnet-4-6")].remaining <= 0.4
    await asyncio.sleep(0.45)
    assert [(c.identity, c.model) for c in await store.get_cooldowns([("anthropic#a", "claude-sonnet-4-6")])] == []
    await store.clear_cooldown("openai#b", None)
    assert await store.get_cooldowns([("openai#b", None)]) == []


async def test_a_lease_has_one_holder_until_released_or_expired(store: GuardedStore) -> None:
    assert await store.acquire_lease("catalog:x", "p1", 0.3)
    assert not await store.acquire_lease("catalog:x", "p2", 0.3)
    assert await store.acquire_lease("catalog:x", "p1", 0.3)  # the holder may renew
    await store.release_lease("catalog:x", "p2")  # not the holder: no effect
    assert not await store.acquire_lease("catalog:x", "p2", 0.3)
    await store.release_lease("catalog:x", "p1")
    assert await store.acquire_lease("catalog:x", "p2", 0.2)
    await asyncio.sleep(0.25)
    assert await store.acquire_lease("catalog:x", "p3", 0.2)


async def test_counters_add_atomically_and_expire_from_creation(store: GuardedStore) -> None:
    assert await store.get_counter("spend:2026-12-02") == 0.0
    totals = await asyncio.gather(*(store.incr("spend:2026-12-02", 0.25, ttl=0.5) for _ in range(40)))
    assert sorted(totals) == [0.25 * (i + 1) for i in range(40)]  # every increment saw a distinct total
    assert await store.get_counter("spend:2026-12-02") == 10.0
    await asyncio.sleep(0.55)  # increments did not extend the lifetime
    assert await store.get_counter("spend:2026-12-02") == 0.0
    assert await store.incr("spend:2026-12-02", 1.5, ttl=5) == 1.5


async def test_single_flight_makes_one_fetch_for_many_waiters(store: GuardedStore) -> None:
    calls = 0

    async def fetch() -> tuple[StoredCatalog, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return CATALOG, 5.0

    # Separate "processes" share only the store: each call has its own holder id.
    results = await asyncio.gather(*(fetch_once(store, "anthropic#sf", fetch, lease_s=2) for _ in range(8)))
    assert calls == 1
    assert sum(1 for _, from_store in results if not from_store) == 1
    assert all([m["id"] for m in catalog.models] == ["claude-sonnet-4-6", "claude-haiku-4-5"] for catalog, _ in results)


async def test_a_waiter_fetches_itself_when_the_holder_never_answers(store: GuardedStore) -> None:
    assert await store.acquire_lease("catalog:anthropic#dead", "crashed-process", 0.2)
    calls = 0

    async def fetch() -> tuple[StoredCatalog, float]:
        nonlocal calls
        calls += 1
        return CATALOG, 5.0

    catalog, from_store = await fetch_once(store, "anthropic#dead", fetch, lease_s=0.2)
    assert calls == 1 and not from_store and catalog.models


def test_two_accounts_under_one_name_get_different_identities() -> None:
    class AnthropicProvider:
        def __init__(self, key: str, base_url: str | None = None) -> None:
            self.api_key = key
            self.base_url = base_url

    work = provider_identity("anthropic", AnthropicProvider("sk-ant-work-123"))
    side = provider_identity("anthropic", AnthropicProvider("sk-ant-side-456"))
    again = provider_identity("Anthropic", AnthropicProvider("sk-ant-work-123"))
    proxied = provider_identity("anthropic", AnthropicProvider("sk-ant-work-123"), endpoint="https://proxy.example")
    assert work != side and work == again and work != proxied
    assert work.startswith("anthropic#") and "sk-ant" not in work and "123" not in work.split("#")[1][:3] + "x"


def test_identity_reads_the_credential_from_the_config_or_falls_back_to_the_instance_id() -> None:
    class Bare:
        pass

    from_config = provider_identity("openai", Bare(), config={"api_key": "sk-a"})
    other_config = provider_identity("openai", Bare(), config={"api_key": "sk-b"})
    org = provider_identity("openai", Bare(), config={"api_key": "sk-a", "organization": "org-2"})
    by_instance = provider_identity("openai", Bare(), instance_id="openai-team")
    other_instance = provider_identity("openai", Bare(), instance_id="openai-personal")
    assert len({from_config, other_config, org, by_instance, other_instance}) == 5


async def test_sqlite_file_and_folder_are_private(tmp_path: Path) -> None:
    home = tmp_path / "amp"
    store = await open_store(StateSettings(backend="sqlite"), amplifier_home=home)
    try:
        await store.put_cooldown("a#1", None, 5, "x")
        path = home / "cache" / "model-router" / "state.db"
        assert store.backend == "sqlite" and store.where == str(path)
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        for file in path.parent.iterdir():  # the database, its WAL and shared-memory files
            assert stat.S_IMODE(os.stat(file).st_mode) & 0o077 == 0, file
    finally:
        await store.close()


async def test_two_sqlite_stores_on_one_file_see_each_other(tmp_path: Path) -> None:
    settings = StateSettings(backend="sqlite")
    first = await open_store(settings, amplifier_home=tmp_path)
    second = await open_store(settings, amplifier_home=tmp_path)
    try:
        assert await second.get_cooldowns([("anthropic#a", "m")]) == []  # read (and remembered) as absent
        await first.put_cooldown("anthropic#a", "m", 5, "rate_limit")
        assert [c.reason for c in await second.get_cooldowns([("anthropic#a", "m")])] == ["rate_limit"]
        await first.put_cooldown("anthropic#a", "m", 9, "longer")  # the file changed: read again
        assert [c.reason for c in await second.get_cooldowns([("anthropic#a", "m")])] == ["longer"]
        assert await first.incr("n", 1, 10) == 1 and await second.incr("n", 2, 10) == 3
    finally:
        await first.close()
        await second.close()


async def test_redis_keys_are_namespaced_and_expire_by_themselves() -> None:
    import redis.asyncio as aioredis

    namespace = f"test-{uuid.uuid4().hex}"
    store = RedisStore(redis_url(), namespace=namespace)
    await store.put_catalog("anthropic#1", CATALOG, ttl=60)
    await store.put_cooldown("anthropic#1", "m", 30, "rate_limit")
    await store.incr("spend", 1, ttl=3600)
    await store.acquire_lease("catalog:anthropic#1", "me", 10)
    client = aioredis.Redis.from_url(redis_url())
    try:
        keys = [k.decode() async for k in client.scan_iter(match=f"{namespace}:*")]
        assert len(keys) == 4 and all(k.startswith(f"{namespace}:v1:") for k in keys)
        for key in keys:
            assert 0 < await client.pttl(key) <= 3_600_000, key
    finally:
        await client.aclose()
        await store.close()


def test_a_redis_url_is_shown_without_its_password() -> None:
    assert redacted_url("redis://user:s3cret@cache.internal:6380/2") == "redis://cache.internal:6380/2"
    assert redacted_url("rediss://:tok@host/0") == "rediss://host/0"
