"""Tables at 80 columns and wider (issue 13.9): ``$COLUMNS`` is honoured, nothing is cut
mid-name, columns are left out deliberately and said so, and wider terminals get every column.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_cli import in_process

from amplifier_module_model_router.cli.status import ExitStatus
from amplifier_module_model_router.tables import Column, FitTable, wrap_cell

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "tests" / "data" / "events" / "sessions"

COMMANDS = {
    "verify": ("verify",),
    "show": ("show",),
    "explain": ("explain", "git-ops", "--down", "anthropic"),
    "settings": ("settings",),
    "report": ("report", str(EVENTS)),
}


def whole(out: str, ident: str) -> bool:
    """``ident`` is in ``out`` whole, or folded only after a ``:`` or ``/`` (each piece whole)."""
    if re.search(rf"(?<![\w.-]){re.escape(ident)}(?![\w.-])", out):
        return True
    parts = re.split(r"(?<=[:/])", ident)
    return len(parts) > 1 and all(
        re.search(rf"(?<![\w.-]){re.escape(part)}(?![\w.-])", out) for part in parts
    )


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_line_fits_80_columns_and_no_name_is_cut(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = in_process(*COMMANDS[name])
    assert result.code == ExitStatus.OK, result.err
    too_long = [line for line in result.out.splitlines() if len(line) > 80]
    assert too_long == []
    names = identifiers(name, json.loads(in_process(*COMMANDS[name], "--json").out))
    assert names
    cut = [n for n in names if not whole(result.out, n)]
    assert cut == [], result.out


def identifiers(name: str, data: dict) -> list[str]:
    """The agent and model ids the command's JSON says its table shows."""
    def pair(p: dict | None) -> list[str]:
        return [f"{p['provider']}/{p['model']}"] if p else []

    if name in ("verify", "show"):
        key = "used" if name == "verify" else "model"
        return [n for a in data["agents"] for n in [a["agent"], *pair(a[key])]]
    if name == "explain":
        return [f"{c['provider']}/{c['pattern']}" for c in data["candidates"]]
    if name == "settings":
        tiers = [row for row in data["settings"] if row["key"].startswith("tiers.")]
        # a candidate group reads "provider/glob | glob": each glob is a name of its own
        return [glob for row in tiers for value in row["value"] for glob in value.split(" | ")]
    return [
        n
        for a in data["combined"]["agents"]
        for n in [a["agent"], *(f"{m['provider']}/{m['model']}" for m in a["models"])]
    ]


def test_show_at_80_keeps_set_by_and_names_what_it_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = in_process("show").out
    header = next(line for line in out.splitlines() if line.startswith("Agent"))
    assert header.split()[-2:] == ["Set", "by"]
    assert "(80 columns: Price vs session, First fallback left out;" in out


def test_a_wider_terminal_gets_every_column(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    out = in_process("show").out
    header = next(line for line in out.splitlines() if line.startswith("Agent"))
    for column in ("Tier", "Model", "First fallback", "Price vs session", "Set by"):
        assert column in header
    assert "left out" not in out
    assert max(len(line) for line in out.splitlines()) <= 160


def test_report_at_80_leaves_out_the_detail_columns_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = in_process("report", str(EVENTS)).out
    header = next(line for line in out.splitlines() if line.startswith("Agent"))
    assert header.split() == ["Agent", "Model", "Calls", "Cost", "Saved"]
    assert "Cached, Baseline, In, Out, Tier left out" in out


def test_identifiers_fold_only_after_a_colon_or_a_slash() -> None:
    assert wrap_cell("model-router:integration-specialist", 25) == (
        "model-router:\nintegration-specialist"
    )
    assert wrap_cell("anthropic/claude-sonnet-4-6", 20) == "anthropic/\nclaude-sonnet-4-6"
    assert wrap_cell("claude-sonnet-4-6", 5) == "claude-sonnet-4-6"  # never inside a name
    assert wrap_cell("matched 1 model: gpt-5.6-luna", 16) == "matched 1 model:\ngpt-5.6-luna"


def test_prose_folds_before_optional_columns_go_and_ids_fold_last() -> None:
    table = FitTable(
        [
            Column("Agent"),
            Column("Extra", drop=0),
            Column("Why", fold="text"),
        ]
    )
    table.add_row("model-router:git-ops", "x" * 10, "a reason in several words")
    _, dropped = table.layout(20 + 2 + 10 + 2 + 8)
    assert dropped == []  # the reason folded; nothing left out
    _, dropped = table.layout(20 + 2 + 8)
    assert dropped == ["Extra"]
