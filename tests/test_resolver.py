"""Provider matching and the fallback chain: outcomes, reasons, concurrency, faults, cooldowns."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from _catalog_fakes import (
    ANTHROPIC,
    COPILOT,
    GEMINI,
    OPENAI,
    FakeProvider,
    ProviderUnavailableError,
)

from amplifier_module_model_router.resolve.catalog import CatalogCache
from amplifier_module_model_router.resolve.globs import is_glob
from amplifier_module_model_router.resolve.preferences import ProviderPreference, parse_preferences
from amplifier_module_model_router.resolve.providers import (
    ProviderEntry,
    entries_from,
    match_provider,
    plan_index,
)
from amplifier_module_model_router.resolve.resolver import CHOSEN, FALLBACK, SKIPPED, resolve


def chain(*pairs, config=None):
    return parse_preferences([{"provider": p, "model": m, **({"config": config} if config else {})} for p, m in pairs])


def session(**providers):
    return entries_from({name.replace("_", "-"): p for name, p in providers.items()})


class Cooling:
    """A cooldown view keyed by mount name: the resolver asks by account (``name#hash``)."""

    def __init__(self, waits):
        self.waits = waits
        self.asked = []

    def remaining(self, provider, model):
        self.asked.append(provider)
        return self.waits.get((provider.split("#", 1)[0], model), 0.0)


# -- provider matching -------------------------------------------------------------------------


def test_entries_from_reads_priority_module_and_instance():
    providers = {
        "anthropic": FakeProvider(),
        "anthropic-cheap": FakeProvider(),
        "openai": FakeProvider(priority=3),
        "gemini": FakeProvider(),
        7: FakeProvider(),
        "ghost": None,
    }
    plan = [
        {"module": "provider-anthropic", "config": {"priority": 5}},
        {"module": "provider-anthropic", "instance_id": "anthropic-cheap", "config": {"priority": 1}},
        {"module": "provider-openai", "config": {"priority": 50}},
        {"module": "provider-gemini"},
        "junk",
    ]
    by_name = {e.name: e for e in entries_from(providers, plan)}
    assert set(by_name) == {"anthropic", "anthropic-cheap", "openai", "gemini"}
    assert by_name["anthropic"].priority == 5 and by_name["anthropic"].module_id == "provider-anthropic"
    assert by_name["anthropic-cheap"].instance_id == "anthropic-cheap"
    assert by_name["openai"].priority == 3  # the provider's own attribute beats the plan
    assert by_name["gemini"].priority == 100
    assert entries_from(None) == ()


def test_match_provider_rules():
    providers = {
        "anthropic": FakeProvider(),
        "anthropic-cheap": FakeProvider(),
        "gemini": FakeProvider(),
        "github-copilot": FakeProvider(),
    }
    plan = [
        {"module": "provider-anthropic", "config": {"priority": 5}},
        {"module": "provider-anthropic", "instance_id": "anthropic-cheap", "config": {"priority": 1}},
        {"module": "provider-gemini"},
        {"module": "provider-github-copilot"},
    ]
    entries = entries_from(providers, plan)
    name = lambda requested: (match_provider(requested, entries) or SimpleNamespace(name=None)).name  # noqa: E731
    assert name("anthropic") == "anthropic"  # the exact mount name beats a module-type match
    assert name("provider-anthropic") == "anthropic-cheap"  # a module: lowest priority
    assert name("anthropic-cheap") == "anthropic-cheap"  # instance id
    assert name("google") == "gemini" and name("provider-google") == "gemini" and name("GEMINI") == "gemini"
    assert name("github-copilot") == "github-copilot" and name("provider-github-copilot") == "github-copilot"
    assert name("openai") is None and name("") is None


def test_plan_index_finds_the_entry_that_mounted_a_name():
    plan = [
        {"module": "provider-anthropic"},
        {"module": "provider-anthropic", "instance_id": "anthropic-cheap"},
        {"module": "provider-gemini"},
        {"module": "provider-openai", "id": "openai-legacy"},
        {"module": "provider-custom", "instance_id": "x", "config": {"name": "custom"}},
        None,
    ]
    assert plan_index("anthropic", plan) == 0
    assert plan_index("anthropic-cheap", plan) == 1
    assert plan_index("google", plan) == 2 and plan_index("gemini", plan) == 2
    assert plan_index("openai-legacy", plan) == 3
    assert plan_index("custom", plan) == 4
    assert plan_index("azure", plan) is None and plan_index("anthropic", None) is None


def test_match_provider_without_plan_uses_mount_names():
    entries = entries_from({"anthropic": FakeProvider(), "google": FakeProvider()})
    assert match_provider("provider-anthropic", entries).name == "anthropic"
    assert match_provider("gemini", entries).name == "google"


# -- the chain ---------------------------------------------------------------------------------


async def test_first_resolvable_is_chosen_and_the_rest_are_fallbacks():
    entries = session(anthropic=FakeProvider(ANTHROPIC), openai=FakeProvider(OPENAI),
                      github_copilot=FakeProvider(COPILOT))
    prefs = chain(("anthropic", "claude-opus-*"), ("openai", "gpt-[0-9].[0-9]"), ("github-copilot", "claude-opus-4.8"))
    result = await resolve(prefs, entries, CatalogCache())
    assert (result.chosen.provider, result.chosen.model) == ("anthropic", "claude-opus-4-8")
    assert [(c.provider, c.model) for c in result.fallbacks] == [("openai", "gpt-5.5"),
                                                                  ("github-copilot", "claude-opus-4.8")]
    assert [t.outcome for t in result.trace] == [CHOSEN, FALLBACK, FALLBACK]
    assert result.chain() == (result.chosen, *result.fallbacks)
    assert result.skipped == ()
    assert not result.from_cache and result.elapsed_ms >= 0


async def test_every_skip_reason_is_recorded():
    entries = session(
        anthropic=FakeProvider(fail=ProviderUnavailableError("service unreachable")),
        openai=FakeProvider(OPENAI, complete=True),
        gemini=FakeProvider([]),
        github_copilot=FakeProvider(COPILOT),
        slow=FakeProvider(hang=True),
    )
    prefs = chain(
        ("anthropic", "claude-opus-*"),
        ("azure", "gpt-5.5"),
        ("openai", "gpt-9*"),
        ("openai", "gpt-4.1"),
        ("gemini", "gemini-*-pro-preview"),
        ("slow", "anything"),
        ("github-copilot", "claude-sonnet-4.6"),
        ("gemini", "gemini-3-pro-preview"),
    )
    result = await resolve(prefs, entries, CatalogCache(timeout=0.05))
    reasons = [t.reason for t in result.trace]
    assert "ProviderUnavailableError: service unreachable" in reasons[0]
    assert "not mounted" in reasons[1]
    assert "no model matches 'gpt-9*'" in reasons[2]
    assert "'gpt-4.1' is not among" in reasons[3]
    assert "discovery unsupported" in reasons[4] and "cannot be resolved" in reasons[4]
    assert "timed out" in reasons[5]
    assert [t.outcome for t in result.trace] == [SKIPPED] * 6 + [CHOSEN, FALLBACK]
    assert (result.chosen.provider, result.chosen.model) == ("github-copilot", "claude-sonnet-4.6")
    # An exact name on a provider without discovery is used as-is.
    assert (result.fallbacks[0].provider, result.fallbacks[0].model) == ("gemini", "gemini-3-pro-preview")
    assert "used as-is" in reasons[7]
    assert len(result.skipped) == 6


async def test_nothing_resolvable_is_a_result_with_a_full_trace():
    entries = session(anthropic=FakeProvider(fail=RuntimeError("boom")), gemini=FakeProvider([]))
    prefs = chain(("anthropic", "claude-opus-*"), ("gemini", "gemini-*"), ("openai", "gpt-5.5"))
    result = await resolve(prefs, entries, CatalogCache())
    assert result.chosen is None and result.fallbacks == () and result.chain() == ()
    assert [t.outcome for t in result.trace] == [SKIPPED] * 3
    assert all(t.model is None for t in result.trace)


async def test_resolved_models_are_never_globs():
    entries = session(anthropic=FakeProvider(ANTHROPIC), openai=FakeProvider([]), gemini=FakeProvider(GEMINI))
    prefs = chain(("anthropic", "claude-*"), ("openai", "gpt-*"), ("google", "gemini-*"), ("openai", "gpt-5.5"))
    result = await resolve(prefs, entries, CatalogCache())
    assert result.chain()
    assert not any(is_glob(c.model) for c in result.chain())
    assert result.trace[2].provider == "gemini"  # google == gemini


async def test_provider_casing_is_returned_and_duplicates_collapse():
    entries = session(anthropic=FakeProvider(["Claude-Haiku-5", "claude-haiku-4-5-20251001"]))
    prefs = chain(("anthropic", "claude-haiku-*"), ("anthropic", "claude-haiku-5"), ("anthropic", "claude-haiku-4-5*"))
    result = await resolve(prefs, entries, CatalogCache())
    assert result.chosen.model == "Claude-Haiku-5"
    assert result.trace[1].outcome == SKIPPED and "same provider and model as [0]" in result.trace[1].reason
    assert [c.model for c in result.fallbacks] == ["claude-haiku-4-5-20251001"]


async def test_to_preference_is_concrete_with_mount_name_and_original_config():
    providers = {"anthropic-cheap": FakeProvider(ANTHROPIC)}
    entries = entries_from(providers, [{"module": "provider-anthropic", "instance_id": "anthropic-cheap"}])
    prefs = chain(("provider-anthropic", "claude-sonnet-*"), config={"reasoning_effort": "high"})
    result = await resolve(prefs, entries, CatalogCache())
    concrete = result.chosen.to_preference()
    assert isinstance(concrete, ProviderPreference)
    assert concrete.to_dict() == {"provider": "anthropic-cheap", "model": "claude-sonnet-5",
                                  "config": {"reasoning_effort": "high"}}


async def test_foreign_and_invalid_preferences_never_raise():
    entries = session(openai=FakeProvider(OPENAI))
    prefs = [
        SimpleNamespace(provider="openai", model="gpt-5.6", config={"api_key": "sk-x"}),
        {"provider": "openai", "model": "gpt-?.?-pro*"},
        42,
    ]
    result = await resolve(prefs, entries, CatalogCache())
    assert result.trace[0].outcome == SKIPPED and "invalid preference" in result.trace[0].reason
    assert (result.chosen.provider, result.chosen.model) == ("openai", "gpt-5.5-pro")
    assert result.trace[2].outcome == SKIPPED
    empty = await resolve([], entries, CatalogCache())
    assert empty.chosen is None and empty.trace == ()


# -- concurrency and faults --------------------------------------------------------------------


async def test_100_simultaneous_resolutions_make_one_call_per_provider():
    gate = asyncio.Event()
    providers = {
        "anthropic": FakeProvider(ANTHROPIC, gate=gate),
        "openai": FakeProvider(OPENAI, gate=gate),
        "gemini": FakeProvider(GEMINI, gate=gate),
        "github-copilot": FakeProvider(COPILOT, gate=gate),
    }
    entries = entries_from(providers)
    prefs = chain(("anthropic", "claude-sonnet-*"), ("openai", "gpt-[0-9].[0-9]"),
                  ("gemini", "gemini-*-pro-preview"), ("github-copilot", "claude-sonnet-4.6"))
    cache = CatalogCache()
    tasks = [asyncio.create_task(resolve(prefs, entries, cache)) for _ in range(100)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert {p.calls for p in providers.values()} == {1}
    assert {(r.chosen.provider, r.chosen.model) for r in results} == {("anthropic", "claude-sonnet-5")}


async def test_resolutions_waiting_for_the_same_catalogs_match_the_chain_once(monkeypatch):
    """The first one back resolves for all: the rest read its plan (and keep their own trace)."""
    from amplifier_module_model_router.resolve import resolver

    matched = []
    real = resolver._catalog_phase
    monkeypatch.setattr(resolver, "_catalog_phase", lambda *a, **k: matched.append(1) or real(*a, **k))
    gate = asyncio.Event()
    entries = entries_from({"anthropic": FakeProvider(ANTHROPIC, gate=gate), "openai": FakeProvider(OPENAI, gate=gate)})
    prefs = chain(("anthropic", "claude-sonnet-*"), ("openai", "gpt-[0-9].[0-9]"))
    cache = CatalogCache()
    tasks = [asyncio.create_task(resolve(prefs, entries, cache)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert len(matched) == 1
    assert {(r.chosen.provider, r.chosen.model) for r in results} == {("anthropic", "claude-sonnet-5")}
    assert {len(r.fallbacks) for r in results} == {1}
    assert not any(r.from_cache for r in results), "each of them waited for the catalogs"


async def test_a_hung_provider_costs_one_timeout_for_the_whole_chain():
    hung = FakeProvider(hang=True)
    entries = session(anthropic=hung, openai=FakeProvider(OPENAI))
    prefs = chain(("anthropic", "claude-opus-*"), ("anthropic", "claude-sonnet-*"), ("openai", "gpt-5.5"))
    cache = CatalogCache(timeout=0.05)
    results = await asyncio.gather(*(resolve(prefs, entries, cache) for _ in range(5)))
    assert hung.calls == 1
    for result in results:
        assert [t.outcome for t in result.trace] == [SKIPPED, SKIPPED, CHOSEN]
        assert result.chosen.model == "gpt-5.5"


async def test_catalogs_of_one_chain_are_fetched_concurrently():
    """Each provider answers only once the other has been asked: a sequential walk would time out."""
    asked = {"anthropic": asyncio.Event(), "openai": asyncio.Event()}

    class Mutual(FakeProvider):
        def __init__(self, mine, other, models):
            super().__init__(models)
            self.mine, self.other = mine, other

        async def list_models(self):
            asked[self.mine].set()
            await asked[self.other].wait()
            return await super().list_models()

    entries = session(anthropic=Mutual("anthropic", "openai", ANTHROPIC), openai=Mutual("openai", "anthropic", OPENAI))
    prefs = chain(("anthropic", "claude-opus-*"), ("openai", "gpt-5.5"))
    result = await resolve(prefs, entries, CatalogCache(timeout=5))
    assert [t.outcome for t in result.trace] == [CHOSEN, FALLBACK]


async def test_a_raising_provider_is_called_once_per_cooldown():
    down = FakeProvider(fail=ProviderUnavailableError("offline"))
    entries = session(github_copilot=down, openai=FakeProvider(OPENAI))
    prefs = chain(("github-copilot", "claude-sonnet-4.6"), ("openai", "gpt-?.?-codex*"))
    cache = CatalogCache(cooldown=60)
    for _ in range(30):
        result = await resolve(prefs, entries, cache)
        assert result.chosen.model == "gpt-5.3-codex"
        assert "offline" in result.trace[0].reason
    assert down.calls == 1


# -- cooldowns ---------------------------------------------------------------------------------


async def test_cooling_candidate_is_skipped_for_the_next():
    entries = session(anthropic=FakeProvider(ANTHROPIC), openai=FakeProvider(OPENAI))
    prefs = chain(("anthropic", "claude-opus-*"), ("openai", "gpt-[0-9].[0-9]"))
    cache = CatalogCache()
    cooling = Cooling({("anthropic", "claude-opus-4-8"): 30.0})
    result = await resolve(prefs, entries, cache, cooldowns=cooling)
    assert result.chosen.model == "gpt-5.5"
    assert cooling.asked[0] == entries[0].identity, "cooldowns are per provider account"
    assert result.trace[0].outcome == SKIPPED and "cooling down" in result.trace[0].reason
    assert result.trace[0].model == "claude-opus-4-8"
    # Warm, and the cooldown has passed: the first candidate is back.
    cooling.waits.clear()
    again = await resolve(prefs, entries, cache, cooldowns=cooling)
    assert again.chosen.model == "claude-opus-4-8" and again.from_cache


async def test_all_cooling_picks_the_one_that_frees_first():
    entries = session(anthropic=FakeProvider(ANTHROPIC), openai=FakeProvider(OPENAI))
    prefs = chain(("anthropic", "claude-opus-*"), ("openai", "gpt-[0-9].[0-9]"))
    cooling = Cooling({("anthropic", "claude-opus-4-8"): 30.0, ("openai", "gpt-5.5"): 5.0})
    cache = CatalogCache()
    await resolve(prefs, entries, cache)  # warm the memo: cooldowns must still be re-read
    result = await resolve(prefs, entries, cache, cooldowns=cooling)
    assert (result.chosen.provider, result.chosen.model) == ("openai", "gpt-5.5")
    assert [c.model for c in result.fallbacks] == ["claude-opus-4-8"]
    assert "frees in 5.0s" in result.trace[1].reason


async def test_a_broken_cooldown_view_is_ignored():
    class Broken:
        def remaining(self, provider, model):
            raise RuntimeError("registry gone")

    entries = session(openai=FakeProvider(OPENAI))
    result = await resolve(chain(("openai", "gpt-5.5")), entries, CatalogCache(), cooldowns=Broken())
    assert result.chosen.model == "gpt-5.5"


# -- warm path ---------------------------------------------------------------------------------


async def test_warm_resolution_follows_catalog_changes():
    clock = SimpleNamespace(now=0.0)
    provider = FakeProvider(["claude-opus-4-7"])
    entries = session(anthropic=provider)
    prefs = chain(("anthropic", "claude-opus-*"))
    cache = CatalogCache(ttl=600, clock=lambda: clock.now)
    assert (await resolve(prefs, entries, cache)).chosen.model == "claude-opus-4-7"
    warm = await resolve(prefs, entries, cache)
    assert warm.from_cache and warm.trace[0].from_cache and warm.chosen.model == "claude-opus-4-7"
    provider.models = ["claude-opus-4-7", "claude-opus-4-8"]
    assert (await resolve(prefs, entries, cache)).chosen.model == "claude-opus-4-7"  # still cached
    clock.now = 601
    assert (await resolve(prefs, entries, cache)).chosen.model == "claude-opus-4-8"  # TTL expired
    provider.models = ["claude-opus-4-9"]
    cache.invalidate()
    assert (await resolve(prefs, entries, cache)).chosen.model == "claude-opus-4-9"
    assert provider.calls == 3


async def test_equal_chains_with_different_config_keep_their_own_config():
    entries = session(openai=FakeProvider(OPENAI))
    cache = CatalogCache()
    low = await resolve(chain(("openai", "gpt-5.5"), config={"reasoning_effort": "low"}), entries, cache)
    high = await resolve(chain(("openai", "gpt-5.5"), config={"reasoning_effort": "high"}), entries, cache)
    assert low.chosen.to_preference().config == {"reasoning_effort": "low"}
    assert high.chosen.to_preference().config == {"reasoning_effort": "high"}


async def test_a_mutated_list_is_not_answered_from_a_stale_memo():
    entries = list(session(anthropic=FakeProvider(ANTHROPIC), openai=FakeProvider(OPENAI)))
    prefs = list(chain(("anthropic", "claude-opus-*")))
    cache = CatalogCache()
    assert (await resolve(prefs, entries, cache)).chosen.provider == "anthropic"
    prefs[0] = ProviderPreference("openai", "gpt-5.5")
    assert (await resolve(prefs, entries, cache)).chosen.provider == "openai"
    entries.pop()
    assert (await resolve(prefs, entries, cache)).chosen is None


async def test_child_session_entries_resolve_from_the_parent_catalog():
    cache = CatalogCache()
    parent = FakeProvider(ANTHROPIC)
    prefs = chain(("anthropic", "claude-sonnet-*"))
    await resolve(prefs, session(anthropic=parent), cache)
    child_provider = FakeProvider(ANTHROPIC)
    child = await resolve(prefs, session(anthropic=child_provider), cache)
    assert child.from_cache and child_provider.calls == 0
    assert child.chosen.entry.provider is child_provider  # candidates point at the child's own provider


@pytest.mark.parametrize("junk", [None, 42, "anthropic", SimpleNamespace(name="x")])
async def test_junk_entries_are_ignored(junk):
    entries = (junk, *session(anthropic=FakeProvider(ANTHROPIC)))
    result = await resolve(chain(("anthropic", "claude-opus-*")), entries, CatalogCache())
    assert result.chosen.model == "claude-opus-4-8"


def test_provider_entry_is_hashable_and_keyed():
    a = ProviderEntry("anthropic", FakeProvider())
    assert a.key.startswith("anthropic:") and hash(a) == hash(a)
