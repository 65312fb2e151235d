"""The shipped bundle files: the shape foundation reads, tiers kept in sync, chains that route well.

Catalog ids come from shared/reference/model-landscape-2026.md (real vendor ids, 2025-2026) plus
plausible next releases, so a chain that would pick the wrong class of model fails here before
it fails in a user's session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from amplifier_module_model_router.bundle.loader import load_bundle
from amplifier_module_model_router.bundle.model import TIER_NAMES
from amplifier_module_model_router.resolve.globs import glob_matches
from amplifier_module_model_router.resolve.preferences import parse_preferences
from amplifier_module_model_router.safe_yaml import read_document

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bundle.md"
BEHAVIOR = ROOT / "behaviors" / "model-router.yaml"
GUIDE = ROOT / "context" / "model-router.md"
FOUNDATION = "git+https://github.com/microsoft/amplifier-foundation@main"
DERIVED = ROOT / "bundles" / "amplifier-dev.md"
AGENT_FILES = sorted((ROOT / "agents").glob("*.md")) + sorted(
    (ROOT / "bundles" / "agents").glob("*.md")
)
PROVIDER_ORDER = ("anthropic", "openai", "gemini", "github-copilot")
# Top-level agent-file keys amplifier-foundation keeps; anything else it silently drops.
FOUNDATION_KEYS = {
    "meta",
    "provider_preferences",
    "model_role",
    "tools",
    "providers",
    "hooks",
    "session",
    "agents",
}

CHEAP_IDS = {
    "anthropic": [
        "claude-haiku-4-5-20251001",
        "claude-haiku-4-5",
        "claude-3-5-haiku-20241022",
        "claude-haiku-5",
    ],
    "openai": [
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-5.4-mini",
        "gpt-5.4-mini-2026-03-17",
        "gpt-5.4-nano",
        "gpt-5.6-luna",
        "gpt-5.6-luna-2026-07-15",
        "gpt-5.7-luna",
    ],
    "gemini": [
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-3.1-flash-lite",
        "gemini-3-flash-preview",
        "gemini-3.1-flash-lite-preview",
        "gemini-3-flash",
    ],
    "github-copilot": ["claude-haiku-4.5", "gpt-5-mini", "gpt-5.4-mini", "gpt-5.6-luna"],
}
EXPENSIVE_IDS = {
    "anthropic": [
        "claude-sonnet-4-6",
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-8",
        "claude-opus-4-6",
        "claude-opus-4-1-20250805",
        "claude-opus-4-6-fast",
        "claude-sonnet-5",
    ],
    "openai": [
        "gpt-5",
        "gpt-5.1",
        "gpt-5.2",
        "gpt-5.4",
        "gpt-5.4-2026-03-05",
        "gpt-5.5",
        "gpt-5.6",
        "gpt-5.2-pro",
        "gpt-5.4-pro",
        "gpt-5.5-pro",
        "gpt-5-pro",
        "gpt-5.3-codex",
        "gpt-5.6-sol",
        "gpt-5.6-terra",
        "gpt-5.7-sol-pro",
    ],
    "gemini": [
        "gemini-2.5-pro",
        "gemini-3-pro-preview",
        "gemini-3.1-pro-preview",
        "gemini-pro-latest",
        "gemini-3-pro-image-preview",
        "gemini-3.5-pro",
        "gemini-4-pro-preview",
    ],
    "github-copilot": [
        "claude-sonnet-4.6",
        "claude-opus-4.6",
        "claude-opus-4.8",
        "claude-opus-4.6-fast",
        "gpt-5.5",
        "gpt-5.3-codex",
        "gpt-5.6-sol",
        "gpt-5.6-terra",
    ],
}
# Ids a text agent must never get even in budget: other modalities sharing a family name.
NOT_TEXT_IDS = [
    "gpt-4o-mini-tts",
    "gpt-realtime-mini",
    "gpt-audio-mini",
    "gpt-4o-mini-transcribe",
    "gemini-2.5-flash-image",
    "gemini-3.1-flash-image-preview",
    "gemini-2.5-flash-preview-tts",
    "gemini-2.5-flash-native-audio-preview-09-2025",
    "gemini-2.5-pro-preview-tts",
]
CHEAP_WORDS = ("haiku", "luna", "mini", "nano", "flash")
FRONTIER_WORDS = ("opus", "sol", "pro")


def tier_chains() -> dict[str, list[dict[str, Any]]]:
    """The tiers as the behavior declares them (their one home)."""
    front, _ = read_document(BEHAVIOR, display="behaviors/model-router.yaml")
    (entry,) = [h for h in front["hooks"] if h.get("module") == "model-router"]
    return entry["config"]["tiers"]


def frontmatter(path: Path) -> dict[str, Any]:
    return read_document(path, display=path.name)[0]


def body(path: Path) -> str:
    return read_document(path, display=path.name)[1]


# --------------------------------------------------------------------------- bundle.md


def test_root_bundle_is_thin_and_runnable_foundation_plus_its_behavior() -> None:
    """BUNDLE_GUIDE's thin root: foundation (session, tools, delegate) and its own behavior."""
    front = frontmatter(BUNDLE)
    assert front["bundle"]["name"] == "model-router" and front["bundle"]["version"]
    assert front["includes"] == [
        {"bundle": FOUNDATION},
        {"bundle": "model-router:behaviors/model-router"},
    ]
    assert not {"hooks", "agents", "session", "tools", "providers"} & set(front)


def test_behavior_declares_the_module_and_four_tiers_once() -> None:
    front = frontmatter(BEHAVIOR)
    assert front["bundle"]["name"] == "model-router-behavior"
    assert [h["module"] for h in front["hooks"]].count("model-router") == 1
    (entry,) = front["hooks"]
    assert "source" not in entry, "found by the package's entry point, installed by foundation"
    assert set(tier_chains()) == set(TIER_NAMES)
    assert "includes" not in front, "a behavior composes onto a bundle; it includes nothing"
    assert front["context"]["include"] == ["model-router:context/model-router.md"]


def test_behavior_lists_every_agent_file_namespaced() -> None:
    refs = frontmatter(BEHAVIOR)["agents"]["include"]
    assert len(refs) == len(set(refs)) == 16
    assert {ref.split(":", 1)[1] for ref in refs} == {
        p.stem for p in (ROOT / "agents").glob("*.md")
    }
    assert all(ref.startswith("model-router:") for ref in refs)


def test_guide_tells_the_root_session_about_every_agent_and_the_order() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for ref in frontmatter(BEHAVIOR)["agents"]["include"]:
        assert f"`{ref}`" in text, f"{ref} is not introduced to the root session"
    for tier in TIER_NAMES:
        assert f"**{tier}**" in text
    assert "Why the chains are ordered" in text


def test_root_behavior_and_derived_bundle_compose_the_same_routing() -> None:
    root, behavior = load_bundle(BUNDLE), load_bundle(BEHAVIOR)
    assert root.tiers == behavior.tiers and dict(root.agents) == dict(behavior.agents)
    assert [u.source for u in root.unread] == [FOUNDATION], "foundation is named, not read"
    assert root.includes == (BEHAVIOR,)


# --------------------------------------------------------------------------- chains


@pytest.mark.parametrize("tier", TIER_NAMES)
def test_each_chain_runs_anthropic_openai_gemini_copilot(tier: str) -> None:
    chain = parse_preferences(tier_chains()[tier])
    providers = [p.provider for p in chain]
    assert set(providers) == set(PROVIDER_ORDER)
    ranks = [PROVIDER_ORDER.index(p) for p in providers]
    assert ranks == sorted(ranks), f"{tier}: providers out of order: {providers}"
    assert len(set((p.provider, p.model) for p in chain)) == len(chain), (
        f"{tier}: duplicate candidate"
    )


def test_budget_can_never_reach_an_expensive_or_non_text_model() -> None:
    for pref in parse_preferences(tier_chains()["budget"]):
        assert any(word in pref.model for word in CHEAP_WORDS), f"{pref}: no cheap family named"
        for model_id in EXPENSIVE_IDS[pref.provider] + NOT_TEXT_IDS:
            assert not glob_matches(pref.model, model_id), f"budget {pref} matches {model_id}"


def test_budget_finds_a_cheap_model_at_every_provider() -> None:
    chain = parse_preferences(tier_chains()["budget"])
    for provider, ids in CHEAP_IDS.items():
        globs = [p.model for p in chain if p.provider == provider]
        assert any(glob_matches(g, i) for g in globs for i in ids), (
            f"budget finds nothing at {provider}"
        )


@pytest.mark.parametrize("tier", ["strong", "strong-code", "frontier"])
def test_strong_tiers_never_fall_to_a_cheap_or_non_text_model(tier: str) -> None:
    for pref in parse_preferences(tier_chains()[tier]):
        for model_id in CHEAP_IDS[pref.provider] + NOT_TEXT_IDS:
            assert not glob_matches(pref.model, model_id), f"{tier} {pref} matches {model_id}"


@pytest.mark.parametrize("tier", ["strong", "strong-code"])
def test_strong_tiers_leave_the_flagship_families_to_frontier(tier: str) -> None:
    flagship = [
        i
        for ids in EXPENSIVE_IDS.values()
        for i in ids
        if any(w in i for w in ("opus", "sol", "-pro"))
    ]
    for pref in parse_preferences(tier_chains()[tier]):
        if pref.provider == "gemini":
            continue  # Gemini's strong line is its Pro model; there is no mid tier to prefer
        for model_id in flagship:
            assert not glob_matches(pref.model, model_id), f"{tier} {pref} matches {model_id}"


def test_frontier_leads_with_each_vendors_flagship() -> None:
    chain = parse_preferences(tier_chains()["frontier"])
    for provider in ("anthropic", "openai", "github-copilot"):
        first = next(p for p in chain if p.provider == provider)
        assert any(word in first.model for word in FRONTIER_WORDS), f"frontier starts {first}"


def test_strong_code_prefers_the_code_line_before_the_general_one() -> None:
    """The code line is written first in the group, so at equal version it wins; a newer
    general model (gpt-5.6-terra over gpt-5.3-codex) wins across the group."""

    def gpt(tier: str, provider: str) -> list[str]:
        chain = parse_preferences(tier_chains()[tier])
        return [m for p in chain if p.provider == provider for m in p.members if m.startswith("gpt")]

    for provider in ("openai", "github-copilot"):
        code, strong = gpt("strong-code", provider), gpt("strong", provider)
        assert "codex" in code[0], f"{provider}: {code}"
        assert code[1:] == strong, f"{provider}: after codex, strong-code should follow strong"


def test_every_glob_matches_a_real_model_id() -> None:
    known = {i for ids in (*CHEAP_IDS.values(), *EXPENSIVE_IDS.values()) for i in ids}
    for tier, raw in tier_chains().items():
        for pref in parse_preferences(raw):
            assert any(glob_matches(pref.model, i) for i in known), f"{tier} {pref} matches nothing"


# --------------------------------------------------------------------------- agent files


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: p.stem)
def test_agent_file_is_shaped_as_foundation_reads_it(path: Path) -> None:
    front = frontmatter(path)
    assert set(front) <= FOUNDATION_KEYS, f"foundation would drop {set(front) - FOUNDATION_KEYS}"
    assert "model_role" not in front, "model_role belongs to routing-matrix; we route by model_tier"
    meta = front["meta"]
    assert meta["name"] == path.stem
    assert meta["model_tier"] in tier_chains()
    description = meta["description"]
    assert description.count("<example>") >= 2 and "<commentary>" in description
    assert re.search(r"model-router(-amplifier-dev)?:" + re.escape(path.stem), description)


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: p.stem)
def test_agent_preferences_equal_their_tier_chain(path: Path) -> None:
    front = frontmatter(path)
    tier = front["meta"]["model_tier"]
    assert parse_preferences(front["provider_preferences"]) == parse_preferences(
        tier_chains()[tier]
    )


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: p.stem)
def test_agent_body_is_a_real_instruction(path: Path) -> None:
    text = body(path)
    words = len(text.split())
    assert words >= 250, f"{path.name}: {words} words is too thin for a system instruction"
    assert text.lstrip().startswith("# ") and text.count("\n## ") >= 2
    flat = " ".join(text.split())
    assert "final message" in flat, "the agent must know only its final message reaches the caller"


def test_agent_bodies_are_not_copies_of_each_other() -> None:
    openings = [" ".join(body(p).split()[:40]) for p in AGENT_FILES]
    assert len(set(openings)) == len(openings)


# --------------------------------------------------------------------------- the derived bundle


def test_derived_bundle_restates_no_routing() -> None:
    front = frontmatter(DERIVED)
    # forms foundation resolves the same from any working folder (a relative path would not)
    assert front["includes"] == [
        {"bundle": FOUNDATION},
        {"bundle": "model-router:behaviors/model-router"},
    ]
    assert "hooks" not in front, "tiers belong to the behavior; the derived bundle inherits them"
    own = front["agents"]["include"]
    assert own and not any(ref.startswith("model-router:") for ref in own)
    base_names = {p.stem for p in (ROOT / "agents").glob("*.md")}
    assert not {ref.split(":")[-1] for ref in own} & base_names
    assert not set(front["agents"]) - {"include"}, "no re-tiering: the 16 agents route unchanged"


def test_derived_bundle_loads_with_every_agent_file_found() -> None:
    bundle = load_bundle(DERIVED)
    for ref in frontmatter(DERIVED)["agents"]["include"]:
        assert bundle.agents[ref.split(":")[-1]].source.is_file()
