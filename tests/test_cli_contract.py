"""What every ``amplifier-model-router`` command keeps alike: exit statuses, streams, options.

README's exit-status table is parsed and compared with the statuses the commands really
return; each row has a command that reaches it here, through click's runner and through a
real process (the broken pipe needs a real one).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import BUNDLE, ROOT, SCRIPT, in_process, in_subprocess

from amplifier_module_model_router.cli.status import ExitStatus

README = ROOT / "README.md"

NO_HAIKU_CATALOG = """\
date: 2026-11
providers:
  anthropic:
    models:
      - {id: claude-sonnet-4-6, context_window: 200000, max_output_tokens: 64000}
      - {id: claude-opus-4-8, context_window: 200000, max_output_tokens: 64000}
"""
"""Only Anthropic, without a Haiku: the budget tier resolves nothing and inherits."""


def readme_exit_statuses() -> dict[int, str]:
    """``{status: meaning}`` from README's "Exit status" table."""
    text = README.read_text(encoding="utf-8")
    start = text.index("### Exit status")
    end = text.index("\n#", start + 1)
    rows = re.findall(r"^\| `?(\d+)`? \| (.+?) \|$", text[start:end], re.M)
    return {int(code): meaning for code, meaning in rows}


def test_readme_exit_status_table_is_the_one_the_commands_keep() -> None:
    assert set(readme_exit_statuses()) == {status.value for status in ExitStatus}


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "missing/bundle.md"),
        ("show", "missing/bundle.md"),
        ("explain", "git-ops", "--bundle", "missing/bundle.md"),
        ("settings", "--bundle", "missing/bundle.md"),
        ("validate", "missing/bundle.md"),
        ("report", "missing/events.jsonl"),
    ],
    ids=lambda args: args[0],
)
def test_bad_input_is_one_line_on_stderr_and_status_2_in_every_command(
    args: tuple[str, ...],
) -> None:
    result = in_process(*args)
    assert result.code == ExitStatus.BAD_INPUT and result.out == "", result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "missing" in lines[0]


def test_report_with_nothing_to_report_is_status_3(tmp_path: Path) -> None:
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "events.jsonl").write_text('{"event": "session:start"}\n')
    result = in_process("report", str(tmp_path))
    assert result.code == ExitStatus.INCOMPLETE
    assert "No model_router:cost events" in result.out


def test_verify_with_unresolved_agents_is_3_and_a_wrong_model_stays_1(tmp_path: Path) -> None:
    catalog = tmp_path / "no-haiku.yaml"
    catalog.write_text(NO_HAIKU_CATALOG, encoding="utf-8")
    result = in_process("verify", str(BUNDLE), "--catalog", str(catalog))
    assert "17/17 correct · 0 errors · 5 unresolved" in result.out
    assert result.code == ExitStatus.INCOMPLETE
    # (a wrong model is status 1: test_cli.test_verify_flags_a_model_other_than_expected)


@pytest.mark.parametrize(
    "args",
    [("verify",), ("show",), ("explain", "git-ops"), ("settings",), ("validate", str(BUNDLE))],
    ids=lambda args: args[0],
)
def test_a_closed_pipe_ends_quietly_with_the_shells_sigpipe_status(args: tuple[str, ...]) -> None:
    """``verify | head -1``: the reader is gone before the output; no traceback, status 141."""
    command = (
        [str(SCRIPT)]
        if SCRIPT.exists()
        else [sys.executable, "-m", "amplifier_module_model_router.cli"]
    )
    process = subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader leaves before anything is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == ExitStatus.BROKEN_PIPE, err
    assert err == ""


def test_usage_errors_are_status_2_on_stderr_too() -> None:
    result = in_subprocess("explain")  # missing AGENT: click's own usage error
    assert result.code == ExitStatus.BAD_INPUT and result.out == ""
    assert "AGENT" in result.err
