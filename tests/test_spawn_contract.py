"""Our spawner honours every keyword of ``session.spawn`` as app-cli's does (issue 13 item 0).

tool-delegate computes ``self_delegation_depth`` for the child and reads it back, in the child,
from the ``self_delegation_depth`` capability (``get_capability(...) or 0``), refusing a ``self``
call once it reaches ``features.self_delegation.max_depth``. The spawner must register it on the
child, or a ``self`` chain never ends. The offline delegate tool reads the depth exactly as
tool-delegate does (tool-delegate is not published on PyPI); ``AppCliStandIn`` registers it as
app-cli does, so the same chain is run under both spawners.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import amplifier_module_event_tap as tap
import pytest
from session_kit import BUNDLE, AppCliStandIn, routed_plan, run, session

from amplifier_module_model_router.bundle.loader import agent_configs
from amplifier_module_model_router.offline import RECORDER
from amplifier_module_model_router.offline.plan import DELEGATE_MODULE


def nested(agents: list[str], leaf: str = "done") -> str:
    """``DELEGATE a: "DELEGATE b: ..."``: each child is told to delegate once more."""
    text = leaf
    for agent in reversed(agents):
        text = f"DELEGATE {agent}: {json.dumps(text)}"
    return text


def with_delegate_config(plan: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    entry = next(t for t in plan["tools"] if t["module"] == DELEGATE_MODULE)
    entry["config"] = config
    return plan


def sessions_that_called_a_model() -> set[str]:
    return {call.session_id for call in RECORDER.completions()}


@pytest.mark.parametrize("spawner", ["ours", "app"])
async def test_a_self_chain_stops_at_the_configured_depth(spawner: str) -> None:
    plan = with_delegate_config(routed_plan(), {"features": {"self_delegation": {"max_depth": 2}}})
    capabilities = {"session.spawn": AppCliStandIn()} if spawner == "app" else None
    result = await run(plan, nested(["self"] * 6), capabilities=capabilities)

    # root (depth 0) -> self (1) -> self (2), whose own `self` call is refused
    assert len(sessions_that_called_a_model()) == 3
    assert result.output


async def test_a_named_agent_starts_a_fresh_self_chain() -> None:
    plan = with_delegate_config(routed_plan(), {"features": {"self_delegation": {"max_depth": 1}}})
    await run(plan, nested(["self", "model-router:git-ops", "self", "self"]))

    # root -> self (1) -> git-ops (0) -> self (1), whose `self` call is refused
    assert len(sessions_that_called_a_model()) == 4


async def test_hook_inheritance_drops_excluded_hooks_from_children() -> None:
    plan = with_delegate_config(routed_plan(), {"settings": {"exclude_hooks": ["event-tap"]}})
    plan["hooks"].append({"module": "event-tap", "config": {"events": ["prompt:submit"]}})
    tap.TAP.clear()
    result = await run(plan, nested(["model-router:git-ops"]))

    assert {sid for sid, _, _ in tap.TAP} == {result.session_id}
    assert len(sessions_that_called_a_model()) == 2


async def test_tool_inheritance_drops_excluded_tools_from_children() -> None:
    plan = with_delegate_config(routed_plan(), {"settings": {"exclude_tools": [DELEGATE_MODULE]}})
    await run(plan, nested(["model-router:git-ops", "model-router:file-ops"]))

    assert len(sessions_that_called_a_model()) == 2  # git-ops has no delegate tool: no file-ops


async def test_an_agent_declaring_agents_none_cannot_delegate() -> None:
    agents = agent_configs(BUNDLE)
    agents["loner"] = {"description": "works alone", "agents": "none"}
    agents["picky"] = {"description": "only git-ops", "agents": ["model-router:git-ops"]}
    await run(routed_plan(agents=agents), nested(["loner", "model-router:git-ops"]))
    assert len(sessions_that_called_a_model()) == 2  # loner's delegation was refused

    RECORDER.clear()
    await run(routed_plan(agents=agents), nested(["picky", "model-router:git-ops"]))
    assert len(sessions_that_called_a_model()) == 3


async def test_an_unknown_spawn_keyword_is_logged_not_dropped_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with session(routed_plan()) as (s, _):
        await s.execute("plain turn: session:start has run")
        spawn = s.coordinator.get_capability("session.spawn")
        with caplog.at_level(logging.WARNING):
            result = await spawn(
                agent_name="model-router:git-ops",
                instruction="commit",
                parent_session=s,
                future_keyword=True,
            )
    assert result["status"] == "success"
    assert "future_keyword" in caplog.text
