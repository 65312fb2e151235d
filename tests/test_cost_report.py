"""``amplifier-model-router report``: cost tables from recorded ``events.jsonl`` files.

``tests/data/events/sessions/`` is one real offline session (``regenerate.py`` beside it), each
session's events written in hooks-logging's line shape by the ``events-jsonl`` test hook. The
report is checked against the raw events of those same files (every ``llm:response``, filed
under its agent through the ``model_router:resolved`` routes), and the recording against a
fresh run of the scenario.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from amplifier_module_model_router.cost.ledger import parse_usage
from amplifier_module_model_router.cost.report import (
    MAX_NOTES,
    load_cost_events,
    load_report,
    render_cost_table,
    render_report,
    report_to_json,
    summary_from_event,
    summary_to_json,
    usd,
)
from amplifier_module_model_router.cost.summary import ROOT_AGENT, Tokens
from amplifier_module_model_router.errors import UsageError

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("cost_fixture", HERE / "data/events/regenerate.py")
assert _spec is not None and _spec.loader is not None
scenario = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenario)
FIXTURE: Path = scenario.FIXTURE


def lines_of(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for file in sorted(folder.rglob("events.jsonl"))
        for line in file.read_text(encoding="utf-8").splitlines()
    ]


def root_file(folder: Path) -> Path:
    (found,) = [f for f in folder.rglob("events.jsonl") if '"model_router:cost"' in f.read_text()]
    return found


def text_of(render: Any, *args: Any) -> str:
    console = Console(record=True, width=200)
    render(*args, console)
    return console.export_text()


# -- the recorded session -------------------------------------------------------------------


def raw_usage_by_agent(folder: Path, root: str) -> dict[tuple[str, str, str], list[Any]]:
    """Every llm:response under ``folder``, filed by agent via the routes in the same files."""
    records = lines_of(folder)
    agent_of = {
        r["data"]["sub_session_id"]: r["data"]["agent"]
        for r in records
        if r["event"] == "model_router:resolved"
    }
    agent_of[root] = ROOT_AGENT
    found: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in records:
        if r["event"] == "llm:response" and r.get("status") == "ok":
            data = r["data"]
            found[(agent_of[r["session_id"]], data["provider"], data["model"])].append(
                parse_usage(data["usage"])
            )
    return found


def test_report_on_the_recorded_events_file_matches_the_raw_events_of_every_session() -> None:
    file = root_file(FIXTURE)
    (summary,) = load_cost_events(file)
    assert summary.session_id == file.parent.name
    assert (summary.baseline_provider, summary.baseline_model) == tuple(
        scenario.ROOT_MODEL.split("/")
    )
    raw = raw_usage_by_agent(FIXTURE, summary.session_id)
    reported = {
        (agent.agent, m.provider, m.model): m.line for agent in summary.agents for m in agent.models
    }
    assert set(reported) == set(raw)
    assert {a.agent for a in summary.agents} == {
        ROOT_AGENT,
        "model-router:git-ops",
        "model-router:explorer",
        "model-router:zen-architect",
        "model-router:bug-hunter",
        "model-router:file-ops",
    }
    for key, calls in raw.items():
        line = reported[key]
        assert line.calls == len(calls)
        assert line.tokens == sum((c.tokens for c in calls), Tokens())
        costs = [c.cost_usd for c in calls if c.cost_usd is not None]
        if key[1] == "anthropic":
            assert line.cost_usd == sum(costs) and line.sources == {"provider"}
        else:
            assert not costs
    by_agent = {a.agent: a for a in summary.agents}
    assert by_agent["model-router:git-ops"].models[0].label == "gemini/gemini-3.1-flash-lite", "failed over"
    explorer = by_agent["model-router:explorer"].line
    assert explorer.cost_usd is None and explorer.unpriced_calls == explorer.calls == 1
    assert by_agent["model-router:file-ops"].tier == "budget", "nested three levels deep"


def test_report_on_the_sessions_folder_reads_every_file_and_the_one_cost_event() -> None:
    report = load_report(FIXTURE)
    assert len(report.files) == len(list(FIXTURE.rglob("events.jsonl"))) == 6
    assert report.summaries == tuple(load_cost_events(root_file(FIXTURE)))
    assert report.problems == () and report.combined is not None


async def test_the_recorded_fixture_matches_a_fresh_run_of_its_scenario(tmp_path: Path) -> None:
    root = await scenario.record_sessions(tmp_path)
    (fresh,) = load_cost_events(tmp_path)
    (recorded,) = load_cost_events(FIXTURE)
    assert fresh.session_id == root
    drop = {"session_id", "timestamp"}
    assert {k: v for k, v in summary_to_json(fresh).items() if k not in drop} == {
        k: v for k, v in summary_to_json(recorded).items() if k not in drop
    }, "the fixture is stale: run tests/data/events/regenerate.py"


async def test_a_folder_of_several_sessions_is_combined_by_agent(tmp_path: Path) -> None:
    first = await scenario.record_sessions(tmp_path)
    second = await scenario.record_sessions(tmp_path)
    report = load_report(tmp_path)
    assert [s.session_id for s in report.summaries] == [first, second], "oldest first"
    combined = report.combined
    assert combined is not None and combined.sessions == 2
    one = report.summaries[0]
    assert combined.total.calls == sum(s.total.calls for s in report.summaries)
    assert {a.agent: a.sessions for a in combined.agents} == {
        a.agent: 2 * a.sessions for a in one.agents
    }
    text = text_of(render_report, report)
    assert "Cost per agent · 2 sessions" in text and first in text and second in text


# -- reading robustly -----------------------------------------------------------------------


def test_bad_lines_are_skipped_and_named_while_good_ones_are_read(tmp_path: Path) -> None:
    good = next(
        line
        for line in root_file(FIXTURE).read_text().splitlines()
        if '"model_router:cost"' in line
    )
    broken = json.loads(good)
    broken["data"]["agents"][0]["models"][0]["calls"] = "many"
    file = tmp_path / "events.jsonl"
    file.write_text(
        "\n".join(
            [
                '{"event": "model_router:cost", "data": ',  # cut short
                json.dumps({"event": "session:start", "data": {"note": "model_router:cost"}}),
                json.dumps(broken),
                good,
            ]
        )
        + "\n"
    )
    report = load_report(file)
    assert len(report.summaries) == 1
    assert [p.split(": ")[0] for p in report.problems] == [f"{file}:1", f"{file}:3"]
    assert "not JSON" in report.problems[0] and "calls" in report.problems[1]
    assert f"skipped {file}:1" in text_of(render_report, report)


def _good_cost_line() -> str:
    return next(
        line
        for line in root_file(FIXTURE).read_text().splitlines()
        if '"model_router:cost"' in line
    )


def _cost_line(data: Any) -> str:
    return json.dumps({"event": "model_router:cost", "session_id": "junk", "data": data})


JUNK_COST_LINES = {
    "data a string": _cost_line("abc"),
    "data a list of pairs": _cost_line([["agents", []]]),
    "data a number": _cost_line(7),
    "deep nesting": '{"event": "model_router:cost", "data": '
    + "[" * 100_000
    + "]" * 100_000
    + "}",
    "deep nesting, unclosed": '{"event": "model_router:cost", "data": ' + "{\"a\": " * 50_000,
    "huge integer": '{"event": "model_router:cost", "data": {"agents": [{"agent": "a", '
    '"models": [{"calls": 1' + "0" * 5000 + "}]}]}}",
    "count out of range": _cost_line({"agents": [{"agent": "a", "models": [{"calls": 10**20}]}]}),
    "amount out of range": _cost_line(
        {"agents": [{"agent": "a", "models": [{"cost_usd": "1e999999999"}]}]}
    ),
    "tiny amount": _cost_line(
        {"agents": [{"agent": "a", "models": [{"cost_usd": "1e-999999999"}]}]}
    ),
    "amount as a float": _cost_line({"agents": [{"agent": "a", "models": [{"cost_usd": 0.5}]}]}),
    "agents a mapping": _cost_line({"agents": {"a": 1}}),
    "agent name a number": _cost_line({"agents": [{"agent": 1, "models": []}]}),
    "baseline a list": _cost_line({"agents": [], "baseline": [1]}),
    "session id a list": _cost_line({"agents": [], "session_id": [1]}),
    "timestamp an object": json.dumps(
        {"event": "model_router:cost", "ts": {"a": 1}, "data": {"agents": [], "timestamp": 5}}
    ),
    "record a list": '["model_router:cost"]',
    "nul and a lone surrogate": r'{"event": "model_router:cost", "data": "\u0000\udcff"}',
}


def test_junk_cost_lines_are_skipped_with_file_and_line_and_the_rest_is_reported(
    tmp_path: Path,
) -> None:
    """Issue 13.8: every malformed cost event is a note naming file:line, never a traceback."""
    file = tmp_path / "events.jsonl"
    junk = list(JUNK_COST_LINES.values())
    file.write_text("\n".join([*junk, _good_cost_line()]) + "\n", encoding="utf-8")
    report = load_report(file)
    assert len(report.summaries) == 1
    named = [p.split(": ")[0] for p in report.problems]
    expected = [  # a JSON list is no event at all: not a problem, just not ours
        f"{file}:{n}" for n, name in enumerate(JUNK_COST_LINES, start=1) if name != "record a list"
    ]
    assert named == expected
    text = text_of(render_report, report)
    assert "Total" in text and f"skipped {file}:1: data: not a mapping" in text


def test_one_bad_file_never_stops_the_report_of_a_sessions_folder(tmp_path: Path) -> None:
    """Issue 13.8: a folder with a junk file, a folder named events.jsonl and a binary file."""
    (tmp_path / "good").mkdir()
    shutil.copy(root_file(FIXTURE), tmp_path / "good" / "events.jsonl")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "events.jsonl").write_text(
        "\n".join(JUNK_COST_LINES.values()) + "\n", encoding="utf-8"
    )
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "events.jsonl").write_bytes(b'\xff\xfe"model_router:cost"\x00' * 100)
    (tmp_path / "odd" / "events.jsonl").mkdir(parents=True)
    report = load_report(tmp_path)
    assert len(report.summaries) == 1
    assert any(p.startswith(str(tmp_path / "odd" / "events.jsonl")) for p in report.problems)
    assert any(p.startswith(f"{tmp_path / 'binary' / 'events.jsonl'}:1: ") for p in report.problems)
    assert "Total" in text_of(render_report, report)


def test_a_flood_of_bad_lines_is_listed_up_to_a_bound_and_counted_beyond(tmp_path: Path) -> None:
    """Issue 13.8: a junk file with a million bad lines must not become a million notes."""
    file = tmp_path / "events.jsonl"
    file.write_text(
        "".join(_cost_line("junk") + "\n" for _ in range(500)) + _good_cost_line() + "\n",
        encoding="utf-8",
    )
    report = load_report(file)
    assert len(report.summaries) == 1
    assert len(report.problems) == MAX_NOTES and report.unlisted == 500 - MAX_NOTES
    assert report_to_json(report)["problems_unlisted"] == 500 - MAX_NOTES
    text = text_of(render_report, report)
    assert f"skipped {500 - MAX_NOTES} more (only the first {MAX_NOTES} are listed)" in text


def test_a_repeated_cost_line_counts_its_session_once(tmp_path: Path) -> None:
    """Issue 12.5: app-cli's logging can write every event twice; each session counts once."""
    good = _good_cost_line()
    once = load_report(root_file(FIXTURE))
    file = tmp_path / "s1" / "events.jsonl"
    file.parent.mkdir()
    file.write_text(f"{good}\n{good}\n", encoding="utf-8")
    copy = tmp_path / "s1-copy" / "events.jsonl"
    copy.parent.mkdir()
    copy.write_text(f"{good}\n", encoding="utf-8")
    twice = load_report(tmp_path)
    assert len(twice.summaries) == 1 and twice.repeats == 2
    combined, single = twice.combined, once.combined
    assert combined is not None and single is not None
    assert combined.sessions == 1
    assert combined.total == single.total
    assert report_to_json(twice)["repeats"] == 2
    assert "2 repeated model_router:cost line(s) counted once" in text_of(render_report, twice)


def test_a_session_with_two_different_cost_events_keeps_both(tmp_path: Path) -> None:
    """Only identical events of one session are repeats: a resumed session's second is kept."""
    record = json.loads(_good_cost_line())
    later = json.loads(_good_cost_line())
    later["data"]["agents"] = later["data"]["agents"][:1]
    file = tmp_path / "events.jsonl"
    file.write_text(f"{json.dumps(record)}\n{json.dumps(later)}\n", encoding="utf-8")
    report = load_report(file)
    assert len(report.summaries) == 2 and report.repeats == 0


def test_a_missing_path_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such events file") as caught:
        load_report(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(caught.value)


def test_a_folder_without_cost_events_says_so(tmp_path: Path) -> None:
    child = next(f for f in FIXTURE.rglob("events.jsonl") if f != root_file(FIXTURE))
    (tmp_path / "s1").mkdir()
    shutil.copy(child, tmp_path / "s1" / "events.jsonl")
    report = load_report(tmp_path)
    assert report.summaries == () and report.combined is None
    assert "No model_router:cost events" in text_of(render_report, report)
    assert report_to_json(report)["combined"] is None


# -- output ---------------------------------------------------------------------------------


def test_json_output_is_the_event_payload_with_its_time() -> None:
    file = root_file(FIXTURE)
    record = next(
        json.loads(line) for line in file.read_text().splitlines() if '"model_router:cost"' in line
    )
    report = load_report(file)
    out = json.loads(json.dumps(report_to_json(report)))
    (session,) = out["sessions"]
    assert session["timestamp"] == record["ts"] and session["session_id"] == record["session_id"]
    payload = {
        k: v for k, v in record["data"].items() if k != "parent_id"
    }  # a kernel default field
    assert {k: v for k, v in session.items() if k in payload} == payload
    assert out["combined"]["totals"] == session["totals"] and out["files"] == 1


def test_a_payload_caught_by_a_hook_reads_as_a_summary() -> None:
    record = next(
        json.loads(line)
        for line in root_file(FIXTURE).read_text().splitlines()
        if '"model_router:cost"' in line
    )
    as_hook_saw_it = {
        **record["data"],
        "session_id": record["session_id"],
        "timestamp": record["ts"],
    }
    summary = summary_from_event(as_hook_saw_it)
    assert summary == load_cost_events(FIXTURE)[0]


def test_the_table_shows_every_agent_unknown_costs_and_the_savings() -> None:
    (summary,) = load_cost_events(FIXTURE)
    text = text_of(render_cost_table, summary)
    for agent in summary.agents:
        assert agent.agent in text
    explorer_row = next(line for line in text.splitlines() if "model-router:explorer" in line)
    assert "unknown" in explorer_row and "$0.00" not in explorer_row.split("unknown")[0][-12:]
    total_row = next(line for line in text.splitlines() if line.strip().startswith("Total"))
    assert "+ ?" in total_row, "a total with an unpriced call is a lower bound"
    comparison = summary.comparison
    assert f"over the {comparison.calls} of {summary.total.calls} calls" in text
    assert f"Baseline: the same tokens on {scenario.ROOT_MODEL}" in text


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (None, "unknown"),
        (Decimal(0), "$0.00"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("0.0421"), "$0.0421"),
        (Decimal("0.000351"), "$0.00035"),
        (Decimal("-0.5"), "-$0.5000"),
    ],
)
def test_money_is_shown_with_enough_digits_to_compare(amount: Decimal | None, text: str) -> None:
    assert usd(amount) == text
