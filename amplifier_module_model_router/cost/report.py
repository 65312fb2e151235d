"""Read ``model_router:cost`` events back from Amplifier's ``events.jsonl`` files, and show them.

Amplifier's logging hook (hooks-logging) writes one file per session,
``~/.amplifier/projects/<project>/sessions/<session id>/events.jsonl``, one JSON object a line::

    {"ts": "...", "lvl": "INFO", "schema": {"name": "amplifier.log", "ver": "1.0.0"},
     "event": "model_router:cost", "session_id": "...", "data": {...the payload...}}

A few payload keys (``session_id``, ``status``, ``error``, ...) are lifted out of ``data`` to the
top level; they are put back here. The root session's file holds the cost event (children have
files of their own, without one), so a folder of sessions is read by reading every
``events.jsonl`` below it.

API for the CLI: :func:`load_report` (or :func:`load_cost_events`), :func:`render_report` /
:func:`render_cost_table`, :func:`report_to_json` / :func:`summary_to_json`, and
:func:`summary_from_event` for a payload caught by a hook (``verify``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from .. import events
from ..bounded_read import MAX_LINE_BYTES, bounded_lines, open_regular
from ..errors import InputError, UsageError
from ..tables import Column, FitTable
from .summary import BudgetUse, CostLine, CostSummary, combine_summaries

__all__ = [
    "CostReport",
    "load_cost_events",
    "load_report",
    "render_cost_table",
    "render_report",
    "report_to_json",
    "summary_from_event",
    "summary_to_json",
]

LIFTED_KEYS = (
    "redaction",
    "status",
    "duration_ms",
    "module",
    "component",
    "error",
    "request_id",
    "span_id",
    "parent_span_id",
    "session_id",
)
"""Keys hooks-logging moves from an event's data to the top level of its line."""

EVENTS_FILE = "events.jsonl"
MAX_NOTES = 200
"""Problems listed one by one in a report; any more are counted."""


@dataclass(frozen=True, slots=True)
class CostReport:
    """The cost events found under a path, oldest first, and what could not be read.

    ``repeats`` counts cost lines dropped because the same session's identical event was
    already read (app-cli's logging can write every event twice).
    """

    source: Path
    summaries: tuple[CostSummary, ...]
    files: tuple[Path, ...]
    problems: tuple[str, ...] = ()
    repeats: int = 0
    unlisted: int = 0
    """Problems beyond the first :data:`MAX_NOTES`, counted but not kept."""

    @property
    def combined(self) -> CostSummary | None:
        """All sessions as one table (agents merged by name); None when there is none."""
        return combine_summaries(self.summaries) if self.summaries else None


def summary_from_event(data: Mapping[str, Any]) -> CostSummary:
    """A ``model_router:cost`` payload as a hook receives it; ``ValueError`` if malformed."""
    return CostSummary.from_payload(data, timestamp=data.get("timestamp"))


def project_sessions(cwd: Path | None = None, home: Path | None = None) -> Path:
    """Where app-cli keeps the sessions of the folder ``cwd``:
    ``~/.amplifier/projects/<slug>/sessions``, the slug being the folder's absolute path with
    ``/`` and ``\\`` as ``-`` and ``:`` dropped (``/home/me/app`` -> ``-home-me-app``)."""
    folder = str((cwd or Path.cwd()).resolve())
    slug = folder.replace("/", "-").replace("\\", "-").replace(":", "")
    slug = slug if slug.startswith("-") else f"-{slug}"
    return (home or Path.home()) / ".amplifier" / "projects" / slug / "sessions"


def load_report(path: str | Path) -> CostReport:
    """Every cost event in an ``events.jsonl`` file, or in every ``events.jsonl`` below a folder.

    A missing path raises :class:`UsageError` naming it. Nothing else stops the report:
    unreadable files, lines that are not JSON or nest too deep, and malformed cost payloads
    are skipped and listed in ``problems`` (``file:line: why``). The same session's identical
    cost event seen again (a repeated line, a copied file) is counted once.
    """
    source = Path(path).expanduser()
    if source.is_dir():
        files = tuple(sorted(source.rglob(EVENTS_FILE)))
    elif source.exists():  # the reader refuses a FIFO or a device with a note
        files = (source,)
    else:
        raise UsageError("no such events file or sessions folder", file=str(source))
    reader = _Reader()
    for file in files:
        reader.read_file(file)
    found = reader.found
    found.sort(key=lambda item: (item[1].timestamp is None, item[1].timestamp or "", item[0]))
    return CostReport(
        source,
        tuple(s for _, s in found),
        files,
        tuple(reader.problems),
        reader.repeats,
        reader.unlisted,
    )


def load_cost_events(path: str | Path) -> list[CostSummary]:
    """The cost summaries under ``path`` (see :func:`load_report`), oldest first."""
    return list(load_report(path).summaries)


class _Reader:
    """Collects cost events across files; one bad line or file never stops the others."""

    def __init__(self) -> None:
        self.found: list[tuple[int, CostSummary]] = []
        self.problems: list[str] = []
        self.unlisted = 0
        self.repeats = 0
        self._seen: set[tuple[str | None, str]] = set()

    def note(self, problem: str) -> None:
        """Keep the first :data:`MAX_NOTES` problems; count the rest (a junk file can hold
        millions of bad lines)."""
        if len(self.problems) < MAX_NOTES:
            self.problems.append(problem)
        else:
            self.unlisted += 1

    def read_file(self, file: Path) -> None:
        marker = f'"{events.COST}"'.encode()
        try:  # a regular file only: a FIFO or /dev/zero named events.jsonl must not hang or flood
            handle = open_regular(file)
        except InputError as err:
            self.note(str(err))
            return
        try:
            with handle:
                for number, raw, whole in bounded_lines(handle):
                    if marker not in raw:  # most lines are other events: skip them undecoded
                        continue
                    if not whole:
                        self.note(
                            f"{file}:{number}: line over {MAX_LINE_BYTES} bytes, skipped"
                        )
                        continue
                    self._take(raw.decode("utf-8", errors="replace"), f"{file}:{number}")
        except OSError as err:
            self.note(f"{file}: {err.strerror or err}")

    def _take(self, line: str, where: str) -> None:
        try:
            parsed = cost_event_from_line(line)
        except ValueError as err:
            self.note(f"{where}: {err}")
            return
        if parsed is None:
            return
        summary, key = parsed
        if key in self._seen:
            self.repeats += 1
            return
        self._seen.add(key)
        self.found.append((len(self.found), summary))


def cost_event_from_line(line: str) -> tuple[CostSummary, tuple[str | None, str]] | None:
    """One events.jsonl line: its cost summary and identity, None for another event.

    Raises ``ValueError`` (never anything else) for a line that cannot be a cost event: not
    JSON, nested too deep, ``data`` not a mapping, a malformed or out-of-range payload. The
    identity is the session id and a digest of the payload, so a repeated line is recognised
    without keeping every payload.
    """
    try:
        record = json.loads(line)
    except RecursionError:
        raise ValueError("nested too deep") from None
    except ValueError as err:  # JSONDecodeError, and digits beyond int's string limit
        raise ValueError(f"not JSON ({getattr(err, 'msg', err)})") from None
    if not isinstance(record, dict) or record.get("event") != events.COST:
        return None
    data = record.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"data: not a mapping ({type(data).__name__})")
    payload = dict(data)
    for key in LIFTED_KEYS:
        if key in record:
            payload.setdefault(key, record[key])
    timestamp = record.get("ts")
    try:
        summary = CostSummary.from_payload(
            payload, timestamp=timestamp if isinstance(timestamp, str) else None
        )
        canonical = json.dumps(payload, sort_keys=True, default=str)
        identity = hashlib.sha256(canonical.encode("utf-8", errors="replace")).hexdigest()
    except (TypeError, ArithmeticError, RecursionError) as err:
        raise ValueError(f"malformed payload ({type(err).__name__})") from None
    return summary, (summary.session_id, identity)


# -- JSON -------------------------------------------------------------------------------------


def summary_to_json(summary: CostSummary) -> dict[str, Any]:
    """The summary as JSON-safe data: the ``model_router:cost`` payload, plus its time."""
    return {**summary.to_payload(), "timestamp": summary.timestamp, "sessions": summary.sessions}


def report_to_json(report: CostReport) -> dict[str, Any]:
    """``{source, files, sessions: [...], combined, problems}`` for ``report --json``."""
    combined = report.combined
    return {
        "source": str(report.source),
        "files": len(report.files),
        "sessions": [summary_to_json(s) for s in report.summaries],
        "combined": summary_to_json(combined) if combined is not None else None,
        "problems": list(report.problems),
        "problems_unlisted": report.unlisted,
        "repeats": report.repeats,
    }


# -- text -------------------------------------------------------------------------------------


def usd(amount: Decimal | None) -> str:
    """``$1.23``, ``$0.0421``, ``$0.00035`` (two significant digits below a cent); ``unknown``."""
    if amount is None:
        return "unknown"
    sign, value = ("-" if amount < 0 else ""), abs(amount)
    if value == 0:
        return "$0.00"
    if value >= 1:
        return f"{sign}${value:,.2f}"
    places = 4 if value >= Decimal("0.01") else 1 - value.adjusted()
    return f"{sign}${value:.{places}f}"


def _cost_cell(line: CostLine) -> str:
    if line.cost_usd is None:
        return "unknown"
    return f"{usd(line.cost_usd)} + ?" if line.unpriced_calls else usd(line.cost_usd)


def _saved_cell(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.0%}"


def _row(line: CostLine) -> list[str]:
    t = line.tokens
    return [
        f"{line.calls:,}",
        f"{t.input:,}",
        f"{t.output:,}",
        f"{t.cache_read:,}",
        _cost_cell(line),
        usd(line.baseline_usd) if line.baseline_usd is not None else "—",
        _saved_cell(line.savings_ratio),
    ]


def cost_table(summary: CostSummary, *, title: str | None = None) -> FitTable:
    """The per-agent table: one row per agent and model, then the totals. On a narrow
    terminal Cached, Baseline, In, Out and Tier are left out, in that order."""
    if title is None:
        title = (
            f"Cost per agent · session {summary.session_id}"
            if summary.sessions == 1 and summary.session_id
            else f"Cost per agent · {summary.sessions} sessions"
        )
    right: Literal["right"] = "right"
    table = FitTable(
        [
            Column("Agent"),
            Column("Tier", drop=4),
            Column("Model"),
            Column("Calls", justify=right),
            Column("In", drop=2, justify=right),
            Column("Out", drop=3, justify=right),
            Column("Cached", drop=0, justify=right),
            Column("Cost", justify=right),
            Column("Baseline", drop=1, justify=right),
            Column("Saved", justify=right),
        ],
        title=title,
    )
    for agent in summary.agents:
        for index, m in enumerate(agent.models):
            first = index == 0
            table.add_row(
                agent.agent if first else "",
                (agent.tier or "—") if first else "",
                m.label,
                *_row(m.line),
            )
    total = summary.total
    comparison = summary.comparison
    cells = _row(total)
    cells[-1] = _saved_cell(comparison.savings_ratio)
    table.add_section()
    table.add_row("Total", "", "", *cells, style="bold")
    return table


def _notes(summary: CostSummary) -> list[str]:
    total, comparison = summary.total, summary.comparison
    notes = []
    baseline = summary.baseline_label
    if baseline and total.baseline_usd is not None:
        notes.append(f"Baseline: the same tokens on {baseline}, the root session's model.")
    elif baseline:
        notes.append(f"Baseline: {baseline} (the root session's model) has no known price.")
    else:
        notes.append("Baseline: each session's own root model.")
    if total.unpriced_calls:
        notes.append(
            f"unknown: {total.unpriced_calls} call(s) without a cost from the provider or a list "
            "price in its catalog (GitHub Copilot, for one, bills requests, not tokens)."
        )
    if summary.budget is not None:
        notes.append(budget_note(summary.budget))
    if summary.incomplete is not None:
        notes.append(
            f"incomplete: the root ended (cancelled) while {summary.incomplete.sessions_running} "
            f"session(s) of its tree still ran, {summary.incomplete.calls_in_flight} call(s) in flight;"
            " what they answered later is not counted, so these totals are a lower bound."
        )
    if comparison.calls:
        saved = comparison.savings_usd
        assert saved is not None
        verb = "saved" if saved >= 0 else "cost an extra"
        notes.append(
            f"Routing {verb} {usd(abs(saved))} ({_saved_cell(abs(comparison.savings_ratio or 0))} "
            f"of {usd(comparison.baseline_usd)}) over the {comparison.calls} of {total.calls} "
            "calls whose cost and baseline are known."
        )
    return notes


def budget_cell(budget: BudgetUse | None) -> str:
    """``session $1.10 of $1.00 (110%)`` for each cap; ``—`` without a budget."""
    if budget is None or not budget.caps:
        return "—"
    cells = []
    for cap in budget.caps:
        share = f" ({cap.fraction:.0%})" if cap.fraction is not None else ""
        cells.append(f"{cap.name.replace('_', ' ')} {usd(cap.spend_usd)} of {usd(cap.cap_usd)}{share}")
    return "; ".join(cells)


def budget_note(budget: BudgetUse) -> str:
    """The report's line on spend against each cap (and the calls no dollar figure covers)."""
    text = f"Budget: {budget_cell(budget)}"
    if budget.at_cap_policy:
        text += f"; at the cap: {budget.at_cap_policy}"
    if budget.unknown_calls:
        text += f"; plus {budget.unknown_calls} call(s) of unknown cost, not in these dollars"
    return text + "."


def render_cost_table(summary: CostSummary, console: Console, *, title: str | None = None) -> None:
    """Print one summary's table and its notes (baseline, unknown prices, savings)."""
    cost_table(summary, title=title).print(console)
    for note in _notes(summary):
        console.print(note, style="dim", highlight=False)


def sessions_table(summaries: tuple[CostSummary, ...]) -> FitTable:
    """One line per root session: when it ended, its baseline, its calls, cost and savings."""
    budgets = any(s.budget is not None for s in summaries)
    columns = [
        Column("Session"),
        Column("Ended", drop=1),
        Column("Baseline model", drop=0),
        Column("Calls", justify="right"),
        Column("Cost", justify="right"),
        Column("Saved", justify="right"),
    ]
    if budgets:
        columns.append(Column("Spend against caps", fold="text"))
    table = FitTable(columns, title="Sessions")
    for s in summaries:
        total = s.total
        extra = [budget_cell(s.budget)] if budgets else []
        table.add_row(
            s.session_id or "?",
            (s.timestamp or "")[:19],
            s.baseline_label or "?",
            f"{total.calls:,}",
            _cost_cell(total),
            _saved_cell(s.comparison.savings_ratio),
            *extra,
        )
    return table


def render_report(report: CostReport, console: Console) -> None:
    """The whole report: the one session's table, or the sessions combined and listed."""
    if not report.summaries:
        console.print(
            f"No {events.COST} events in {report.source} "
            f"({len(report.files)} events file(s) read).",
            highlight=False,
        )
    elif len(report.summaries) == 1:
        render_cost_table(report.summaries[0], console)
    else:
        combined = report.combined
        assert combined is not None
        render_cost_table(combined, console)
        console.print()
        sessions_table(report.summaries).print(console)
    for problem in report.problems:
        console.print(f"skipped {problem}", style="yellow", highlight=False)
    if report.unlisted:
        console.print(
            f"skipped {report.unlisted} more (only the first {len(report.problems)} are listed)",
            style="yellow",
            highlight=False,
        )
    if report.repeats:
        console.print(
            f"{report.repeats} repeated {events.COST} line(s) counted once "
            "(the same session's identical event)",
            style="dim",
            highlight=False,
        )
