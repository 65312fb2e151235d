"""Layered routing settings: discovery, validation, precedence, provenance.

Every test builds its own home, project folder and environment under tmp_path and passes them
explicitly, so the real home and environment are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from amplifier_module_model_router.errors import SettingsError
from amplifier_module_model_router.resolve.preferences import parse_preferences
from amplifier_module_model_router.settings import (
    HOME_ENV,
    ORG_ENV,
    SettingsLayer,
    discover_layers,
    effective_routing,
)

BUNDLE_TIERS = {
    "fast": parse_preferences(
        [
            {"provider": "anthropic", "model": "claude-haiku-*"},
            {"provider": "openai", "model": "gpt-5*-mini"},
            {"provider": "google", "model": "gemini-*-flash"},
        ]
    ),
    "strong": parse_preferences(
        [
            {"provider": "anthropic", "model": "claude-opus-*"},
            {"provider": "openai", "model": "gpt-5*"},
            {"provider": "google", "model": "gemini-*-pro"},
        ]
    ),
}

LAYERS = ("org", "user", "project", "local", "mount")


class Setup:
    """A home, a project folder and an environment, all under tmp_path."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.cwd = root / "work" / "project"
        self.home.mkdir(parents=True)
        self.cwd.mkdir(parents=True)
        self.env: dict[str, str] = {}
        self.mount: dict[str, Any] | None = None

    def path(self, layer: str) -> Path:
        return {
            "org": self.home.parent / "org" / "model-router.yaml",
            "user": self.home / ".amplifier" / "settings.yaml",
            "project": self.cwd / ".amplifier" / "settings.yaml",
            "local": self.cwd / ".amplifier" / "settings.local.yaml",
        }[layer]

    def write(self, layer: str, values: Any = None, *, text: str | None = None) -> str:
        """Put ``values`` (or raw ``text``) into ``layer``; returns the layer's source."""
        if layer == "mount":
            self.mount = values
            return "mount plan"
        path = self.path(layer)
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            doc = values if layer == "org" else {"bundle": {"active": "foundation"}, "model_router": values}
            text = yaml.safe_dump(doc, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        if layer == "org":
            self.env[ORG_ENV] = str(path)
        return str(path)

    def layers(self) -> list[SettingsLayer]:
        return discover_layers(cwd=self.cwd, env=self.env, home=self.home, mount_config=self.mount)

    def routing(self, tiers: Any = BUNDLE_TIERS):
        return effective_routing(tiers, self.layers())


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def refusal_at(read: Callable[[], object], match: str | None = None) -> tuple[str | None, str | None, int | None]:
    """``(file, field, line)`` of the SettingsError ``read()`` raises; its message must match
    ``match`` and start with that location, as every settings error's does."""
    with pytest.raises(SettingsError, match=match) as err:
        read()
    error = err.value
    assert str(error).startswith(f"{error.file}:{error.line}: {error.field}: "), str(error)
    return error.file, error.field, error.line


def tier(*items: str) -> list[Any]:
    """A tier list as written in YAML, from ``"provider/model"`` strings and ``"base"``."""
    return [
        item if item == "base" else dict(zip(("provider", "model"), item.split("/", 1), strict=True))
        for item in items
    ]


def chain(routing, tier: str) -> list[str]:
    return [str(pref) for pref in routing.chain_for(tier)]


def label(layer: str, source: str) -> str:
    return f"{layer} ({source})"


# --- every key, in every layer --------------------------------------------------------------

KEY_CASES = {
    "provider_order": (
        {"provider_order": ["gemini", "openai"]},
        lambda r: (
            chain(r, "fast") == ["google/gemini-*-flash", "openai/gpt-5*-mini", "anthropic/claude-haiku-*"]
        ),
        "provider_order",
    ),
    "disabled_providers": (
        {"disabled_providers": ["provider-gemini"]},
        lambda r: chain(r, "strong") == ["anthropic/claude-opus-*", "openai/gpt-5*"],
        "disabled_providers",
    ),
    "tiers (replace)": (
        {"tiers": {"fast": tier("ollama/llama3*")}},
        lambda r: chain(r, "fast") == ["ollama/llama3*"],
        "tiers.fast",
    ),
    "tiers (base)": (
        {"tiers": {"strong": tier("ollama/qwen3*", "base")}},
        lambda r: (
            chain(r, "strong")
            == ["ollama/qwen3*", "anthropic/claude-opus-*", "openai/gpt-5*", "google/gemini-*-pro"]
        ),
        "tiers.strong",
    ),
    "tiers (new tier)": (
        {"tiers": {"budget": tier("ollama/llama3*")}},
        lambda r: (
            chain(r, "budget") == ["ollama/llama3*"] and chain(r, "fast")[0] == "anthropic/claude-haiku-*"
        ),
        "tiers.budget",
    ),
    "agents": (
        {"agents": {"git-ops": "strong"}},
        lambda r: r.tier_for("git-ops", "fast")[0] == "strong",
        "agents.git-ops",
    ),
    "agent_patterns": (
        {"agent_patterns": {"recipes:*": "strong"}},
        lambda r: (
            r.tier_for("recipes:recipe-author", None)[0] == "strong"
            and r.tier_for("python-dev:coder", None)[0] is None
        ),
        "agent_patterns.recipes:*",
    ),
    "default_tier": (
        {"default_tier": "fast"},
        lambda r: (
            r.tier_for("someone-elses-agent", None)[0] == "fast"
            and r.tier_for("git-ops", "strong")[0] == "strong"
        ),
        "default_tier",
    ),
    "strict": ({"strict": True}, lambda r: r.strict is True, "strict"),
}


# In a mount plan, ``tiers`` are the bundle's own tiers (the weakest layer), so the mount layer
# takes every key but ``tiers``: see test_tiers_in_the_mount_config_are_the_bundles_not_an_override.
EVERY_KEY_IN_EVERY_LAYER = [
    (case, layer)
    for case in KEY_CASES
    for layer in LAYERS
    if not (layer == "mount" and case.startswith("tiers"))
]


@pytest.mark.parametrize(("case", "layer"), EVERY_KEY_IN_EVERY_LAYER)
def test_each_key_in_each_layer(setup: Setup, layer: str, case: str) -> None:
    values, check, key = KEY_CASES[case]
    source = setup.write(layer, values)
    routing = setup.routing()
    assert check(routing)
    assert label(layer, source) in routing.provenance[key]


def test_no_layers_means_the_bundle_as_is(setup: Setup) -> None:
    routing = setup.routing()
    assert setup.layers() == []
    assert {t: list(c) for t, c in routing.tiers.items()} == {t: list(c) for t, c in BUNDLE_TIERS.items()}
    assert routing.tier_for("git-ops", "fast") == ("fast", "bundle: the agent's model_tier")
    assert routing.tier_for("unknown", None)[0] is None
    assert routing.strict is False and routing.default_tier is None
    assert routing.provenance["tiers.fast"] == "bundle"


def test_layers_come_weakest_first(setup: Setup) -> None:
    for layer in LAYERS:
        setup.write(layer, {"strict": True})
    assert [layer.name for layer in setup.layers()] == list(LAYERS)


# --- precedence ------------------------------------------------------------------------------


def test_later_layer_wins_for_every_replaced_key(setup: Setup) -> None:
    setup.write("org", {"provider_order": ["google"], "strict": True, "default_tier": "strong"})
    user = setup.write("user", {"provider_order": ["openai"], "strict": False})
    project = setup.write("project", {"default_tier": "fast"})
    routing = setup.routing()
    assert chain(routing, "fast")[0] == "openai/gpt-5*-mini"
    assert routing.provenance["provider_order"] == label("user", user)
    assert routing.strict is False and routing.provenance["strict"] == label("user", user)
    assert routing.default_tier == "fast" and routing.provenance["default_tier"] == label("project", project)


def test_mount_plan_is_the_strongest_layer(setup: Setup) -> None:
    setup.write("local", {"agents": {"git-ops": "fast"}, "strict": False})
    setup.write("mount", {"agents": {"git-ops": "strong"}, "strict": True})
    routing = setup.routing()
    assert routing.tier_for("git-ops", None) == ("strong", "mount (mount plan): agents.git-ops")
    assert routing.strict is True


def test_local_settings_beat_project_settings(setup: Setup) -> None:
    setup.write("project", {"agents": {"git-ops": "fast"}})
    local = setup.write("local", {"agents": {"git-ops": "strong"}})
    assert setup.routing().tier_for("git-ops", None) == ("strong", f"{label('local', local)}: agents.git-ops")


def test_tiers_and_agents_merge_per_name(setup: Setup) -> None:
    org = setup.write(
        "org",
        {"tiers": {"budget": tier("ollama/llama3*")}, "agents": {"git-ops": "budget"}},
    )
    user = setup.write(
        "user",
        {"tiers": {"fast": tier("openai/gpt-5-nano")}, "agents": {"explorer": "fast"}},
    )
    routing = setup.routing()
    assert chain(routing, "budget") == ["ollama/llama3*"]
    assert chain(routing, "fast") == ["openai/gpt-5-nano"]
    assert chain(routing, "strong")[0] == "anthropic/claude-opus-*"
    assert routing.tier_for("git-ops", "fast")[0] == "budget"
    assert routing.tier_for("explorer", None)[0] == "fast"
    assert routing.provenance["tiers.budget"] == label("org", org)
    assert routing.provenance["tiers.fast"] == label("user", user)
    assert routing.provenance["agents.git-ops"] == label("org", org)


def test_disabled_providers_are_replaced_not_added_up(setup: Setup) -> None:
    setup.write("org", {"disabled_providers": ["openai"]})
    setup.write("user", {"disabled_providers": ["google"]})
    routing = setup.routing()
    assert chain(routing, "fast") == ["anthropic/claude-haiku-*", "openai/gpt-5*-mini"]
    assert routing.disabled_providers == ("google",)


def test_disabled_providers_apply_to_tiers_from_later_layers(setup: Setup) -> None:
    setup.write("org", {"disabled_providers": ["openai"]})
    setup.write(
        "project",
        {"tiers": {"fast": tier("provider-openai/gpt-5-nano", "anthropic/claude-haiku-*")}},
    )
    routing = setup.routing()
    assert chain(routing, "fast") == ["anthropic/claude-haiku-*"]
    assert "provider-openai disabled by org" in routing.provenance["tiers.fast"]


def test_default_tier_inherit_resets_a_lower_layers_default(setup: Setup) -> None:
    setup.write("org", {"default_tier": "fast"})
    user = setup.write("user", {"default_tier": "inherit"})
    routing = setup.routing()
    assert routing.default_tier is None
    assert routing.tier_for("someone", None) == (None, f"{label('user', user)}: default_tier")


def test_agent_can_be_sent_back_to_inheriting(setup: Setup) -> None:
    setup.write("user", {"agents": {"git-ops": "inherit"}})
    assert setup.routing().tier_for("git-ops", "fast")[0] is None


def test_provider_order_keeps_each_providers_candidates_in_order(setup: Setup) -> None:
    setup.write(
        "user",
        {
            "tiers": {
                "mixed": tier(
                    "anthropic/claude-opus-*",
                    "openai/gpt-5*",
                    "anthropic/claude-sonnet-*",
                    "ollama/qwen3*",
                    "openai/o4*",
                )
            }
        },
    )
    setup.write("project", {"provider_order": ["OpenAI"]})
    assert chain(setup.routing(), "mixed") == [
        "openai/gpt-5*",
        "openai/o4*",
        "anthropic/claude-opus-*",
        "anthropic/claude-sonnet-*",
        "ollama/qwen3*",
    ]


def test_provider_order_reorders_only_chains_from_layers_below(setup: Setup) -> None:
    setup.write("org", {"provider_order": ["google"]})
    setup.write(
        "user",
        {"tiers": {"fast": tier("openai/gpt-5-nano", "google/gemini-*-flash")}},
    )
    routing = setup.routing()
    assert chain(routing, "fast") == ["openai/gpt-5-nano", "google/gemini-*-flash"]
    assert chain(routing, "strong")[0] == "google/gemini-*-pro"
    assert "reordered by org" in routing.provenance["tiers.strong"]


def test_provider_order_leaves_a_tier_written_in_its_own_layer_alone(setup: Setup) -> None:
    setup.write(
        "user",
        {
            "provider_order": ["openai"],
            "tiers": {"fast": tier("anthropic/claude-haiku-*", "openai/gpt-5-nano")},
        },
    )
    routing = setup.routing()
    assert chain(routing, "fast") == ["anthropic/claude-haiku-*", "openai/gpt-5-nano"]
    assert chain(routing, "strong")[0] == "openai/gpt-5*"


def test_two_provider_orders_compose_later_first(setup: Setup) -> None:
    setup.write("org", {"provider_order": ["google", "openai"]})
    setup.write("user", {"provider_order": ["anthropic"]})
    routing = setup.routing()
    assert chain(routing, "fast") == [
        "anthropic/claude-haiku-*",
        "google/gemini-*-flash",
        "openai/gpt-5*-mini",
    ]
    assert routing.provider_order == ("anthropic",)


# --- base --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            tier("base", "ollama/q*"),
            ["anthropic/claude-haiku-*", "openai/gpt-5*-mini", "google/gemini-*-flash", "ollama/q*"],
        ),
        (
            tier("ollama/q*", "base", "azure/gpt-4o"),
            [
                "ollama/q*",
                "anthropic/claude-haiku-*",
                "openai/gpt-5*-mini",
                "google/gemini-*-flash",
                "azure/gpt-4o",
            ],
        ),
    ],
)
def test_base_is_spliced_in_where_it_is_written(setup: Setup, items: list, expected: list[str]) -> None:
    user = setup.write("user", {"tiers": {"fast": items}})
    routing = setup.routing()
    assert chain(routing, "fast") == expected
    assert routing.provenance["tiers.fast"] == f"bundle; extended by {label('user', user)}"


def test_base_means_the_chain_from_the_layers_below_not_the_bundle(setup: Setup) -> None:
    org = setup.write("org", {"tiers": {"fast": tier("azure/gpt-4o-mini")}})
    project = setup.write("project", {"tiers": {"fast": tier("base", "ollama/llama3*")}})
    routing = setup.routing()
    assert chain(routing, "fast") == ["azure/gpt-4o-mini", "ollama/llama3*"]
    assert routing.provenance["tiers.fast"] == f"{label('org', org)}; extended by {label('project', project)}"


def test_base_does_not_repeat_a_candidate_already_listed(setup: Setup) -> None:
    setup.write("user", {"tiers": {"fast": tier("openai/GPT-5*-mini", "base")}})
    assert chain(setup.routing(), "fast") == [
        "openai/GPT-5*-mini",
        "anthropic/claude-haiku-*",
        "google/gemini-*-flash",
    ]


def test_base_in_a_tier_nobody_below_defines_is_an_error(setup: Setup) -> None:
    source = setup.write("user", {"tiers": {"budget": tier("base", "ollama/q*")}})
    with pytest.raises(SettingsError) as err:
        setup.routing()
    assert err.value.file == source and err.value.field == "model_router.tiers.budget"
    assert err.value.line is not None


def test_base_twice_is_an_error(setup: Setup) -> None:
    setup.write("user", {"tiers": {"fast": tier("base", "ollama/q*", "base")}})
    with pytest.raises(SettingsError, match="only once") as err:
        setup.layers()
    assert err.value.field == "model_router.tiers.fast[2]"


# --- patterns for agents of other bundles -----------------------------------------------------


def test_most_specific_pattern_wins_whatever_the_layer(setup: Setup) -> None:
    org = setup.write("org", {"agent_patterns": {"recipes:*": "strong"}})
    user = setup.write("user", {"agent_patterns": {"*": "fast"}})
    routing = setup.routing()
    assert routing.tier_for("recipes:recipe-author", None) == (
        "strong",
        f"{label('org', org)}: agent_patterns.recipes:*",
    )
    assert routing.tier_for("python-dev:coder", None) == ("fast", f"{label('user', user)}: agent_patterns.*")
    assert [p for p, _ in routing.patterns] == ["recipes:*", "*"]


def test_equally_specific_patterns_go_to_the_later_layer(setup: Setup) -> None:
    setup.write("org", {"agent_patterns": {"recipes:*": "strong"}})
    user = setup.write("user", {"agent_patterns": {"recipes:?*": "fast"}})  # 8 literals each
    routing = setup.routing()
    assert routing.tier_for("recipes:author", None) == (
        "fast",
        f"{label('user', user)}: agent_patterns.recipes:?*",
    )


def test_equally_specific_patterns_in_one_layer_go_in_written_order(setup: Setup) -> None:
    setup.write("user", {"agent_patterns": {"a*": "strong", "*b": "fast"}})
    assert setup.routing().tier_for("ab", None)[0] == "strong"
    setup.write("user", {"agent_patterns": {"*b": "fast", "a*": "strong"}})
    assert setup.routing().tier_for("ab", None)[0] == "fast"


def test_same_pattern_in_a_later_layer_replaces_it(setup: Setup) -> None:
    setup.write("org", {"agent_patterns": {"recipes:*": "strong"}})
    user = setup.write("user", {"agent_patterns": {"recipes:*": "inherit"}, "default_tier": "fast"})
    routing = setup.routing()
    assert routing.tier_for("recipes:author", None) == (
        None,
        f"{label('user', user)}: agent_patterns.recipes:*",
    )
    assert routing.tier_for("other:agent", None)[0] == "fast"
    assert len(routing.patterns) == 1


def test_patterns_never_override_a_declared_tier_or_an_explicit_agent(setup: Setup) -> None:
    org = setup.write("org", {"agents": {"recipes:special": "fast"}})
    setup.write("user", {"agent_patterns": {"*": "strong", "recipes:*": "strong"}})
    routing = setup.routing()
    assert routing.tier_for("git-ops", "fast")[0] == "fast"
    assert routing.tier_for("recipes:special", None) == (
        "fast",
        f"{label('org', org)}: agents.recipes:special",
    )


def test_patterns_match_case_insensitively(setup: Setup) -> None:
    setup.write("user", {"agent_patterns": {"Recipes:*": "strong"}})
    assert setup.routing().tier_for("recipes:Author", None)[0] == "strong"


def test_self_is_routed_only_when_named(setup: Setup) -> None:
    setup.write("user", {"agent_patterns": {"*": "fast"}, "default_tier": "fast"})
    assert setup.routing().tier_for("self", None)[0] is None
    setup.write("project", {"agents": {"self": "strong"}})
    assert setup.routing().tier_for("self", None)[0] == "strong"


# --- namespaced agent names ---------------------------------------------------------------------


def test_namespaced_and_plain_names_of_our_agents_are_the_same_agent(setup: Setup) -> None:
    setup.write("user", {"agents": {"model-router:git-ops": "strong"}})
    routing = setup.routing()
    assert routing.tier_for("git-ops", "fast")[0] == "strong"
    assert routing.tier_for("model-router:git-ops", "fast")[0] == "strong"
    assert "agents.git-ops" in routing.provenance


def test_plain_setting_covers_the_agent_under_any_namespace(setup: Setup) -> None:
    setup.write("user", {"agents": {"explorer": "fast", "recipes:author": "strong"}})
    routing = setup.routing()
    assert routing.tier_for("foundation:explorer", None)[0] == "fast"
    assert routing.tier_for("recipes:author", None)[0] == "strong"
    assert routing.tier_for("author", None)[0] is None  # another bundle's namespace is part of the name


def test_later_layer_wins_across_spellings_of_one_agent(setup: Setup) -> None:
    setup.write("org", {"agents": {"model-router:git-ops": "fast"}})
    setup.write("user", {"agents": {"git-ops": "strong"}})
    assert setup.routing().tier_for("model-router:git-ops", None)[0] == "strong"


def test_one_agent_twice_in_a_layer_is_an_error(setup: Setup) -> None:
    setup.write("user", {"agents": {"git-ops": "fast", "model-router:git-ops": "strong"}})
    with pytest.raises(SettingsError, match="named twice"):
        setup.layers()


# --- bad files ----------------------------------------------------------------------------------


def test_bad_yaml_names_file_and_line(setup: Setup) -> None:
    source = setup.write(
        "project", text="model_router:\n  agents:\n    git-ops: strong\n  tiers: [unclosed\n"
    )
    with pytest.raises(SettingsError, match="malformed YAML") as err:
        setup.layers()
    assert err.value.file == source and err.value.line is not None and err.value.line >= 4
    assert str(err.value).startswith(f"{source}:{err.value.line}: ")


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"provider_order": "openai"}, "provider_order", "list of provider names"),
        ({"provider_order": ["openai", 3]}, "provider_order[1]", "non-empty string"),
        ({"provider_order": ["gemini", "google"]}, "provider_order[1]", "listed twice"),
        ({"disabled_providers": {"openai": True}}, "disabled_providers", "list of provider names"),
        ({"tiers": ["fast"]}, "tiers", "must be a mapping"),
        ({"tiers": {"fast": []}}, "tiers.fast", "non-empty list"),
        ({"tiers": {"fast": ["bsae"]}}, "tiers.fast[0]", "or 'base'"),
        ({"tiers": {"fast": [{"provider": "openai"}]}}, "tiers.fast[0]", "missing 'model'"),
        ({"tiers": {"fast": tier("openai/gpt-[5")}}, "tiers.fast[0]", "unclosed"),
        ({"tiers": {"base": tier("openai/x")}}, "tiers.base", "reserved"),
        ({"tiers": {"my tier": tier("openai/x")}}, "tiers.my tier", "letters, digits"),
        ({"agents": ["git-ops"]}, "agents", "must be a mapping"),
        ({"agents": {"git-ops": 3}}, "agents.git-ops", "non-empty string"),
        ({"agents": {"recipes:*": "strong"}}, "agents.recipes:*", "agent_patterns"),
        ({"agent_patterns": {"recipes:[": "strong"}}, "agent_patterns.recipes:[", "unclosed"),
        ({"default_tier": ["fast"]}, "default_tier", "non-empty string"),
        ({"default_tier": "base"}, "default_tier", "reserved"),
        ({"strict": "yes please"}, "strict", "true or false"),
        ({"provider_ordr": ["openai"]}, "provider_ordr", "did you mean 'provider_order'"),
    ],
)
def test_wrong_types_and_unknown_keys_name_file_and_key(
    setup: Setup, values: dict, field: str, reason: str
) -> None:
    source = setup.write("user", values)
    with pytest.raises(SettingsError, match=reason) as err:
        setup.layers()
    assert err.value.file == source
    assert err.value.field == f"model_router.{field}"
    assert err.value.line is not None


def test_credentials_in_a_preference_config_are_refused(setup: Setup) -> None:
    source = setup.write(
        "project",
        {"tiers": {"fast": [{"provider": "openai", "model": "gpt-5-nano", "config": {"api_key": "sk-x"}}]}},
    )
    with pytest.raises(SettingsError, match="credentials") as err:
        setup.layers()
    assert (err.value.file, err.value.field) == (source, "model_router.tiers.fast[0].config.api_key")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"agents": {"git-ops": "strnog"}}, "agents.git-ops"),
        ({"agent_patterns": {"recipes:*": "gigantic"}}, "agent_patterns.recipes:*"),
        ({"default_tier": "cheap"}, "default_tier"),
    ],
)
def test_unknown_tier_names_the_layer_file_and_key(setup: Setup, values: dict, field: str) -> None:
    source = setup.write("user", values)
    setup.layers()  # each file is fine alone: the tier is checked against all layers together
    with pytest.raises(SettingsError, match="unknown tier") as err:
        setup.routing()
    assert (err.value.file, err.value.field) == (source, f"model_router.{field}")
    assert err.value.line is not None and "known: fast, strong" in str(err.value)


def test_a_tier_defined_by_a_later_layer_may_be_named_earlier(setup: Setup) -> None:
    setup.write("org", {"agents": {"git-ops": "budget"}})
    setup.write("project", {"tiers": {"budget": tier("ollama/llama3*")}})
    assert setup.routing().tier_for("git-ops", "fast")[0] == "budget"


def test_an_overridden_bad_value_is_still_an_error(setup: Setup) -> None:
    org = setup.write("org", {"agents": {"git-ops": "strnog"}})
    setup.write("user", {"agents": {"git-ops": "strong"}})
    with pytest.raises(SettingsError, match="unknown tier") as err:
        setup.routing()
    assert err.value.file == org and err.value.field == "agents.git-ops"


def test_disabling_every_provider_of_a_tier_is_an_error(setup: Setup) -> None:
    setup.write("user", {"tiers": {"budget": tier("ollama/llama3*")}})
    source = setup.write("project", {"disabled_providers": ["ollama"]})
    with pytest.raises(SettingsError, match="every provider of tier 'budget'") as err:
        setup.routing()
    assert (err.value.file, err.value.field) == (source, "model_router.disabled_providers")


def test_missing_org_file_is_an_error(setup: Setup) -> None:
    setup.env[ORG_ENV] = str(setup.home / "nope.yaml")
    with pytest.raises(SettingsError, match=ORG_ENV):
        setup.layers()


def test_misspelt_section_is_an_error_not_silence(setup: Setup) -> None:
    source = setup.write("user", text="model-router:\n  strict: true\n")
    with pytest.raises(SettingsError, match="model_router") as err:
        setup.layers()
    assert err.value.file == source and err.value.line == 1


def test_duplicate_keys_are_refused_with_their_line(setup: Setup) -> None:
    setup.write("user", text="model_router:\n  strict: true\n  agents: {}\n  strict: false\n")
    with pytest.raises(SettingsError, match="duplicate key 'strict'") as err:
        setup.layers()
    assert err.value.line == 4


def test_bad_mount_config_names_the_mount_plan(setup: Setup) -> None:
    setup.write("mount", {"agents": {"git-ops": 7}})
    with pytest.raises(SettingsError) as err:
        setup.layers()
    assert (err.value.file, err.value.field) == ("mount plan", "config.agents.git-ops")


def test_alias_bomb_in_a_settings_file_is_refused(setup: Setup) -> None:
    nine = lambda name: "[" + ", ".join([f"*{name}"] * 9) + "]"  # noqa: E731
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} {nine(f'a{i - 1}')}" for i in range(1, 10)
    ]
    text = (
        "\n".join(lines)
        + "\nmodel_router:\n  tiers:\n    fast:\n      - {provider: openai, model: x, config: {bomb: *a9}}\n"
    )
    setup.write("user", text=text)
    with pytest.raises(SettingsError, match="refused YAML") as err:
        setup.layers()
    assert err.value.file == str(setup.path("user"))


def test_recursive_alias_in_a_settings_file_is_refused(setup: Setup) -> None:
    setup.write("project", text="model_router:\n  tiers:\n    fast: &me [*me]\n")
    with pytest.raises(SettingsError, match="refused YAML"):
        setup.layers()


def test_oversized_settings_file_is_refused(setup: Setup) -> None:
    setup.write("user", text="# " + "x" * 1_200_000 + "\nmodel_router:\n  strict: true\n")
    with pytest.raises(SettingsError, match="limit"):
        setup.layers()


def test_org_file_must_be_yaml(setup: Setup) -> None:
    path = setup.home / "org.txt"
    path.write_text("strict: true\n")
    setup.env[ORG_ENV] = str(path)
    with pytest.raises(SettingsError, match=r"\.yaml or \.yml"):
        setup.layers()


# --- nothing half-applied -----------------------------------------------------------------------


def test_a_bad_layer_leaves_nothing_applied(setup: Setup) -> None:
    setup.write("user", {"provider_order": ["openai"], "agents": {"git-ops": "strong"}})
    good = setup.routing()
    snapshot = (dict(good.tiers), dict(good.agent_tiers), dict(good.provenance))
    bundle_before = {t: tuple(c) for t, c in BUNDLE_TIERS.items()}
    setup.write(
        "project",
        {
            "provider_order": ["google"],
            "tiers": {"fast": tier("ollama/q*")},
            "agents": {"explorer": "no-such-tier"},
        },
    )
    with pytest.raises(SettingsError, match="unknown tier"):
        setup.routing()
    assert (dict(good.tiers), dict(good.agent_tiers), dict(good.provenance)) == snapshot
    assert {t: tuple(c) for t, c in BUNDLE_TIERS.items()} == bundle_before


def test_discovery_returns_no_partial_list_when_a_later_file_is_bad(setup: Setup) -> None:
    setup.write("user", {"strict": True})
    setup.write("local", {"strict": "maybe"})
    with pytest.raises(SettingsError):
        setup.layers()


def test_effective_routing_is_read_only(setup: Setup) -> None:
    routing = setup.routing()
    with pytest.raises(TypeError):
        routing.tiers["fast"] = ()  # type: ignore[index]
    with pytest.raises(AttributeError):
        routing.strict = True  # type: ignore[misc]


# --- where files are found ----------------------------------------------------------------------


def test_amplifier_home_moves_the_user_settings(setup: Setup, tmp_path: Path) -> None:
    setup.write("user", {"strict": True})  # ~/.amplifier/settings.yaml: ignored now
    amp_home = tmp_path / "elsewhere"
    amp_home.mkdir()
    (amp_home / "settings.yaml").write_text("model_router:\n  default_tier: fast\n")
    setup.env[HOME_ENV] = str(amp_home)
    layers = setup.layers()
    assert [(layer.name, layer.source) for layer in layers] == [("user", str(amp_home / "settings.yaml"))]
    assert setup.routing().default_tier == "fast"


def test_amplifier_home_expands_tilde_against_the_given_home(setup: Setup) -> None:
    target = setup.home / "amp"
    target.mkdir()
    (target / "settings.yaml").write_text("model_router:\n  strict: true\n")
    setup.env[HOME_ENV] = "~/amp"
    assert [layer.source for layer in setup.layers()] == [str(target / "settings.yaml")]


def test_empty_amplifier_home_means_the_default(setup: Setup) -> None:
    source = setup.write("user", {"strict": True})
    setup.env[HOME_ENV] = ""
    assert [layer.source for layer in setup.layers()] == [source]


def test_working_in_the_home_folder_reads_the_file_once(setup: Setup) -> None:
    source = setup.write("user", {"strict": True})
    layers = discover_layers(cwd=setup.home, env={}, home=setup.home)
    assert [(layer.name, layer.source) for layer in layers] == [("user", source)]


def test_settings_without_our_section_add_no_layer(setup: Setup) -> None:
    setup.write("user", text="bundle:\n  active: foundation\nconfig:\n  providers: []\n")
    setup.write("project", text="")
    assert setup.layers() == []


def test_org_file_may_reuse_the_model_router_snippet(setup: Setup) -> None:
    source = setup.write("org", text="model_router:\n  agents:\n    git-ops: strnog\n")
    assert refusal_at(setup.routing) == (source, "model_router.agents.git-ops", 3)


def test_relative_org_path_is_relative_to_the_working_folder(setup: Setup) -> None:
    (setup.cwd / "org.yaml").write_text("strict: true\n")
    setup.env[ORG_ENV] = "org.yaml"
    assert setup.routing().provenance["strict"] == f"org ({setup.cwd / 'org.yaml'})"


def test_tiers_in_the_mount_config_are_the_bundles_not_an_override(setup: Setup) -> None:
    setup.write("user", {"tiers": {"fast": tier("ollama/llama3*")}})
    setup.write("mount", {"tiers": {"fast": tier("anthropic/claude-haiku-*")}, "strict": True})
    routing = setup.routing()
    assert chain(routing, "fast") == ["ollama/llama3*"]
    assert routing.strict is True


# --- reading the result -------------------------------------------------------------------------


def test_effective_values_list_every_setting_with_its_source(setup: Setup) -> None:
    user = setup.write("user", {"agents": {"git-ops": "strong"}, "agent_patterns": {"recipes:*": "fast"}})
    rows = {key: (value, source) for key, value, source in setup.routing().effective_values()}
    assert rows["strict"] == (False, "default")
    assert rows["default_tier"] == ("inherit", "default")
    assert rows["provider_order"] == ([], "default")
    assert rows["tiers.fast"] == (
        ["anthropic/claude-haiku-*", "openai/gpt-5*-mini", "google/gemini-*-flash"],
        "bundle",
    )
    assert rows["agents.git-ops"] == ("strong", label("user", user))
    assert rows["agent_patterns.recipes:*"] == ("fast", label("user", user))


def test_chain_for_an_unknown_tier_is_an_error(setup: Setup) -> None:
    with pytest.raises(SettingsError, match="unknown tier 'huge'; known: fast, strong"):
        setup.routing().chain_for("huge")


def test_bundle_tiers_are_validated_too() -> None:
    with pytest.raises(SettingsError) as err:
        effective_routing({"fast": [{"provider": "openai"}]}, [])
    assert err.value.field == "tiers.fast[0]"
    with pytest.raises(SettingsError, match="reserved"):
        effective_routing({"inherit": BUNDLE_TIERS["fast"]}, [])


def test_hand_built_layers_are_validated_like_files() -> None:
    layer = SettingsLayer("mount", "mount plan", {"agents": {"git-ops": "strong"}, "colour": "blue"})
    with pytest.raises(SettingsError, match="unknown key 'colour'"):
        effective_routing(BUNDLE_TIERS, [layer])
