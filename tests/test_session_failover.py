"""Runtime failover through real delegations: the chain stays alive after the spawn.

The parent runs on OpenAI; Anthropic (first in every tier) misbehaves inside the children.
The ``event-tap`` test hook rides along into every child, so events emitted inside a child
(``model_router:failover``) are visible here.
"""

from __future__ import annotations

import json

import amplifier_module_event_tap as tap
from session_kit import AppCliStandIn, delegate_lines, routed_plan, run

from amplifier_module_model_router.offline import RECORDER

TAPPED = ["model_router:failover", "model_router:resolved"]


def plan_with(anthropic_fault: dict, **kwargs):
    plan = routed_plan(
        session_model="openai/gpt-5.5",
        provider_config={"anthropic": {"complete_error": anthropic_fault}},
        **kwargs,
    )
    plan["hooks"].append({"module": "event-tap", "config": {"events": TAPPED}})
    tap.TAP.clear()
    return plan


def tapped(event: str) -> list[dict]:
    return [data for _, name, data in tap.TAP if name == event]


async def test_a_429_mid_run_ends_on_the_next_candidate_with_one_failover_event() -> None:
    result = await run(plan_with({"type": "RateLimitError", "retry_after": 40}), delegate_lines(["git-ops"]))

    sub = result.resolved("git-ops")["sub_session_id"]
    calls = [(c.provider, c.model, c.error is not None) for c in RECORDER.completions(session_id=sub)]
    assert calls == [("anthropic", "claude-haiku-4-5", True), ("openai", "gpt-5-mini", False)]
    failovers = tapped("model_router:failover")
    assert len(failovers) == 1
    event = failovers[0]
    assert event["agent"] == "model-router:git-ops"
    assert event["from"] == {"provider": "anthropic", "model": "claude-haiku-4-5"}
    assert event["to"] == {"provider": "openai", "model": "gpt-5-mini"}
    assert event["error_type"] == "RateLimitError"
    assert event["cooldown_s"] == 40
    assert "[openai/gpt-5-mini]" in result.output


async def test_siblings_during_the_cooldown_never_call_the_cooled_candidate() -> None:
    plan = plan_with({"type": "RateLimitError", "retry_after": 120})
    first = await run(plan, delegate_lines(["git-ops"]))
    second = await run(plan, delegate_lines(["file-ops", "shell-exec"]))

    anthropic_calls = [c for c in RECORDER.completions(provider="anthropic")]
    assert len(anthropic_calls) == 1  # only the very first child met the 429
    for agent in ("file-ops", "shell-exec"):
        event = second.resolved(agent)
        assert (event["provider"], event["model"]) == ("openai", "gpt-5-mini")
        assert any("cool" in s["reason"] for s in event["skipped"]), event["skipped"]
        assert second.child_models(agent) == [("openai", "gpt-5-mini")]
    assert first.child_models("git-ops")[-1] == ("openai", "gpt-5-mini")


async def test_a_context_length_error_is_not_failed_over() -> None:
    result = await run(plan_with({"type": "ContextLengthError"}), delegate_lines(["git-ops"]))

    sub = [c for c in RECORDER.completions() if c.session_id != result.session_id]
    assert [(c.provider, c.error is not None) for c in sub] == [("anthropic", True)]
    assert tapped("model_router:failover") == []
    assert "ContextLengthError" in json.dumps(result.named("delegate:error"))


async def test_an_exhausted_chain_surfaces_the_last_error() -> None:
    everywhere = {"type": "ProviderUnavailableError"}
    plan = routed_plan(
        providers=("anthropic", "openai"),
        session_model="openai/gpt-5.5",
        provider_config={
            "anthropic": {"complete_error": everywhere},
            "openai": {
                "complete_error": {**everywhere, "models": ["gpt-5*mini*", "gpt-5-nano"]}
            },
        },
    )
    result = await run(plan, delegate_lines(["git-ops"]))

    sub = result.resolved("git-ops")["sub_session_id"]
    tried = [(c.provider, c.model) for c in RECORDER.completions(session_id=sub)]
    assert tried[0] == ("anthropic", "claude-haiku-4-5")
    assert all(c.error for c in RECORDER.completions(session_id=sub))
    errors = result.named("delegate:error")
    assert len(errors) == 1 and "ProviderUnavailableError" in json.dumps(errors[0])


async def test_app_spawned_children_fail_over_through_their_own_router_instance() -> None:
    """app-cli applies only the first preference; the child's inherited model-router hook picks
    the whole chain up by sub-session id and mounts the failover provider itself."""
    app = AppCliStandIn()
    result = await run(
        plan_with({"type": "RateLimitError"}),
        delegate_lines(["zen-architect"]),
        capabilities={"session.spawn": app},
    )

    sub = result.resolved("zen-architect")["sub_session_id"]
    calls = [(c.provider, c.model, c.error is not None) for c in RECORDER.completions(session_id=sub)]
    assert calls == [("anthropic", "claude-opus-4-8", True), ("openai", "gpt-5.5", False)]
    assert [e["to"]["model"] for e in tapped("model_router:failover")] == ["gpt-5.5"]


async def test_a_child_inheriting_from_a_failed_over_parent_skips_the_cooled_candidate() -> None:
    """git-ops fails over from Haiku (429) to OpenAI, then delegates to ``self``: the grandchild
    inherits git-ops' chain, so it starts on the candidate that answered, not the cooling one."""
    nested = json.dumps("DELEGATE self: tidy up")
    result = await run(
        plan_with({"type": "RateLimitError", "retry_after": 60}), f"DELEGATE model-router:git-ops: {nested}"
    )

    git_ops = result.resolved("git-ops")["sub_session_id"]
    grandchildren = {c.session_id for c in RECORDER.completions() if c.parent_id == git_ops}
    assert len(grandchildren) == 1
    calls = [
        (c.provider, c.model, c.error is None) for c in RECORDER.completions(session_id=grandchildren.pop())
    ]
    assert calls == [("openai", "gpt-5-mini", True)]
    inherited = [e for e in tapped("model_router:resolved") if e["agent"] == "self"]
    assert inherited[0]["source"] == "inherit"
    assert (inherited[0]["provider"], inherited[0]["model"]) == ("openai", "gpt-5-mini")
    assert any("cool" in s["reason"] for s in inherited[0]["skipped"])


async def test_a_callers_config_cannot_cool_the_provider_for_healthy_sessions() -> None:
    """Issue 13 item 4: a failure under a config the caller chose cools that configuration only."""
    from amplifier_module_model_router.failover.cooldown import shared_cooldowns

    poisoned = [
        {"provider": "anthropic", "model": "claude-haiku-*",
         "config": {"complete_error": {"type": "RateLimitError", "retry_after": 1800}}},
        {"provider": "openai", "model": "gpt-[0-9]-mini*"},
    ]
    # complete_error is the simulator's fault switch; a trusted layer lets callers set it here,
    # standing in for any allowed parameter whose value makes a provider fail
    plan = routed_plan(session_model="openai/gpt-5.5", hook_options={"caller_config_keys": ["complete_error"]})
    attack = await run(plan, f"DELEGATE model-router:git-ops PREFS {json.dumps(poisoned)}: a")
    assert attack.child_models("git-ops") == [("openai", "gpt-5-mini")]  # it did fail over
    registry = shared_cooldowns()
    assert registry.remaining("anthropic", "claude-haiku-4-5") == 0
    assert any(c.provider.startswith("anthropic~config:") for c in registry.active())
    assert not any(c.provider == "anthropic" for c in registry.active()), "the account's shared entry stays free"

    RECORDER.clear()
    healthy = await run(plan, delegate_lines(["git-ops"]))
    assert healthy.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]
