"""Settings layers reach real sessions: re-tiering, inherit, self, patterns, provider order."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from session_kit import BUNDLE, delegate_lines, routed_plan, run, session

from amplifier_module_model_router.bundle.loader import agent_configs
from amplifier_module_model_router.offline import RECORDER


def project_settings(cwd: Path, values: dict) -> None:
    folder = cwd / ".amplifier"
    folder.mkdir(exist_ok=True)
    (folder / "settings.yaml").write_text(yaml.safe_dump({"model_router": values}))


async def test_project_settings_retier_inherit_and_give_self_a_tier(isolated_settings: Path) -> None:
    project_settings(
        isolated_settings,
        {
            "agents": {"git-ops": "strong", "file-ops": "inherit", "self": "budget"},
        },
    )
    result = await run(
        routed_plan(session_model="openai/gpt-5.5"),
        delegate_lines(["git-ops", "file-ops", "shell-exec", "self"]),
    )

    assert result.child_models("git-ops") == [("anthropic", "claude-sonnet-5")]
    assert result.child_models("file-ops") == [("openai", "gpt-5.5")]  # back to the parent's model
    assert result.resolved("file-ops")["source"] == "inherit"
    assert result.child_models("shell-exec") == [("anthropic", "claude-haiku-4-5")]  # untouched
    assert result.child_models("self") == [("anthropic", "claude-haiku-4-5")]
    assert result.resolved("self")["tier"] == "budget"


async def test_inherit_also_clears_what_tool_delegate_would_forward(isolated_settings: Path) -> None:
    project_settings(isolated_settings, {"agents": {"file-ops": "inherit"}})
    async with session(routed_plan()) as (s, _):
        await s.execute("plain turn: session:start has run")
        live = s.coordinator.config["agents"]["model-router:file-ops"]
    assert "provider_preferences" not in live


async def test_patterns_and_default_tier_route_other_bundles_agents(isolated_settings: Path) -> None:
    project_settings(
        isolated_settings,
        {
            "agent_patterns": {"recipes:*": "strong-code"},
            "default_tier": "budget",
        },
    )
    agents = agent_configs(BUNDLE)
    agents["recipes:runner"] = {"instruction": "run the recipe"}
    agents["other:helper"] = {"instruction": "help"}
    result = await run(
        routed_plan(agents=agents, session_model="anthropic/claude-opus-4-8"),
        "DELEGATE recipes:runner: go\nDELEGATE other:helper: go",
    )

    assert result.child_models("recipes:runner") == [("anthropic", "claude-sonnet-5")]
    assert result.resolved("recipes:runner")["tier"] == "strong-code"
    assert result.child_models("other:helper") == [("anthropic", "claude-haiku-4-5")]


async def test_provider_order_and_disabled_providers_from_the_user_layer(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    amp_home = tmp_path / "amp-home"
    amp_home.mkdir()
    (amp_home / "settings.yaml").write_text(
        yaml.safe_dump(
            {
                "model_router": {
                    "provider_order": ["gemini"],
                    "disabled_providers": ["openai"],
                }
            }
        )
    )
    monkeypatch.setenv("AMPLIFIER_HOME", str(amp_home))
    result = await run(routed_plan(), delegate_lines(["git-ops", "zen-architect"]))

    assert result.child_models("git-ops") == [("gemini", "gemini-3.1-flash-lite")]
    assert result.child_models("zen-architect") == [("gemini", "gemini-3.1-pro-preview")]
    requested = {p["provider"] for p in result.resolved("zen-architect")["requested"]}
    assert "openai" not in requested


async def test_a_bad_settings_file_leaves_the_session_routed(isolated_settings: Path) -> None:
    """The mount no longer fails (issue 12.4): tests/test_settings_errors.py has the details."""
    project_settings(isolated_settings, {"agents": {"git-ops": "strnog"}})
    watched = ("module:load_failed", "model_router:resolved", "model_router:settings_error")
    async with session(routed_plan(), events=watched) as (s, seen):
        await s.execute("DELEGATE model-router:git-ops: commit")
    assert [e for e, _ in seen if e == "module:load_failed"] == []
    (error,) = [d for e, d in seen if e == "model_router:settings_error"]
    assert "strnog" in error["message"] and error["file"].endswith("settings.yaml")
    (resolved,) = [d for e, d in seen if e == "model_router:resolved"]
    assert resolved["tier"] == "budget"
