"""Helpers for tests that run the model-router in real ``AmplifierSession``s (offline harness)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplifier_core import AmplifierSession
from amplifier_core.models import HookResult

from amplifier_module_model_router.bundle.loader import agent_configs, load_bundle
from amplifier_module_model_router.offline import RECORDER, offline_mount_plan
from amplifier_module_model_router.resolve.preferences import ProviderPreference

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = load_bundle(ROOT / "bundle.md")
NS = "model-router:"

TIER_AGENTS: dict[str, tuple[str, ...]] = {
    "budget": ("git-ops", "file-ops", "shell-exec", "amplifier-smoke-test", "post-task-cleanup"),
    "strong": (
        "explorer",
        "ecosystem-expert",
        "foundation-expert",
        "session-analyst",
        "web-research",
        "integration-specialist",
        "test-coverage",
        "security-guardian",
    ),
    "strong-code": ("bug-hunter", "modular-builder"),
    "frontier": ("zen-architect",),
}
AGENT_TIER = {agent: tier for tier, agents in TIER_AGENTS.items() for agent in agents}
ALL_AGENTS = tuple(AGENT_TIER)

WATCHED = ("model_router:resolved", "model_router:failover", "delegate:error", "module:load_failed")


def router_hook(bundle: Any = BUNDLE, **options: Any) -> dict[str, Any]:
    """The model-router hook entry exactly as bundle.md declares it, plus test options."""
    return {"module": "model-router", "config": {**dict(bundle.module_config), **options}}


def routed_plan(
    *,
    bundle: Any = BUNDLE,
    hook_options: Mapping[str, Any] | None = None,
    agents: Mapping[str, Any] | None = None,
    **plan_kwargs: Any,
) -> dict[str, Any]:
    return offline_mount_plan(
        dict(agents) if agents is not None else agent_configs(bundle),
        hooks=[router_hook(bundle, **dict(hook_options or {}))],
        **plan_kwargs,
    )


def delegate_lines(agents: Sequence[str], *, namespace: str = NS, prefs: Any = None) -> str:
    lines = []
    for agent in agents:
        key = agent if agent == "self" or ":" in agent else f"{namespace}{agent}"
        extra = f" PREFS {json.dumps(prefs)}" if prefs is not None else ""
        lines.append(f"DELEGATE {key}{extra}: task for {agent}")
    return "\n".join(lines)


@dataclass
class Run:
    session_id: str
    output: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]

    def resolved(self, agent: str) -> dict[str, Any]:
        wanted = {agent, f"{NS}{agent}"}
        found = [e for e in self.named("model_router:resolved") if e["agent"] in wanted]
        assert len(found) == 1, f"expected one resolved event for {agent}, got {found}"
        return found[0]

    def child_models(self, agent: str) -> list[tuple[str, str]]:
        """(provider, model) of every complete() the agent's child session made."""
        sub = self.resolved(agent)["sub_session_id"]
        return [(c.provider, c.model) for c in RECORDER.completions(session_id=sub) if c.error is None]


def captured(coordinator: Any, event: str) -> list[dict[str, Any]]:
    """Every payload of ``event`` the session emits from now on (the list fills as it runs)."""
    seen: list[dict[str, Any]] = []

    async def capture(name: str, data: dict[str, Any]) -> HookResult:
        seen.append(data)
        return HookResult()

    coordinator.hooks.register(event, capture, name=f"test-captured-{event}")
    return seen


@asynccontextmanager
async def session(
    plan: dict[str, Any],
    *,
    capabilities: Mapping[str, Any] | None = None,
    is_resumed: bool = False,
    events: Sequence[str] = WATCHED,
) -> AsyncIterator[tuple[AmplifierSession, list]]:
    """An initialized session with ``events`` captured and ``capabilities`` registered after
    ``initialize()`` (as an app registers ``session.spawn``); always cleaned up."""
    s = AmplifierSession(plan, is_resumed=is_resumed)
    seen: list[tuple[str, dict[str, Any]]] = []

    async def capture(event: str, data: dict[str, Any]) -> HookResult:
        seen.append((event, data))
        return HookResult()

    for event in events:
        s.coordinator.hooks.register(event, capture, name=f"test-capture-{event}")
    try:
        await s.initialize()
        for name, value in (capabilities or {}).items():
            s.coordinator.register_capability(name, value)
        yield s, seen
    finally:
        await s.cleanup()


async def run(plan: dict[str, Any], prompt: str, **kwargs: Any) -> Run:
    async with session(plan, **kwargs) as (s, seen):
        output = await s.execute(prompt)
        return Run(s.session_id, output, seen)


class AppCliStandIn:
    """Stands in for app-cli's spawner: applies the first preference it is given as
    ``priority: 0`` + ``default_model`` (as foundation's apply_provider_preferences does) and
    records every call, so the test can check it never saw a glob. Like app-cli, it registers
    ``self_delegation_depth`` and itself as ``session.spawn`` on the child after initialize(),
    and gives the child the agent's instruction as its system prompt.

    ``apply_preferences`` replaces that first-preference rule with app-cli's own call,
    ``await apply(plan, preferences, parent_coordinator) -> plan`` (foundation's
    ``apply_provider_preferences_with_resolution``, which lists models per spawn for a glob);
    the benchmarks pass it."""

    def __init__(self, apply_preferences: Any = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.apply_preferences = apply_preferences

    async def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        parent = kwargs["parent_session"]
        plan = copy.deepcopy(parent.config)
        prefs = kwargs["provider_preferences"] or []
        agent_cfg = kwargs["agent_configs"].get(kwargs["agent_name"], {})
        if not prefs and agent_cfg.get("provider_preferences"):
            prefs = agent_cfg["provider_preferences"]  # app-cli's fallback to the agent's own list
        if self.apply_preferences is not None and prefs:
            plan = await self.apply_preferences(plan, [_as_object(p) for p in prefs], parent.coordinator)
            prefs = []
        for pref in prefs:
            provider = pref["provider"] if isinstance(pref, dict) else pref.provider
            model = pref["model"] if isinstance(pref, dict) else pref.model
            entry = next((e for e in plan["providers"] if e.get("instance_id") == provider), None)
            if entry is not None:
                entry["config"].update(priority=0, default_model=model)
                break
        child = AmplifierSession(plan, session_id=kwargs["sub_session_id"], parent_id=parent.session_id)
        try:
            await child.initialize()
            child.coordinator.register_capability(
                "self_delegation_depth", kwargs.get("self_delegation_depth", 0)
            )
            child.coordinator.register_capability("session.spawn", self)
            instruction = _agent_instruction(agent_cfg)
            context = child.coordinator.get("context")
            if instruction and context is not None:  # app-cli: the agent's body as the system prompt
                await context.add_message({"role": "system", "content": instruction})
            output = await child.execute(kwargs["instruction"])
        finally:
            await child.cleanup()
        return {
            "output": output,
            "session_id": child.session_id,
            "status": "success",
            "turn_count": 1,
            "metadata": {},
        }


def _agent_instruction(agent_cfg: Any) -> str | None:
    system = agent_cfg.get("system")
    text = system.get("instruction") if isinstance(system, dict) else agent_cfg.get("instruction")
    return text if isinstance(text, str) and text.strip() else None


def _as_object(pref: Any) -> Any:
    return ProviderPreference.from_dict(pref) if isinstance(pref, dict) else pref
