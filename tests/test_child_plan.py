"""The child's mount plan, read from inside real child sessions (the ``event-tap`` hook keeps
each session's live plan): what the spawner changes, and what it must leave alone."""

from __future__ import annotations

import copy

import amplifier_module_event_tap as tap
import pytest
from session_kit import NS, delegate_lines, routed_plan, session

from amplifier_module_model_router.errors import InputError
from amplifier_module_model_router.resolve.preferences import ProviderPreference
from amplifier_module_model_router.session.child_plan import promote_provider


def tapped_plan(**kwargs) -> dict:
    plan = routed_plan(session_model="anthropic/claude-opus-4-8", **kwargs)
    plan["hooks"].append({"module": "event-tap", "config": {"plans": True}})
    tap.PLANS.clear()
    return plan


def provider_config(plan: dict, name: str) -> dict:
    return next(e["config"] for e in plan["providers"] if e["instance_id"] == name)


def child_plans(parent_id: str) -> dict[str, dict]:
    return {sid: plan for sid, plan in tap.PLANS.items() if sid != parent_id}


async def test_a_spawn_leaves_the_parents_plan_and_live_agents_untouched() -> None:
    plan = tapped_plan(extra={"session": {"orchestrator": {"config": {"max_iterations": 20}}}})
    before = copy.deepcopy(plan)
    async with session(plan) as (s, _):
        await s.execute("a first turn")
        agents = s.coordinator.config["agents"]
        # an agent added while the session runs (an app's mode, say): the parent's session:start
        # is over, so it carries no chain; each child's model-router writes one into its copy
        agents[f"{NS}late-comer"] = {"name": f"{NS}late-comer", "model_tier": "budget"}
        await s.execute(delegate_lines(["git-ops", "zen-architect", "self"]))

        assert "provider_preferences" not in agents[f"{NS}late-comer"]
        del agents[f"{NS}late-comer"]
        assert s.coordinator.config == before
        children = child_plans(s.session_id)

    assert len(children) == 3
    for child in children.values():
        assert child["agents"][f"{NS}late-comer"]["provider_preferences"], "the child wrote its own copy"
        assert child["session"]["metadata"]["agent_name"] in {f"{NS}git-ops", f"{NS}zen-architect", "self"}
        assert child["session"]["orchestrator"]["config"]["max_iterations"] == 20
        for mine, theirs in zip(child["providers"], plan["providers"], strict=True):
            assert mine is not theirs and mine["config"] is not theirs["config"]
        for name, cfg in child["agents"].items():
            assert name not in plan["agents"] or cfg is not plan["agents"][name]


async def test_a_fallback_chain_runs_its_providers_with_lowered_internal_retries() -> None:
    async with session(tapped_plan()) as (s, _):
        await s.execute(delegate_lines(["git-ops"]))
        (child,) = child_plans(s.session_id).values()
    # git-ops' budget chain spans all four providers; each retries once, briefly, inside itself
    for name in ("anthropic", "openai", "gemini", "github-copilot"):
        config = provider_config(child, name)
        assert (config["max_retries"], config["max_retry_delay"]) == (1, 5.0), name
    assert provider_config(child, "anthropic")["priority"] == 0


async def test_without_failover_the_providers_keep_their_own_retries() -> None:
    async with session(tapped_plan(hook_options={"failover": False})) as (s, _):
        await s.execute(delegate_lines(["git-ops"]))
        (child,) = child_plans(s.session_id).values()
    assert all("max_retries" not in e["config"] for e in child["providers"])


@pytest.mark.parametrize("key", ["api_key", "base_url", "azure_openai_api_key", "Session-Token"])
async def test_a_preference_built_in_code_never_moves_credentials_or_endpoints(key: str) -> None:
    """A ProviderPreference constructed directly skips ``from_dict``'s validation; passed to
    ``session.spawn`` it is a caller's preference (untrusted, README "Trust model"): the spawn
    is refused naming the key, and no child runs with it."""
    preference = ProviderPreference("openai", "gpt-5.5", {key: "sk-stolen", "max_retry_delay": 2.0})
    async with session(tapped_plan()) as (s, _):
        await s.execute("a first turn")  # session:start: the router's spawner is registered
        spawn = s.coordinator.get_capability("session.spawn")
        before = set(tap.PLANS)
        with pytest.raises(InputError) as caught:
            await spawn(
                agent_name=f"{NS}git-ops",
                instruction="commit",
                parent_session=s,
                provider_preferences=[preference],
            )
    assert caught.value.field == f"provider_preferences[0].config.{key}"
    assert set(tap.PLANS) == before


def test_the_child_plan_never_takes_credentials_from_a_preference_config() -> None:
    """Defense in depth below the trust checks: promotion merges only harmless keys."""
    plan = {"providers": [{"module": "provider-openai", "instance_id": "openai",
                           "config": {"api_key": "mine"}}]}
    assert promote_provider(plan, "openai", "gpt-5.5", {"api_key": "stolen", "max_retry_delay": 2.0})
    config = plan["providers"][0]["config"]
    assert (config["api_key"], config["max_retry_delay"], config["priority"]) == ("mine", 2.0, 0)
