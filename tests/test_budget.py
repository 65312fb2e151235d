"""Spend caps in real AmplifierSessions: degrade at the configured fractions, then budget-only
or refuse at the cap; a running agent moved at its next call; unknown-cost calls counted.

Known costs: Anthropic answers every call with 100,000 input tokens and no output, so a call
costs $0.50 on Opus, $0.30 on Sonnet, $0.10 on Haiku (the embedded catalog's list prices); the
root session runs on Gemini gemini-2.5-flash-lite with 10 tokens a call ($0.000001, next to nothing).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any



import amplifier_module_event_tap as tap
from amplifier_module_model_router.offline import RECORDER
from session_kit import WATCHED, delegate_lines, routed_plan, session


BUDGET_EVENT = "model_router:budget"
EVENTS = (*WATCHED, BUDGET_EVENT, "model_router:cost")
OPUS, SONNET, HAIKU = "claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5"


def tapped(plan: dict) -> dict:
    """``plan`` with the event-tap hook: it rides into every child, so their events are seen."""
    plan["hooks"].append({"module": "event-tap", "config": {"events": list(EVENTS)}})
    return plan


def budget_plan(budget: dict[str, Any] | None, *, providers=("gemini", "anthropic"), **options: Any) -> dict:
    hook_options = dict(options)
    if budget is not None:
        hook_options["budget"] = budget
    return tapped(routed_plan(
        hook_options=hook_options,
        providers=providers,
        session_model="gemini/gemini-2.5-flash-lite",
        provider_config={
            "anthropic": {"usage": {"input_tokens": 100_000, "output_tokens": 0}},
            "gemini": {"usage": {"input_tokens": 10, "output_tokens": 0}},
        },
    ))


async def turns(plan: dict, prompts: list[str]) -> tuple[list, str | None]:
    """Run ``prompts`` one after another in one root session: every session's events, and the
    error that ended the root session (a refused call at the cap), if one did."""
    tap.TAP.clear()
    error = None
    async with session(plan, events=()) as (s, _):
        for prompt in prompts:
            try:
                await s.execute(prompt)
            except RuntimeError as err:
                error = str(err)
                break
    return [(event, data) for _, event, data in tap.TAP], error


def resolved(seen: list) -> list[dict[str, Any]]:
    return [d for e, d in seen if e == "model_router:resolved"]


def budget_events(seen: list, action: str | None = None) -> list[dict[str, Any]]:
    return [d for e, d in seen if e == BUDGET_EVENT and (action is None or d["action"] == action)]


def models_of(event: dict[str, Any]) -> list[str]:
    return [c.model for c in RECORDER.completions(session_id=event["sub_session_id"]) if c.error is None]


async def test_no_budget_routes_as_before_and_says_nothing_of_budgets() -> None:
    seen, _ = await turns(budget_plan(None), [delegate_lines(["zen-architect", "git-ops"])])
    events = resolved(seen)
    assert {e["model"] for e in events} == {OPUS, HAIKU}
    assert all("budget" not in e for e in events)
    assert not budget_events(seen)
    cost = [d for e, d in seen if e == "model_router:cost"]
    assert cost and "budget" not in cost[0]


async def test_a_budget_without_caps_is_no_budget() -> None:
    seen, _ = await turns(budget_plan({"warn_at": 0.5, "at_cap": "refuse"}), [delegate_lines(["zen-architect"])])
    assert "budget" not in resolved(seen)[0]


async def test_session_cap_steps_tiers_down_at_the_fractions_then_budget_only() -> None:
    plan = budget_plan({"session_usd": 1.00, "degrade": {"at": [0.5, 0.8]}, "at_cap": "budget-only"})
    seen, _ = await turns(plan, [delegate_lines(["zen-architect"])] * 5)
    events = resolved(seen)
    assert [e["model"] for e in events] == [OPUS, SONNET, HAIKU, HAIKU, HAIKU]
    assert [e["tier"] for e in events] == ["frontier", "strong", "budget", "budget", "budget"]
    assert events[0]["budget"]["degraded"] is False
    step = events[1]["budget"]
    assert step["degraded"] and (step["from_tier"], step["to_tier"]) == ("frontier", "strong")
    assert "past 50% of the cap" in step["reason"] and "session spend $0.50" in step["reason"]
    assert "at the cap" in events[4]["budget"]["reason"]
    crossings = [(d["action"], d["level"]) for d in budget_events(seen) if d["action"] != "moved"]
    assert crossings == [("degrade", 1), ("warn", 2), ("degrade", 2), ("at_cap", 3)]
    at_cap = budget_events(seen, "at_cap")[0]
    assert at_cap["cap"] == "session" and at_cap["cap_usd"] == 1.0 and at_cap["spend_usd"] >= 1.0
    summary = [d for e, d in seen if e == "model_router:cost"][0]["budget"]
    session_cap = summary["caps"][0]
    assert (session_cap["cap"], session_cap["cap_usd"]) == ("session", "1")
    # $1.00 reached by the fourth child; then the root itself runs on Haiku too: its last call
    # of turn 4 and its two calls of turn 5 ($0.10 each), plus the fifth child ($0.10)
    assert Decimal(session_cap["spend_usd"]).quantize(Decimal("0.01")) == Decimal("1.40")
    root_models = [c.model for c in RECORDER.completions() if c.parent_id is None]
    assert root_models[-3:] == [HAIKU, HAIKU, HAIKU] and set(root_models[:-3]) == {"gemini-2.5-flash-lite"}


def nested(*agents: str) -> str:
    """``DELEGATE a: "DELEGATE b: ..."``: each agent delegates to the next, the last one answers."""
    instruction = "answer"
    for agent in reversed(agents[1:]):
        instruction = json.dumps(f"DELEGATE model-router:{agent}: {instruction}")
    return f"DELEGATE model-router:{agents[0]}: {instruction}"


async def test_refuse_at_the_cap_every_refusal_names_the_cap_and_the_spend() -> None:
    plan = budget_plan({"session_usd": 0.80, "degrade": {"at": [0.9]}, "at_cap": "refuse"})
    seen, error = await turns(plan, [nested("zen-architect", "bug-hunter", "git-ops")])
    events = {e["agent"].removeprefix("model-router:"): e for e in resolved(seen)}
    assert (events["zen-architect"]["model"], events["bug-hunter"]["model"]) == (OPUS, SONNET)
    refused = events["git-ops"]  # zen ($0.50) + bug-hunter ($0.30) reached the cap before it
    assert refused["outcome"] == "refused"
    assert "delegation to agent 'model-router:git-ops' refused" in refused["reason"]
    assert "the session spend cap of $0.80 is reached (spent $0.80" in refused["reason"]
    errors = [d["error"] for e, d in seen if e == "delegate:error"]
    assert len(errors) == 3 and all("BudgetExceededError" in m and "cap of $0.80" in m for m in errors)
    assert any("the next model call of agent 'model-router:bug-hunter' refused" in m for m in errors)
    assert any("the next model call of agent 'model-router:zen-architect' refused" in m for m in errors)
    assert error is not None and "the root session's next model call refused" in error
    assert not [c for c in RECORDER.completions() if c.session_id.endswith("git-ops")]
    assert len([c for c in RECORDER.completions() if c.error is None]) == 3  # root, zen, bug-hunter


async def test_callers_preferences_honoured_below_the_cap_and_overridden_at_it() -> None:
    prefs = [{"provider": "anthropic", "model": OPUS}]
    plan = budget_plan({"session_usd": 1.00, "degrade": {"at": [0.4]}})
    line = delegate_lines(["explorer"], prefs=prefs)
    seen, _ = await turns(plan, [line] * 3)
    events = resolved(seen)
    assert [e["model"] for e in events] == [OPUS, OPUS, HAIKU]
    assert events[1]["source"] == "call" and not events[1]["budget"]["degraded"]
    assert "honoured below the cap" in events[1]["budget"]["reason"]
    assert events[2]["source"] == "budget" and events[2]["budget"]["overrode"] == "call"
    assert "wins over the caller's provider_preferences" in events[2]["budget"]["reason"]


async def test_self_moves_to_the_budget_tier_at_the_cap_only() -> None:
    plan = budget_plan({"session_usd": 0.50, "degrade": {"at": [0.2]}})
    seen, _ = await turns(plan, [delegate_lines(["zen-architect"]), delegate_lines(["self"])])
    events = resolved(seen)
    assert events[1]["agent"] == "self" and events[1]["source"] == "budget"
    assert events[1]["model"] == HAIKU and events[1]["budget"]["overrode"] == "inherit"


async def test_a_running_agent_moves_down_at_its_next_call() -> None:
    plan = budget_plan({"session_usd": 2.00, "degrade": {"at": [0.25, 0.9]}})
    seen, _ = await turns(plan, [nested("zen-architect", "git-ops")])
    zen = next(e for e in resolved(seen) if e["agent"].endswith("zen-architect"))
    assert models_of(zen) == [OPUS, SONNET]  # $0.50 crossed 25 %: the second call is on strong
    moved = budget_events(seen, "moved")
    assert len(moved) == 1
    assert (moved[0]["from_tier"], moved[0]["to_tier"]) == ("frontier", "strong")
    assert moved[0]["moved_to"] == {"provider": "anthropic", "model": SONNET}
    summary = [d for e, d in seen if e == "model_router:cost"][0]["budget"]
    # nested delegations count toward their root: 0.50 (zen) + 0.10 (git-ops) + 0.30 (zen)
    assert Decimal(summary["caps"][0]["spend_usd"]).quantize(Decimal("0.01")) == Decimal("0.90")


def copilot_plan(unknown_cost: str) -> dict:
    return tapped(routed_plan(
        hook_options={
            "budget": {"session_usd": 0.0000001, "unknown_cost": unknown_cost},
            "provider_order": ["github-copilot", "gemini"],
        },
        providers=("gemini", "github-copilot"),
        session_model="gemini/gemini-2.5-flash-lite",
        provider_config={"gemini": {"usage": {"input_tokens": 10, "output_tokens": 0}}},
    ))


async def test_unknown_cost_calls_are_counted_and_allowed_past_the_cap_by_default() -> None:
    seen, _ = await turns(copilot_plan("allow"), [delegate_lines(["git-ops"]), delegate_lines(["git-ops"])])
    events = resolved(seen)
    assert [e["provider"] for e in events] == ["github-copilot", "github-copilot"]
    summary = [d for e, d in seen if e == "model_router:cost"][0]["budget"]
    # both children, and the root's own calls once it moved to the budget tier at the cap
    copilot_calls = [c for c in RECORDER.completions() if c.provider == "github-copilot" and c.error is None]
    assert summary["unknown_calls"] == len(copilot_calls) == 5
    assert "unknown cost" not in events[0]["budget"]["spend"]
    assert "3 call(s) of unknown cost" in events[1]["budget"]["spend"]


async def test_unknown_cost_block_keeps_calls_under_the_cap_on_priced_models() -> None:
    seen, _ = await turns(copilot_plan("block"), [delegate_lines(["git-ops"])])
    event = resolved(seen)[0]
    assert event["provider"] == "gemini"
    assert any(
        s["provider"] == "github-copilot" and "unknown_cost: block" in s["reason"] for s in event["skipped"]
    )


async def test_unknown_cost_block_keeps_models_the_price_table_prices() -> None:
    """A catalog without prices (a real provider's ``list_models()``, here plain strings) does
    not make a cost unknown when the list-price table has the model: the ledger charges those
    calls at the table's price, so ``block`` must not keep them out at the cap."""
    plan = tapped(routed_plan(
        hook_options={"budget": {"session_usd": 0.0000001, "unknown_cost": "block"}},
        providers=("gemini", "anthropic"),
        session_model="gemini/gemini-2.5-flash-lite",
        provider_config={
            "gemini": {"usage": {"input_tokens": 10, "output_tokens": 0}},
            "anthropic": {"list_models": {"mode": "strings"}},
        },
    ))
    seen, _ = await turns(plan, [delegate_lines(["git-ops"])])
    event = resolved(seen)[0]
    assert (event["provider"], event["model"]) == ("anthropic", HAIKU), event["skipped"]
    summary = [d for e, d in seen if e == "model_router:cost"][0]["budget"]
    assert summary["unknown_calls"] == 0  # the ledger priced them: their cost was known


async def test_report_shows_spend_against_each_cap(tmp_path) -> None:
    import json

    from amplifier_module_model_router.cost.report import load_report, render_cost_table
    from rich.console import Console

    plan = budget_plan({"session_usd": 1.00, "daily_usd": 5})
    seen, _ = await turns(plan, [delegate_lines(["zen-architect"])])
    payload = [d for e, d in seen if e == "model_router:cost"][0]
    events_file = tmp_path / "events.jsonl"
    events_file.write_text(json.dumps({"event": "model_router:cost", "data": payload}) + "\n")
    report = load_report(events_file)
    assert not report.problems
    console = Console(record=True, width=200)
    render_cost_table(report.summaries[0], console)
    text = console.export_text()
    assert "Budget: session $0.5000 of $1.00 (50%); daily $0.5000 of $5.00 (10%); at the cap: budget-only." in text


def cli(*args: str):
    from click.testing import CliRunner

    from amplifier_module_model_router.cli.commands import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_verify_budget_shows_which_agents_moved_under_budget_only() -> None:
    result = cli("verify", "--budget", "2.00", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {r["agent"].removeprefix("model-router:"): r for r in data["rows"]}
    assert len(rows) == 17 and all(r["correct"] for r in rows.values())
    assert rows["zen-architect"]["ran_tier"] == "frontier"  # first, before any spend
    assert rows["bug-hunter"]["ran_tier"] == "strong"  # past 50 %
    assert rows["self"]["ran_tier"] == "budget" and "instead of the parent's model" in rows["self"]["note"]
    assert [e["action"] for e in data["events"] if e["action"] != "moved"] == ["degrade", "warn", "degrade", "at_cap"]


def test_verify_budget_refuse_stops_within_one_call_of_the_cap() -> None:
    result = cli("verify", "--budget", "2.00", "--at-cap", "refuse")
    assert result.exit_code == 0, result.output
    assert "the session stopped at the cap" in result.output and "cap of $2.00 is reached" in result.output


def test_verify_budget_rejects_a_negative_cap() -> None:
    result = cli("verify", "--budget", "-1")
    assert result.exit_code == 2
    assert "budget.session_usd: must be a finite, non-negative number of US dollars" in result.output


def test_explain_shows_the_budget_state(isolated_settings) -> None:
    settings = isolated_settings / ".amplifier" / "settings.yaml"
    settings.parent.mkdir()
    settings.write_text("model_router:\n  budget:\n    session_usd: 2\n    at_cap: refuse\n")
    result = cli("explain", "zen-architect")
    assert result.exit_code == 0, result.output
    assert "budget: caps session $2.00 · at the cap: refuse" in result.output
    assert "this agent as spend grows: at 50% -> strong · at 80% -> budget · at the cap -> refused" in result.output
    data = json.loads(cli("explain", "zen-architect", "--json").output)
    assert data["budget"]["caps"]["session"] == 2.0


async def test_daily_spend_is_shared_by_every_root_session_of_the_day() -> None:
    plan = budget_plan({"daily_usd": 1.00, "degrade": {"at": [0.4]}})
    first, _ = await turns(plan, [delegate_lines(["zen-architect"])])
    second, _ = await turns(plan, [delegate_lines(["zen-architect"])])
    assert resolved(first)[0]["model"] == OPUS
    later = resolved(second)[0]  # a new root session, but the day already spent $0.50 of $1.00
    assert later["model"] == SONNET and later["budget"]["from_tier"] == "frontier"
    assert "daily spend $0.50 of $1.00 (50%)" in later["budget"]["spend"]
    summary = [d for e, d in second if e == "model_router:cost"][0]["budget"]
    assert [c["cap"] for c in summary["caps"]] == ["daily"]
    assert Decimal(summary["caps"][0]["spend_usd"]).quantize(Decimal("0.01")) == Decimal("0.80")
