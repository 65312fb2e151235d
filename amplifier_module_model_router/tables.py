"""Tables that read well at any terminal width, 80 columns included.

A table is laid out for the width it gets, deliberately: prose columns (a reason, a check, who
set a value) fold at spaces first; then optional columns are left out, in the order each
table states, and the caller says so under the table; only then do identifiers fold, and
only after a ``:`` or ``/`` (``model-router:`` / ``integration-specialist``,
``anthropic/`` / ``claude-sonnet-4-6``), never inside a name. With more room, every column
gets its natural width and prose uses the rest.

Cells are wrapped here, not by rich, so the rule above is the only one that applies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Column", "FitTable", "wrap_cell"]

GAP = 2
"""Columns are separated by two spaces (one of padding on each side)."""

_PIECE = re.compile(r"\S+?(?:[:/](?=\S)|$|(?=\s))|\s+")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``fold`` says when it may fold (``text``: first, ``id``: last);
    ``drop`` when it may be left out (lower goes first; ``None``: always shown)."""

    name: str
    fold: Literal["text", "id"] = "id"
    drop: int | None = None
    justify: Literal["left", "right"] = "left"


def _pieces(line: str) -> list[tuple[str, bool]]:
    """``(piece, follows_a_space)``: words, split after each ``:`` or ``/`` inside them."""
    out: list[tuple[str, bool]] = []
    spaced = False
    for match in _PIECE.finditer(line):
        piece = match.group(0)
        if piece.isspace():
            spaced = True
            continue
        out.append((piece, spaced))
        spaced = False
    return out


def _longest_piece(text: str) -> int:
    return max((len(p) for line in text.split("\n") for p, _ in _pieces(line)), default=0)


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.split("\n")), default=0)


def wrap_cell(text: str, width: int) -> str:
    """``text`` in lines of at most ``width``, broken at spaces and after ``:`` / ``/`` only
    (a piece longer than ``width`` stays whole: the caller sized the column for it)."""
    lines: list[str] = []
    for source in text.split("\n"):
        line = ""
        for piece, spaced in _pieces(source):
            joined = f"{line} {piece}" if spaced and line else line + piece
            if len(joined) <= width or not line:
                line = joined
            else:
                lines.append(line)
                line = piece
        lines.append(line)
    return "\n".join(lines)


@dataclass(slots=True)
class _Row:
    cells: list[Text]
    style: str | None = None
    section_before: bool = False


@dataclass(slots=True)
class FitTable:
    """Collects rows, then lays itself out for a width (:meth:`layout`)."""

    columns: Sequence[Column]
    title: str | None = None
    rows: list[_Row] = field(default_factory=list)
    _section: bool = False

    def add_row(self, *cells: Text | str, style: str | None = None) -> None:
        texts = [cell if isinstance(cell, Text) else Text(cell) for cell in cells]
        self.rows.append(_Row(texts, style, self._section))
        self._section = False

    def add_section(self) -> None:
        self._section = True

    def layout(self, width: int) -> tuple[Table, list[str]]:
        """The rich table for ``width`` columns, and the names of the columns left out."""
        shown = list(range(len(self.columns)))
        natural = [self._natural(i) for i in shown]
        least = [self._least(i) for i in shown]
        optional = sorted((c.drop, i) for i, c in enumerate(self.columns) if c.drop is not None)
        dropped: list[str] = []
        widths = _fit(shown, natural, least, self.columns, width, fold_ids=False)
        while widths is None and optional:
            _, gone = optional.pop(0)
            shown.remove(gone)
            dropped.append(self.columns[gone].name)
            widths = _fit(shown, natural, least, self.columns, width, fold_ids=False)
        if widths is None:
            widths = _fit(shown, natural, least, self.columns, width, fold_ids=True)
        if widths is None:  # narrower than the ids themselves: keep them whole anyway
            widths = {i: least[i] for i in shown}
        return self._table(shown, widths), dropped

    def _natural(self, index: int) -> int:
        column = self.columns[index]
        cells = [row.cells[index].plain for row in self.rows if index < len(row.cells)]
        return max([len(column.name), *(_longest_line(c) for c in cells)])

    def _least(self, index: int) -> int:
        column = self.columns[index]
        cells = [row.cells[index].plain for row in self.rows if index < len(row.cells)]
        return max([_longest_piece(column.name), *(_longest_piece(c) for c in cells)])

    def _table(self, shown: list[int], widths: dict[int, int]) -> Table:
        table = Table(
            title=self.title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
        )
        for i in shown:
            column = self.columns[i]
            table.add_column(
                wrap_cell(column.name, widths[i]),
                width=widths[i],
                no_wrap=True,
                overflow="fold",
                justify=column.justify,
            )
        for row in self.rows:
            if row.section_before:
                table.add_section()
            cells = []
            for i in shown:
                cell = row.cells[i] if i < len(row.cells) else Text("")
                cells.append(Text(wrap_cell(cell.plain, widths[i]), style=cell.style))
            table.add_row(*cells, style=row.style)
        return table

    def print(self, console: Console) -> None:
        """Print for the console's width; say which columns were left out, if any."""
        table, dropped = self.layout(console.width)
        console.print(table)
        if dropped:
            console.print(
                Text(
                    f"({console.width} columns: {', '.join(dropped)} left out; "
                    "a wider terminal or --json shows them)",
                    style="dim",
                )
            )


def _fit(
    shown: list[int],
    natural: list[int],
    least: list[int],
    columns: Sequence[Column],
    width: int,
    *,
    fold_ids: bool,
) -> dict[int, int] | None:
    """Widths for the shown columns within ``width``, or None when they do not fit. Prose may
    fold, identifiers only with ``fold_ids``."""
    room = width - GAP * (len(shown) - 1)
    widths = {i: natural[i] for i in shown}
    if sum(widths.values()) <= room:
        return widths
    for i in shown:
        if columns[i].fold == "text" or fold_ids:
            widths[i] = least[i]
    spare = room - sum(widths.values())
    if spare < 0:
        return None
    # Give columns back their whole width, cheapest first (a column at its natural width
    # folds no row); what is left goes to identifiers before prose (prose folds well).
    for i in sorted(shown, key=lambda i: natural[i] - widths[i]):
        deficit = natural[i] - widths[i]
        if 0 < deficit <= spare:
            widths[i] = natural[i]
            spare -= deficit
    for i in sorted(shown, key=lambda i: (columns[i].fold == "text", widths[i] - natural[i])):
        grow = min(spare, natural[i] - widths[i])
        widths[i] += grow
        spare -= grow
    return widths
