"""``price_ceiling``: a tier's candidates above their list-price ceiling are skipped, visibly.

Sessions are real (offline harness, embedded catalog: its models carry the list prices of
data/prices.yaml, unless another table is in force; Copilot's carry none). Expected models come from those prices, not from a
list written here: a ceiling of $20 per Mtok (input + output) keeps Sonnet ($18) and Gemini
Pro ($14), and drops Opus ($30) and gpt-5.5 ($35).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from _catalog_fakes import FakeProvider
from session_kit import BUNDLE, delegate_lines, routed_plan, run
from test_real_catalogs import TIERS, WORLDS
from test_settings import Setup, refusal_at

from amplifier_module_model_router.bundle.files import display_path
from amplifier_module_model_router.offline import RECORDER
from amplifier_module_model_router.resolve.catalog import CatalogCache
from amplifier_module_model_router.resolve.preferences import parse_preferences
from amplifier_module_model_router.resolve.prices import PRICES_ENV, load_prices, tier_ceiling
from amplifier_module_model_router.resolve.providers import entries_from
from amplifier_module_model_router.resolve.resolver import CHOSEN, SKIPPED, resolve
from amplifier_module_model_router.resolve.snapshot import load_catalog

CATALOG = load_catalog()


def class_price(provider: str, model: str) -> float:
    pricing = CATALOG.model(provider, model).pricing
    return pricing.input_per_million + pricing.output_per_million


def user_settings(home: Path, values: dict) -> None:
    (home / ".amplifier").mkdir(exist_ok=True)
    (home / ".amplifier" / "settings.yaml").write_text(yaml.safe_dump({"model_router": values}))


@pytest.fixture
def home(isolated_settings: Path) -> Path:
    return Path(os.environ["HOME"])


def test_the_catalog_prices_the_tests_rely_on() -> None:
    assert class_price("anthropic", "claude-opus-4-8") > 20 >= class_price("anthropic", "claude-sonnet-5")
    assert class_price("openai", "gpt-5.5") > 20 >= class_price("gemini", "gemini-3.1-pro-preview")
    assert CATALOG.model("github-copilot", "claude-opus-4.8").pricing is None  # billed by request


async def test_a_ceiling_skips_the_expensive_candidates_and_the_agent_gets_the_next_in_chain(home: Path) -> None:
    user_settings(home, {"price_ceiling": {"frontier": 20}})
    result = await run(routed_plan(), delegate_lines(["zen-architect", "git-ops"]))

    assert result.child_models("zen-architect") == [("gemini", "gemini-3.1-pro-preview")]
    event = result.resolved("zen-architect")
    reasons = {s["provider"]: s["reason"] for s in event["skipped"]}
    assert "claude-opus-4-8 lists at $30.00 per Mtok in + out (catalog)" in reasons["anthropic"]
    assert "above the frontier ceiling of $20.00" in reasons["anthropic"]
    assert "gpt-5.5 lists at $35.00" in reasons["openai"]
    # Copilot bills requests: it stays in the chain as a fallback, not judged.
    assert ("github-copilot", "claude-opus-4.8") in [(f["provider"], f["model"]) for f in event["fallbacks"]]
    # Another tier is untouched.
    assert result.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]
    assert not any("ceiling" in s["reason"] for s in result.resolved("git-ops")["skipped"])


async def test_failover_inside_a_tier_with_a_ceiling_never_reaches_a_candidate_above_it(home: Path) -> None:
    user_settings(home, {"price_ceiling": {"strong": 20}})
    plan = routed_plan(flaky=["anthropic"], session_model="openai/gpt-5.5")
    result = await run(plan, delegate_lines(["explorer"]))

    event = result.resolved("explorer")
    assert (event["provider"], event["model"]) == ("anthropic", "claude-sonnet-5")
    assert [s["provider"] for s in event["skipped"]] == ["openai"]
    sub = event["sub_session_id"]
    calls = [(c.provider, c.model, c.error is None) for c in RECORDER.completions(session_id=sub)]
    assert calls[0] == ("anthropic", "claude-sonnet-5", False)  # 429: the failover moves on
    assert calls[-1] == ("gemini", "gemini-3.1-pro-preview", True)  # past openai/gpt-5.5 ($35)
    assert not any(provider == "openai" for provider, _, _ in calls)


async def test_a_ceiling_in_the_bundles_module_config_applies_like_a_settings_layer(isolated_settings: Path) -> None:
    result = await run(routed_plan(hook_options={"price_ceiling": {"frontier": 20}}), delegate_lines(["zen-architect"]))
    assert result.child_models("zen-architect") == [("gemini", "gemini-3.1-pro-preview")]


async def test_a_delegate_calls_own_preferences_are_not_held_to_the_agents_tier_ceiling(home: Path) -> None:
    user_settings(home, {"price_ceiling": {"frontier": 20}})
    prefs = [{"provider": "anthropic", "model": "claude-opus-*"}]
    result = await run(routed_plan(), delegate_lines(["zen-architect"], prefs=prefs))
    assert result.child_models("zen-architect") == [("anthropic", "claude-opus-4-8")]
    assert result.resolved("zen-architect")["source"] == "call"


# -- the resolver: table prices, unknown prices, request billing ---------------------------------


async def test_without_catalog_prices_the_table_prices_and_unknown_prices_pass_with_a_note() -> None:
    # The real providers list bare ids: the price comes from data/prices.yaml.
    entries = entries_from({
        "openai": FakeProvider(["gpt-5.5-pro", "gpt-5.5", "gpt-5-mini"]),
        "github-copilot": FakeProvider(["claude-opus-4.8"]),
    })
    chain = parse_preferences([
        {"provider": "openai", "model": "gpt-[0-9].[0-9]-pro"},
        {"provider": "openai", "model": "gpt-5-mini"},
        {"provider": "github-copilot", "model": "claude-opus-*"},
    ])
    table = load_prices()
    result = await resolve(chain, entries, CatalogCache(), ceiling=tier_ceiling("budget", 8))

    pro, mini, copilot = result.trace
    assert pro.outcome == SKIPPED
    assert pro.reason.startswith(f"gpt-5.5-pro lists at $210.00 per Mtok in + out (price table {table.date})")
    assert mini.outcome == CHOSEN and mini.model == "gpt-5-mini"
    assert mini.price_note == "no list price known for gpt-5-mini: not held to the budget ceiling of $8.00"
    assert copilot.model == "claude-opus-4.8"
    assert "bills per request, not per token" in copilot.price_note


async def test_a_ceiling_changes_the_memoised_answer_and_no_ceiling_leaves_it_as_before() -> None:
    entries = entries_from({"openai": FakeProvider(["gpt-5.5", "gpt-5.4"])})
    chain = parse_preferences([
        {"provider": "openai", "model": "gpt-5.5"},
        {"provider": "openai", "model": "gpt-5.4"},
    ])
    cache = CatalogCache()
    plain = await resolve(chain, entries, cache)
    capped = await resolve(chain, entries, cache, ceiling=tier_ceiling("strong", 20))
    again = await resolve(chain, entries, cache)
    assert plain.chosen.model == again.chosen.model == "gpt-5.5"
    assert all(step.price_note == "" for step in plain.trace)
    assert capped.chosen.model == "gpt-5.4"  # $17.50


async def test_an_unreadable_price_table_never_fails_a_spawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "prices.yaml"
    bad.write_text("prices: nope\n")
    monkeypatch.setenv(PRICES_ENV, str(bad))
    ceiling = tier_ceiling("strong", 20)
    assert ceiling is not None and ceiling.table is None
    entries = entries_from({"openai": FakeProvider(["gpt-5.5"])})
    result = await resolve(parse_preferences([{"provider": "openai", "model": "gpt-5.5"}]), entries,
                           CatalogCache(), ceiling=ceiling)
    assert result.chosen.model == "gpt-5.5"
    assert result.trace[0].price_note.startswith("no list price known")


# -- layers: only tighten; located errors --------------------------------------------------------


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_the_lowest_ceiling_any_layer_sets_wins_so_a_project_can_only_tighten(setup: Setup) -> None:
    org = setup.write("org", {"price_ceiling": {"frontier": 20}})
    setup.write("user", {"price_ceiling": {"frontier": 40, "strong": 25}})
    project = setup.write("project", {"price_ceiling": {"frontier": 100, "strong": 10}})
    routing = setup.routing(BUNDLE.tiers)
    assert dict(routing.price_ceiling) == {"frontier": 20, "strong": 10}
    assert routing.provenance["price_ceiling.frontier"] == f"org ({org})"
    assert routing.provenance["price_ceiling.strong"] == f"project ({project})"
    rows = {key: value for key, value, _ in routing.effective_values()}
    assert rows["price_ceiling.frontier"] == "$20.00 (list price per million tokens, input + output)"
    assert routing.ceiling_of("budget") is None and routing.ceiling_of(None) is None


def test_a_project_cannot_remove_a_ceiling(setup: Setup) -> None:
    setup.write("user", {"price_ceiling": {"frontier": 20}})
    source = setup.write("project", text="model_router:\n  price_ceiling:\n    frontier: null\n")
    location = refusal_at(lambda: setup.routing(BUNDLE.tiers), "cannot be removed, only lowered")
    assert location == (source, "model_router.price_ceiling.frontier", 3)


@pytest.mark.parametrize(
    ("text", "field", "line", "reason"),
    [
        ("  price_ceiling:\n    frontier: -1\n", "price_ceiling.frontier", 3, "positive number of US dollars"),
        ("  price_ceiling:\n    frontier: 0\n", "price_ceiling.frontier", 3, "positive number"),
        ("  price_ceiling:\n    frontier: cheap\n", "price_ceiling.frontier", 3, "positive number"),
        ("  price_ceiling:\n    frontier: '20'\n", "price_ceiling.frontier", 3, "positive number"),
        ("  price_ceiling:\n    frontier: .nan\n", "price_ceiling.frontier", 3, "positive number"),
        ("  price_ceiling:\n    frontier: true\n", "price_ceiling.frontier", 3, "positive number"),
        ("  price_ceiling:\n    frontir: 20\n", "price_ceiling.frontir", 3, "unknown tier 'frontir'; known: budget, frontier"),
        ("  price_ceiling:\n    inherit: 20\n", "price_ceiling.inherit", 3, "reserved word"),
        ("  price_ceiling: 20\n", "price_ceiling", 2, "must be a mapping"),
    ],
)
def test_bad_ceilings_name_file_line_and_key(setup: Setup, text: str, field: str, line: int, reason: str) -> None:
    source = setup.write("user", text="model_router:\n" + text)
    assert refusal_at(lambda: setup.routing(BUNDLE.tiers), reason) == (source, f"model_router.{field}", line)


# -- the CLI shows it ------------------------------------------------------------------------------


def test_explain_says_which_candidates_the_ceiling_skipped_and_where_the_others_stand(home: Path) -> None:
    from test_cli import in_process

    user_settings(home, {"price_ceiling": {"frontier": 20}})
    result = in_process("explain", "zen-architect", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["model"] == {"provider": "gemini", "model": "gemini-3.1-pro-preview"}
    reasons = [c["reason"] for c in data["candidates"]]
    assert "above the frontier ceiling of $20.00" in reasons[0]
    assert reasons[2].endswith("$14.00 per Mtok in + out (catalog), within the frontier ceiling of $20.00")
    assert "bills per request" in reasons[3]


def test_verify_with_a_ceiling_agrees_with_its_expectation(home: Path) -> None:
    from test_cli import in_process

    user_settings(home, {"price_ceiling": {"frontier": 20, "strong": 20}})
    result = in_process("verify", "--settings", "--flaky", "anthropic", "--session-model", "openai/gpt-5.5")
    assert result.code == 0, result.out + result.err
    rows = result.rows()
    assert rows["model-router:zen-architect"][2] == "gemini/gemini-3.1-pro-preview"
    assert rows["model-router:explorer"][2] == "gemini/gemini-3.1-pro-preview"


# -- the README's example ceilings against the recorded catalogs ------------------------------------


def readme_ceilings() -> dict[str, float]:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = text[text.index("model_router:\n  price_ceiling:\n"):]
    block = block[: block.index("```")]
    return yaml.safe_load(block)["model_router"]["price_ceiling"]


@pytest.mark.parametrize("world", WORLDS)
async def test_the_readmes_example_ceilings_change_no_tiers_pick_on_any_recorded_provider(world: str) -> None:
    ceilings = readme_ceilings()
    assert ceilings == {"budget": 7, "frontier": 35}
    entries = entries_from({name: FakeProvider(ids) for name, ids in WORLDS[world].items()})
    for tier, chain in TIERS.items():
        plain = await resolve(chain, entries, CatalogCache())
        capped = await resolve(chain, entries, CatalogCache(), ceiling=tier_ceiling(tier, ceilings.get(tier)))
        first = lambda r: {c.provider: c.model for c in reversed(r.chain())}  # noqa: E731
        assert first(capped) == first(plain), tier
    budget = await resolve(TIERS["budget"], entries, CatalogCache(), ceiling=tier_ceiling("budget", 7))
    assert any("gemini-3.6-flash lists at $9.00" in step.reason for step in budget.skipped)


# -- --prices FILE ---------------------------------------------------------------------------------


def price_file(path: Path, mini: float) -> str:
    """A one-row table: gpt-5-mini (unpriced in the embedded catalog) at ``mini`` in + 0 out."""
    path.write_text(yaml.safe_dump({"date": "2026-12-01", "prices": {"gpt-5-mini": {"input": mini, "output": 0}}}))
    return str(path)


def test_prices_flag_wins_over_the_environment_for_the_command_only(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_cli import in_process

    user_settings(home, {"price_ceiling": {"budget": 7}})
    dear = price_file(tmp_path / "dear.yaml", 100)
    cheap = price_file(tmp_path / "cheap.yaml", 1)
    monkeypatch.setenv(PRICES_ENV, dear)

    def mini_reason(*flags: str) -> str:
        result = in_process("explain", "git-ops", "--down", "anthropic", "--json", *flags)
        assert result.code == 0, result.err
        data = json.loads(result.out)
        return next(c["reason"] for c in data["candidates"] if c["pattern"] == "gpt-5-mini")

    assert "gpt-5-mini lists at $100.00 per Mtok in + out (price table 2026-12-01)" in mini_reason()
    assert mini_reason("--prices", cheap).endswith("$1.00 per Mtok in + out (price table 2026-12-01), within the budget ceiling of $7.00")
    assert os.environ[PRICES_ENV] == dear  # the flag held for the command only


def test_a_price_file_that_does_not_say_keeps_copilot_billed_by_request() -> None:
    from amplifier_module_model_router.resolve.prices import parse_prices

    rows = {"gpt-5-mini": {"input": 0.25, "output": 2}}
    silent = parse_prices({"date": "2026-12-01", "prices": rows}, file="mine.yaml")
    assert silent.price("github-copilot", "gpt-5-mini") is None  # Copilot bills requests
    assert silent.price("openai", "gpt-5-mini") is not None
    explicit = parse_prices({"prices": rows, "billed_by_request": []}, file="mine.yaml")
    assert explicit.price("github-copilot", "gpt-5-mini") is not None  # the file said so


def test_prices_flag_reprices_the_models_the_embedded_catalog_prices(home: Path, tmp_path: Path) -> None:
    """The embedded catalog's prices are a copy of the embedded table: under --prices, the file
    prices them (ceilings, the price column, the cost), as it would the real providers' catalogs,
    which carry no prices. Without the flag nothing changes."""
    from test_cli import in_process

    user_settings(home, {"price_ceiling": {"budget": 7}})
    dear = tmp_path / "dear.yaml"
    rows = {"claude-haiku-4-5": {"input": 10, "output": 50}, "claude-sonnet-4-5": {"input": 3, "output": 15}}
    dear.write_text(yaml.safe_dump({"date": "2026-12-01", "billed_by_request": ["github-copilot"], "prices": rows}))

    def haiku(*flags: str) -> dict:
        result = in_process("explain", "git-ops", "--json", *flags)
        assert result.code == 0, result.err
        return next(c for c in json.loads(result.out)["candidates"] if c["pattern"] == "claude-haiku-*")

    assert haiku()["outcome"] == "chosen" and "$6.00 per Mtok in + out (catalog)" in haiku()["reason"]
    skipped = haiku("--prices", str(dear))
    assert skipped["outcome"] == "skipped"
    assert skipped["reason"] == (
        "claude-haiku-4-5 lists at $60.00 per Mtok in + out (price table 2026-12-01), above the budget ceiling of $7.00"
    )
    shown = in_process("show", "--no-settings", "--prices", str(dear))
    assert shown.code == 0, shown.err
    assert f"prices 2026-12-01 ({display_path(dear)})" in shown.out  # the header names the table
    row = next(line for line in shown.out.splitlines() if line.startswith("model-router:git-ops "))
    assert "3.3x pricier" in row, row  # $60 against the session model's $18
    budget = in_process("verify", "--budget", "2.00", "--prices", str(dear), "--json")
    assert budget.code == 0, budget.out  # its own spend check prices calls as the ledger does
    rows = {r["agent"]: r for r in json.loads(budget.out)["rows"]}
    assert rows["model-router:git-ops"]["cost_usd"] == "1"  # 100,000 tokens in at $10 per Mtok
    assert rows["model-router:git-ops"]["unpriced_calls"] == 0
    # Opus is not in the file: its calls are unknown, never shown as a zero
    assert rows["model-router:zen-architect"]["unpriced_calls"] == 1
    shown_budget = in_process("verify", "--budget", "2.00", "--prices", str(dear))
    zen = next(line for line in shown_budget.out.splitlines() if "zen-architect" in line)
    assert "1 call unpriced" in zen and "$0.00" not in zen, zen
    listed = in_process("verify", "--json", "--prices", str(dear))
    assert json.loads(listed.out)["prices"] == {"date": "2026-12-01", "source": str(dear)}
    assert json.loads(in_process("verify", "--json").out)["prices"] == "embedded"
    assert load_catalog() is CATALOG  # the flag held for the command only


@pytest.mark.parametrize(
    ("text", "located"),
    [
        (None, "{file}: cannot read price table: No such file or directory"),
        ("prices: {gpt-5-mini: {input: 1, output: -2}}\n", "{file}: prices.gpt-5-mini.output: must be a non-negative number"),
        ("prices: [\n", "{file}:2: malformed YAML"),
        ("currency: EUR\nprices: {gpt-5-mini: {input: 1, output: 2}}\n", "{file}: currency: only USD prices are supported"),
    ],
)
@pytest.mark.parametrize("command", [["verify"], ["show"], ["explain", "git-ops"]])
def test_a_bad_prices_file_is_one_located_error_line_and_status_2(
    isolated_settings: Path, tmp_path: Path, command: list[str], text: str | None, located: str
) -> None:
    from test_cli import in_process

    path = tmp_path / "prices.yaml"
    if text is not None:
        path.write_text(text)
    result = in_process(*command, "--prices", str(path))
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("error: " + located.format(file=path)), result.err
    assert len(result.err.strip().splitlines()) == 1


def test_the_installed_command_takes_prices_too(isolated_settings: Path, tmp_path: Path) -> None:
    from test_cli import in_subprocess

    result = in_subprocess("show", "--prices", price_file(tmp_path / "p.yaml", 1), "--json")
    assert result.code == 0, result.err
    missing = in_subprocess("show", "--prices", str(tmp_path / "none.yaml"))
    assert missing.code == 2 and missing.err.startswith(f"error: {tmp_path / 'none.yaml'}: cannot read price table")
