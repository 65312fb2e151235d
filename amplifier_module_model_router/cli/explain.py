"""``explain`` and ``settings`` output: one decision, or every setting, with where it came from.

``explain`` walks one agent's chain in order and says for every candidate what happened to it
(not mounted, lookup failed, no match, matched N models and which one won and why), then the
model the agent gets. ``settings`` prints the effective settings with the layer behind each value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from ..budget.model import AT_CAP_BUDGET_ONLY, BudgetSettings, money
from ..resolve.resolver import CHOSEN, FALLBACK, TraceEntry
from ..resolve.versions import version_key
from ..settings import EffectiveRouting, SettingsLayer
from .expect import FAILS, INHERIT, REFUSED, UNRESOLVED, Planner, Route
from ..resolve.quirks import quirk_notes
from .render import make_table, price_vs_session, print_table, render_header

__all__ = ["candidate_reason", "explain_json", "render_explain", "render_settings", "settings_json"]

_SHOWN_MATCHES = 4


def candidate_reason(step: TraceEntry, matches: Sequence[str]) -> str:
    """Why a candidate ended where it did, in words a user can act on."""
    if step.model is None or not matches:  # skipped, or an exact id: the resolver's reason says it
        return f"{step.reason}; {step.price_note}" if step.price_note else step.reason
    picked = step.model
    others = [m for m in matches if m != picked]
    listed = ", ".join([picked, *others][:_SHOWN_MATCHES]) + (
        ", ..." if len(matches) > _SHOWN_MATCHES else ""
    )
    if not others:
        text = f"matched 1 model: {picked}"
    else:
        key = version_key(picked)
        why = f"the newest version ({'.'.join(map(str, key.version)) or 'unversioned'})"
        peers = [version_key(m) for m in others if version_key(m).version == key.version]
        if peers and all(peer.variant == key.variant for peer in peers):
            why += "; at that version the undated id beats its dated snapshots"
        elif peers:
            why += "; at that version the base id beats variants and dated snapshots"
        text = f"matched {len(matches)} models ({listed}); picked {picked}: {why}"
    if "cooling" in step.reason:
        text += f"; {step.reason.rsplit('; ', 1)[-1]}"
    if step.price_note:
        text += f"; {step.price_note}"
    return text


def _verdict(route: Route, scenario_session: str) -> str:
    agent = route.agent
    if route.outcome == INHERIT:
        return f"-> {agent} gets the session model {scenario_session} (inherits)"
    if route.outcome == UNRESOLVED:
        return f"-> nothing resolved: {agent} inherits the session model {scenario_session}"
    if route.outcome == REFUSED:
        return f"-> nothing resolved and strict is on: the spawn of {agent} is refused"
    if route.outcome == FAILS:
        return f"-> every resolved candidate of {agent} is flaky: its run ends with the last error"
    chosen = route.resolution.chosen if route.resolution else None
    note = ""
    if chosen is not None and (chosen.provider, chosen.model) != route.expected:
        flaky = f"{chosen.provider}/{chosen.model}"
        note = f" (at run time {flaky} is flaky: the failover provider moves on)"
    return f"-> {agent} gets {route.expected_text}{note}"


def render_explain(planner: Planner, route: Route, console: Console) -> None:
    scenario = planner.scenario
    render_header(scenario, console)
    console.print(Text(f"{route.agent} · tier {route.tier or '-'}", style="bold"))
    console.print(Text(f"  tier decided by: {route.decided_by}"))
    if route.chain_source:
        console.print(Text(f"  chain of tier {route.tier}: {route.chain_source}"))
    for line in budget_lines(scenario.routing.budget, route):
        console.print(Text(f"  {line}"))
    if route.resolution is not None:
        console.print()
        table = make_table("#", "Candidate", "Outcome", "Reason")
        for step in route.resolution.trace:
            style = {CHOSEN: "green", FALLBACK: ""}.get(step.outcome, "yellow")
            table.add_row(
                Text(str(step.index + 1)),
                Text(f"{step.preference.provider}/{step.preference.model}"),
                Text(step.outcome, style=style),
                Text(candidate_reason(step, planner.matches(step))),
            )
        print_table(console, table)
    console.print()
    verdict = _verdict(route, scenario.session_model)
    price = price_vs_session(scenario, route.expected)
    if route.expected and route.outcome != INHERIT and price != "?":
        verdict += " · list price " + ("same as the session model's" if price == "same" else f"{price} than the session model")
    console.print(Text(verdict, style="bold"))


def budget_steps(budget: BudgetSettings, route: Route) -> list[tuple[str, str]]:
    """``(when, tier)`` for each spend level at which ``route``'s agent would change tier."""
    source = "agent" if route.tier else "inherit"
    steps: list[tuple[str, str]] = []
    current = route.tier
    for level in range(1, budget.at_cap_level + 1):
        tier = budget.tier_at(route.tier, level) if source == "agent" else None
        if level == budget.at_cap_level:
            when = "at the cap"
            tier = budget.cap_tier if budget.at_cap == AT_CAP_BUDGET_ONLY else "refused"
        else:
            when = f"at {budget.degrade_at[level - 1]:.0%}"
        if tier is not None and tier != current:
            steps.append((when, tier))
            current = tier
    return steps


def budget_lines(budget: BudgetSettings | None, route: Route) -> list[str]:
    """The budget state for ``explain``: the caps, today's shared spend, this agent's steps."""
    if budget is None:
        return []
    caps = [f"{name.replace('_', ' ')} ${money(cap)}" for name, cap in budget.caps().items() if cap is not None]
    lines = [f"budget: caps {', '.join(caps)} · at the cap: {budget.at_cap} · unknown-cost calls: {budget.unknown_cost}"]
    lines.append(f"  spent so far: {spend_today(budget)}")
    steps = budget_steps(budget, route)
    shown = " · ".join(f"{when} -> {tier}" for when, tier in steps) or "keeps its tier up to the cap"
    lines.append(f"  this agent as spend grows: {shown}")
    return lines


def spend_today(budget: BudgetSettings) -> str:
    """Today's daily/org spend from the shared counters, or why it cannot be known here."""
    import asyncio

    from ..budget import MemoryCounters, shared_book

    book = shared_book()
    shared = [name for name in ("daily", "org_daily") if budget.caps()[name] is not None]
    if not shared:
        return "session caps count per root session (nothing to show outside one)"
    if isinstance(book.counters, MemoryCounters):
        return "daily and org spend live in the routing state store; none is configured (memory)"
    names = book.counter_names()

    async def read() -> list[float]:
        return [await book.read(names[cap]) for cap in shared]

    totals = asyncio.run(read())
    return ", ".join(
        f"{cap.replace('_', ' ')} ${money(total)} of ${money(budget.caps()[cap] or 0)}"
        for cap, total in zip(shared, totals, strict=True)
    )


def explain_json(planner: Planner, route: Route) -> dict[str, Any]:
    trace = route.resolution.trace if route.resolution else ()
    budget = planner.scenario.routing.budget
    return {
        "budget": None
        if budget is None
        else {
            "caps": {name: None if cap is None else float(cap) for name, cap in budget.caps().items()},
            "at_cap": budget.at_cap,
            "unknown_cost": budget.unknown_cost,
            "spent": spend_today(budget),
            "steps": [{"when": when, "tier": tier} for when, tier in budget_steps(budget, route)],
        },
        "agent": route.agent,
        "tier": route.tier,
        "tier_decided_by": route.decided_by,
        "chain_source": route.chain_source,
        "outcome": route.outcome,
        "model": {"provider": route.expected[0], "model": route.expected[1]}
        if route.expected
        else None,
        "candidates": [
            {
                "provider": step.preference.provider,
                "pattern": step.preference.model,
                "outcome": step.outcome,
                "reason": candidate_reason(step, planner.matches(step)),
                "resolved": step.model,
                "matches": list(planner.matches(step)),
            }
            for step in trace
        ],
    }


# -- settings ----------------------------------------------------------------------------------


def _value(key: str, value: Any) -> str:
    if isinstance(value, list):
        separator = "\n" if key.startswith("tiers.") else ", "  # a chain: one candidate a line
        return separator.join(map(str, value)) if value else "(none)"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _settings_quirks(routing: EffectiveRouting, configured: Sequence[Any] | None) -> tuple[str, ...]:
    return quirk_notes(sorted({p.provider for chain in routing.tiers.values() for p in chain}), configured)


def render_settings(
    routing: EffectiveRouting,
    layers: Sequence[SettingsLayer],
    console: Console,
    extra: Sequence[tuple[str, Any, str]] = (),
    configured: Sequence[Any] | None = None,
) -> None:
    """The effective settings table; ``extra`` rows (the ``state`` store) follow ``strict``;
    ``configured``: the Amplifier settings' provider entries the quirk notes are judged by."""
    console.print(
        "layers (weakest first): bundle" + "".join(f" < {layer.label}" for layer in layers)
    )
    console.print()
    table = make_table("Setting", "Value", "Source", wrap="Value")
    for key, value, source in _with_extra(routing, extra):
        table.add_row(Text(key), Text(_value(key, value)), Text(source))
    print_table(console, table)
    for note in _settings_quirks(routing, configured):
        console.print(f"note: {note}", markup=False, highlight=False)


def settings_json(
    routing: EffectiveRouting,
    layers: Sequence[SettingsLayer],
    extra: Sequence[tuple[str, Any, str]] = (),
    configured: Sequence[Any] | None = None,
) -> dict[str, Any]:
    return {
        "layers": [{"name": layer.name, "source": layer.source} for layer in layers],
        "settings": [{"key": k, "value": v, "source": s} for k, v, s in _with_extra(routing, extra)],
        "listing_quirks": list(_settings_quirks(routing, configured)),
    }


def _with_extra(routing: EffectiveRouting, extra: Sequence[tuple[str, Any, str]]) -> list[tuple[str, Any, str]]:
    rows = routing.effective_values()
    at = next((i + 1 for i, row in enumerate(rows) if row[0] == "strict"), len(rows))
    return rows[:at] + list(extra) + rows[at:]
