"""How a delegated session gets model-router (issue 11, the spawn path): our spawner sets its
child up itself instead of the kernel mounting the module again there, and a child an app's
spawner creates takes its parent's router instead of building one from the settings again.
The child keeps everything the module gave it: its usage counted under its agent, its
failover, tier chains for agents added late."""

from __future__ import annotations

import json
from typing import Any

import amplifier_module_event_tap as tap
from session_kit import ALL_AGENTS, NS, AppCliStandIn, captured, delegate_lines, router_hook, routed_plan, session

from amplifier_module_model_router.bundle.files import MODULE_ID
from amplifier_module_model_router.session import mount as mount_module

AGENTS = ["git-ops", "zen-architect", "explorer"]


def tapped(plan: dict[str, Any]) -> dict[str, Any]:
    plan["hooks"].append({"module": "event-tap", "config": {"plans": True}})
    tap.PLANS.clear()
    return plan


def router_entries(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [h for h in plan.get("hooks") or [] if h.get("module") == MODULE_ID]


def calls_by_agent(payload: dict[str, Any]) -> dict[str, int]:
    return {a["agent"]: sum(m["calls"] for m in a["models"]) for a in payload["agents"]}


async def test_our_spawner_leaves_the_module_out_of_the_childs_plan_and_the_child_still_counts() -> None:
    plan = tapped(routed_plan(session_model="anthropic/claude-opus-4-8"))
    async with session(plan) as (s, seen):
        costs = captured(s.coordinator, "model_router:cost")
        await s.execute(delegate_lines(AGENTS))
        children = {sid: p for sid, p in tap.PLANS.items() if sid != s.session_id}
    assert len(children) == len(AGENTS)
    assert all(router_entries(p) == [] for p in children.values()), "the kernel mounted it again"
    assert router_entries(plan), "the parent's own plan keeps its entry"
    (payload,) = costs
    counted = calls_by_agent(payload)
    assert all(counted.get(f"{NS}{agent}") == 1 for agent in AGENTS), counted
    resolved = [d for e, d in seen if e == "model_router:resolved"]
    assert sorted(d["agent"] for d in resolved) == sorted(f"{NS}{a}" for a in AGENTS)


async def test_a_grandchild_is_set_up_the_same_way_and_counted_under_the_root() -> None:
    plan = tapped(routed_plan(session_model="anthropic/claude-opus-4-8"))
    async with session(plan) as (s, _):
        costs = captured(s.coordinator, "model_router:cost")
        # zen-architect delegates in its own turn: its spawner is the parent's router's
        await s.execute(f"DELEGATE {NS}zen-architect: " + json.dumps(f"DELEGATE {NS}git-ops: deeper"))
        sessions = set(tap.PLANS) - {s.session_id}
    assert len(sessions) == 2, sessions
    assert all(router_entries(tap.PLANS[sid]) == [] for sid in sessions)
    (payload,) = costs
    assert calls_by_agent(payload).get(f"{NS}git-ops") == 1, payload["agents"]
    assert calls_by_agent(payload).get(f"{NS}zen-architect") == 2, payload["agents"]


async def test_an_agent_that_configures_the_module_itself_keeps_its_entry_and_is_counted_once() -> None:
    plan = tapped(routed_plan(session_model="anthropic/claude-opus-4-8"))
    own = router_hook(prefetch=False)  # not the parent's config: the kernel mounts this one
    plan["agents"][f"{NS}git-ops"]["hooks"] = [own]
    async with session(plan) as (s, _):
        costs = captured(s.coordinator, "model_router:cost")
        await s.execute(delegate_lines(["git-ops"]))
        (child,) = [p for sid, p in tap.PLANS.items() if sid != s.session_id]
    assert [h["config"] for h in router_entries(child)] == [own["config"]]
    (payload,) = costs
    assert calls_by_agent(payload).get(f"{NS}git-ops") == 1, payload["agents"]


async def test_a_child_an_app_spawner_creates_takes_its_parents_router(monkeypatch) -> None:
    built: list[Any] = []
    real = mount_module.build_router

    def counting(config: Any) -> Any:
        built.append(config)
        return real(config)

    monkeypatch.setattr(mount_module, "build_router", counting)
    spawner = AppCliStandIn()
    plan = tapped(routed_plan(session_model="anthropic/claude-opus-4-8"))
    async with session(plan, capabilities={"session.spawn": spawner}) as (s, _):
        costs = captured(s.coordinator, "model_router:cost")
        await s.execute(delegate_lines(AGENTS))
        children = {sid: p for sid, p in tap.PLANS.items() if sid != s.session_id}
    assert len(spawner.calls) == len(AGENTS)
    assert all(router_entries(p) for p in children.values()), "app-cli's children mount the module"
    assert len(built) == 1, "only the root built a router from the settings"
    (payload,) = costs
    assert all(calls_by_agent(payload).get(f"{NS}{agent}") == 1 for agent in AGENTS)


async def test_many_children_at_once_are_each_counted_once() -> None:
    """The cost handlers are plain functions, which the kernel runs on its worker threads while
    the event loop opens and closes the other children: the ledger serialises them."""
    agents = [a for a in ALL_AGENTS][:16] * 3
    plan = routed_plan(session_model="anthropic/claude-opus-4-8")
    async with session(plan) as (s, _):
        costs = captured(s.coordinator, "model_router:cost")
        await s.execute(delegate_lines(agents))
    (payload,) = costs
    counted = calls_by_agent(payload)
    assert sum(n for agent, n in counted.items() if agent != "(root)") == len(agents), counted
    assert all(counted[f"{NS}{agent}"] == agents.count(agent) for agent in set(agents))


async def test_the_childs_agents_are_its_own_yet_never_handed_to_the_kernels_constructor(monkeypatch) -> None:
    """The kernel converts every value of the plan it is constructed with (agents are most of a
    plan, and it never reads them); the child still delegates with them and their tier chains."""
    import amplifier_core

    real = amplifier_core.AmplifierSession
    constructed: list[set[str]] = []

    def constructing(plan: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        constructed.append(set(plan))
        return real(plan, *args, **kwargs)

    plan = tapped(routed_plan(session_model="anthropic/claude-opus-4-8"))
    async with session(plan) as (s, _):
        costs = captured(s.coordinator, "model_router:cost")
        monkeypatch.setattr(amplifier_core, "AmplifierSession", constructing)
        await s.execute(f"DELEGATE {NS}zen-architect: " + json.dumps(f"DELEGATE {NS}git-ops: deeper"))
        children = {sid: p for sid, p in tap.PLANS.items() if sid != s.session_id}
    assert len(constructed) == 2 and all("agents" not in keys for keys in constructed), constructed
    assert len(children) == 2
    for child in children.values():
        git_ops = child["agents"][f"{NS}git-ops"]
        assert git_ops["model_tier"] == "budget" and git_ops["provider_preferences"], git_ops
    (payload,) = costs  # the grandchild was routed from the child's own agents
    models = {a["agent"]: [m["model"] for m in a["models"]] for a in payload["agents"]}
    assert [m[:12] for m in models[f"{NS}git-ops"]] == ["claude-haiku"], models


async def test_resolved_reaches_a_handler_registered_after_the_session_started() -> None:
    """Routing skips the event while nothing listens; whoever registers later gets every one."""
    plan = routed_plan(session_model="anthropic/claude-opus-4-8")
    async with session(plan, events=()) as (s, _):
        assert s.coordinator.hooks.list_handlers("model_router:resolved") == {"model_router:resolved": []}
        await s.execute(delegate_lines(["git-ops"]))
        late = captured(s.coordinator, "model_router:resolved")
        await s.execute(delegate_lines(["explorer", "git-ops"]))
    assert sorted(d["agent"] for d in late) == [f"{NS}explorer", f"{NS}git-ops"], late
