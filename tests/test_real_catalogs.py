"""The bundle's tiers against what the real provider modules list (tests/data/catalogs).

Those files are the output of each provider module's own ``list_models()`` (recorded by
scripts/record_catalogs.py), so these tests hold the tiers to the providers as they are: one id
per family from Anthropic by default, OpenAI's codex line ending at 5.3, Gemini's GA and preview
Pro models side by side, Copilot's dotted ids. Plus the resolution rules issue 16 found wrong:
candidate groups, exact names on partial lists, exact mount names, Ollama tags.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest
from _catalog_fakes import FakeProvider

from amplifier_module_model_router.bundle.loader import load_bundle
from amplifier_module_model_router.resolve.catalog import CatalogCache
from amplifier_module_model_router.resolve.preferences import parse_preferences
from amplifier_module_model_router.resolve.providers import entries_from
from amplifier_module_model_router.resolve.resolver import resolve
from amplifier_module_model_router.resolve.snapshot import load_catalog
from amplifier_module_model_router.resolve.versions import newest_match

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "data" / "catalogs"
TIERS = load_bundle(ROOT / "bundle.md").tiers


def recorded(name: str) -> list[str]:
    snapshot = load_catalog(RECORDED / f"{name}.yaml")
    (provider,) = snapshot.providers
    return [m.id for m in snapshot.models(provider)]


# Every combination of the recorded listings: Anthropic and OpenAI with and without `filtered`.
WORLDS = {
    f"anthropic-{a}+openai-{o}": {
        "anthropic": recorded(f"anthropic-{a}"),
        "openai": recorded(f"openai-{o}"),
        "gemini": recorded("gemini"),
        "github-copilot": recorded("github-copilot"),
    }
    for a, o in product(("filtered", "unfiltered"), ("filtered", "unfiltered"))
}

# What each tier picks on each provider, in every recorded world (the README's tier table).
PICKS = {
    "budget": {
        "anthropic": {"filtered": "claude-haiku-4-5-20251001", "unfiltered": "claude-haiku-4-5"},
        "openai": "gpt-5-mini",
        "gemini": "gemini-3.1-flash-lite",
        "github-copilot": "claude-haiku-4.5",
    },
    "strong": {
        "anthropic": "claude-sonnet-5",
        "openai": "gpt-5.5",
        "gemini": "gemini-3.1-pro-preview",
        "github-copilot": "claude-sonnet-5",
    },
    "strong-code": {
        "anthropic": "claude-sonnet-5",
        "openai": "gpt-5.5",
        "gemini": "gemini-3.1-pro-preview",
        "github-copilot": "claude-sonnet-5",
    },
    "frontier": {
        "anthropic": "claude-opus-4-8",
        "openai": "gpt-5.5",
        "gemini": "gemini-3.1-pro-preview",
        "github-copilot": "claude-opus-4.8",
    },
}


def tier_pick(tier: str, provider: str, ids: list[str]) -> str | None:
    """The first candidate of ``tier`` on ``provider`` that finds a model in ``ids``."""
    for pref in TIERS[tier]:
        if pref.provider == provider and (model := newest_match(pref.model, ids)) is not None:
            return model
    return None


@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("tier", PICKS)
def test_each_tier_picks_the_tables_model_on_every_provider(world: str, tier: str) -> None:
    for provider, ids in WORLDS[world].items():
        expected = PICKS[tier][provider]
        if isinstance(expected, dict):
            expected = expected["filtered" if "anthropic-filtered" in world else "unfiltered"]
        assert tier_pick(tier, provider, ids) == expected, (world, tier, provider)


@pytest.mark.parametrize("world", WORLDS)
async def test_every_tier_resolves_first_on_anthropic_with_every_provider_mounted(world: str) -> None:
    entries = entries_from({name: FakeProvider(ids) for name, ids in WORLDS[world].items()})
    for tier, chain in TIERS.items():
        result = await resolve(chain, entries, CatalogCache())
        assert result.chosen.provider == "anthropic", tier
        assert not any("|" in c.model or "*" in c.model for c in result.chain()), tier


# -- candidate groups (issue 16, defect 2) -----------------------------------------------------


def test_copilot_strong_code_takes_the_newer_generation_over_the_stale_codex_line() -> None:
    # Copilot lists gpt-5.3-codex and gpt-5.6-terra: the codex line ends two generations back.
    assert tier_pick("strong-code", "github-copilot", [
        i for i in WORLDS["anthropic-filtered+openai-filtered"]["github-copilot"] if "claude" not in i
    ]) == "gpt-5.6-terra"


def test_a_ga_pro_beats_an_older_preview_and_a_preview_still_serves_when_alone() -> None:
    gemini = ["gemini-3.1-pro-preview", "gemini-3.5-pro", "gemini-2.5-pro"]
    assert tier_pick("strong", "gemini", gemini) == "gemini-3.5-pro"
    assert tier_pick("frontier", "gemini", ["gemini-3.1-pro-preview", "gemini-2.5-pro"]) == "gemini-3.1-pro-preview"


def test_group_ties_go_to_the_member_written_first() -> None:
    ids = ["gpt-5.6-codex", "gpt-5.6-terra", "gpt-5.6"]
    assert tier_pick("strong-code", "openai", ids) == "gpt-5.6-codex"
    assert tier_pick("strong", "openai", ids) == "gpt-5.6-terra"  # not the bare flagship alias


def test_a_group_is_validated_like_any_preference() -> None:
    from amplifier_module_model_router.errors import InputError

    (pref,) = parse_preferences([{"provider": "openai", "model": ["gpt-?.?-codex*", "gpt-?.?-terra*"]}])
    assert pref.members == ("gpt-?.?-codex*", "gpt-?.?-terra*")
    assert pref.to_dict()["model"] == "gpt-?.?-codex* | gpt-?.?-terra*"  # foundation reads a str
    assert parse_preferences([pref.to_dict()]) == (pref,)
    for bad, field in (([], "model"), (["gpt-5*", ""], "model[1]"), (["gpt-[5"], "model")):
        with pytest.raises(InputError) as caught:
            parse_preferences([{"provider": "openai", "model": bad}])
        assert f"[0].{field}" in str(caught.value) or "[0]" in str(caught.value)


# -- Anthropic's listing (issue 16, defect 1) --------------------------------------------------


def test_unfiltered_anthropic_routes_frontier_to_the_newest_opus() -> None:
    listed = ["claude-opus-4-9", "claude-opus-4-10", "claude-sonnet-5", "claude-haiku-4-5"]
    assert tier_pick("frontier", "anthropic", listed) == "claude-opus-4-10"


# -- exact names, instances, tags (issue 16, defects 6, 7, 8) ----------------------------------


async def test_an_exact_name_a_partial_list_lacks_still_reaches_the_provider() -> None:
    # Gemini's provider keeps only ids containing "gemini"; the API also serves this one.
    entries = entries_from({"gemini": FakeProvider(recorded("gemini"))})
    chain = parse_preferences([{"provider": "gemini", "model": "nano-banana-pro-preview"}])
    result = await resolve(chain, entries, CatalogCache())
    assert (result.chosen.provider, result.chosen.model) == ("gemini", "nano-banana-pro-preview")
    assert "sent as-is" in result.trace[0].reason


async def test_an_exact_name_a_complete_list_lacks_is_skipped() -> None:
    entries = entries_from({"gemini": FakeProvider(recorded("gemini"), complete=True)})
    chain = parse_preferences([{"provider": "gemini", "model": "nano-banana-pro-preview"}])
    result = await resolve(chain, entries, CatalogCache())
    assert result.chosen is None and "is not among" in result.trace[0].reason


async def test_the_exact_mount_name_wins_over_another_instance_of_the_module() -> None:
    local = FakeProvider(["qwen3:latest", "qwen3:14b"], priority=50)
    cloud = FakeProvider(["qwen3:latest", "qwen3:235b"], priority=10, base_url="https://ollama.com")
    plan = [
        {"module": "provider-ollama", "config": {"priority": 50}},
        {"module": "provider-ollama", "instance_id": "ollama-cloud", "config": {"priority": 10}},
    ]
    entries = entries_from({"ollama": local, "ollama-cloud": cloud}, plan)
    chain = parse_preferences([{"provider": "ollama", "model": "qwen3*"}])
    result = await resolve(chain, entries, CatalogCache())
    assert result.chosen.provider == "ollama"
    by_module = parse_preferences([{"provider": "provider-ollama", "model": "qwen3*"}])
    assert (await resolve(by_module, entries, CatalogCache())).chosen.provider == "ollama-cloud"


OLLAMA = [
    "qwen3:14b", "qwen3:4b", "qwen3:latest", "qwen3:8b", "qwen3:30b-a3b",
    "llama3.2:1b", "llama3.2:3b", "llama3.2:latest",
    "deepseek-r1:1.5b", "deepseek-r1:7b", "deepseek-r1:latest",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("qwen3*", "qwen3:latest"),  # the README's local-model example
        ("qwen3:*", "qwen3:latest"),
        ("llama3.2:*", "llama3.2:latest"),
        ("deepseek-r1:*", "deepseek-r1:latest"),
        ("qwen3:14b", "qwen3:14b"),
    ],
)
def test_tags_are_not_versions_and_latest_is_the_default(pattern: str, expected: str) -> None:
    assert newest_match(pattern, OLLAMA) == expected


def test_without_latest_a_size_tag_never_outranks_a_newer_name() -> None:
    assert newest_match("qwen3*", ["qwen3:14b", "qwen3.5:4b"]) == "qwen3.5:4b"
    assert newest_match("llama3*", ["llama3.2:1b", "llama3.1:70b"]) == "llama3.2:1b"


# -- price classes (issue 16, defects 3 and 4) -------------------------------------------------

from amplifier_module_model_router.resolve.prices import load_prices, price_key  # noqa: E402

PRICES = load_prices()
# Models whose price the providers' own rate tables do not state (OpenAI's marks them TODO).
UNPRICED = {"gpt-5-mini", "gpt-5-nano", "gpt-5.4-mini"}


def class_price(model: str) -> float | None:
    """Input + output list price per Mtok (the vendor's, also for Copilot's spelling)."""
    row = PRICES.lookup(model)
    return None if row is None else row.input_per_million + row.output_per_million


def test_every_spelling_of_a_model_meets_one_price() -> None:
    assert price_key("claude-haiku-4.5") == price_key("claude-haiku-4-5-20251001") == "claude-haiku-4-5"
    for spelling in ("claude-haiku-4.5", "claude-haiku-4-5-20251001", "CLAUDE-HAIKU-4-5"):
        assert class_price(spelling) == 6.0
    assert class_price("gpt-5.4-2026-03-05") == class_price("gpt-5.4") == 17.5
    assert class_price("models/gemini-3.1-flash-lite") == 1.75
    assert PRICES.price("github-copilot", "claude-haiku-4.5") is None  # Copilot bills requests
    assert PRICES.date and PRICES.currency == "USD"


def test_every_recorded_model_a_tier_picks_has_a_list_price_or_is_known_unpriced() -> None:
    for tier, picks in PICKS.items():
        for provider, model in picks.items():
            for m in model.values() if isinstance(model, dict) else [model]:
                assert class_price(m) is not None or m in UNPRICED, (tier, provider, m)


@pytest.mark.parametrize("world", WORLDS)
def test_the_budget_pick_on_each_provider_costs_no_more_than_anthropics(world: str) -> None:
    anthropic = class_price(tier_pick("budget", "anthropic", WORLDS[world]["anthropic"]))
    for provider, ids in WORLDS[world].items():
        pick = tier_pick("budget", provider, ids)
        price = class_price(pick)
        assert price is not None or pick in UNPRICED, (provider, pick)
        if price is not None:
            assert price <= anthropic, f"{world}: budget on {provider} is {pick} at ${price}"


@pytest.mark.parametrize("world", WORLDS)
async def test_a_failover_inside_a_tier_never_more_than_doubles_the_first_picks_price(world: str) -> None:
    entries = entries_from({name: FakeProvider(ids) for name, ids in WORLDS[world].items()})
    for tier, chain in TIERS.items():
        result = await resolve(chain, entries, CatalogCache())
        first = class_price(result.chosen.model)
        for candidate in result.fallbacks:
            price = class_price(candidate.model)
            assert price is None or price <= 2 * first, (
                f"{world} {tier}: {candidate.provider}/{candidate.model} at ${price} vs "
                f"{result.chosen.model} at ${first}"
            )
