"""The shared loader: the shipped bundles, composition rules, and one clear error per bad input.

Fixture bundles are written into tmp_path by the helpers below, so each test shows the exact
files it loads. Nothing here needs the network or the kernel.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from session_kit import TIER_AGENTS

from amplifier_module_model_router import safe_yaml
from amplifier_module_model_router.bundle import files as bundle_files
from amplifier_module_model_router.bundle.loader import agent_configs, load_bundle, parse_tiers
from amplifier_module_model_router.bundle.model import TIER_NAMES
from amplifier_module_model_router.errors import BundleError
from amplifier_module_model_router.resolve.preferences import ProviderPreference

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bundle.md"
DERIVED = ROOT / "bundles" / "amplifier-dev.md"

CHEAP = [
    {"provider": "anthropic", "model": "claude-haiku-*"},
    {"provider": "openai", "model": "gpt-5-mini"},
]
SMART = [
    {"provider": "anthropic", "model": "claude-sonnet-*"},
    {"provider": "openai", "model": "gpt-5.[0-9]"},
]


# --------------------------------------------------------------------------- fixture writers


def _front(data: Mapping[str, Any], body: str = "") -> str:
    return "---\n" + yaml.safe_dump(dict(data), sort_keys=False) + "---\n" + body


def write_bundle(
    folder: Path,
    name: str,
    *,
    tiers: Mapping[str, Any] | None = None,
    agents: Any = None,
    includes: list[Any] | None = None,
    body: str = "",
    file: str = "bundle.md",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    data: dict[str, Any] = {
        "bundle": {"name": name, "version": "1.0.0", "description": f"{name} bundle"}
    }
    if includes is not None:
        data["includes"] = includes
    if tiers is not None:
        data["hooks"] = [{"module": "model-router", "config": {"tiers": dict(tiers)}}]
    if agents is not None:
        data["agents"] = agents
    data.update(extra or {})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    path.write_text(_front(data, body))
    return path


def write_agent(
    folder: Path, name: str, tier: str | None = None, prefs: Any = None, body: str = "Do it."
) -> Path:
    meta: dict[str, Any] = {"name": name, "description": f"{name} agent"}
    if tier is not None:
        meta["model_tier"] = tier
    data: dict[str, Any] = {"meta": meta}
    if prefs is not None:
        data["provider_preferences"] = prefs
    (folder / "agents").mkdir(parents=True, exist_ok=True)
    path = folder / "agents" / f"{name}.md"
    path.write_text(_front(data, body))
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A small base bundle: two tiers, three agents (two cheap, one smart)."""
    folder = tmp_path / "base"
    for name, tier in (("git-ops", "cheap"), ("file-ops", "cheap"), ("architect", "smart")):
        write_agent(folder, name, tier, CHEAP if tier == "cheap" else SMART)
    return write_bundle(
        folder,
        "base",
        tiers={"cheap": CHEAP, "smart": SMART},
        agents={"include": ["base:git-ops", "base:file-ops", "base:architect"]},
        body="Base instruction.",
    )


def write_bundle_text(folder: Path, frontmatter: str, body: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bundle.md"
    path.write_text(f"---\n{frontmatter}---\n{body}")
    return path


def raises(path: Path) -> BundleError:
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    return info.value


def prefs(chain: list[dict[str, str]]) -> tuple[ProviderPreference, ...]:
    return tuple(ProviderPreference.from_dict(p) for p in chain)


# --------------------------------------------------------------------------- the shipped bundles

ISSUE_TIERS = {tier: set(agents) for tier, agents in TIER_AGENTS.items()}
"""The issue's tier table (kept once, in session_kit), as sets."""


def test_bundle_md_yields_sixteen_agents_in_the_four_tiers() -> None:
    bundle = load_bundle(BUNDLE)
    assert bundle.name == "model-router"
    assert set(bundle.tiers) == set(TIER_NAMES)
    assert len(bundle.agents) == 16
    assert {tier: {a.name for a in bundle.agents_on(tier)} for tier in TIER_NAMES} == ISSUE_TIERS
    for agent in bundle.agents.values():
        assert agent.preferences == bundle.tiers[agent.tier]
        assert agent.source == ROOT / "agents" / f"{agent.name}.md"
        assert agent.description and agent.instruction
        assert agent.meta["model_tier"] == agent.tier
    assert bundle.includes == (ROOT / "behaviors" / "model-router.yaml",)
    assert [u.source for u in bundle.unread] == [
        "git+https://github.com/microsoft/amplifier-foundation@main"
    ]
    assert bundle.instruction.startswith("# Model router")


def test_a_folder_loads_its_bundle_md() -> None:
    assert load_bundle(ROOT) == load_bundle(str(BUNDLE))


def test_derived_bundle_inherits_the_sixteen_unchanged_and_adds_its_own() -> None:
    base, derived = load_bundle(BUNDLE), load_bundle(DERIVED)
    assert derived.includes == base.includes == (ROOT / "behaviors" / "model-router.yaml",)
    assert derived.unread == tuple(
        type(u)(u.source, DERIVED, u.field, u.reason) for u in base.unread
    ), "foundation is named as not read, from the derived bundle's own includes"
    assert derived.tiers == base.tiers
    own = set(derived.agents) - set(base.agents)
    assert own, "the derived bundle must add at least one agent"
    for name, agent in base.agents.items():
        assert derived.agents[name].preferences == agent.preferences
        assert derived.agents[name].tier == agent.tier
    for name in own:
        added = derived.agents[name]
        assert added.source.parent == DERIVED.parent / "agents"
        assert added.tier in derived.tiers and added.preferences == derived.tiers[added.tier]
    assert derived.module_config == base.module_config


def test_module_config_round_trips_through_parse_tiers() -> None:
    bundle = load_bundle(BUNDLE)
    tiers = bundle.module_config["tiers"]
    assert all(type(p) is dict for chain in tiers.values() for p in chain)
    assert parse_tiers(tiers) == dict(bundle.tiers)


# --------------------------------------------------------------------------- composition


def test_redefined_tier_moves_every_agent_on_it(tmp_path: Path, base: Path) -> None:
    new_cheap = [{"provider": "gemini", "model": "gemini-*-flash"}]
    derived = write_bundle(
        tmp_path / "d", "derived", includes=[str(base)], tiers={"cheap": new_cheap}
    )
    bundle = load_bundle(derived)
    assert bundle.tiers["cheap"] == prefs(new_cheap)
    assert bundle.tiers["smart"] == prefs(SMART)
    for agent in bundle.agents_on("cheap"):
        assert agent.preferences == prefs(new_cheap)
        assert agent.own_preferences == prefs(CHEAP)  # the file's portable copy is untouched
    assert bundle.agents["architect"].preferences == prefs(SMART)
    assert bundle.module_config["tiers"]["cheap"] == new_cheap
    configs = agent_configs(bundle)
    assert configs["base:git-ops"]["provider_preferences"] == new_cheap


def test_redefining_the_real_bundles_budget_tier(tmp_path: Path) -> None:
    chain = [{"provider": "openai", "model": "gpt-5-nano"}]
    derived = write_bundle(tmp_path, "mine", includes=[BUNDLE.as_uri()], tiers={"budget": chain})
    bundle, original = load_bundle(derived), load_bundle(BUNDLE)
    assert {a.name for a in bundle.agents_on("budget")} == ISSUE_TIERS["budget"]
    for agent in bundle.agents.values():
        expected = (
            prefs(chain) if agent.tier == "budget" else original.agents[agent.name].preferences
        )
        assert agent.preferences == expected


def test_inline_entry_re_tiers_one_agent(tmp_path: Path, base: Path) -> None:
    derived = write_bundle(
        tmp_path / "d",
        "derived",
        includes=[str(base)],
        agents={"base:git-ops": {"model_tier": "smart"}},
    )
    bundle = load_bundle(derived)
    moved = bundle.agents["git-ops"]
    assert (moved.tier, moved.preferences, moved.meta["model_tier"]) == (
        "smart",
        prefs(SMART),
        "smart",
    )
    assert bundle.agents["file-ops"].tier == "cheap"
    assert agent_configs(bundle)["base:git-ops"]["model_tier"] == "smart"


def test_derived_adds_agents_from_its_own_folder_and_new_tiers(tmp_path: Path, base: Path) -> None:
    folder = tmp_path / "d"
    write_agent(folder, "reviewer", "local")
    write_agent(folder, "helper", "cheap")
    derived = write_bundle(
        folder,
        "derived",
        includes=[{"bundle": base.as_uri()}],
        tiers={"local": [{"provider": "ollama", "model": "qwen3:*"}]},
        agents={"include": ["derived:reviewer", "helper"]},
    )
    bundle = load_bundle(derived)
    assert list(bundle.agents) == ["git-ops", "file-ops", "architect", "reviewer", "helper"]
    assert bundle.agents["reviewer"].preferences == bundle.tiers["local"]
    assert bundle.agents["helper"].preferences == prefs(CHEAP)
    assert set(agent_configs(bundle)) == {
        "base:git-ops",
        "base:file-ops",
        "base:architect",
        "derived:reviewer",
        "helper",
    }


def test_later_bundle_replaces_an_agent_of_the_same_name(tmp_path: Path, base: Path) -> None:
    folder = tmp_path / "d"
    replacement = write_agent(folder, "architect", "cheap", body="Cheaper architect.")
    bundle = load_bundle(
        write_bundle(folder, "derived", includes=[str(base)], agents={"include": ["architect"]})
    )
    assert bundle.agents["architect"].source == replacement
    assert bundle.agents["architect"].instruction == "Cheaper architect."
    assert bundle.agents["architect"].preferences == prefs(CHEAP)
    assert len(bundle.agents) == 3


def test_untiered_agent_keeps_its_own_list_and_one_without_any_inherits(tmp_path: Path) -> None:
    pinned = [{"provider": "openai", "model": "gpt-5.2"}]
    write_agent(tmp_path, "pinned", None, pinned)
    write_agent(tmp_path, "plain", None, None)
    bundle = load_bundle(write_bundle(tmp_path, "b", agents={"include": ["pinned", "plain"]}))
    assert (
        bundle.agents["pinned"].preferences == prefs(pinned)
        and bundle.agents["pinned"].tier is None
    )
    assert bundle.agents["plain"].preferences == ()
    assert "provider_preferences" not in agent_configs(bundle)["plain"]


def test_folder_and_file_uri_includes(tmp_path: Path, base: Path) -> None:
    by_folder = write_bundle(tmp_path / "a", "a", includes=[str(tmp_path / "base")])
    by_uri = write_bundle(tmp_path / "b", "b", includes=[base.as_uri()])
    assert load_bundle(by_folder).includes == load_bundle(by_uri).includes == (base.resolve(),)


def test_a_bundle_included_twice_is_composed_once(tmp_path: Path, base: Path) -> None:
    left = write_bundle(
        tmp_path / "left",
        "left",
        includes=[str(base)],
        agents={"base:git-ops": {"model_tier": "smart"}},
    )
    right = write_bundle(tmp_path / "right", "right", includes=[str(base)])
    top = load_bundle(write_bundle(tmp_path / "top", "top", includes=[str(left), str(right)]))
    assert top.includes == (base.resolve(), left.resolve(), right.resolve())
    assert top.agents["git-ops"].tier == "smart"  # right's include of base does not undo left


def test_instruction_is_the_latest_non_empty_body(tmp_path: Path, base: Path) -> None:
    silent = load_bundle(write_bundle(tmp_path / "s", "s", includes=[str(base)]))
    loud = load_bundle(write_bundle(tmp_path / "l", "l", includes=[str(base)], body="Mine."))
    assert (silent.instruction, loud.instruction) == ("Base instruction.", "Mine.")


def test_other_module_config_keys_deep_merge_later_wins(tmp_path: Path) -> None:
    hooks = "hooks:\n  - module: model-router\n    config: "
    write_bundle_text(
        tmp_path / "base",
        "bundle: {name: base}\n" + hooks + "{strict: false, catalog: {ttl: 5, keep: [a]}}\n",
    )
    derived = write_bundle_text(
        tmp_path / "d",
        f"bundle: {{name: d}}\nincludes: [{tmp_path / 'base'}]\n"
        + hooks
        + "{strict: true, catalog: {keep: [b]}}\n",
    )
    config = load_bundle(derived).module_config
    assert config["strict"] is True
    assert config["catalog"] == {"ttl": 5, "keep": ["b"]}  # lists are replaced, never concatenated
    assert config["tiers"] == {}


# --------------------------------------------------------------------------- foundation's shape


def test_agent_configs_match_foundation_agent_loading() -> None:
    bundle = load_bundle(BUNDLE)
    configs = agent_configs(bundle)
    assert set(configs) == {f"model-router:{name}" for name in bundle.agents}
    for key, cfg in configs.items():
        spec = bundle.agents[key.split(":", 1)[1]]
        assert cfg["name"] == key
        assert cfg["description"] == spec.description
        assert cfg["model_tier"] == spec.tier
        assert cfg["instruction"] == spec.instruction
        assert all(type(p) is dict for p in cfg["provider_preferences"])
        assert [ProviderPreference.from_dict(p) for p in cfg["provider_preferences"]] == list(
            spec.preferences
        )
        assert "model_role" not in cfg and "meta" not in cfg


def test_agent_configs_keep_foundation_sections_and_are_fresh_copies(tmp_path: Path) -> None:
    path = tmp_path / "agents" / "worker.md"
    path.parent.mkdir(parents=True)
    path.write_text(
        "---\nmeta: {name: worker, description: d, model_tier: t, color: blue}\n"
        "tools: [{module: tool-bash}]\nsession: {orchestrator: {module: loop-basic}}\n"
        "agents: none\nunknown_top_level: dropped\n---\nbody\n"
    )
    bundle = load_bundle(
        write_bundle(tmp_path, "b", tiers={"t": CHEAP}, agents={"include": ["worker"]})
    )
    first = agent_configs(bundle)["worker"]
    assert (
        first["color"] == "blue"
        and first["tools"] == [{"module": "tool-bash"}]
        and first["agents"] == "none"
    )
    assert "unknown_top_level" not in first
    first["tools"].append("junk")
    first["provider_preferences"].clear()
    second = agent_configs(bundle)["worker"]
    assert second["tools"] == [{"module": "tool-bash"}] and second["provider_preferences"] == CHEAP


def test_bundle_values_are_read_only() -> None:
    bundle = load_bundle(BUNDLE)
    with pytest.raises(TypeError):
        bundle.agents["x"] = bundle.agents["git-ops"]  # type: ignore[index]
    with pytest.raises(TypeError):
        bundle.tiers["budget"] = ()  # type: ignore[index]
    with pytest.raises(AttributeError):
        bundle.name = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------- cache


def test_warm_load_reads_no_file_and_a_changed_file_is_reread(
    tmp_path: Path, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_bundle(base)

    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("file parsed again although unchanged")

    with monkeypatch.context() as patch:
        patch.setattr(bundle_files, "read_document", boom)
        assert load_bundle(base) == first
    agent = base.parent / "agents" / "architect.md"
    agent.write_text(agent.read_text().replace("model_tier: smart", "model_tier: cheap"))
    os.utime(agent, ns=(1, 1))  # a different mtime even on coarse clocks
    assert load_bundle(base).agents["architect"].tier == "cheap"


def test_a_failed_load_leaves_nothing_behind(tmp_path: Path, base: Path) -> None:
    agent = base.parent / "agents" / "git-ops.md"
    good = agent.read_text()
    agent.write_text(good.replace("model_tier: cheap", "model_tier: nope"))
    assert raises(base).field == "meta.model_tier"
    agent.write_text(good)
    os.utime(agent, ns=(2, 2))
    assert load_bundle(base).agents["git-ops"].tier == "cheap"


# --------------------------------------------------------------------------- errors


def test_malformed_yaml_names_file_and_line(tmp_path: Path, base: Path) -> None:
    agent = base.parent / "agents" / "file-ops.md"
    agent.write_text("---\nmeta:\n  name: file-ops\n  description: [unclosed\n---\nbody\n")
    err = raises(base)
    assert err.file.endswith("agents/file-ops.md") and err.line is not None and err.line >= 4
    assert "malformed YAML" in str(err) and f"file-ops.md:{err.line}" in str(err)


def test_malformed_bundle_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bundle.md"
    path.write_text("---\nbundle:\n  name: x\n  version: 1.0.0\n oops: [\n---\n")
    err = raises(path)
    assert err.file.endswith("bundle.md") and err.line == 5


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ({"model": "claude-*"}, "[1]", "missing 'provider'"),
        ({"provider": "anthropic"}, "[1]", "missing 'model'"),
        ({"provider": "anthropic", "model": 5}, "[1].model", "must be a string"),
        ({"provider": ["anthropic"], "model": "x"}, "[1].provider", "must be a string"),
        ("anthropic/claude-*", "[1]", "expected a mapping"),
        ({"provider": "anthropic", "model": "claude-[0-9"}, "[1]", "unclosed '['"),
    ],
)
def test_bad_preference_in_an_agent_file(
    tmp_path: Path, base: Path, entry: Any, field: str, words: str
) -> None:
    write_agent(base.parent, "git-ops", None, [CHEAP[0], entry])
    err = raises(base)
    assert (err.agent, err.field) == ("git-ops", f"provider_preferences{field}")
    assert err.file.endswith("agents/git-ops.md") and words in str(err)


def test_bad_preference_in_a_tier(tmp_path: Path) -> None:
    path = write_bundle(tmp_path, "b", tiers={"cheap": [CHEAP[0], {"provider": "openai"}]})
    err = raises(path)
    assert (err.agent, err.field) == (None, "hooks[0].config.tiers.cheap[1]")
    assert "missing 'model'" in str(err)


@pytest.mark.parametrize("key", ["deepseek_api_key", "vault_secret", "OpenRouter-Token"])
def test_credentials_named_by_their_suffix_are_refused_in_a_bundles_chains(
    tmp_path: Path, base: Path, key: str
) -> None:
    """Keys no list can foresee (``<vendor>_api_key``, ``*_secret``, ``*_token``, case and ``-``
    folded) are credentials too, in the bundle's own tiers and agent files alike."""
    entry = {"provider": "openai", "model": "gpt-5*", "config": {"reasoning": {key: "k"}}}
    err = raises(write_bundle(tmp_path / "tiered", "b", tiers={"cheap": [CHEAP[0], entry]}))
    assert err.field == f"hooks[0].config.tiers.cheap[1].config.reasoning.{key}"
    assert "credentials" in str(err)
    write_agent(base.parent, "git-ops", None, [CHEAP[0], entry])
    err = raises(base)
    assert (err.agent, err.field) == ("git-ops", f"provider_preferences[1].config.reasoning.{key}")


def test_tuning_keys_that_merely_look_like_credentials_load(tmp_path: Path) -> None:
    config = {"max_tokens": 4000, "reasoning_effort": "high", "secrets_scan": True, "tokenizer": "o200k"}
    entry = {"provider": "openai", "model": "gpt-5*", "config": config}
    bundle = load_bundle(write_bundle(tmp_path, "b", tiers={"cheap": [entry]}))
    assert bundle.tiers["cheap"][0].config == config


def test_empty_chains_are_refused(tmp_path: Path, base: Path) -> None:
    err = raises(write_bundle(tmp_path / "t", "t", tiers={"cheap": []}))
    assert err.field == "hooks[0].config.tiers.cheap" and "empty" in err.reason
    write_agent(base.parent, "architect", None, [])
    err = raises(base)
    assert (err.agent, err.field) == ("architect", "provider_preferences") and "empty" in err.reason


def test_unknown_tier_in_an_agent_file(tmp_path: Path, base: Path) -> None:
    write_agent(base.parent, "architect", "smrt", SMART)
    err = raises(base)
    assert (err.agent, err.field) == ("architect", "meta.model_tier") and err.file.endswith(
        "architect.md"
    )
    assert "smrt" in err.reason and "smart" in err.reason


def test_unknown_tier_in_an_inline_re_tier(tmp_path: Path, base: Path) -> None:
    derived = write_bundle(
        tmp_path / "d", "d", includes=[str(base)], agents={"base:git-ops": {"model_tier": "gold"}}
    )
    err = raises(derived)
    assert (err.agent, err.field) == (
        "git-ops",
        "agents.base:git-ops.model_tier",
    ) and err.file.endswith("d/bundle.md")


def test_an_error_names_the_file_that_set_the_bad_value(tmp_path: Path, base: Path) -> None:
    write_agent(base.parent, "architect", "smrt", SMART)
    overlay = {"base:architect": {"description": "re-described"}}
    err = raises(write_bundle(tmp_path / "d", "d", includes=[str(base)], agents=overlay))
    assert err.file.endswith("agents/architect.md") and err.field == "meta.model_tier"
    overlay = {"base:git-ops": {"provider_preferences": [{"provider": "x"}]}}
    err = raises(write_bundle(tmp_path / "e", "e", includes=[str(base)], agents=overlay))
    assert err.file.endswith("e/bundle.md")
    assert err.field == "agents.base:git-ops.provider_preferences[0]" and "model" in err.reason


def test_model_tier_at_top_level_is_refused(tmp_path: Path, base: Path) -> None:
    path = base.parent / "agents" / "git-ops.md"
    path.write_text("---\nmeta: {name: git-ops, description: d}\nmodel_tier: cheap\n---\n")
    err = raises(base)
    assert (err.agent, err.field) == ("git-ops", "model_tier") and "meta" in err.reason


def test_listed_agent_without_a_file(tmp_path: Path, base: Path) -> None:
    (base.parent / "agents" / "file-ops.md").unlink()
    err = raises(base)
    assert (err.agent, err.field) == ("file-ops", "agents.include[1]") and err.file.endswith(
        "base/bundle.md"
    )
    assert "file-ops.md" in err.reason


@pytest.mark.parametrize("ref", ["../escape", "a/b", "", "ns:", "x:y:z/w"])
def test_agent_names_cannot_leave_the_agents_folder(tmp_path: Path, ref: str) -> None:
    err = raises(write_bundle(tmp_path, "b", agents={"include": [ref]}))
    assert err.field == "agents.include[0]"


def test_unknown_agent_namespace(tmp_path: Path) -> None:
    write_agent(tmp_path, "a")
    err = raises(write_bundle(tmp_path, "b", agents={"include": ["elsewhere:a"]}))
    assert (err.agent, err.field) == ("a", "agents.include[0]") and "elsewhere" in err.reason


def test_inline_entry_lists_an_agent_like_foundation_does(tmp_path: Path, base: Path) -> None:
    folder = tmp_path / "d"
    write_agent(folder, "extra", "cheap")
    bundle = load_bundle(
        write_bundle(folder, "d", includes=[str(base)], agents={"extra": {"model_tier": "smart"}})
    )
    assert bundle.agents["extra"].tier == "smart"
    err = raises(write_bundle(folder, "d", includes=[str(base)], agents={"ghost": {"x": 1}}))
    assert (err.agent, err.field) == ("ghost", "agents.ghost") and "ghost.md" in err.reason


def test_include_cycle(tmp_path: Path) -> None:
    write_bundle(tmp_path / "a", "a", includes=[str(tmp_path / "b")])
    write_bundle(tmp_path / "b", "b", includes=[(tmp_path / "c" / "bundle.md").as_uri()])
    write_bundle(tmp_path / "c", "c", includes=[str(tmp_path / "a")])
    err = raises(tmp_path / "a")
    assert "include cycle" in err.reason and err.reason.count("->") == 3
    assert err.file.endswith("c/bundle.md") and err.field == "includes[0]"


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    err = raises(write_bundle(tmp_path, "me", includes=[str(tmp_path / "bundle.md")]))
    assert "include cycle" in err.reason


@pytest.mark.parametrize(
    ("include", "words"),
    [
        ("git+https://github.com/microsoft/amplifier-bundle-model-router@main", "remote source"),
        (
            "git+https://github.com/o/r@main#subdirectory=behaviors/model-router.yaml",
            "remote source",
        ),
        ({"bundle": "https://example.com/bundle.md"}, "remote source"),
        ("foundation", "registry name"),
        ("foundation:behaviors/agents", "namespace 'foundation' is not a bundle read here"),
    ],
)
def test_includes_the_cli_fetches_are_listed_as_unread(
    tmp_path: Path, include: Any, words: str
) -> None:
    """Not read offline, never silently dropped: named with the file and field that has them."""
    bundle = load_bundle(write_bundle(tmp_path, "b", includes=[include]))
    (unread,) = bundle.unread
    source = include["bundle"] if isinstance(include, dict) else include
    assert unread.source == source and words in unread.reason
    assert unread.file.name == "bundle.md" and unread.field.startswith("includes[0]")
    assert bundle.includes == ()


@pytest.mark.parametrize(
    ("include", "words"),
    [
        (str(Path("/nonexistent-model-router-test/bundle.md")), "not found"),
        (42, "must be a bundle source"),
        ("", "must be a bundle source"),
    ],
)
def test_includes_that_cannot_be_loaded(tmp_path: Path, include: Any, words: str) -> None:
    err = raises(write_bundle(tmp_path, "b", includes=[include]))
    assert (
        err.file.endswith("bundle.md")
        and err.field.startswith("includes[0]")
        and words in err.reason
    )


@pytest.mark.parametrize("include", ["../base", "./base/bundle.md", "base.md", "sub/x.yaml"])
def test_a_relative_include_is_refused_since_foundation_reads_it_from_the_working_folder(
    tmp_path: Path, include: str
) -> None:
    err = raises(write_bundle(tmp_path / "d", "d", includes=[include]))
    assert "relative path" in err.reason and "working folder" in err.reason
    assert err.field == "includes[0]"


def test_the_relative_include_hint_names_the_namespace_form_that_works(tmp_path: Path) -> None:
    root = write_bundle(tmp_path / "repo", "mine", includes=["behaviors/extra.yaml"])
    (tmp_path / "repo" / "behaviors").mkdir()
    (tmp_path / "repo" / "behaviors" / "extra.yaml").write_text("bundle: {name: extra}\n")
    assert "'mine:behaviors/extra'" in raises(root).reason
    outside = write_bundle(tmp_path / "other", "other", includes=["../elsewhere/bundle.md"])
    assert f"'file://{(tmp_path / 'elsewhere' / 'bundle.md').resolve()}'" in raises(outside).reason


def test_namespace_paths_resolve_inside_the_named_bundle_as_in_foundation(tmp_path: Path) -> None:
    """A thin root including its own behavior; a sibling bundle reaching it through the root."""
    repo = tmp_path / "repo"
    write_agent(repo, "git-ops", "cheap")
    (repo / "behaviors").mkdir(parents=True)
    (repo / "behaviors" / "routing.yaml").write_text(
        "bundle: {name: mine-behavior}\n"
        "hooks:\n  - module: model-router\n    config:\n      tiers:\n"
        "        cheap: [{provider: anthropic, model: 'claude-haiku-*'}]\n"
        "agents:\n  include: [mine:git-ops]\n"
    )
    root = write_bundle(repo, "mine", includes=["mine:behaviors/routing", "foundation"])
    sibling = write_bundle(repo / "bundles", "variant", file="variant.md",
                           includes=["mine:behaviors/routing.yaml"])
    behavior_alone = repo / "behaviors" / "routing.yaml"
    for path in (root, sibling, behavior_alone):
        bundle = load_bundle(path)
        assert bundle.agents["git-ops"].tier == "cheap", path
        assert bundle.agents["git-ops"].source == repo / "agents" / "git-ops.md"
    assert [u.source for u in load_bundle(root).unread] == ["foundation"]
    assert load_bundle(root).includes == (behavior_alone.resolve(),)


def test_a_namespace_path_to_nothing_in_a_known_bundle_is_an_error(tmp_path: Path) -> None:
    err = raises(write_bundle(tmp_path, "mine", includes=["mine:behaviors/missing"]))
    assert "no bundle at 'behaviors/missing'" in err.reason and err.field == "includes[0]"


def test_git_include_deep_in_the_chain_names_the_file_that_has_it(tmp_path: Path) -> None:
    inner = write_bundle(
        tmp_path / "inner",
        "inner",
        includes=["git+https://github.com/microsoft/amplifier-foundation@main"],
    )
    bundle = load_bundle(write_bundle(tmp_path / "outer", "outer", includes=[str(inner)]))
    (unread,) = bundle.unread
    assert unread.file.parent.name == "inner" and "amplifier-foundation" in unread.source


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("---\nname: x\n---\n", "bundle", "bundle:"),
        ("---\nbundle: {version: 1.0.0}\n---\n", "bundle.name", "non-empty"),
        ("---\nbundle: {name: x, version: 1.10}\n---\n", "bundle.version", "quote it"),
        ("---\nbundle: {name: x}\nhooks: {module: model-router}\n---\n", "hooks", "list"),
        (
            "---\nbundle: {name: x}\nhooks: [{module: model-router, config: [1]}]\n---\n",
            "hooks[0].config",
            "mapping",
        ),
        (
            "---\nbundle: {name: x}\nhooks: [{module: model-router}, {module: model-router}]\n"
            "---\n",
            "hooks[1]",
            "twice",
        ),
        (
            "---\nbundle: {name: x}\nhooks: [{module: model-router, config: {tiers: [a]}}]\n---\n",
            "hooks[0].config.tiers",
            "mapping",
        ),
        ("---\nbundle: {name: x}\nagents: {include: git-ops}\n---\n", "agents.include", "list"),
        ("---\nbundle: {name: x}\nincludes: ../other\n---\n", "includes", "list"),
    ],
)
def test_malformed_bundle_fields(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = tmp_path / "bundle.md"
    path.write_text(text)
    err = raises(path)
    assert err.field == field and words in err.reason


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("no frontmatter here\n", "missing YAML frontmatter"),
        ("---\nbundle: {name: x}\n", "not closed"),
        ("---\n- a\n- b\n---\n", "must be a mapping"),
        ("---\nbundle: {name: x}\nbundle: {name: y}\n---\n", "duplicate key 'bundle'"),
        ("---\na: &a [1, *a]\n---\n", "recursive alias"),
        ("---\nbundle: !!python/object:os.system {}\n---\n", "malformed YAML"),
    ],
)
def test_unsafe_or_broken_documents(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bundle.md"
    path.write_text(text)
    assert words in raises(path).reason


def test_alias_bomb_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bundle.md"
    path.write_text("---\nbundle: {name: x}\n" + "\n".join(lines) + "\n---\n")
    err = raises(path)
    assert "refused YAML" in err.reason and err.line is not None and 3 <= err.line <= 12


def test_wide_alias_expansion_is_refused_but_ordinary_anchors_work(tmp_path: Path) -> None:
    path = write_bundle_text(
        tmp_path,
        "bundle: {name: x}\nhooks:\n  - module: model-router\n    config:\n      tiers:\n"
        "        a: &chain [{provider: anthropic, model: claude-haiku-*}]\n        b: *chain\n",
    )
    assert load_bundle(path).tiers["a"] == load_bundle(path).tiers["b"]
    wide = "[" + ", ".join(["x"] * 1000) + "]"
    refs = ", ".join(["*w"] * (safe_yaml.MAX_NODES // 1000 + 1))
    path = write_bundle_text(tmp_path, f"bundle: {{name: x}}\nw: &w {wide}\nlist: [{refs}]\n")
    err = raises(path)
    assert "expands to more than" in err.reason and err.line is not None


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    depth = safe_yaml.MAX_DEPTH + 5
    path = write_bundle_text(tmp_path, "bundle: {name: x}\nv: " + "[" * depth + "]" * depth + "\n")
    assert "nested deeper" in raises(path).reason
    path.write_text("---\nv: " + "[" * 5000 + "]" * 5000 + "\n---\n")
    assert "YAML" in raises(path).reason


def test_oversized_and_non_utf8_files(tmp_path: Path) -> None:
    path = tmp_path / "bundle.md"
    path.write_text("---\nbundle: {name: x}\n---\n" + "x" * (safe_yaml.MAX_FILE_BYTES + 1))
    assert "limit" in raises(path).reason
    path.write_bytes(b"---\nbundle: {name: \xff}\n---\n")
    assert "UTF-8" in raises(path).reason


def test_missing_bundle_path(tmp_path: Path) -> None:
    err = raises(tmp_path / "nowhere")
    assert err.file.endswith("nowhere") and "not found" in err.reason


# --------------------------------------------------------------------------- parse_tiers


def test_parse_tiers_validates_names_and_chains() -> None:
    assert parse_tiers(None) == {}
    assert parse_tiers({"cheap": CHEAP}) == {"cheap": prefs(CHEAP)}
    for raw, field in [
        ([CHEAP], "tiers"),
        ({"": CHEAP}, "tiers"),
        ({"a b": CHEAP}, "tiers"),
        ({"cheap": "claude-haiku-*"}, "tiers.cheap"),
        (
            {"cheap": [{"provider": "x", "model": "y", "config": {"api_key": "k"}}]},
            "tiers.cheap[0].config.api_key",
        ),
    ]:
        with pytest.raises(BundleError) as info:
            parse_tiers(raw, file="settings.yaml")
        assert (info.value.file, info.value.field) == ("settings.yaml", field)
