"""``verify --budget``: a real session that spends its way across a cap, and which agents moved.

One root session delegates to every agent of the bundle and to ``self`` one after another
(pricier tiers first, so the steps down show), every call on every provider answering with a
fixed number of tokens, so each call's cost is its model's list price times those tokens. The
session cap is ``--budget``. Each row is one delegation: the tier the agent declares, the tier
and model it ran on, what it cost and the session's spend after it, and why it moved.

The expectation is worked out apart from the module: from the spend recorded *before* each
spawn (every call the offline providers answered, at the snapshot's list prices) and the
budget settings, the tier each agent must get. With ``at_cap: refuse`` the spend may pass the
cap by at most the one call in flight when it was crossed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..budget.model import AT_CAP_REFUSE, BudgetSettings
from ..bundle.files import MODULE_ID
from ..cost.summary import Tokens
from ..events import BUDGET, RESOLVED
from ..failover.cooldown import shared_cooldowns
from ..offline import RECORDER, CompletionCall
from ..resolve.prices import Price
from .expect import Route
from .scenario import Scenario

__all__ = ["BudgetRow", "BudgetRun", "budget_run_json", "render_budget_run", "run_budget_verify"]

INSTRUCTION = "verify budgets: answer on the model you were given"
TIER_ORDER = ("frontier", "strong-code", "strong", "budget")


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """One delegation of the run."""

    agent: str
    tier: str | None
    expected_tier: str | None
    """What the budget settings say at the spend before the spawn ("refused" at a refusing cap)."""
    ran_tier: str | None
    models: tuple[str, ...]
    cost: Decimal
    """Of the calls with a list price; ``unpriced`` says how many had none (counted as no spend,
    as the budget counts them: an unknown, never a made-up zero in what is shown)."""
    spend_before: Decimal
    """The session's spend when the agent was spawned."""
    spend_after: Decimal
    note: str
    error: str | None
    unpriced: int = 0

    @property
    def cost_text(self) -> str:
        from ..cost.report import usd

        if not self.unpriced:
            return usd(self.cost)
        unknown = f"{self.unpriced} call{'s' if self.unpriced > 1 else ''} unpriced"
        return unknown if not self.cost else f"{usd(self.cost)} + {unknown}"

    @property
    def moved(self) -> bool:
        return self.ran_tier != self.tier

    @property
    def correct(self) -> bool:
        if self.expected_tier == "refused":
            return self.error is not None and "spend cap" in self.error
        return self.error is None and self.ran_tier == self.expected_tier


@dataclass(frozen=True, slots=True)
class BudgetRun:
    settings: BudgetSettings
    tokens: int
    rows: tuple[BudgetRow, ...]
    spend: Decimal
    largest_call: Decimal
    events: tuple[dict[str, Any], ...] = field(default=())
    session_error: str | None = None

    @property
    def cap(self) -> Decimal:
        return self.settings.session_usd or Decimal(0)

    @property
    def overshoot_ok(self) -> bool:
        """Under refuse: spend <= cap + the single call in flight when it was crossed."""
        if self.settings.at_cap != AT_CAP_REFUSE:
            return True
        return self.spend <= self.cap + self.largest_call

    @property
    def stopped(self) -> bool:
        """The root session's own call was refused at the cap (``refuse``): the expected end."""
        return self.session_error is not None and "BudgetExceededError" in self.session_error

    @property
    def ok(self) -> bool:
        ended = self.session_error is None or self.stopped
        return ended and self.overshoot_ok and all(r.correct for r in self.rows)


def budget_plan(scenario: Scenario, budget: dict[str, Any], tokens: int) -> dict[str, Any]:
    """The scenario's plan with ``budget`` in the module's config and fixed tokens per call."""
    plan = copy.deepcopy(scenario.plan)
    for hook in plan["hooks"]:
        if hook.get("module") == MODULE_ID:
            config = hook.setdefault("config", {})
            config["budget"] = {**(config.get("budget") or {}), **budget}
    for entry in plan["providers"]:
        entry["config"]["usage"] = {"input_tokens": tokens, "output_tokens": 0}
    return plan


def ordered(routes: list[Route]) -> list[Route]:
    """Pricier tiers first (then the bundle's order), ``self`` last."""
    rank = {tier: i for i, tier in enumerate(TIER_ORDER)}
    return sorted(routes, key=lambda r: (r.agent == "self", rank.get(r.tier or "", len(rank))))


class _Prices:
    def __init__(self, scenario: Scenario) -> None:
        self.snapshot = scenario.snapshot
        self._memo: dict[tuple[str, str], Price | None] = {}

    def price(self, call: CompletionCall) -> Price | None:
        key = (call.provider, call.model)
        if key not in self._memo:
            self._memo[key] = self.snapshot.list_price(*key)
        return self._memo[key]

    def cost(self, call: CompletionCall) -> Decimal:
        price = self.price(call)
        if price is None or call.error is not None:
            return Decimal(0)
        return price.cost(Tokens(input=call.input_tokens, output=call.output_tokens, cache_read=call.cache_read_tokens))


def expected_tier(settings: BudgetSettings, route: Route, spend: Decimal) -> str | None:
    cap = settings.session_usd or Decimal(0)
    fraction = float(spend / cap) if cap > 0 else 1.0
    level = settings.level_of(fraction)
    if level >= settings.at_cap_level:
        return "refused" if settings.at_cap == AT_CAP_REFUSE else settings.cap_tier
    return settings.tier_at(route.tier, level) if route.tier else None


async def run_budget_verify(
    scenario: Scenario, routes: list[Route], *, budget: dict[str, Any], tokens: int
) -> BudgetRun:
    """Run the delegations one turn each in one real session (see the module doc)."""
    from amplifier_core import AmplifierSession
    from amplifier_core.models import HookResult

    from ..budget import shared_book

    seen: list[tuple[str, dict[str, Any]]] = []

    async def watch(event: str, data: dict[str, Any]) -> HookResult:
        seen.append((event, dict(data)))
        return HookResult(action="continue")

    plan = budget_plan(scenario, budget, tokens)
    settings = _settings(scenario, plan)
    prices = _Prices(scenario)
    shared_cooldowns().clear()
    shared_book().reset()
    RECORDER.clear()
    session = AmplifierSession(plan)
    rows: list[BudgetRow] = []
    session_error = None
    try:
        for event in (RESOLVED, BUDGET, "delegate:agent_spawned", "delegate:error"):
            session.coordinator.hooks.register(event, watch, name="model-router-verify-budget")
        await session.initialize()
        for route in ordered(routes):
            before = len(RECORDER.completions())
            spend_before = sum((prices.cost(c) for c in RECORDER.completions()), Decimal(0))
            mark = len(seen)
            await session.execute(f"DELEGATE {route.agent}: {INSTRUCTION}")
            rows.append(_row(route, settings, seen[mark:], prices, spend_before, before))
    except Exception as err:  # reported, never a traceback
        session_error = f"{type(err).__name__}: {err}"
    finally:
        await session.cleanup()
        shared_cooldowns().clear()
    calls = RECORDER.completions()
    return BudgetRun(
        settings=settings,
        tokens=tokens,
        rows=tuple(rows),
        spend=sum((prices.cost(c) for c in calls), Decimal(0)),
        largest_call=max((prices.cost(c) for c in calls), default=Decimal(0)),
        events=tuple(d for e, d in seen if e == BUDGET),
        session_error=session_error,
    )


def _settings(scenario: Scenario, plan: dict[str, Any]) -> BudgetSettings:
    """The budget the session will run with: built exactly as the module builds it."""
    import dataclasses

    from ..errors import UsageError
    from ..session.mount import build_router
    from ..settings.options import RouterConfig

    config = next(h["config"] for h in plan["hooks"] if h.get("module") == MODULE_ID)
    router_config = RouterConfig.from_mount(config, source="verify --budget")
    router = build_router(dataclasses.replace(router_config, use_settings_files=scenario.options.use_settings))
    if router.budget is None:
        raise UsageError("no spend cap: give --budget a positive number of dollars", field="budget")
    return router.budget.settings


def _row(
    route: Route,
    settings: BudgetSettings,
    seen: list[tuple[str, dict[str, Any]]],
    prices: _Prices,
    spend_before: Decimal,
    first_call: int,
) -> BudgetRow:
    spawned = next((d for e, d in seen if e == "delegate:agent_spawned" and d.get("agent") == route.agent), {})
    sub = spawned.get("sub_session_id")
    resolved = next((d for e, d in seen if e == RESOLVED and d.get("sub_session_id") == sub), {})
    error = next((d.get("error") for e, d in seen if e == "delegate:error" and d.get("sub_session_id") == sub), None)
    child_calls = [c for c in RECORDER.completions(session_id=sub) if c.error is None] if sub else []
    all_calls = RECORDER.completions()[first_call:]
    # the spawn comes after the root's delegating call of this turn: that call counts before it
    at_spawn = spend_before + (prices.cost(all_calls[0]) if all_calls else Decimal(0))
    cost = sum((prices.cost(c) for c in child_calls), Decimal(0))
    note_data = resolved.get("budget") or {}
    moves = [d for e, d in seen if e == BUDGET and d.get("action") == "moved"]
    notes = []
    if resolved.get("outcome") == "refused":
        notes.append("refused at the cap")
    elif note_data.get("degraded"):
        overrode = note_data.get("overrode")
        if overrode == "inherit":
            notes.append("on the cap tier instead of the parent's model")
        elif overrode == "call":
            notes.append("on the cap tier over the caller's preferences")
        else:
            notes.append(f"moved down from {note_data.get('from_tier')}")
    for move in moves:
        notes.append(f"moved to {move.get('to_tier')} mid-run")
    return BudgetRow(
        agent=route.agent,
        tier=route.tier,
        expected_tier=expected_tier(settings, route, at_spawn),
        ran_tier=None if resolved.get("outcome") == "refused" else (resolved.get("tier") or route.tier),
        models=tuple(dict.fromkeys(f"{c.provider}/{c.model}" for c in child_calls)),
        cost=cost,
        spend_before=at_spawn,
        spend_after=spend_before + sum((prices.cost(c) for c in all_calls), Decimal(0)),
        note="; ".join(notes),
        error=error,
        unpriced=sum(1 for c in child_calls if prices.price(c) is None),
    )


# -- output -----------------------------------------------------------------------------------


def render_budget_run(run: BudgetRun, console: Any) -> None:
    from rich.text import Text

    from ..cost.report import usd
    from .render import make_table, print_table

    s = run.settings
    steps = ", ".join(f"{at:.0%}" for at in s.degrade_at)
    console.print(
        f"session cap {usd(run.cap)} · steps down at {steps} · at the cap: {s.at_cap} · "
        f"every call {run.tokens:,} input tokens at list price",
        highlight=False,
    )
    console.print()
    table = make_table("#", "Agent", "Tier", "Ran on", "Model", "Cost", "Spend at spawn", "Note", "Check")
    for index, row in enumerate(run.rows, start=1):
        check = Text("✓", style="green") if row.correct else Text(f"✗ expected {row.expected_tier}", style="red")
        table.add_row(
            Text(str(index)),
            Text(row.agent),
            Text(row.tier or "-"),
            Text("refused" if row.expected_tier == "refused" and row.error else (row.ran_tier or "-")),
            Text(", ".join(row.models) or "-"),
            Text(row.cost_text),
            Text(usd(row.spend_before)),
            Text(row.note, style="yellow" if row.moved or row.error else ""),
            check,
        )
    print_table(console, table)
    console.print()
    moved = sum(1 for r in run.rows if r.moved and not r.error)
    refused = sum(1 for r in run.rows if r.error)
    line = (
        f"spent {usd(run.spend)} of {usd(run.cap)} · {moved} agent(s) moved to a cheaper tier · "
        f"{refused} refused · {sum(r.correct for r in run.rows)}/{len(run.rows)} as expected"
    )
    unpriced = sum(r.unpriced for r in run.rows)
    if unpriced:
        line += f" · {unpriced} call(s) with no list price, not in the spend"
    if s.at_cap == AT_CAP_REFUSE:
        line += f" · over the cap by {usd(max(run.spend - run.cap, Decimal(0)))} (the call in flight: at most {usd(run.largest_call)})"
    console.print(Text(line, style="bold" if run.ok else "bold red"))
    for event in run.events:
        if event.get("action") == "moved":
            continue
        console.print(
            f"model_router:budget {event.get('action')} at {usd(Decimal(str(event.get('spend_usd'))))}"
            f" ({event.get('cap')} cap, level {event.get('level')})",
            style="dim",
            highlight=False,
        )
    if run.stopped:
        console.print(f"the session stopped at the cap: {run.session_error}", highlight=False)
    elif run.session_error:
        console.print(f"session error: {run.session_error}", style="red", highlight=False)


def budget_run_json(run: BudgetRun) -> dict[str, Any]:
    return {
        "cap_usd": str(run.cap),
        "at_cap": run.settings.at_cap,
        "tokens_per_call": run.tokens,
        "spend_usd": str(run.spend),
        "largest_call_usd": str(run.largest_call),
        "ok": run.ok,
        "rows": [
            {
                "agent": r.agent,
                "tier": r.tier,
                "expected_tier": r.expected_tier,
                "ran_tier": r.ran_tier,
                "models": list(r.models),
                "cost_usd": str(r.cost),
                "unpriced_calls": r.unpriced,
                "spend_at_spawn_usd": str(r.spend_before),
                "note": r.note,
                "error": r.error,
                "correct": r.correct,
            }
            for r in run.rows
        ],
        "events": list(run.events),
        "session_error": run.session_error,
    }
