"""A bad settings file never switches routing off (issue 12.4).

A typo in one layer used to fail the module's mount: the kernel logged ``module:load_failed``
with a traceback and the session ran with no router at all. Now the layer is left out whole,
the session routes with the bundle's tiers and every valid layer, the user sees one line with
file, line and key, and the session records ``model_router:settings_error`` at its start,
after every hook (an app's logger included) is registered, so it lands in events.jsonl.
Checked in real ``AmplifierSession``s with a hook that writes events.jsonl as app-cli does.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from session_kit import BUNDLE, delegate_lines, router_hook, run
from test_cli import in_process

from amplifier_module_model_router import events
from amplifier_module_model_router.bundle.loader import agent_configs
from amplifier_module_model_router.offline import offline_mount_plan

TYPO = "model_router:\n  agents:\n    git-ops: strnog\n"
"""The typo of the issue: line 3, key model_router.agents.git-ops."""


def user_settings(text: str) -> Path:
    home = Path.home() / ".amplifier"
    home.mkdir(exist_ok=True)
    path = home / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def project_settings(cwd: Path, text: str) -> Path:
    (cwd / ".amplifier").mkdir(exist_ok=True)
    path = cwd / ".amplifier" / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def logged_plan(folder: Path) -> dict[str, Any]:
    """The bundle's router, then an events.jsonl writer mounted after it (as app-cli's
    hooks-logging registers after the modules mount)."""
    writer = {
        "module": "events-jsonl",
        "config": {"folder": str(folder), "additional_events": list(events.ALL_EVENTS)},
    }
    return offline_mount_plan(agent_configs(BUNDLE), hooks=[router_hook(), writer])


def written(folder: Path, session_id: str) -> list[dict[str, Any]]:
    file = folder / session_id / "events.jsonl"
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    "bad, line, key",
    [
        (TYPO, 3, "model_router.agents.git-ops"),
        ("model_router:\n  provider_order: [openai\n", 3, None),  # not YAML: found at the end
        ("model_router:\n  disabled_provders: [openai]\n", 2, "model_router.disabled_provders"),
    ],
    ids=["unknown tier", "broken yaml", "misspelt key"],
)
async def test_a_bad_user_settings_file_leaves_routing_on_with_the_other_layers(
    bad: str,
    line: int,
    key: str | None,
    isolated_settings: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = user_settings(bad)
    project_settings(isolated_settings, "model_router:\n  agents:\n    file-ops: strong\n")
    folder = tmp_path / "sessions"
    with caplog.at_level(logging.WARNING):
        result = await run(
            logged_plan(folder),
            delegate_lines(["git-ops", "file-ops"]),
            events=("model_router:resolved", "module:load_failed", events.SETTINGS_ERROR),
        )
    # routing is on: the bundle's tier for git-ops, the valid project layer for file-ops
    assert result.named("module:load_failed") == []
    assert result.resolved("git-ops")["tier"] == "budget"
    assert result.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]
    assert result.resolved("file-ops")["tier"] == "strong"
    # recorded once, in the root's events.jsonl, with file, line and key
    lines = written(folder, result.session_id)
    recorded = [r for r in lines if r["event"] == events.SETTINGS_ERROR]
    assert len(recorded) == 1, recorded
    data = recorded[0]["data"]
    assert (data["file"], data["line"]) == (str(user), line)
    if key is not None:
        assert data["key"] == key
    assert data["message"].startswith(f"{user}:{line}: ")
    # one clear line for the user, no traceback, even though children re-read the file
    warnings = [
        r for r in caplog.records if r.levelno >= logging.WARNING and str(user) in r.getMessage()
    ]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert warnings[0].getMessage().count("\n") == 0


async def test_a_settings_layer_that_names_a_tier_of_a_dropped_layer_is_dropped_too(
    isolated_settings: Path, tmp_path: Path
) -> None:
    """The user layer (bad) defines tier 'review'; the project layer sends git-ops there: with
    the user layer gone the project layer cannot apply either, and both are named."""
    user = user_settings(
        "model_router:\n  tiers:\n    review: [{provider: anthropic, model: 'claude-opus-*'}]\n"
        "  strict: maybe\n"
    )
    project = project_settings(isolated_settings, "model_router:\n  agents:\n    git-ops: review\n")
    folder = tmp_path / "sessions"
    result = await run(
        logged_plan(folder), delegate_lines(["git-ops"]), events=("model_router:resolved",)
    )
    assert result.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]
    files = [
        r["data"]["file"]
        for r in written(folder, result.session_id)
        if r["event"] == events.SETTINGS_ERROR
    ]
    assert files == [str(user), str(project)]


def test_the_settings_command_shows_the_same_error_and_what_a_session_uses(
    isolated_settings: Path,
) -> None:
    user = user_settings(TYPO)
    project_settings(isolated_settings, "model_router:\n  agents:\n    file-ops: strong\n")
    result = in_process("settings")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"error: {user}:3: model_router.agents.git-ops: unknown tier")
    assert "ignored" in lines[0]
    assert "agents.file-ops" in result.out and "agents.git-ops" not in result.out


async def test_the_session_and_the_cli_say_the_same_line(
    isolated_settings: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """README promises one line for a bad settings file: the session's warning and the CLI's
    ``error:`` line carry the same words, and the event's ``effect`` says the same."""
    user = user_settings(TYPO)
    folder = tmp_path / "sessions"
    with caplog.at_level(logging.WARNING):
        result = await run(logged_plan(folder), delegate_lines(["git-ops"]), events=())
    (warning,) = [r.getMessage() for r in caplog.records if str(user) in r.getMessage()]
    cli = in_process("settings")
    (line,) = cli.err.strip().splitlines()
    assert warning.removeprefix("model-router: ") == line.removeprefix("error: ")
    (event,) = [
        r["data"] for r in written(folder, result.session_id) if r["event"] == events.SETTINGS_ERROR
    ]
    assert line.endswith(f"({event['effect']})")
