"""CatalogCache: parsing junk, TTL, single-flight, cooldown, timeout, keys shared by children."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import SimpleNamespace

import pytest
from _catalog_fakes import ANTHROPIC, FakeProvider, OtherProvider, unreachable
from amplifier_core.models import ModelInfo, Pricing

from amplifier_module_model_router.resolve.catalog import CatalogCache, parse_models, shared_cache
from amplifier_module_model_router.resolve.prices import Price
from amplifier_module_model_router.resolve.providers import ProviderEntry, catalog_key
from amplifier_module_model_router.state import GuardedStore
from amplifier_module_model_router.state.sqlite import SqliteStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def entry(provider, name="anthropic", **kw) -> ProviderEntry:
    return ProviderEntry(name=name, provider=provider, **kw)


# -- parsing -----------------------------------------------------------------------------------


def test_parse_model_info_objects_dicts_and_strings():
    info = ModelInfo(
        id="claude-opus-4-8", display_name="Opus", context_window=200_000, max_output_tokens=32_000,
        pricing=Pricing(input_per_million=15.0, output_per_million=75.0),
    )
    records, junk = parse_models(
        [info, {"id": "gpt-5.5", "context_window": 400_000, "pricing": {"input_per_million": 1.25,
                                                                       "output_per_million": 10}},
         "gemini-3-pro-preview"]
    )
    assert junk == ()
    assert [r.id for r in records] == ["claude-opus-4-8", "gpt-5.5", "gemini-3-pro-preview"]
    opus, gpt, gemini = records
    assert opus.pricing is not None and gpt.pricing is not None
    assert (opus.context_window, opus.pricing.input_per_million, opus.pricing.output_per_million) == (
        200_000, 15.0, 75.0
    )
    assert opus.raw is info
    assert (gpt.context_window, gpt.pricing.input_per_million, gpt.pricing.output_per_million) == (
        400_000, 1.25, 10.0
    )
    assert (gemini.context_window, gemini.pricing) == (None, None)


def test_parse_ignores_and_reports_junk():
    no_id = SimpleNamespace(name="nameless")
    records, junk = parse_models(
        [None, 42, "claude-opus-4-8", "claude-opus-4-8", no_id, {"id": None}, {"id": ""},
         SimpleNamespace(id=7), {"id": "gpt-5", "context_window": "big", "pricing": "cheap"}]
    )
    assert [r.id for r in records] == ["claude-opus-4-8", "gpt-5"]
    assert records[1].context_window is None and records[1].pricing is None
    assert len(junk) == 7
    assert any("duplicate id 'claude-opus-4-8'" in note for note in junk)


@pytest.mark.parametrize("returned", [None, 42, "claude-opus-4-8", {"id": "x"}])
def test_parse_non_list_results(returned):
    records, junk = parse_models(returned)
    assert records == () and len(junk) == 1


def test_parse_survives_an_iterable_that_raises_half_way():
    def items():
        yield "claude-opus-4-8"
        raise RuntimeError("stream broke")

    records, junk = parse_models(items())
    assert [r.id for r in records] == ["claude-opus-4-8"]
    assert "stream broke" in junk[0]


async def test_a_catalog_read_from_the_store_keeps_its_exact_prices_and_their_currency(tmp_path):
    """Another process's catalog (through the shared store) prices as the provider listed it:
    cache-read price kept, exact, and a euro price stays unknown rather than read as dollars."""
    listed = [
        ModelInfo(id="claude-sonnet-4-6", display_name="Sonnet", context_window=200_000, max_output_tokens=64_000,
                  pricing=Pricing(input_per_million=3.0, output_per_million=15.0, cache_read_per_million=0.3)),
        {"id": "mistral-large", "pricing": {"input": 2.0, "output": 6.0, "currency": "EUR"}},
    ]
    store = GuardedStore(await SqliteStore.open(tmp_path / "state.db"), op_timeout=2.0)
    first, second = CatalogCache(), CatalogCache()
    first.store = second.store = store
    try:
        fetched = await first.lookup(entry(FakeProvider(listed)))
        provider = FakeProvider(listed)
        shared = await second.lookup(entry(provider))
    finally:
        await store.close()
    assert provider.calls == 0 and shared.from_cache  # read from the store, not fetched again
    sonnet = Price(Decimal(3), Decimal(15), Decimal("0.3"))
    assert [r.pricing for r in fetched.models] == [r.pricing for r in shared.models] == [sonnet, None]


async def test_a_catalog_finds_a_model_by_id_in_any_case_also_once_cached_and_from_the_store(tmp_path):
    """``record(id)`` is what failover candidates (context window) and price ceilings read."""
    listed = [
        {"id": "claude-haiku-4-5", "context_window": 200_000},
        {"id": "Claude-Haiku-4-5", "context_window": 1},  # a second spelling: the first one wins
        {"id": "claude-opus-4-8", "context_window": 500_000},
    ]
    store = GuardedStore(await SqliteStore.open(tmp_path / "state.db"), op_timeout=2.0)
    first, second = CatalogCache(), CatalogCache()
    first.store = second.store = store
    try:
        fetched = await first.lookup(entry(FakeProvider(listed)))
        cached = await first.lookup(entry(FakeProvider(listed)))
        shared = await second.lookup(entry(FakeProvider(listed)))
    finally:
        await store.close()
    assert cached.from_cache and shared.from_cache
    for lookup in (fetched, cached, shared):
        haiku, opus = lookup.record("CLAUDE-HAIKU-4-5"), lookup.record("claude-opus-4-8")
        assert haiku is not None and haiku.context_window == 200_000
        assert opus is not None and opus.context_window == 500_000
        assert lookup.record("claude-haiku-*") is None and lookup.record("gpt-5.5") is None


# -- lookups -----------------------------------------------------------------------------------


async def test_lookup_caches_for_ttl_then_refetches():
    clock = FakeClock()
    cache = CatalogCache(ttl=600, clock=clock)
    provider = FakeProvider(ANTHROPIC)
    first = await cache.lookup(entry(provider))
    assert not first.from_cache and first.ok
    assert [m.id for m in first.models] == ANTHROPIC
    second = await cache.lookup(entry(provider))
    assert second.from_cache and second.sorted is first.sorted
    assert provider.calls == 1
    clock.now += 601
    assert cache.peek(entry(provider)) is None
    third = await cache.lookup(entry(provider))
    assert not third.from_cache and provider.calls == 2
    assert cache.calls[catalog_key(entry(provider))] == 2


async def test_concurrent_lookups_share_one_call():
    gate = asyncio.Event()
    provider = FakeProvider(ANTHROPIC, gate=gate)
    cache = CatalogCache()
    tasks = [asyncio.create_task(cache.lookup(entry(provider))) for _ in range(100)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert provider.calls == 1
    assert all(r.ok and len(r.models) == len(ANTHROPIC) for r in results)


async def test_failure_is_remembered_for_the_cooldown():
    clock = FakeClock()
    cache = CatalogCache(cooldown=60, clock=clock)
    provider = FakeProvider(fail=unreachable("copilot unreachable"))
    for _ in range(20):
        result = await cache.lookup(entry(provider, "github-copilot"))
        assert result.error == "ProviderUnavailableError: copilot unreachable"
        assert result.models == ()
    assert provider.calls == 1
    clock.now += 61
    provider.fail = None
    provider.models = ["claude-sonnet-4.6"]
    recovered = await cache.lookup(entry(provider, "github-copilot"))
    assert recovered.ok and recovered.sorted.ids == ("claude-sonnet-4.6",)
    assert provider.calls == 2


async def test_hanging_provider_times_out_once_for_all_waiters():
    cache = CatalogCache(timeout=0.05, cooldown=60)
    provider = FakeProvider(hang=True)
    results = await asyncio.gather(*(cache.lookup(entry(provider)) for _ in range(10)))
    assert all(r.timed_out and "timed out" in r.error for r in results)
    again = await cache.lookup(entry(provider))
    assert again.timed_out and again.from_cache
    assert provider.calls == 1


async def test_provider_without_list_models_means_discovery_unsupported():
    cache = CatalogCache()
    result = await cache.lookup(entry(SimpleNamespace(name="local"), "local"))
    assert result.ok and result.models == () and result.junk


async def test_sync_list_models_and_junk_results_never_crash():
    cache = CatalogCache()
    sync = SimpleNamespace(list_models=lambda: ["gpt-5.5", None, "gpt-5.5"])
    result = await cache.lookup(entry(sync, "openai"))
    assert [m.id for m in result.models] == ["gpt-5.5"] and len(result.junk) == 2
    none = await cache.lookup(entry(FakeProvider(None), "none"))
    assert none.ok and none.models == () and none.junk


async def test_cancelled_waiter_does_not_cancel_the_shared_call():
    gate = asyncio.Event()
    provider = FakeProvider(ANTHROPIC, gate=gate)
    cache = CatalogCache()
    impatient = asyncio.create_task(cache.lookup(entry(provider)))
    patient = asyncio.create_task(cache.lookup(entry(provider)))
    await asyncio.sleep(0)
    impatient.cancel()
    gate.set()
    result = await patient
    assert result.ok and provider.calls == 1
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_invalidate_one_and_all():
    cache = CatalogCache()
    anthropic, openai = FakeProvider(ANTHROPIC), FakeProvider(["gpt-5.5"])
    a, o = entry(anthropic), entry(openai, "openai")
    await cache.prefetch([a, o])
    cache.invalidate(catalog_key(a))
    await cache.prefetch([a, o])
    assert (anthropic.calls, openai.calls) == (2, 1)
    cache.invalidate()
    await cache.prefetch([a, o])
    assert (anthropic.calls, openai.calls) == (3, 2)


async def test_invalidate_during_a_call_does_not_store_the_stale_answer():
    gate = asyncio.Event()
    provider = FakeProvider(["claude-opus-4-7"], gate=gate)
    cache = CatalogCache()
    pending = asyncio.create_task(cache.lookup(entry(provider)))
    await asyncio.sleep(0)
    cache.invalidate()
    gate.set()
    assert (await pending).ok
    assert cache.peek(entry(provider)) is None


async def test_prefetch_runs_lookups_in_parallel():
    """Each provider waits until the other has started: sequential prefetch would time out."""
    started_a, started_b = asyncio.Event(), asyncio.Event()

    class Waits(FakeProvider):
        def __init__(self, mine, other, models):
            super().__init__(models)
            self.mine, self.other = mine, other

        async def list_models(self):
            self.mine.set()
            await self.other.wait()
            return await super().list_models()

    a = Waits(started_a, started_b, ANTHROPIC)
    b = Waits(started_b, started_a, ["gpt-5.5"])
    cache = CatalogCache(timeout=5)
    await asyncio.wait_for(cache.prefetch([entry(a), entry(b, "openai"), entry(a)]), 5)
    assert cache.peek(entry(a)).ok and cache.peek(entry(b, "openai")).ok
    assert (a.calls, b.calls) == (1, 1)


# -- keys --------------------------------------------------------------------------------------


async def test_fresh_provider_instances_in_a_child_share_the_catalog():
    cache = CatalogCache()
    parent, child = FakeProvider(ANTHROPIC), FakeProvider(ANTHROPIC)
    await cache.lookup(entry(parent, module_id="provider-anthropic"))
    result = await cache.lookup(entry(child))
    assert result.from_cache and child.calls == 0


def test_catalog_key_separates_endpoints_and_provider_classes_and_hides_credentials():
    default = entry(FakeProvider(), "openai")
    proxied = entry(FakeProvider(base_url="https://user:s3cret@proxy.example.com/v1/?key=abc"), "openai")
    same_proxy = entry(FakeProvider(base_url="https://proxy.example.com/v1"), "openai")
    other_class = entry(OtherProvider(), "openai")
    assert len({catalog_key(default), catalog_key(proxied), catalog_key(other_class)}) == 3
    assert catalog_key(proxied) == catalog_key(same_proxy)
    assert "s3cret" not in catalog_key(proxied) and "abc" not in catalog_key(proxied)
    explicit = entry(FakeProvider(), "ollama", endpoint="localhost:11434")
    assert catalog_key(explicit).endswith("@localhost:11434")


def test_shared_cache_is_process_wide():
    assert shared_cache() is shared_cache()


def test_one_cache_serves_successive_event_loops():
    """The process-wide cache outlives event loops: a call left pending in one never blocks the next."""
    cache = CatalogCache()
    provider = FakeProvider(ANTHROPIC, gate=asyncio.Event())

    async def abandon():
        asyncio.get_running_loop().create_task(cache.lookup(entry(provider)))
        await asyncio.sleep(0)

    asyncio.run(abandon())  # the loop closes with the call in flight
    provider.gate = None
    result = asyncio.run(cache.lookup(entry(provider)))
    assert result.ok and len(result.models) == len(ANTHROPIC)
    assert asyncio.run(cache.lookup(entry(provider))).from_cache


async def test_an_endless_catalog_is_read_up_to_the_bound():
    """Issue 13 item 6: an endless iterable from list_models() costs a bounded amount of work
    (the fake stops at 10x the bound, so an unbounded reader fails here instead of hanging)."""
    from amplifier_module_model_router.resolve.catalog import MAX_MODELS_PER_PROVIDER

    def endless():
        for n in range(MAX_MODELS_PER_PROVIDER * 10):
            yield f"model-{n}"
        raise AssertionError("read past ten times the bound")

    cache = CatalogCache(ttl=60, timeout=5, cooldown=30)
    lookup = await cache.lookup(entry(FakeProvider(endless())))
    assert lookup.ok and len(lookup.models) == MAX_MODELS_PER_PROVIDER
    assert any(f"stopped after {MAX_MODELS_PER_PROVIDER} entries" in j for j in lookup.junk)
    huge = "x" * 10_000
    records, junk = parse_models(["ok-1", huge])
    assert [r.id for r in records] == ["ok-1"] and "id over 256 characters" in junk[0]
