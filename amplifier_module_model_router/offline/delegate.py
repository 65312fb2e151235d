"""A ``delegate`` tool with amplifier-foundation tool-delegate's contract, for offline runs.

tool-delegate is not on PyPI. What routing relies on, kept exactly:

- Agents are read only from ``coordinator.config["agents"]`` (live: a ``session:start`` hook
  may have written ``provider_preferences`` into it).
- Preferences, first that applies: ``provider_preferences`` in the call > ``model_role`` through
  the ``model_role_resolver`` capability (``await resolver.resolve(role)``) > the agent's own
  ``provider_preferences`` > none. Each dict goes through ``ProviderPreference.from_dict``.
- ``session.spawn`` is called with keywords only: ``agent_name, instruction, parent_session,
  agent_configs, sub_session_id, tool_inheritance, hook_inheritance, orchestrator_config,
  provider_preferences, self_delegation_depth, session_metadata``.
- ``self`` (depth read from the ``self_delegation_depth`` capability, refused at
  ``features.self_delegation.max_depth``) and namespaced agents (``bundle:agent``, not checked
  against the registry) are accepted.
- ``delegate:agent_spawned`` / ``delegate:agent_completed`` / ``delegate:error`` with
  tool-delegate's payload keys (the cost hooks read them); preferences as requested (globs).
- The result: ``{response, session_id, agent, turn_count, status, metadata,
  [provider_routing]}``; every failure is the tool's answer, never an exception.

Not simulated: session resume, parent-context inheritance, a timeout. ``exclude_tools`` defaults
to none, so children can delegate again (nested delegation is what the tests run).
"""

from __future__ import annotations

import asyncio
from typing import Any

from amplifier_core.models import ToolResult

from ..errors import InputError
from ..resolve.preferences import ProviderPreference
from ..session_ids import sub_session_id

__all__ = ["DelegateTool", "mount"]

__amplifier_module_type__ = "tool"

_PREFERENCE = {"type": "object", "properties": {"provider": {}, "model": {}, "config": {}}}


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    tool = DelegateTool(coordinator, config or {})
    await coordinator.mount("tools", tool, name=tool.name)


class DelegateTool:
    """Spawn a sub-session for an agent through the app's ``session.spawn`` capability."""

    name = "delegate"
    description = "Delegate a task to an agent (a name, 'bundle:agent' or 'self')."
    input_schema = {
        "type": "object",
        "properties": {
            "agent": {"type": "string"},
            "instruction": {"type": "string"},
            "context_depth": {"type": "string", "enum": ["none", "recent", "all"]},
            "provider_preferences": {"type": "array", "items": _PREFERENCE},
            "model_role": {"type": "string"},
        },
        "required": ["instruction"],
    }

    def __init__(self, coordinator: Any, config: dict[str, Any]) -> None:
        self.coordinator = coordinator
        self_delegation = config.get("features", {}).get("self_delegation", {})
        self.self_delegation_enabled = bool(self_delegation.get("enabled", True))
        self.max_depth = int(self_delegation.get("max_depth", 3))
        settings = config.get("settings", {})
        self.inheritance = {
            "tool_inheritance": _exclude("exclude_tools", settings),
            "hook_inheritance": _exclude("exclude_hooks", settings),
        }

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        agent = str(input.get("agent", "")).strip()
        instruction = str(input.get("instruction", "")).strip()
        if not instruction or not agent:
            return _failure("Agent and instruction are required")
        agents = (self.coordinator.config or {}).get("agents") or {}
        depth = 0
        if agent == "self":
            if not self.self_delegation_enabled:
                return _failure("Self-delegation is disabled")
            current = self.coordinator.get_capability("self_delegation_depth") or 0
            if current >= self.max_depth:
                return _failure(
                    f"Self-delegation depth limit ({self.max_depth}) exceeded. "
                    f"Current depth: {current}."
                )
            depth = current + 1
        elif ":" not in agent and agent not in agents:
            return _failure(f"Agent '{agent}' not found. Available: {list(agents)}")
        role = str(input.get("model_role", "") or "").strip()
        try:
            prefs = await self._preferences(agent, agents, input.get("provider_preferences"), role)
        except InputError as err:
            return _failure(f"Invalid provider_preferences: {err}")
        spawn = self.coordinator.get_capability("session.spawn")
        if spawn is None:
            return _failure("Session spawning not available: no 'session.spawn' capability")
        parent = self.coordinator.session
        child_id = sub_session_id(agent, parent.session_id)
        requested = [p.to_dict() for p in prefs] if prefs else None
        base = {
            "agent": agent,
            "sub_session_id": child_id,
            "parent_session_id": parent.session_id,
            "tool_call_id": "",
            "parallel_group_id": None,
        }
        hooks = self.coordinator.hooks
        spawned = {"context_depth": str(input.get("context_depth", "none")),
                   "context_scope": "conversation", "model_role": role or None,
                   "provider_preferences": requested}  # fmt: skip
        await hooks.emit("delegate:agent_spawned", {**base, **spawned})
        orchestrator = (parent.config.get("session") or {}).get("orchestrator")
        try:
            result = await spawn(
                agent_name=agent,
                instruction=instruction,
                parent_session=parent,
                agent_configs=agents,
                sub_session_id=child_id,
                orchestrator_config=orchestrator.get("config") or None
                if isinstance(orchestrator, dict)
                else None,
                provider_preferences=prefs,
                self_delegation_depth=depth,
                session_metadata={"agent_name": agent},
                **self.inheritance,
            )
        except asyncio.CancelledError:
            raise
        except Exception as err:
            message = f"Agent delegation failed ({type(err).__name__}): {err or '(no detail)'}"
            await hooks.emit("delegate:error", {**base, "error": message})
            return _failure(message)
        await hooks.emit("delegate:agent_completed", {**base, "success": True})
        output: dict[str, Any] = {
            "response": result["output"],
            "session_id": result["session_id"],
            "agent": agent,
            "turn_count": result.get("turn_count", 1),
            "status": result.get("status", "success"),
            "metadata": result.get("metadata", {}),
        }
        if role or prefs:
            output["provider_routing"] = {"model_role": role or None, "resolved": requested}
        return ToolResult(success=True, output=output)

    async def _preferences(
        self, agent: str, agents: dict[str, Any], from_call: Any, role: str
    ) -> list[Any] | None:
        """Call prefs > model_role via the resolver > the agent's own prefs > None."""
        if from_call:
            return _parsed(from_call, "provider_preferences")
        if role:
            resolver = self.coordinator.get_capability("model_role_resolver")
            resolved = await resolver.resolve(role) if resolver is not None else None
            if resolved:
                return list(resolved)
        own = (agents.get(agent) or {}).get("provider_preferences")
        return _parsed(own, f"agents.{agent}.provider_preferences") if own else None


def _parsed(raw: list[Any], field: str) -> list[ProviderPreference]:
    found = []
    for index, item in enumerate(raw):
        try:
            found.append(ProviderPreference.from_dict(item))
        except InputError as err:
            raise err.located(field_prefix=f"{field}[{index}]") from None
    return found


def _exclude(key: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {key: list(settings[key])} if settings.get(key) else {}


def _failure(message: str) -> ToolResult:
    return ToolResult(success=False, error={"message": message})
