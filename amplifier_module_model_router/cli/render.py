"""How CLI results look: rich tables for people, plain dicts for ``--json``.

Every cell is a :class:`rich.text.Text`, never markup, because model globs such as
``gpt-[0-9].[0-9]`` would otherwise be read as style tags. Colour only appears on a terminal;
redirected output (and the README) is plain text.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from ..bundle.files import display_path
from ..events import UNRESOLVED
from ..resolve.prices import EMBEDDED_PRICES, PriceTable, load_prices
from ..resolve.snapshot import CatalogSnapshot
from ..settings.names import provider_key
from ..tables import Column, FitTable
from .expect import Route
from .scenario import Scenario
from .validate import unread_lines
from .verify import AgentResult, VerifyRun

__all__ = [
    "make_console",
    "make_table",
    "print_table",
    "price_vs_session",
    "render_header",
    "render_show",
    "render_verify",
    "stripped",
    "scenario_json",
    "show_json",
    "verify_json",
]

OK_MARK = "✓"
BAD_MARK = "✗"
_WIDE = 200  # redirected output: no wrapping, a table is as wide as its content
COST_TITLE = "Cost per agent in this run (catalog list prices; baseline: the session model)"
_NARROWEST = 40  # below this no table can keep its names whole


class _Console(Console):
    """rich's console, except that a closed pipe is left to the command (status 141, not 1)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def console_width(stream: Any) -> int:
    """``$COLUMNS`` when set (a terminal or not), else the terminal's width; off a terminal
    200, so redirected output is as wide as its content."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), _NARROWEST)
    if stream.isatty():
        return max(shutil.get_terminal_size((_WIDE, 24)).columns, _NARROWEST)
    return _WIDE


def make_console(*, stderr: bool = False) -> Console:
    """A console on the current stdout/stderr (so click's test runner captures it)."""
    stream = sys.stderr if stderr else sys.stdout
    return _Console(
        file=stream, width=console_width(stream), markup=False, highlight=False, soft_wrap=False
    )


def make_table(*columns: str, wrap: str | None = None, optional: Sequence[str] = ()) -> FitTable:
    """A table laid out for the console's width (:mod:`..tables`): the ``wrap`` column
    (default: the last) is prose and folds first; the ``optional`` ones are left out, in that
    order, when even then it is too wide; names and models fold last, never mid-word."""
    wrap = wrap or columns[-1]
    return FitTable(
        [
            Column(
                name,
                fold="text" if name == wrap else "id",
                drop=optional.index(name) if name in optional else None,
            )
            for name in columns
        ]
    )


@contextmanager
def stripped(console: Console) -> Iterator[None]:
    """Off a terminal, drop the trailing blanks rich pads table cells with (clean logs, docs)."""
    if console.is_terminal:
        yield
        return
    with console.capture() as captured:
        yield
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def print_table(console: Console, table: FitTable) -> None:
    with stripped(console):
        table.print(console)


def _pair(pair: tuple[str, str] | None) -> str:
    return "/".join(pair) if pair else "-"


# -- the scenario header -----------------------------------------------------------------------


def _print_parts(console: Console, *parts: str) -> None:
    """``a · b · c`` on one line when it fits the console, else one part a line."""
    line = " · ".join(parts)
    for text in [line] if len(line) <= console.width else parts:
        console.print(text, markup=False, highlight=False)


def _price_table() -> PriceTable | None:
    """The list-price table in force when it is not the embedded one (``--prices FILE`` or
    ``$AMPLIFIER_MODEL_ROUTER_PRICES``; validated before the command ran)."""
    table = load_prices()
    return None if table.source == EMBEDDED_PRICES else table


def render_header(scenario: Scenario, console: Console) -> None:
    """Two lines: what was loaded, and which providers are up."""
    bundle = scenario.bundle
    snapshot = scenario.snapshot
    options = scenario.options
    catalog = "embedded" if snapshot.source is None else display_path(Path(snapshot.source))
    table = _price_table()
    prices = [] if table is None else [" ".join(filter(None, ("prices", table.date, f"({display_path(Path(table.source))})")))]
    _print_parts(
        console,
        f"bundle {bundle.name} {bundle.version} ({display_path(bundle.path)})",
        f"catalog {snapshot.date} ({catalog})",
        *prices,
        f"session model {scenario.session_model}",
    )
    disabled = {provider_key(name) for name in scenario.routing.disabled_providers}
    states = []
    for name in scenario.providers:
        marks = [
            word
            for word, names in (
                ("down", options.down),
                ("failing", options.failing),
                ("flaky", options.flaky),
            )
            if name in names
        ]
        if provider_key(name) in disabled:  # mounted, but no chain may use it
            marks.append("disabled by settings")
        states.append(f"{name} ({', '.join(marks)})" if marks else name)
    settings = "honoured" if options.use_settings else "ignored"
    _print_parts(console, f"providers {', '.join(states)}", f"settings files {settings}")
    for line in unread_lines(bundle):
        console.print(line, markup=False, highlight=False)
    for note in scenario.quirk_notes():
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print()


def scenario_json(scenario: Scenario) -> dict[str, Any]:
    options = scenario.options
    return {
        "bundle": {
            "name": scenario.bundle.name,
            "version": scenario.bundle.version,
            "path": str(scenario.bundle.path),
            "unread": [
                {"source": u.source, "file": str(u.file), "field": u.field, "reason": u.reason}
                for u in scenario.bundle.unread
            ],
        },
        "catalog": {
            "date": scenario.snapshot.date,
            "source": scenario.snapshot.source or "embedded",
        },
        "prices": {"date": table.date or None, "source": table.source} if (table := _price_table()) else "embedded",
        "session_model": scenario.session_model,
        "providers": list(scenario.providers),
        "listing_quirks": list(scenario.quirk_notes()),
        "down": list(options.down),
        "failing": list(options.failing),
        "flaky": list(options.flaky),
        "disabled_by_settings": list(scenario.routing.disabled_providers),
        "settings_files": options.use_settings,
    }


# -- price relative to the session model -------------------------------------------------------


def _list_price(snapshot: CatalogSnapshot, pair: tuple[str, str] | None) -> Decimal | None:
    if pair is None:
        return None
    pricing = snapshot.list_price(*pair)
    if pricing is None:
        return None
    return pricing.in_plus_out


def price_vs_session(scenario: Scenario, pair: tuple[str, str] | None) -> str:
    """``3.0x cheaper`` / ``1.7x pricier`` / ``same`` by list price (input + output per Mtok).

    ``?`` when either side has no price in the catalog (Copilot bills requests, not tokens).
    """
    mine = _list_price(scenario.snapshot, pair)
    session = _list_price(scenario.snapshot, scenario.session_pair)
    if mine is None or session is None or mine <= 0 or session <= 0:
        return "?"
    if abs(mine - session) < 1e-9:
        return "same"
    if mine < session:
        return f"{session / mine:.1f}x cheaper"
    return f"{mine / session:.1f}x pricier"


# -- verify ------------------------------------------------------------------------------------


def _check(result: AgentResult) -> Text:
    problem = result.problem
    if problem is not None:
        return Text(f"{BAD_MARK} {problem}", style="red")
    notes = result.notes
    return Text(" ".join([OK_MARK, "; ".join(notes)]).rstrip(), style="green")


def render_verify(run: VerifyRun, console: Console) -> None:
    """The header, one row per agent, faults of the session, then the summary line."""
    render_header(run.scenario, console)
    table = make_table(
        "Agent", "Tier", "Model used", "Price vs session", "Check", optional=("Price vs session",)
    )
    for result in run.results:
        route = result.route
        table.add_row(
            Text(route.agent),
            Text(route.tier or "-"),
            Text(result.used_text),
            Text(price_vs_session(run.scenario, result.used)),
            _check(result),
        )
    print_table(console, table)
    console.print()
    for failure in run.load_failures:
        console.print(Text(f"module failed to load: {failure}", style="red"))
    if run.session_error:
        console.print(Text(f"session failed: {run.session_error}", style="red"))
    console.print(Text(run.summary(), style="bold green" if run.ok else "bold red"))
    if run.cost is not None:
        from ..cost.report import render_cost_table, summary_from_event

        console.print()
        with stripped(console):
            render_cost_table(summary_from_event(run.cost), console, title=COST_TITLE)


def verify_json(run: VerifyRun) -> dict[str, Any]:
    agents = []
    for result in run.results:
        route = result.route
        agents.append(
            {
                "agent": route.agent,
                "tier": route.tier,
                "tier_decided_by": route.decided_by,
                "expected": _pair_json(route.expected),
                "expected_outcome": route.outcome,
                "used": _pair_json(result.used),
                "correct": result.correct,
                "problem": result.problem,
                "error": result.error,
                "failovers": result.failovers,
                "attempts": [
                    {"provider": c.provider, "model": c.model, "error": c.error}
                    for c in result.calls
                ],
                "sub_session_id": result.sub_session_id,
                "resolution": result.resolved,
            }
        )
    return {
        **scenario_json(run.scenario),
        "agents": agents,
        "summary": {
            "line": run.summary(),
            "ok": run.ok,
            "correct": run.correct,
            "total": len(run.results),
            "errors": run.errors,
            "failovers": run.failovers,
            "unresolved": list(run.unresolved),
            "globs_sent": list(run.globs_sent),
            "load_failures": list(run.load_failures),
            "session_error": run.session_error,
        },
        "cost": _cost_json(run.cost),
        "elapsed_s": round(run.elapsed_s, 3),
    }


def _cost_json(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    from ..cost.report import summary_from_event, summary_to_json

    return summary_to_json(summary_from_event(payload))


def _pair_json(pair: tuple[str, str] | None) -> dict[str, str] | None:
    return {"provider": pair[0], "model": pair[1]} if pair else None


# -- show --------------------------------------------------------------------------------------


_LAYER = re.compile(r"\b(org|user|project|local|mount) \(([^)]*)\)")


def set_by(route: Route) -> str:
    """Which layer chose the tier and which shaped its chain; layer files named in a footer."""
    tier = "bundle" if route.decided_by.startswith("bundle:") else route.decided_by
    chain = route.chain_source
    text = (
        tier
        if chain is None or (chain == "bundle" and tier == "bundle")
        else f"tier: {tier}; chain: {chain}"
    )
    return _LAYER.sub(r"\1", text)


def render_show(scenario: Scenario, routes: list[Route], console: Console) -> None:
    render_header(scenario, console)
    table = make_table(
        "Agent",
        "Tier",
        "Model",
        "First fallback",
        "Price vs session",
        "Set by",
        optional=("Price vs session", "First fallback"),
    )
    for route in routes:
        model = route.expected_text if route.expected else route.outcome
        if route.outcome == UNRESOLVED:
            model = f"{route.expected_text} (unresolved: inherits)"
        table.add_row(
            Text(route.agent),
            Text(route.tier or "-"),
            Text(model),
            Text(_pair(route.first_fallback)),
            Text(price_vs_session(scenario, route.expected)),
            Text(set_by(route)),
        )
    print_table(console, table)
    files = {
        name: path
        for route in routes
        for text in (route.decided_by, route.chain_source or "")
        for name, path in _LAYER.findall(text)
    }
    if files:
        console.print()
        for name, path in files.items():
            console.print(f"{name}: {path}")


def show_json(scenario: Scenario, routes: list[Route]) -> dict[str, Any]:
    return {
        **scenario_json(scenario),
        "agents": [
            {
                "agent": r.agent,
                "tier": r.tier,
                "tier_decided_by": r.decided_by,
                "chain_source": r.chain_source,
                "outcome": r.outcome,
                "model": _pair_json(r.expected),
                "first_fallback": _pair_json(r.first_fallback),
            }
            for r in routes
        ],
    }
