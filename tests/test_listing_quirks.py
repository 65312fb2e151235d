"""Anthropic's default listing (one id per family) is reported, never silent (issue 16, defect 1).

A real session mounts a stand-in for provider-anthropic (module id ``provider-anthropic``, an
importable package made for the test) whose ``list_models()`` returns what the real module does
with its default ``filtered: true`` for a catalog holding claude-opus-4-9 and 4-10: only 4-9.
"""

from __future__ import annotations

import textwrap

import pytest
from session_kit import WATCHED, delegate_lines, routed_plan, run

from amplifier_module_model_router.events import LISTING_QUIRK
from amplifier_module_model_router.resolve.quirks import listing_quirks, quirk_notes

STAND_IN = '''
"""provider-anthropic stand-in: lists as the real module does with filtered: true/false."""
from amplifier_core import ModelInfo

FULL = ["claude-opus-4-9", "claude-opus-4-10", "claude-sonnet-5", "claude-haiku-4-5"]


class Provider:
    name = "anthropic"

    def __init__(self, config):
        self.config = config
        self.priority = config.get("priority", 100)

    def get_info(self):
        return {"id": "anthropic", "display_name": "stand-in"}

    async def list_models(self):
        ids = FULL
        if self.config.get("filtered", True):  # one per family, plain string sort
            best = {}
            for i in FULL:
                family = i.split("-")[1]
                best[family] = max(best.get(family, ""), i)
            ids = list(best.values())
        return [ModelInfo(id=i, display_name=i, context_window=200000, max_output_tokens=64000)
                for i in ids]

    async def complete(self, request, **kwargs):
        raise RuntimeError("not used")

    def parse_tool_calls(self, response):
        return []


async def mount(coordinator, config=None):
    await coordinator.mount("providers", Provider(config or {}), name="anthropic")
'''


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    package = tmp_path / "amplifier_module_provider_anthropic"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(STAND_IN))
    monkeypatch.syspath_prepend(str(tmp_path))


def plan_with_anthropic(config: dict) -> dict:
    plan = routed_plan(providers=("openai",))
    plan["providers"].append({"module": "provider-anthropic", "config": {"priority": 500, **config}})
    return plan


async def test_the_default_listing_is_reported_once_with_the_fix(stand_in) -> None:
    result = await run(plan_with_anthropic({}), "hello", events=(*WATCHED, LISTING_QUIRK))
    quirks = [data for event, data in result.events if event == LISTING_QUIRK]
    assert len(quirks) == 1
    assert quirks[0]["provider"] == "anthropic" and quirks[0]["setting"] == "filtered"
    assert "`filtered: false`" in quirks[0]["fix"] and "one model per family" in quirks[0]["quirk"]


async def test_filtered_false_is_quiet_and_frontier_gets_the_newest_opus(stand_in) -> None:
    plan = plan_with_anthropic({"filtered": False})
    result = await run(plan, delegate_lines(["zen-architect"]), events=(*WATCHED, LISTING_QUIRK))
    assert [e for e, _ in result.events if e == LISTING_QUIRK] == []
    resolved = result.resolved("zen-architect")
    assert (resolved["provider"], resolved["model"]) == ("anthropic", "claude-opus-4-10")


async def test_filtered_routes_to_what_the_provider_lists_and_says_so(stand_in) -> None:
    result = await run(plan_with_anthropic({}), delegate_lines(["zen-architect"]), events=(*WATCHED, LISTING_QUIRK))
    resolved = result.resolved("zen-architect")
    assert (resolved["provider"], resolved["model"]) == ("anthropic", "claude-opus-4-9")
    assert len(result.named(LISTING_QUIRK)) == 1


def test_the_rule_reads_the_documented_setting_only() -> None:
    assert [q.provider for q in listing_quirks([{"module": "provider-anthropic"}])] == ["anthropic"]
    assert listing_quirks([{"module": "provider-anthropic", "config": {"filtered": "false"}}]) == ()
    assert listing_quirks([{"module": "provider-openai"}, "junk", None]) == ()
    named = listing_quirks([{"module": "anthropic", "instance_id": "claude-work", "config": {"filtered": True}}])
    assert named[0].provider == "claude-work" and "claude-work provider's config" in named[0].fix
    assert quirk_notes(["openai", "gemini"]) == () and len(quirk_notes(["anthropic"])) == 1


@pytest.mark.parametrize("command", [["verify"], ["explain", "zen-architect"], ["settings"], ["show"]])
def test_the_cli_states_the_quirk_and_its_fix(command: list[str], isolated_settings) -> None:
    from click.testing import CliRunner

    from amplifier_module_model_router.cli.commands import main

    result = CliRunner().invoke(main, command, catch_exceptions=False)
    flat = " ".join(result.output.split())
    assert "one model per family" in flat and "`filtered: false`" in flat, result.output


# -- the CLI reads the user's provider config where Amplifier keeps it -------------------------


def amplifier_settings(folder, providers: list) -> None:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.yaml").write_text(yaml.safe_dump({"config": {"providers": providers}}))


def cli(*args: str) -> str:
    from click.testing import CliRunner

    from amplifier_module_model_router.cli.commands import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


ANTHROPIC_FULL = {"module": "provider-anthropic", "config": {"filtered": False, "default_model": "claude-sonnet-5"}}


@pytest.mark.parametrize("command", [["explain", "zen-architect"], ["settings"], ["show"], ["verify", "--settings"]])
def test_no_note_when_the_users_amplifier_settings_already_list_everything(command: list[str], isolated_settings) -> None:
    import os
    from pathlib import Path

    amplifier_settings(Path(os.environ["HOME"]) / ".amplifier", [ANTHROPIC_FULL])
    assert "one model per family" not in cli(*command)


def test_the_readmes_settings_snippet_silences_the_note_and_a_top_level_providers_does_not(isolated_settings) -> None:
    """README's fix, pasted into ~/.amplifier/settings.yaml as it is, works; the bundle form
    (a top-level ``providers:``) is not where Amplifier keeps provider entries in that file."""
    import os
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"Set it in your provider config.*?```yaml\n(.*?)```", readme, re.S)
    assert snippet is not None
    settings = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(snippet.group(1))
    assert "one model per family" not in cli("show")
    settings.write_text("providers:\n  - module: provider-anthropic\n    config: {filtered: false}\n")
    assert "if your anthropic provider's config lacks `filtered: false`, add it" in cli("show")


def test_verify_ignores_settings_files_so_it_keeps_the_conditional_note(isolated_settings) -> None:
    import os
    from pathlib import Path

    amplifier_settings(Path(os.environ["HOME"]) / ".amplifier", [ANTHROPIC_FULL])
    assert "if your anthropic provider's config lacks `filtered: false`, add it" in cli("verify")


def test_a_project_that_turns_filtering_back_on_gets_the_definite_fix(isolated_settings) -> None:
    import os
    from pathlib import Path

    amplifier_settings(Path(os.environ["HOME"]) / ".amplifier", [ANTHROPIC_FULL])
    amplifier_settings(isolated_settings / ".amplifier", [{"module": "provider-anthropic", "config": {"filtered": True}}])
    out = cli("show")
    assert ("anthropic: provider-anthropic lists one model per family" in out
            and "set `filtered: false` in the anthropic provider's config (in your Amplifier settings' config.providers)" in out)


def test_provider_entries_merge_as_app_cli_merges_them(tmp_path) -> None:
    from amplifier_module_model_router.settings.app_providers import amplifier_providers

    home, work = tmp_path / "home", tmp_path / "work"
    amplifier_settings(home / ".amplifier", [
        {"module": "provider-anthropic", "config": {"filtered": False, "priority": 1}},
        {"module": "provider-anthropic", "id": "claude-work", "config": {"filtered": True}},
        "junk",
    ])
    amplifier_settings(work / ".amplifier", [{"module": "provider-anthropic", "config": {"priority": 5}}])
    (work / ".amplifier" / "settings.local.yaml").write_text("config: {providers: [\n")  # malformed: says nothing
    entries = amplifier_providers(cwd=work, env={}, home=home)
    assert entries == (
        {"module": "provider-anthropic", "config": {"filtered": False, "priority": 5}},
        {"module": "provider-anthropic", "id": "claude-work", "config": {"filtered": True}},
    )
    assert [q.provider for q in listing_quirks(entries)] == ["claude-work"]
