"""Provider names in settings that are probably typos (issue 13.11), and what the header says
about providers the settings disabled."""

from __future__ import annotations

import logging

import pytest
from session_kit import delegate_lines, routed_plan, run
from test_cli import BUNDLE, in_process
from test_settings_errors import user_settings

from amplifier_module_model_router.cli.status import ExitStatus
from amplifier_module_model_router.resolve.preferences import parse_preferences
from amplifier_module_model_router.settings import SettingsLayer, effective_routing

TYPOS = (
    "model_router:\n  provider_order: [opneai, anthropic]\n"
    "  disabled_providers: [githb-copilot]\n"
)


def test_unknown_provider_names_are_warned_with_a_suggestion_and_nothing_is_refused() -> None:
    tiers = {"t": parse_preferences([{"provider": "anthropic", "model": "a"}])}
    layer = SettingsLayer(
        "user",
        "/home/me/.amplifier/settings.yaml",
        {
            "provider_order": ["opneai", "Anthropic", "google", "ollama"],
            "disabled_providers": ["githb-copilot"],
        },
        lines={"model_router.provider_order": 2, "model_router.disabled_providers": 3},
        section="model_router",
    )
    routing = effective_routing(tiers, [layer])
    assert routing.warnings == (
        "/home/me/.amplifier/settings.yaml:2: model_router.provider_order[0]: unknown provider "
        "'opneai'; did you mean 'openai'? (known: anthropic, azure-openai, gemini, "
        "github-copilot, ollama, openai, vllm)",
        "/home/me/.amplifier/settings.yaml:3: model_router.disabled_providers[0]: unknown "
        "provider 'githb-copilot'; did you mean 'github-copilot'? (known: anthropic, "
        "azure-openai, gemini, github-copilot, ollama, openai, vllm)",
    )
    # a warning, not an error: the order applies as written
    assert routing.provider_order == ("opneai", "Anthropic", "google", "ollama")


def test_a_provider_a_tier_names_is_known_even_if_amplifier_has_no_such_module() -> None:
    tiers = {"t": parse_preferences([{"provider": "my-proxy", "model": "a"}])}
    layer = SettingsLayer("user", "u.yaml", {"provider_order": ["my-proxy"]})
    assert effective_routing(tiers, [layer]).warnings == ()


@pytest.mark.parametrize("command", [("show",), ("explain", "git-ops"), ("settings",)])
def test_the_commands_print_the_warning_on_stderr_and_keep_status_0(
    command: tuple[str, ...],
) -> None:
    user = user_settings(TYPOS)
    result = in_process(*command, "--bundle", str(BUNDLE))
    assert result.code == ExitStatus.OK, result.err
    warnings = result.err.strip().splitlines()
    assert warnings == [
        f"warning: {user}:2: model_router.provider_order[0]: unknown provider 'opneai'; "
        "did you mean 'openai'? (known: anthropic, azure-openai, gemini, github-copilot, "
        "ollama, openai, vllm)",
        f"warning: {user}:3: model_router.disabled_providers[0]: unknown provider "
        "'githb-copilot'; did you mean 'github-copilot'? (known: anthropic, azure-openai, "
        "gemini, github-copilot, ollama, openai, vllm)",
    ]


async def test_a_session_logs_the_warning_once(caplog: pytest.LogCaptureFixture) -> None:
    user = user_settings(TYPOS)
    with caplog.at_level(logging.WARNING):
        await run(routed_plan(), delegate_lines(["git-ops", "file-ops"]))
    typos = [r.getMessage() for r in caplog.records if str(user) in r.getMessage()]
    assert len(typos) == 2 and "did you mean 'openai'" in typos[0]


def test_the_header_marks_a_disabled_provider_instead_of_listing_it_as_present() -> None:
    user_settings("model_router:\n  disabled_providers: [github-copilot]\n")
    result = in_process("show", "--bundle", str(BUNDLE))
    assert result.code == ExitStatus.OK, result.err
    header = result.out.splitlines()[1]
    assert header.startswith("providers ")
    assert "github-copilot (disabled by settings)" in header
    off = in_process("show", "--bundle", str(BUNDLE), "--no-settings").out.splitlines()[1]
    assert "disabled" not in off
