"""Spend caps in real AmplifierSessions: degrade at the configured fractions, then budget-only
or refuse at the cap; a running agent moved at its next call; unknown-cost calls counted.

Known costs: Anthropic answers every call with 100,000 input tokens and no output, so a call
costs $0.50 on Opus, $0.30 on Sonnet, $0.10 on Haiku (the embedded catalog's list prices); the
root session runs on OpenAI gpt-5-nano with 10 tokens a call ($0.0000005, next to nothing).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from amplifier_module_model_router.offline import RECORDER
from session_kit import WATCHED, delegate_lines, routed_plan, session

pytestmark = pytest.mark.asyncio

BUDGET_EVENT = "model_router:budget"
EVENTS = (*WATCHED, BUDGET_EVENT, "model_router:cost")
OPUS, SONNET, HAIKU = "claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5"


def budget_plan(budget: dict[str, Any] | None, *, providers=("openai", "anthropic"), **options: Any) -> dict:
    hook_options = dict(options)
    if budget is not None:
        hook_options["budget"] = budget
    return routed_plan(
        hook_options=hook_options,
        providers=providers,
        session_model="openai/gpt-5-nano",
        provider_config={
            "anthropic": {"usage": {"input_tokens": 100_000, "output_tokens": 0}},
            "openai": {"usage": {"input_tokens": 10, "output_tokens": 0}},
        },
    )


async def turns(plan: dict, prompts: list[str]) -> tuple[list, list[str]]:
    """Run ``prompts`` one after another in one root session; the events and the child ids."""
    async with session(plan, events=EVENTS) as (s, seen):
        for prompt in prompts:
            await s.execute(prompt)
    return seen, []


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
    assert session_cap["cap"] == "session"
    assert Decimal(str(session_cap["spend_usd"])).quantize(Decimal("0.01")) == Decimal("1.10")


async def test_refuse_at_the_cap_names_the_cap_and_the_spend() -> None:
    plan = budget_plan({"session_usd": 0.80, "degrade": {"at": [0.9]}, "at_cap": "refuse"})
    seen, _ = await turns(plan, [delegate_lines(["zen-architect"])] * 3)
    events = resolved(seen)
    assert [e["outcome"] for e in events] == ["routed", "routed", "refused"]
    assert [e["model"] for e in events[:2]] == [OPUS, OPUS]
    refusal = events[2]
    assert "session spend cap of $0.80 is reached (spent $1.00" in refusal["reason"]
    assert "zen-architect" in refusal["reason"] and "at_cap: refuse" in refusal["reason"]
    errors = [d["error"] for e, d in seen if e == "delegate:error"]
    assert len(errors) == 1 and "BudgetExceededError" in errors[0] and "$0.80" in errors[0]


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
    nested = 'DELEGATE model-router:zen-architect: "DELEGATE model-router:git-ops: tidy up"'
    seen, _ = await turns(plan, [nested])
    zen = next(e for e in resolved(seen) if e["agent"].endswith("zen-architect"))
    assert models_of(zen) == [OPUS, SONNET]  # $0.50 crossed 25 %: the second call is on strong
    moved = budget_events(seen, "moved")
    assert len(moved) == 1
    assert (moved[0]["from_tier"], moved[0]["to_tier"]) == ("frontier", "strong")
    assert moved[0]["moved_to"] == {"provider": "anthropic", "model": SONNET}
    summary = [d for e, d in seen if e == "model_router:cost"][0]["budget"]
    # nested delegations count toward their root: 0.50 (zen) + 0.10 (git-ops) + 0.30 (zen)
    assert round(summary["caps"][0]["spend_usd"], 2) == 0.90


async def test_a_running_agent_is_refused_its_next_call_at_the_cap_under_refuse() -> None:
    plan = budget_plan({"session_usd": 0.50, "at_cap": "refuse", "degrade": {"at": [0.9]}})
    nested = 'DELEGATE model-router:zen-architect: "DELEGATE model-router:git-ops: tidy up"'
    seen, _ = await turns(plan, [nested])
    zen = next(e for e in resolved(seen) if e["agent"].endswith("zen-architect"))
    assert models_of(zen) == [OPUS]
    # git-ops, spawned by zen-architect after the cap, was refused: it never made a call
    assert not [c for c in RECORDER.completions() if c.session_id.endswith("git-ops")]
    errors = [d["error"] for e, d in seen if e == "delegate:error"]
    assert any("the next model call of agent 'model-router:zen-architect' refused" in m for m in errors)


def copilot_plan(unknown_cost: str) -> dict:
    return routed_plan(
        hook_options={
            "budget": {"session_usd": 0.0000001, "unknown_cost": unknown_cost},
            "provider_order": ["github-copilot", "openai"],
        },
        providers=("openai", "github-copilot"),
        session_model="openai/gpt-5-nano",
        provider_config={"openai": {"usage": {"input_tokens": 10, "output_tokens": 0}}},
    )


async def test_unknown_cost_calls_are_counted_and_allowed_past_the_cap_by_default() -> None:
    seen, _ = await turns(copilot_plan("allow"), [delegate_lines(["git-ops"]), delegate_lines(["git-ops"])])
    events = resolved(seen)
    assert [e["provider"] for e in events] == ["github-copilot", "github-copilot"]
    summary = [d for e, d in seen if e == "model_router:cost"][0]["budget"]
    assert summary["unknown_calls"] == 2
    assert "2 call(s) of unknown cost" not in events[0]["budget"]["spend"]
    assert "1 call(s) of unknown cost" in events[1]["budget"]["spend"]


async def test_unknown_cost_block_keeps_calls_under_the_cap_on_priced_models() -> None:
    seen, _ = await turns(copilot_plan("block"), [delegate_lines(["git-ops"])])
    event = resolved(seen)[0]
    assert event["provider"] == "openai"
    assert any(
        s["provider"] == "github-copilot" and "unknown_cost: block" in s["reason"] for s in event["skipped"]
    )
