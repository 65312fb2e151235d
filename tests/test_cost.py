"""Cost per agent: the ledger (pure) and the session side in real offline ``AmplifierSession``s.

The session tests run the model-router module (settings files off) with the ``event-tap`` test
hook riding into every child, and check the ``model_router:cost`` payload field by field
against what the offline providers recorded for each call (the call recorder), the catalog's
list prices, and the routes the children were given.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import amplifier_module_event_tap as tap
import pytest
from amplifier_core.message_models import Usage
from amplifier_core.models import ModelInfo, Pricing
from session_kit import session

from amplifier_module_model_router.cost.hooks import shared_ledger
from amplifier_module_model_router.cost.ledger import (
    CallUsage,
    CostLedger,
    parse_usage,
    summarize,
)
from amplifier_module_model_router.cost.summary import (
    ROOT_AGENT,
    CostSummary,
    Tokens,
    combine_summaries,
)
from amplifier_module_model_router.offline import RECORDER, offline_mount_plan
from amplifier_module_model_router.resolve.catalog import parse_models
from amplifier_module_model_router.resolve.prices import Price, price_of
from amplifier_module_model_router.resolve.snapshot import load_catalog

CATALOG = load_catalog()
MTOK = Decimal(1_000_000)


def list_price(provider: str, model: str) -> Price:
    price = price_of(CATALOG.model(provider, model))
    assert price is not None, f"{provider}/{model} has no list price in the catalog"
    return price


# -- usage and prices -------------------------------------------------------------------------


def test_usage_from_an_llm_response_dict_keeps_gross_input_and_the_reported_cost() -> None:
    usage = parse_usage(
        {
            "input_tokens": 600,
            "output_tokens": 50,
            "cache_read_tokens": 500,
            "cache_write_tokens": 40,
            "cost_usd": "0.0123",
        }
    )
    assert usage == CallUsage(Tokens(600, 50, 500, 40), Decimal("0.0123"))
    assert usage.tokens.fresh_input == 100


def test_usage_from_a_usage_object_and_a_fresh_only_provider_is_made_gross() -> None:
    usage = parse_usage(
        Usage(
            input_tokens=5,
            output_tokens=16,
            total_tokens=472,
            cache_read_tokens=451,
            cost_usd=Decimal("0.0002"),
        )
    )
    assert usage == CallUsage(Tokens(456, 16, 451, 0), Decimal("0.0002"))
    assert usage.tokens.fresh_input == 5


@pytest.mark.parametrize(
    "raw",
    [None, {}, {"status": "error"}, {"input_tokens": "12", "output_tokens": None}, "junk"],
)
def test_a_response_without_token_counts_is_not_a_call(raw: Any) -> None:
    assert parse_usage(raw) is None


@pytest.mark.parametrize("cost", ["NaN", "-1", "abc", True, [1], float("inf")])
def test_a_reported_cost_that_is_not_an_amount_is_not_trusted(cost: Any) -> None:
    usage = parse_usage({"input_tokens": 10, "output_tokens": 2, "cost_usd": cost})
    assert usage is not None and usage.cost_usd is None


def test_negative_or_boolean_token_counts_never_go_below_zero() -> None:
    usage = parse_usage({"input_tokens": -5, "output_tokens": True, "cache_read_tokens": 3})
    assert usage is not None and usage.tokens == Tokens(3, 0, 3, 0)


def test_list_price_charges_fresh_input_cache_reads_and_writes_apart() -> None:
    price = Price(Decimal(3), Decimal(15), Decimal("0.3"), Decimal("3.75"))
    tokens = Tokens(input=1_000_000, output=100_000, cache_read=400_000, cache_write=200_000)
    assert price.cost(tokens) == Decimal("1.8") + Decimal("0.12") + Decimal("0.75") + Decimal("1.5")
    uncached = Price(Decimal(3), Decimal(15))
    assert uncached.cost(tokens) == Decimal(3) * Decimal("1.2") + Decimal("1.5")


def test_prices_come_from_catalog_records_model_infos_and_catalog_files() -> None:
    info = ModelInfo(
        id="m",
        display_name="m",
        context_window=1000,
        max_output_tokens=100,
        pricing=Pricing(input_per_million=3.0, output_per_million=15.0, cache_read_per_million=0.3),
    )
    (record,), _ = parse_models([info])
    expected = Price(Decimal("3.0"), Decimal("15.0"), Decimal("0.3"), None)
    assert price_of(record) == price_of(info) == expected
    assert price_of(CATALOG.model("anthropic", "claude-sonnet-4-6")) == Price(
        Decimal("3.0"), Decimal("15.0"), Decimal("0.3"), Decimal("3.75")
    )
    assert price_of(CATALOG.model("github-copilot", "claude-haiku-4.5")) is None
    (bare,), _ = parse_models(["plain-id"])
    assert price_of(bare) is None


def test_a_price_in_another_currency_is_unknown_not_converted() -> None:
    euro = {"id": "m", "pricing": {"input": 1.0, "output": 2.0, "currency": "EUR"}}
    (record,), _ = parse_models([euro])
    assert price_of(record) is None


def test_a_free_model_costs_zero_not_unknown() -> None:
    (record,), _ = parse_models([{"id": "local", "pricing": {"input": 0, "output": 0}}])
    price = price_of(record)
    assert price is not None and price.cost(Tokens(1000, 1000)) == 0


# -- the ledger -------------------------------------------------------------------------------


def call(
    input_tokens: int, output: int = 10, cached: int = 0, cost: str | None = None
) -> CallUsage:
    return CallUsage(Tokens(input_tokens, output, cached), None if cost is None else Decimal(cost))


def test_nested_sessions_roll_up_to_the_root_under_their_own_agent() -> None:
    ledger = CostLedger()
    assert ledger.open("root", None) == "root"
    assert ledger.open("child", "root", agent="architect", tier="frontier") == "root"
    assert ledger.open("grandchild", "child", agent="git-ops", tier="budget") == "root"
    assert ledger.open("sibling", "root", agent="git-ops", tier="budget") == "root"
    for sid in ("root", "child", "grandchild", "sibling"):
        assert ledger.record(sid, "p", "m", call(100))
    assert ledger.close("grandchild") is None and ledger.close("sibling") is None
    assert not ledger.record("grandchild", "p", "m", call(100)), "a closed session is not filed"
    ledger.close("child")
    usage = ledger.close("root")
    assert usage is not None and len(ledger) == 0
    summary = summarize(usage, {}, ("p", "m"))
    by_agent = {a.agent: a for a in summary.agents}
    assert list(by_agent) == [ROOT_AGENT, "architect", "git-ops"]
    assert by_agent["git-ops"].sessions == 2 and by_agent["git-ops"].line.calls == 2
    assert by_agent["git-ops"].tier == "budget" and by_agent[ROOT_AGENT].tier is None


def test_a_child_whose_parent_is_unknown_is_a_root_of_its_own() -> None:
    ledger = CostLedger()
    assert ledger.open("orphan", "gone", agent="explorer") == "orphan"
    ledger.record("orphan", "p", "m", call(10))
    usage = ledger.close("orphan")
    assert usage is not None
    assert [a.agent for a in summarize(usage, {}, None).agents] == ["explorer"]


def test_unknown_sessions_are_ignored_and_forget_drops_a_root_with_its_children() -> None:
    ledger = CostLedger()
    assert not ledger.record("nobody", "p", "m", call(10))
    ledger.open("root", None)
    ledger.open("child", "root", agent="a")
    ledger.forget("root")
    assert len(ledger) == 0 and not ledger.record("child", "p", "m", call(10))
    ledger.forget("root")  # idempotent


def test_the_ledger_is_bounded_by_evicting_the_oldest_root() -> None:
    ledger = CostLedger(max_roots=3)
    for i in range(5):
        ledger.open(f"root-{i}", None)
    assert len(ledger) == 3
    assert (
        not ledger.is_root("root-0") and not ledger.is_root("root-1") and ledger.is_root("root-4")
    )


def ledger_with(*calls: tuple[str, str, str, CallUsage]) -> Any:
    ledger = CostLedger()
    ledger.open("root", None)
    for agent in {a for a, *_ in calls if a != ROOT_AGENT}:
        ledger.open(f"s-{agent}", "root", agent=agent)
    for agent, provider, model, usage in calls:
        ledger.record("root" if agent == ROOT_AGENT else f"s-{agent}", provider, model, usage)
    return ledger.close("root")


BASE = ("anthropic", "claude-opus-4-8")
OPUS = list_price(*BASE)


def test_unknown_pricing_is_reported_as_unknown_never_as_zero() -> None:
    usage = ledger_with(("explorer", "github-copilot", "claude-haiku-4.5", call(1000)))
    (agent,) = summarize(usage, {}, BASE).agents
    line = agent.line
    assert line.cost_usd is None and line.unpriced_calls == 1 and not line.complete
    assert line.baseline_usd is None, "the baseline's price was not given either"
    payload = summarize(usage, {}, BASE).to_payload()
    assert payload["agents"][0]["cost_usd"] is None and payload["totals"]["cost_usd"] is None
    assert payload["totals"]["savings_usd"] is None and payload["totals"]["savings_ratio"] is None


def test_reported_cost_wins_and_the_rest_is_priced_from_the_catalog() -> None:
    lite = ("gemini", "gemini-3.1-flash-lite")
    usage = ledger_with(
        ("git-ops", *lite, call(2000, 100, 500, cost="0.001")),
        ("git-ops", *lite, call(1000, 50, 200)),
    )
    lite_price = list_price(*lite)
    summary = summarize(usage, {lite: lite_price, BASE: OPUS}, BASE)
    line = summary.agents[0].line
    assert line.cost_usd == Decimal("0.001") + lite_price.cost(Tokens(1000, 50, 200))
    assert line.sources == {"provider", "catalog"} and line.complete
    assert line.baseline_usd == OPUS.cost(Tokens(3000, 150, 700))


def test_partly_unpriced_lines_keep_the_known_part_and_stay_out_of_the_savings() -> None:
    copilot = ("github-copilot", "gpt-5-mini")
    usage = ledger_with(
        (ROOT_AGENT, *BASE, call(1000, 100, cost="0.01")),
        ("explorer", *copilot, call(500, 20, cost="0.002")),
        ("explorer", *copilot, call(500, 20)),
    )
    summary = summarize(usage, {BASE: OPUS}, BASE)
    root, explorer = summary.agents
    assert explorer.line.cost_usd == Decimal("0.002") and explorer.line.unpriced_calls == 1
    assert not explorer.line.comparable and explorer.line.savings_ratio is None
    assert root.line.baseline_usd == root.line.cost_usd == Decimal("0.01"), "ran on the baseline"
    comparison = summary.comparison
    assert comparison.calls == 1 and comparison.savings_usd == 0
    assert summary.total.cost_usd == Decimal("0.012") and summary.total.unpriced_calls == 1


def test_savings_ratio_is_the_share_of_the_baseline_saved_on_comparable_calls() -> None:
    lite = ("gemini", "gemini-3.1-flash-lite")
    usage = ledger_with(
        ("git-ops", *lite, call(10_000, 1000, 2000)),
        ("explorer", "github-copilot", "claude-haiku-4.5", call(10_000, 1000)),
    )
    lite_price = list_price(*lite)
    summary = summarize(usage, {lite: lite_price, BASE: OPUS}, BASE)
    tokens = Tokens(10_000, 1000, 2000)
    cost, baseline = lite_price.cost(tokens), OPUS.cost(tokens)
    totals = summary.to_payload()["totals"]
    assert totals["compared_calls"] == 1 and totals["calls"] == 2
    assert Decimal(totals["savings_usd"]) == baseline - cost
    assert totals["savings_ratio"] == round(float((baseline - cost) / baseline), 4)
    assert totals["baseline_usd"] == format(
        (baseline + OPUS.cost(Tokens(10_000, 1000))).normalize(), "f"
    )


def test_payload_round_trips_and_rejects_malformed_fields() -> None:
    lite = ("gemini", "gemini-3.1-flash-lite")
    usage = ledger_with(
        (ROOT_AGENT, *BASE, call(1000, cost="0.01")), ("git-ops", *lite, call(2000, 100, 500))
    )
    summary = summarize(usage, {lite: list_price(*lite), BASE: OPUS}, BASE)
    payload = json.loads(json.dumps(summary.to_payload()))
    assert CostSummary.from_payload(payload) == summary
    broken = json.loads(json.dumps(payload))
    broken["agents"][1]["models"][0]["cost_usd"] = 0.5
    with pytest.raises(ValueError, match=r"agents\[1\]\.models\[0\]\.cost_usd"):
        CostSummary.from_payload(broken)
    broken["agents"][1]["models"][0] = {"calls": -1}
    with pytest.raises(ValueError, match=r"agents\[1\]\.models\[0\]\.calls"):
        CostSummary.from_payload(broken)
    with pytest.raises(ValueError, match="agents"):
        CostSummary.from_payload({"agents": "none"})


def test_combining_sessions_merges_agents_and_models() -> None:
    lite = ("gemini", "gemini-3.1-flash-lite")
    prices = {lite: list_price(*lite), BASE: OPUS}
    one = summarize(ledger_with(("git-ops", *lite, call(1000))), prices, BASE)
    two = summarize(
        ledger_with(("git-ops", *lite, call(3000)), (ROOT_AGENT, *BASE, call(10))), prices, BASE
    )
    combined = combine_summaries([one, two])
    assert combined.sessions == 2 and combined.baseline_model == BASE[1]
    git_ops = next(a for a in combined.agents if a.agent == "git-ops")
    assert git_ops.sessions == 2 and len(git_ops.models) == 1
    assert git_ops.line.tokens.input == 4000
    assert one.total.cost_usd is not None and two.total.cost_usd is not None
    assert combined.total.cost_usd == one.total.cost_usd + two.total.cost_usd
    other = summarize(ledger_with(("git-ops", *lite, call(1))), prices, ("openai", "gpt-5.5"))
    assert combine_summaries([one, other]).baseline_model is None


# -- real sessions ----------------------------------------------------------------------------

ROOT_MODEL = ("anthropic", "claude-sonnet-4-6")
AGENTS: dict[str, dict[str, Any]] = {
    "git-ops": {"provider_preferences": [{"provider": "openai", "model": "gpt-5.4"}]},
    "explorer": {
        "provider_preferences": [{"provider": "github-copilot", "model": "claude-haiku-4.5"}]
    },
    "architect": {"provider_preferences": [{"provider": "anthropic", "model": "claude-opus-4-8"}]},
    "fallback": {
        "provider_preferences": [
            {"provider": "gemini", "model": "gemini-2.5-flash"},
            {"provider": "openai", "model": "gpt-5.5"},
        ]
    },
}
NESTED = "DELEGATE architect: " + json.dumps("plan the release\nDELEGATE git-ops: tag it")
PROMPT = "\n".join(
    [
        "DELEGATE git-ops: commit",
        "DELEGATE explorer: look around",
        NESTED,
        "DELEGATE fallback: retry",
    ]
)


def plan(**kwargs: Any) -> dict[str, Any]:
    hooks = [
        {"module": "model-router", "config": {"use_settings_files": False}},
        {
            "module": "event-tap",
            "config": {"events": ["model_router:resolved", "model_router:cost"]},
        },
    ]
    tap.TAP.clear()
    return offline_mount_plan(AGENTS, session_model="/".join(ROOT_MODEL), hooks=hooks, **kwargs)


def tapped(event: str) -> list[tuple[str, dict[str, Any]]]:
    return [(sid, data) for sid, name, data in tap.TAP if name == event]


def gross(c: Any) -> Tokens:
    """The recorder's counts read as the ledger reads the provider's llm:response usage."""
    extra = c.cache_read_tokens if c.cache_read_tokens > c.input_tokens else 0
    return Tokens(c.input_tokens + extra, c.output_tokens, c.cache_read_tokens, 0)


async def run_scenario(**kwargs: Any) -> tuple[str, dict[str, Any]]:
    async with session(plan(**kwargs)) as (s, _):
        await s.execute(PROMPT)
        root = s.session_id
    (cost,) = tapped("model_router:cost")
    assert cost[0] == root, "only the root session emits the cost event"
    return root, cost[1]


def expected_lines(root: str) -> dict[tuple[str, str, str], list[Any]]:
    """(agent, provider, model) -> the recorder's successful calls, agents from the routes."""
    agent_of = {
        data["sub_session_id"]: data["agent"] for _, data in tapped("model_router:resolved")
    }
    agent_of[root] = ROOT_AGENT
    lines: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for c in RECORDER.completions(root=root):
        if c.error is None:
            lines[(agent_of[c.session_id], c.provider, c.model)].append(c)
    return lines


async def test_cost_event_attributes_every_call_to_its_agent_field_by_field() -> None:
    root, payload = await run_scenario(
        provider_config={"anthropic": {"report_cost": True}}, flaky=["gemini"]
    )
    lines = expected_lines(root)
    assert set(lines) == {
        (ROOT_AGENT, *ROOT_MODEL),
        ("git-ops", "openai", "gpt-5.4"),
        ("explorer", "github-copilot", "claude-haiku-4.5"),
        ("architect", "anthropic", "claude-opus-4-8"),
        ("fallback", "openai", "gpt-5.5"),  # gemini answered 429: charged to what answered
    }
    sonnet = list_price(*ROOT_MODEL)
    assert (
        payload["version"] == 1 and payload["session_id"] == root and payload["currency"] == "USD"
    )
    assert payload["baseline"] == {
        "provider": ROOT_MODEL[0],
        "model": ROOT_MODEL[1],
        "priced": True,
    }
    by_agent = {a["agent"]: a for a in payload["agents"]}
    assert list(by_agent) == [ROOT_AGENT, "architect", "explorer", "fallback", "git-ops"]
    assert by_agent["git-ops"]["sessions"] == 2, "called from the root and from architect"
    assert all(
        by_agent[a]["sessions"] == 1 for a in (ROOT_AGENT, "architect", "explorer", "fallback")
    )
    compared = {"calls": 0, "cost": Decimal(0), "baseline": Decimal(0)}
    for (agent, provider, model), calls in lines.items():
        (line,) = by_agent[agent]["models"]
        tokens = sum((gross(c) for c in calls), Tokens())
        assert (line["provider"], line["model"], line["calls"]) == (provider, model, len(calls))
        assert (line["input_tokens"], line["output_tokens"], line["cache_read_tokens"]) == (
            tokens.input,
            tokens.output,
            tokens.cache_read,
        )
        if provider == "anthropic":  # reports cost_usd: taken as reported
            cost = sum(c.cost_usd for c in calls)
            assert line["cost_sources"] == ["provider"]
        elif provider == "openai":  # reports none: list price from the catalog
            cost = list_price(provider, model).cost(tokens)
            assert line["cost_sources"] == ["catalog"]
        else:  # copilot: no price anywhere
            cost = None
            assert line["cost_sources"] == [] and line["unpriced_calls"] == len(calls)
        assert line["cost_usd"] == (None if cost is None else format(cost.normalize(), "f"))
        baseline = cost if (provider, model) == ROOT_MODEL else sonnet.cost(tokens)
        assert Decimal(line["baseline_usd"]) == baseline
        assert {k: by_agent[agent][k] for k in line if k in by_agent[agent]} == {
            k: v for k, v in line.items() if k in by_agent[agent]
        }, "one model per agent: the agent line equals its model line"
        if cost is not None:
            compared["calls"] += len(calls)
            compared["cost"] += cost
            compared["baseline"] += baseline
    totals = payload["totals"]
    assert totals["calls"] == sum(len(c) for c in lines.values())
    assert totals["unpriced_calls"] == len(
        lines[("explorer", "github-copilot", "claude-haiku-4.5")]
    )
    assert totals["compared_calls"] == compared["calls"]
    assert Decimal(totals["compared_cost_usd"]) == compared["cost"]
    assert Decimal(totals["compared_baseline_usd"]) == compared["baseline"]
    saved = compared["baseline"] - compared["cost"]
    assert Decimal(totals["savings_usd"]) == saved
    assert totals["savings_ratio"] == round(float(saved / compared["baseline"]), 4)
    assert len(shared_ledger()) == 0, "the root's data is dropped once emitted"


async def test_without_cost_reporting_every_priced_call_comes_from_the_catalog() -> None:
    root, payload = await run_scenario()
    sources = {
        (m["provider"], tuple(m["cost_sources"])) for a in payload["agents"] for m in a["models"]
    }
    assert sources == {
        ("anthropic", ("catalog",)),
        ("openai", ("catalog",)),
        ("gemini", ("catalog",)),
        ("github-copilot", ()),
    }
    summary = CostSummary.from_payload(payload)
    root_line = summary.agents[0].models[0].line
    assert root_line.cost_usd == list_price(*ROOT_MODEL).cost(root_line.tokens)


async def test_baseline_catalog_is_fetched_at_the_end_when_no_route_needed_it() -> None:
    async with session(plan(providers=["anthropic", "openai"])) as (s, _):
        await s.execute("DELEGATE git-ops: commit")
        root = s.session_id
        before = [c.provider for c in RECORDER.catalog_calls() if c.provider == "anthropic"]
    assert before == [], "routing git-ops needed OpenAI's catalog only"
    ((_, payload),) = tapped("model_router:cost")
    assert payload["baseline"]["priced"] is True
    assert [c.provider for c in RECORDER.catalog_calls()].count("anthropic") == 1
    assert root == payload["session_id"]


async def test_a_catalog_without_prices_is_priced_from_the_list_price_table() -> None:
    """Real providers put no price in ModelInfo (issue 16, defect 4): the table prices the calls."""
    root, payload = await run_scenario(failing=["anthropic"])
    assert payload["baseline"]["priced"] is True
    root_line = payload["agents"][0]["models"][0]
    assert root_line["cost_usd"] is not None


async def test_a_baseline_without_a_price_leaves_every_baseline_unknown(tmp_path, monkeypatch) -> None:
    table = tmp_path / "prices.yaml"
    table.write_text("date: '2026-12-02'\nprices:\n  gpt-5.6-luna: {input: 1.0, output: 6.0}\n")
    monkeypatch.setenv("AMPLIFIER_MODEL_ROUTER_PRICES", str(table))
    root, payload = await run_scenario(failing=["anthropic"])
    assert payload["baseline"]["priced"] is False
    assert {m["baseline_usd"] for a in payload["agents"] for m in a["models"]} == {None}
    assert payload["totals"]["compared_calls"] == 0 and payload["totals"]["savings_ratio"] is None
    root_line = payload["agents"][0]["models"][0]
    assert root_line["cost_usd"] is None, "no reported cost and no catalog: unknown, not zero"


async def test_a_session_that_made_no_call_emits_nothing_and_leaves_nothing() -> None:
    async with session(plan()) as (s, _):
        pass
    assert tapped("model_router:cost") == [] and len(shared_ledger()) == 0
    assert s.session_id


async def test_the_module_mounted_twice_counts_each_response_once() -> None:
    twice = plan()
    twice["hooks"].insert(1, {"module": "model-router", "config": {"use_settings_files": False}})
    async with session(twice) as (s, _):
        await s.execute("DELEGATE git-ops: commit")
        root = s.session_id
    ((_, payload),) = tapped("model_router:cost")
    assert payload["totals"]["calls"] == len(RECORDER.completions(root=root))
