"""Version-aware newest-match: the issue's cases, real vendor catalogs, and order invariants."""

from __future__ import annotations

import random

import pytest
from _catalog_fakes import ANTHROPIC, COPILOT, GEMINI, OPENAI
from hypothesis import given, settings
from hypothesis import strategies as st

from amplifier_module_model_router.errors import InputError
from amplifier_module_model_router.resolve import versions
from amplifier_module_model_router.resolve.globs import glob_matches
from amplifier_module_model_router.resolve.versions import SortedCatalog, newest_match, version_key

ISSUE_CASES = [
    ("claude-opus-*", ["claude-opus-4-6", "claude-opus-4-10"], "claude-opus-4-10"),
    ("claude-opus-*", ["claude-opus-4-20250514", "claude-opus-4-1-20250805"], "claude-opus-4-1-20250805"),
    ("claude-sonnet-*", ["claude-sonnet-4-5-20250929", "claude-sonnet-4-6"], "claude-sonnet-4-6"),
    ("gpt-5.[0-9]", ["gpt-5", "gpt-5.1", "gpt-5.2", "gpt-5.2-mini", "gpt-5-mini"], "gpt-5.2"),
    ("gpt-5*-pro", ["gpt-5-pro", "gpt-5.2-pro", "gpt-5.2"], "gpt-5.2-pro"),
    ("claude-opus-*", ["claude-opus-4-8", "claude-opus-4-8-fast"], "claude-opus-4-8"),
    ("claude-haiku-*", ["Claude-Haiku-5", "claude-haiku-4-5-20251001"], "Claude-Haiku-5"),
]

OPENAI_56 = OPENAI + ["gpt-5.6", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-5.4-mini",
                     "gpt-5.4-mini-2026-03-17", "gpt-5.4-nano"]
"""The recorded OpenAI list (May 2026) plus the 5.6 tier-suffix line and the 5.4 mini/nano that
OpenAI lists later (Copilot already does): the shape the suffix and snapshot rules need."""

REAL_CASES = [
    # Anthropic: dashes, date stamps, undated aliases.
    ("claude-opus-*", ANTHROPIC, "claude-opus-4-8"),
    ("claude-sonnet-*", ANTHROPIC, "claude-sonnet-5"),
    ("claude-haiku-*", ANTHROPIC, "claude-haiku-4-5"),  # the undated alias beats its snapshot
    ("claude-*opus*", ["claude-3-opus-20240229", "claude-opus-4-20250514", "claude-opus-4-5-20251101"],
     "claude-opus-4-5-20251101"),
    ("claude-haiku-*", ["claude-haiku-4-5", "claude-haiku-4-5-20251001"], "claude-haiku-4-5"),
    ("claude-haiku-4-5*", ["claude-haiku-4-5-20251001", "claude-haiku-4-5-20251201"], "claude-haiku-4-5-20251201"),
    ("claude-3-5-haiku*", ["claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"], "claude-3-5-haiku-20241022"),
    ("claude-opus-*", ["claude-opus-4@20250514", "claude-opus-4-1@20250805"], "claude-opus-4-1@20250805"),
    ("claude-opus-*", ["claude-opus-4", "claude-opus-4-1"], "claude-opus-4-1"),
    ("claude-opus-*-fast", ["claude-opus-4-8", "claude-opus-4-8-fast", "claude-opus-4-6-fast"], "claude-opus-4-8-fast"),
    ("claude-opus-*", ["claude-opus-4-7", "claude-opus-4-8-fast"], "claude-opus-4-8-fast"),
    # GitHub Copilot: the same Claude models with dots and no dates.
    ("claude-sonnet-*", COPILOT, "claude-sonnet-5"),
    ("claude-opus-*", COPILOT + ["claude-opus-4.6-fast"], "claude-opus-4.8"),
    ("claude-opus-*", ["claude-opus-4.6", "claude-opus-4.6-fast"], "claude-opus-4.6"),
    ("claude-haiku-*", COPILOT, "claude-haiku-4.5"),
    ("gpt-5*", COPILOT, "gpt-5.6-luna"),  # 5.6 comes only as variants there
    # OpenAI: dotted versions, tier suffixes since 5.6, dated snapshots.
    ("gpt-[0-9].[0-9]", OPENAI, "gpt-5.5"),
    ("gpt-[0-9].[0-9]", OPENAI_56, "gpt-5.6"),
    ("gpt-?.?-sol*", OPENAI_56, "gpt-5.6-sol"),
    ("gpt-?.?-terra*", OPENAI_56, "gpt-5.6-terra"),
    ("gpt-?.?-luna*", OPENAI_56 + ["gpt-5.6-luna-2026-07-15"], "gpt-5.6-luna"),
    ("gpt-?.?-mini*", OPENAI, None),  # the recorded list has only gpt-5-mini
    ("gpt-?.?-mini*", OPENAI_56, "gpt-5.4-mini"),
    ("gpt-?.?-pro*", OPENAI, "gpt-5.5-pro"),
    ("gpt-?.?-codex*", OPENAI + ["gpt-5.1-codex-max", "gpt-5.3-codex-spark"], "gpt-5.3-codex"),
    ("gpt-5.6*", OPENAI_56, "gpt-5.6"),
    ("gpt-5*", ["gpt-5.2", "gpt-5.2-mini", "gpt-5.9", "gpt-5.10"], "gpt-5.10"),
    ("gpt-5.[0-9]", ["gpt-5.9", "gpt-5.10"], "gpt-5.9"),
    ("gpt-?.?-sol*", ["gpt-5.6-sol", "gpt-5.7-sol-2026-09-01"], "gpt-5.7-sol-2026-09-01"),
    ("gpt-5.4*", ["gpt-5.4-2026-03-05", "gpt-5.4"], "gpt-5.4"),
    ("gpt-5.4-mini*", ["gpt-5.4-mini-2026-03-17", "gpt-5.4-mini-2026-01-02"], "gpt-5.4-mini-2026-03-17"),
    ("gpt-4*", ["gpt-4-0613", "gpt-4-1106-preview", "gpt-4-0125-preview"], "gpt-4-0613"),
    ("o*-mini", ["o1-mini", "o3-mini", "o4-mini"], "o4-mini"),
    # Google: previews, lite variants, -latest aliases, -001 revisions.
    ("gemini-*-pro-preview", GEMINI, "gemini-3.1-pro-preview"),
    ("gemini-*-flash*", GEMINI, "gemini-3.6-flash"),
    ("gemini-*pro*", ["gemini-pro-latest", "gemini-2.5-pro"], "gemini-2.5-pro"),
    ("gemini-*-pro*", ["gemini-3-pro", "gemini-3-pro-preview"], "gemini-3-pro"),
    ("gemini-2.5-flash*", ["gemini-2.5-flash-preview-04-17", "gemini-2.5-flash-preview-09-2025",
                           "gemini-2.5-flash-preview-05-20"], "gemini-2.5-flash-preview-09-2025"),
    ("gemini-2.5-flash*", ["gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"], "gemini-2.5-flash"),
    ("gemini-2.0-flash*", ["gemini-2.0-flash-001", "gemini-2.0-flash-lite", "gemini-2.0-flash"], "gemini-2.0-flash"),
    ("gemini-2*-flash", ["gemini-2.0-flash", "gemini-2.5-flash"], "gemini-2.5-flash"),
    ("gemini-*-latest", ["gemini-pro-latest", "gemini-flash-latest"], "gemini-flash-latest"),
    # Local (ollama-style) ids.
    ("llama3.*", ["llama3.1:8b", "llama3.3:70b", "llama3.2:3b"], "llama3.3:70b"),
    # Exact names go through the same matcher, case-insensitively, in the provider's casing.
    ("CLAUDE-SONNET-4-6", ANTHROPIC, "claude-sonnet-4-6"),
    ("claude-sonnet-4.6", COPILOT, "claude-sonnet-4.6"),
]


@pytest.mark.parametrize(("pattern", "ids", "expected"), ISSUE_CASES)
def test_issue_cases(pattern, ids, expected):
    assert newest_match(pattern, ids) == expected
    assert newest_match(pattern, list(reversed(ids))) == expected


@pytest.mark.parametrize(("pattern", "ids", "expected"), REAL_CASES)
def test_real_catalogs(pattern, ids, expected):
    assert newest_match(pattern, ids) == expected
    shuffled = list(ids)
    random.Random(7).shuffle(shuffled)
    assert newest_match(pattern, SortedCatalog(shuffled)) == expected


def test_no_match_and_empty_catalog():
    assert newest_match("claude-opus-*", OPENAI) is None
    assert newest_match("claude-opus-*", []) is None
    assert newest_match("claude-opus-4-8", []) is None


def test_dashed_pattern_does_not_match_dotted_ids():
    # A Copilot catalog spells 4.6; the Anthropic spelling must not silently match it.
    assert newest_match("claude-sonnet-4-6", COPILOT) is None


def test_character_class_matches_base_models_only():
    picked = newest_match("gpt-[0-9].[0-9]", OPENAI + ["gpt-9.9-mini"])
    assert picked == "gpt-5.5"


def test_casing_duplicates_are_resolved_the_same_in_any_order():
    ids = ["claude-haiku-5", "Claude-Haiku-5"]
    assert newest_match("claude-haiku-*", ids) == newest_match("claude-haiku-*", ids[::-1])


def test_version_key_numbers_compare_numerically():
    assert version_key("claude-opus-4-10").version == (4, 10)
    assert version_key("gpt-5.10").version > version_key("gpt-5.9").version
    assert version_key("gemini-2.0-flash").version == version_key("gemini-2-flash").version


def test_version_key_date_stamps_are_snapshots_not_versions():
    dated = version_key("claude-opus-4-20250514")
    assert dated.version == (4,) and dated.dated and dated.snapshot == (20250514,)
    hyphenated = version_key("gpt-5.4-mini-2026-03-17")
    assert hyphenated.version == (5, 4) and hyphenated.variant == ("mini",)
    assert hyphenated.snapshot == (20260317,)


def test_version_key_keeps_variant_words():
    assert version_key("gemini-3.1-flash-lite-preview").variant == ("flash", "lite", "preview")
    assert version_key("claude-opus-4.6-fast").variant == ("fast",)
    assert version_key("gemini-pro-latest").version == ()


def test_sorted_catalog_orders_newest_first_and_dedupes():
    catalog = SortedCatalog(["claude-opus-4-6", "claude-opus-4-10", "claude-opus-4-6", "", None, 3])
    assert catalog.ids == ("claude-opus-4-10", "claude-opus-4-6")
    assert len(catalog) == 2
    assert "CLAUDE-OPUS-4-6" in catalog
    assert catalog.find("Claude-Opus-4-10") == "claude-opus-4-10"


def test_pick_reports_match_count():
    assert SortedCatalog(OPENAI_56).pick("gpt-5.4*") == ("gpt-5.4", 5)


def test_pick_is_cached_per_pattern(monkeypatch):
    """A glob is matched against an unchanged catalog once, then answered from the pick cache."""
    catalog = SortedCatalog(ANTHROPIC)
    compiled: list[str] = []
    real = versions.compile_glob

    def counting(pattern):
        compiled.append(pattern)
        return real(pattern)

    monkeypatch.setattr(versions, "compile_glob", counting)
    first = catalog.pick("claude-opus-*")
    for _ in range(50):
        assert catalog.pick("claude-opus-*") == first
    assert compiled == ["claude-opus-*"]


def test_malformed_glob_raises_an_input_error():
    with pytest.raises(InputError):
        newest_match("claude-[opus-*", ANTHROPIC)


_VOCAB = sorted(set(ANTHROPIC + OPENAI + GEMINI + COPILOT + ["claude-opus-4-8-fast", "Claude-Haiku-5"]))
_PATTERNS = ["claude-*", "claude-opus-*", "gpt-*", "gpt-?.?-*", "gemini-*", "*preview", "*", "gpt-5.[0-9]"]


@settings(max_examples=150, deadline=None)
@given(ids=st.lists(st.sampled_from(_VOCAB), max_size=25), pattern=st.sampled_from(_PATTERNS), seed=st.integers())
def test_pick_is_a_match_and_independent_of_listing_order(ids, pattern, seed):
    picked = newest_match(pattern, ids)
    matches = [i for i in ids if glob_matches(pattern, i)]
    if not matches:
        assert picked is None
        return
    assert picked in matches
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    assert newest_match(pattern, shuffled) == picked
    # The pick is never older than any other match.
    best = version_key(picked).version
    assert all(version_key(m).version <= best for m in matches)
