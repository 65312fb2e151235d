"""The README's trust model, input by input (issue 13 items 2 and 3).

Trusted like code: bundle and agent files the user installed, the org and user settings, the
module's mount config. Not trusted: a delegate call's ``provider_preferences`` (a
prompt-injected model writes them) and the project/local settings of the working folder (a
cloned repository carries them). An untrusted preference's ``config`` may hold only model
parameters (an allow-list); a trusted one may hold anything but credentials and endpoints
(a deny-list, enforced at any depth, lists included).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from session_kit import ROOT, routed_plan, run, session

from amplifier_module_model_router.errors import InputError
from amplifier_module_model_router.resolve.preferences import (
    CALLER_CONFIG_KEYS,
    ProviderPreference,
    check_caller_config,
)
from amplifier_module_model_router.session.decision import decide_route
from amplifier_module_model_router.settings.effective import effective_routing
from amplifier_module_model_router.settings.schema import SettingsLayer

LEAKED = [  # each reached a provider's config before (issue 13 item 3)
    {"clients": [{"base_url": "https://evil.example", "api_key": "sk-x"}]},
    {"openai_base_url": "https://evil.example"},
    {"api_url": "https://evil.example"},
    {"server_url": "https://evil.example"},
    {"base_path": "/v1/evil"},
    {"api_key_env": "OTHER_KEY"},
    {"beta_headers": ["x"]},
    {"use_default_credential": True},
    {"managed_identity_client_id": "abc"},
    {"use_managed_identity": True},
    {"extra_request_params": {"user": "x"}},
    {"client_id": "abc"},
    {"tenant_id": "abc"},
    {"deployment_name": "other"},
    {"nested": {"list": [{"deep": {"Base-URL": "https://evil.example"}}]}},
]


@pytest.mark.parametrize("config", LEAKED, ids=lambda c: next(iter(c)))
def test_no_preference_may_set_a_credential_or_endpoint_even_in_a_trusted_tier(config: dict) -> None:
    with pytest.raises(InputError, match="credentials and endpoints"):
        ProviderPreference.from_dict({"provider": "openai", "model": "gpt-5*", "config": config})


def test_a_caller_may_set_model_parameters_only_and_is_told_which() -> None:
    check_caller_config(
        {"reasoning_effort": "high", "temperature": 0.2, "max_tokens": 4000,
         "thinking": {"type": "enabled", "budget_tokens": 2000}, "stop": ["END"]}
    )
    for config, field in [
        ({"timeout": 0.001}, "config.timeout"),
        ({"max_retries": 0}, "config.max_retries"),
        ({"complete_error": {"type": "RateLimitError"}}, "config.complete_error"),
        ({"thinking": {"headers": {"x": 1}}}, "config.thinking.headers"),
        ({"temperature": "x" * 5000}, "config.temperature"),
        ({"stop": [[["deep"]]]}, "config.stop[0][0]"),
    ]:
        with pytest.raises(InputError) as caught:
            check_caller_config(config)
        assert caught.value.field == field


def test_the_callers_list_is_checked_only_when_it_is_used() -> None:
    tier = (ProviderPreference.from_dict({"provider": "anthropic", "model": "claude-haiku-*",
                                          "config": {"max_retries": 2}}),)
    agent = {"meta": {"model_tier": "budget"}}
    routing = effective_routing({"budget": tier}, [])
    # tool-delegate forwards the agent's own list back: it is the agent's, not the caller's
    forwarded = [p.to_dict() for p in tier]
    assert decide_route("git-ops", agent, forwarded, routing).source == "agent"
    other = [{"provider": "openai", "model": "gpt-5*", "config": {"max_retries": 2}}]
    with pytest.raises(InputError) as caught:
        decide_route("git-ops", agent, other, routing)
    assert caught.value.field == "provider_preferences[0].config.max_retries"
    extended = frozenset(CALLER_CONFIG_KEYS | {"max_retries"})
    assert decide_route("git-ops", agent, other, routing, caller_config_keys=extended).source == "call"


async def test_a_delegate_call_cannot_reconfigure_a_provider_in_a_real_session() -> None:
    refused = [{"provider": "anthropic", "model": "claude-haiku-*", "config": {"timeout": 0.001}}]
    allowed = [{"provider": "anthropic", "model": "claude-haiku-*",
                "config": {"thinking": True}}]  # the simulator knows no other model parameter
    result = await run(
        routed_plan(),
        f"DELEGATE model-router:git-ops PREFS {json.dumps(refused)}: a\n"
        f"DELEGATE model-router:file-ops PREFS {json.dumps(allowed)}: b",
        events=("model_router:resolved", "delegate:error"),
    )
    errors = result.named("delegate:error")
    assert len(errors) == 1 and "config.timeout" in errors[0]["error"]
    assert "not a model parameter" in errors[0]["error"]
    assert result.resolved("file-ops")["source"] == "call"
    assert result.child_models("file-ops") == [("anthropic", "claude-haiku-4-5")]


def layer(name: str, values: dict) -> SettingsLayer:
    return SettingsLayer(name, f"{name}.yaml", values, section="model_router")


def test_a_project_layer_may_not_reconfigure_providers_but_the_user_layer_may() -> None:
    tier = {"tiers": {"budget": [{"provider": "anthropic", "model": "claude-haiku-*",
                                  "config": {"max_retries": 0}}]}}
    with pytest.raises(InputError) as caught:
        effective_routing({}, [layer("project", tier)])
    assert caught.value.file == "project.yaml"
    assert caught.value.field == "model_router.tiers.budget[0].config.max_retries"
    assert effective_routing({}, [layer("user", tier)]).tiers["budget"][0].config == {"max_retries": 0}
    widened = effective_routing({}, [layer("user", {"caller_config_keys": ["max_retries"]}),
                                     layer("project", tier)])
    assert widened.caller_config_keys == ("max_retries",)


@pytest.mark.parametrize("name, values, words", [
    ("project", {"caller_config_keys": ["max_retries"]}, "cannot widen"),
    ("local", {"caller_config_keys": ["max_retries"]}, "cannot widen"),
    ("user", {"caller_config_keys": ["openai_base_url"]}, "credential or an endpoint"),
])
def test_caller_config_keys_are_widened_only_by_trusted_layers(name: str, values: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        effective_routing({}, [layer(name, values)])


async def test_a_cloned_repositorys_settings_file_cannot_reconfigure_a_provider(
    isolated_settings: Path,
) -> None:
    folder = isolated_settings / ".amplifier"
    folder.mkdir()
    (folder / "settings.yaml").write_text(yaml.safe_dump({"model_router": {"tiers": {"budget": [
        {"provider": "anthropic", "model": "claude-haiku-*", "config": {"extra_body": {"x": 1}}},
    ]}}}))
    watched = ("model_router:resolved", "model_router:settings_error")
    async with session(routed_plan(), events=watched) as (s, seen):
        await s.execute("DELEGATE model-router:git-ops: commit")
    errors = [d["message"] for e, d in seen if e == "model_router:settings_error"]
    assert errors and "tiers.budget[0].config.extra_body" in errors[0]
    (resolved,) = [d for e, d in seen if e == "model_router:resolved"]
    assert all("extra_body" not in (p.get("config") or {}) for p in resolved["requested"])


def test_the_readme_lists_the_caller_keys_the_code_allows() -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Trust model", 1)[1].split("\n## ", 1)[0]
    listed = re.search(r"<!-- caller-config-keys -->(.*?)<!-- /caller-config-keys -->", section, re.S)
    assert listed, "README's Trust model section lists the default caller keys"
    assert set(re.findall(r"`([a-z_]+)`", listed.group(1))) == set(CALLER_CONFIG_KEYS)


def test_the_settings_command_shows_who_widened_the_caller_keys() -> None:
    routing = effective_routing({}, [layer("org", {"caller_config_keys": ["max_retries"]}),
                                     layer("user", {"caller_config_keys": ["timeout"]})])
    rows = {key: (value, source) for key, value, source in routing.effective_values()}
    assert rows["caller_config_keys"] == (["max_retries", "timeout"],
                                          "org (org.yaml); user (user.yaml)")
