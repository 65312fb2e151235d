"""What every ``amplifier-model-router`` command keeps alike: exit statuses, streams, options.

README's exit-status table is parsed and compared with the statuses the commands really
return; each row has a command that reaches it here, through click's runner and through a
real process (the broken pipe needs a real one).
"""

from __future__ import annotations

import json
import os
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


# -- one way to name the bundle, the agent -------------------------------------------------------

DERIVED = ROOT / "bundles" / "amplifier-dev.md"


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "--bundle", "{b}"),
        ("show", "--bundle", "{b}"),
        ("explain", "git-ops", "--bundle", "{b}"),
        ("settings", "--bundle", "{b}"),
        ("validate", "--bundle", "{b}"),
        ("verify", "-b", "{b}"),
        ("validate", "{b}"),
        ("show", "{b}"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_every_command_takes_the_bundle_as_dash_dash_bundle(args: tuple[str, ...]) -> None:
    """Issue 13.12: ``--bundle`` everywhere; the positional BUNDLE stays where it was."""
    result = in_process(*(arg.format(b=DERIVED) for arg in args), "--json")
    assert result.code == ExitStatus.OK, result.err
    missing = in_process(*(arg.format(b="elsewhere/derived.md") for arg in args))
    assert missing.code == ExitStatus.BAD_INPUT and "elsewhere/derived.md" in missing.err


def test_two_different_bundles_are_a_usage_error() -> None:
    result = in_process("show", str(BUNDLE), "--bundle", str(DERIVED))
    assert result.code == ExitStatus.BAD_INPUT and result.out == ""
    assert "two bundles given" in result.err


def test_validate_json_lists_every_error_with_its_location(tmp_path: Path) -> None:
    bundle = write_derived_with_three_errors(tmp_path)
    result = in_process("validate", str(bundle), "--json")
    assert result.code == ExitStatus.PROBLEM
    data = json.loads(result.out)
    assert data["ok"] is False and data["summary"] == "3 errors"
    located = {(e["file"].rsplit("/", 1)[-1], e["agent"], e["field"]) for e in data["errors"]}
    assert located == {
        ("b.md", "b", "provider_preferences[0]"),
        ("a.md", "a", "meta.model_tier"),
        ("bundle.md", "git-ops", "agents.model-router:git-ops.model_tier"),
    }
    ok = json.loads(in_process("validate", str(BUNDLE), "--json").out)
    assert ok["ok"] is True and ok["errors"] == [] and ok["agents"] == 16


def write_derived_with_three_errors(tmp_path: Path) -> Path:
    """A derived bundle: an unknown tier in its agent file and in its overlay of git-ops,
    and an agent file with a preference missing its model."""
    folder = tmp_path / "derived"
    (folder / "agents").mkdir(parents=True)
    (folder / "bundle.md").write_text(
        "---\nbundle: {name: mine, version: 1.0.0}\n"
        f"includes:\n  - bundle: {BUNDLE.as_uri()}\n"
        "agents:\n  include: [mine:a, mine:b]\n  model-router:git-ops: {model_tier: strnog}\n---\n",
        encoding="utf-8",
    )
    agent = "---\nmeta:\n  name: {name}\n  description: x\n{extra}---\nDo.\n"
    (folder / "agents" / "a.md").write_text(
        agent.format(name="a", extra="  model_tier: bogus\n"), encoding="utf-8"
    )
    (folder / "agents" / "b.md").write_text(
        agent.format(name="b", extra="provider_preferences:\n  - {provider: openai}\n"),
        encoding="utf-8",
    )
    return folder / "bundle.md"


def test_validate_lists_every_error_of_a_derived_bundle_in_one_run(tmp_path: Path) -> None:
    """Issue 13.12: the unknown tiers of a derived bundle's agents were missed until a rerun."""
    result = in_process("validate", str(write_derived_with_three_errors(tmp_path)))
    errors = [line for line in result.out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, result.out
    assert any("unknown tier 'strnog'" in e for e in errors)
    assert any("unknown tier 'bogus'" in e for e in errors)
    assert result.out.strip().endswith("3 errors") and result.code == ExitStatus.PROBLEM


@pytest.mark.parametrize(
    "typed, meant",
    [("bogusns:git-ops", "model-router:git-ops"), ("foundation:explorer", "model-router:explorer")],
)
def test_explain_never_explains_another_agent_than_the_one_named(typed: str, meant: str) -> None:
    result = in_process("explain", typed, "--bundle", str(BUNDLE))
    assert result.code == ExitStatus.BAD_INPUT and result.out == ""
    assert f"unknown agent '{typed}'" in result.err and f"did you mean {meant}?" in result.err


def test_explain_a_foreign_agent_that_settings_route_is_that_agent(tmp_path: Path) -> None:
    user = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    user.parent.mkdir()
    user.write_text("model_router:\n  agents:\n    explorer: budget\n", encoding="utf-8")
    result = in_process("explain", "foundation:explorer", "--bundle", str(BUNDLE))
    assert result.code == ExitStatus.OK, result.err
    assert "foundation:explorer · tier budget" in result.out


@pytest.mark.parametrize("typed", ["GIT-OPS", "Model-Router:Git-Ops", "SELF"])
def test_explain_matches_names_case_insensitively(typed: str) -> None:
    result = in_process("explain", typed, "--bundle", str(BUNDLE))
    assert result.code == ExitStatus.OK, result.err
    expected = "self" if typed == "SELF" else "model-router:git-ops"
    assert f"{expected} · tier" in result.out


def test_explain_a_typo_suggests_the_closest_agents() -> None:
    result = in_process("explain", "gti-ops", "--bundle", str(BUNDLE))
    assert result.code == ExitStatus.BAD_INPUT
    assert "did you mean model-router:git-ops" in result.err


def test_validate_of_a_bundle_made_only_of_unread_includes_is_not_ok(tmp_path: Path) -> None:
    """A bundle whose agents and tiers all come from includes the loader cannot read offline
    checked nothing: the summary says so and the status is 3, never a bare "ok"."""
    bundle = tmp_path / "ns.md"
    bundle.write_text(
        "---\nbundle:\n  name: mine\n  version: 0.1.0\nincludes:\n"
        "  - bundle: model-router:behaviors/model-router\n---\nmine\n",
        encoding="utf-8",
    )
    result = in_process("validate", str(bundle))
    assert result.code == ExitStatus.INCOMPLETE, result.out
    assert result.out.startswith("nothing checked:") and "not read:" in result.out
    as_json = json.loads(in_process("validate", "--json", str(bundle)).out)
    assert as_json["ok"] is True and as_json["checked_nothing"] is True
    assert in_process("validate", str(BUNDLE)).code == ExitStatus.OK
