"""The ``budget:`` routing setting: layering, defaults, and errors with file, line and key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from amplifier_module_model_router.errors import SettingsError
from test_settings import Setup, refusal_at


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


TIERS = {
    name: [{"provider": "anthropic", "model": f"claude-{name}-*"}]
    for name in ("budget", "strong", "strong-code", "frontier")
}


def routing(setup: Setup):
    from amplifier_module_model_router.resolve.preferences import parse_preferences
    from amplifier_module_model_router.settings import effective_routing

    return effective_routing({k: parse_preferences(v) for k, v in TIERS.items()}, setup.layers())


def test_no_budget_key_means_no_budget(setup: Setup) -> None:
    setup.write("user", {"strict": True})
    assert routing(setup).budget is None


def test_defaults_and_layers_merge_per_key(setup: Setup) -> None:
    setup.write("org", {"budget": {"org_daily_usd": 200, "at_cap": "refuse"}})
    setup.write("project", {"budget": {"session_usd": 2.5, "warn_at": 0.9}})
    result = routing(setup)
    budget = result.budget
    assert budget.session_usd == Decimal("2.5") and budget.org_daily_usd == Decimal("200")
    assert budget.daily_usd is None
    assert (budget.at_cap, budget.warn_at, budget.degrade_at) == ("refuse", 0.9, (0.5, 0.8))
    assert dict(budget.degrade) == {"frontier": ("strong", "budget"), "strong-code": ("strong", "budget")}
    rows = {key: (value, source) for key, value, source in result.effective_values()}
    assert rows["budget.session_usd"][0] == "2.50" and rows["budget.session_usd"][1].startswith("project (")
    assert rows["budget.at_cap"][1].startswith("org (")


def test_degrade_steps_and_levels(setup: Setup) -> None:
    setup.write("user", {"budget": {"daily_usd": 10, "degrade": {"at": [0.3, 0.6], "tiers": {"strong": "budget"}}}})
    budget = routing(setup).budget
    assert [budget.level_of(f) for f in (0.0, 0.3, 0.59, 0.6, 0.99, 1.0)] == [0, 1, 1, 2, 2, 3]
    assert [budget.tier_at("strong", level) for level in range(4)] == ["strong", "budget", "budget", "budget"]
    assert budget.tier_at("frontier", 2) == "frontier"  # not listed: only the cap moves it


@pytest.mark.parametrize(
    ("text", "field", "line", "reason"),
    [
        ("  budget:\n    session_usd: -2\n", "budget.session_usd", 3, "non-negative number of US dollars"),
        ("  budget:\n    daily_usd: two dollars\n", "budget.daily_usd", 3, "non-negative number"),
        ("  budget:\n    daily_usd: '5'\n", "budget.daily_usd", 3, "non-negative number"),
        ("  budget:\n    org_daily_usd: .nan\n", "budget.org_daily_usd", 3, "finite"),
        ("  budget:\n    session_usd: .inf\n", "budget.session_usd", 3, "finite"),
        ("  budget:\n    session_usd: true\n", "budget.session_usd", 3, "non-negative number"),
        ("  budget:\n    warn_at: 1.5\n", "budget.warn_at", 3, "fraction of the cap"),
        ("  budget:\n    warn_at: .nan\n", "budget.warn_at", 3, "fraction of the cap"),
        ("  budget:\n    degrade:\n      at: [0.8, 0.5]\n", "budget.degrade.at[1]", 4, "increase strictly"),
        ("  budget:\n    degrade:\n      at: [1.0]\n", "budget.degrade.at[0]", 4, "1 is the cap"),
        ("  budget:\n    degrade:\n      when: [0.5]\n", "budget.degrade.when", 4, "unknown key"),
        ("  budget:\n    at_cap: stop\n", "budget.at_cap", 3, "budget-only, refuse"),
        ("  budget:\n    unknown_cost: maybe\n", "budget.unknown_cost", 3, "allow, block"),
        ("  budget:\n    sesion_usd: 2\n", "budget.sesion_usd", 3, "did you mean 'session_usd'"),
        ("  budget: 2\n", "budget", 2, "must be a mapping"),
    ],
)
def test_bad_values_name_file_line_and_key(setup: Setup, text: str, field: str, line: int, reason: str) -> None:
    source = setup.write("user", text="model_router:\n" + text)
    assert refusal_at(setup.layers, reason) == (source, f"model_router.{field}", line)


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("  budget:\n    degrade:\n      tiers:\n        frontier: [strong, cheap]\n",
         "budget.degrade.tiers.frontier[1]", 5),
        ("  budget:\n    degrade:\n      tiers:\n        gigantic: [strong]\n", "budget.degrade.tiers.gigantic", 5),
        ("  budget:\n    session_usd: 1\n    cap_tier: cheap\n", "budget.cap_tier", 4),
    ],
)
def test_unknown_tier_in_degrade_names_file_line_and_key(setup: Setup, text: str, field: str, line: int) -> None:
    source = setup.write("user", text="model_router:\n" + text)
    setup.layers()  # the tier may come from another layer: checked once all are applied
    assert refusal_at(lambda: routing(setup), "unknown tier") == (source, f"model_router.{field}", line)


def test_bad_budget_in_the_mount_config_fails_the_mount_naming_it() -> None:
    from amplifier_module_model_router.session.mount import build_router
    from amplifier_module_model_router.settings.options import RouterConfig

    config = RouterConfig.from_mount({"tiers": TIERS, "budget": {"session_usd": -1}})
    with pytest.raises(SettingsError, match="config.budget.session_usd"):
        build_router(config)


def test_caps_only_tighten_across_layers(setup: Setup) -> None:
    setup.write("org", {"budget": {"org_daily_usd": 200, "session_usd": 2}})
    setup.write("user", {"budget": {"org_daily_usd": 500, "session_usd": 1.5}})
    setup.write("project", {"budget": {"session_usd": 5, "daily_usd": 20, "at_cap": "refuse"}})
    result = routing(setup)
    budget = result.budget
    assert (budget.org_daily_usd, budget.session_usd, budget.daily_usd) == (Decimal(200), Decimal("1.5"), Decimal(20))
    assert budget.at_cap == "refuse"
    sources = {key: source for key, _, source in result.effective_values()}
    assert sources["budget.org_daily_usd"].startswith("org (") and sources["budget.session_usd"].startswith("user (")


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("  budget:\n    at_cap: budget-only\n", "budget.at_cap", 3),
        ("  budget:\n    unknown_cost: allow\n", "budget.unknown_cost", 3),
        ("  budget:\n    cap_tier: frontier\n", "budget.cap_tier", 3),
        ("  budget:\n    degrade:\n      tiers: {budget: [frontier]}\n", "budget.degrade", 3),
    ],
)
def test_a_projects_settings_cannot_loosen_the_budget(setup: Setup, text: str, field: str, line: int) -> None:
    source = setup.write("project", text="model_router:\n" + text)
    assert refusal_at(setup.layers, "may tighten the budget") == (source, f"model_router.{field}", line)
