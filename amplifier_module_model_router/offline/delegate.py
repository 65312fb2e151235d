"""A ``delegate`` tool that keeps amplifier-foundation tool-delegate's contract, for offline runs.

What routing relies on, kept exactly:

- Agents are read only from ``coordinator.config["agents"]`` (live: a ``session:start`` hook
  may have written ``provider_preferences`` into it).
- Preferences, first that applies: ``provider_preferences`` in the call > ``model_role`` through
  the ``model_role_resolver`` capability (``await resolver.resolve(role)``) > the agent's own
  ``provider_preferences`` > none. Each dict goes through ``ProviderPreference.from_dict``.
- ``session.spawn`` is called with keywords only: ``agent_name, instruction, parent_session,
  agent_configs, sub_session_id, tool_inheritance, hook_inheritance, orchestrator_config,
  provider_preferences, self_delegation_depth, session_metadata``.
- ``self`` (depth-limited through the ``self_delegation_depth`` capability) and namespaced
  agents (``bundle:agent``, not checked against the registry) are accepted.
- Events ``delegate:agent_spawned`` / ``delegate:agent_completed`` / ``delegate:error`` with
  tool-delegate's payload keys; preferences appear as requested (globs), never resolved.
- The result: ``ToolResult.output = {response, session_id, agent, turn_count, status, metadata,
  [provider_routing]}`` built from the spawner's ``{output, session_id, status, turn_count,
  metadata}``.

Not simulated: session resume and parent-context inheritance (the child gets the instruction
alone). Config: ``features.self_delegation.{enabled, max_depth}``,
``settings.{exclude_tools, exclude_hooks, timeout}``; unlike tool-delegate, ``exclude_tools``
defaults to none, so children can delegate again (nested delegation is what the harness tests).
"""

from __future__ import annotations

import asyncio
from typing import Any

from amplifier_core.models import ToolResult

from ..errors import InputError
from ..resolve.preferences import ProviderPreference
from ..session_ids import sub_session_id

__all__ = ["DelegateTool", "mount", "sub_session_id"]

__amplifier_module_type__ = "tool"

EVENTS = ("delegate:agent_spawned", "delegate:agent_completed", "delegate:error")


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    coordinator.register_contributor(
        "observability.events", "tool-model-router-delegate", lambda: list(EVENTS)
    )
    tool = DelegateTool(coordinator, config or {})
    await coordinator.mount("tools", tool, name=tool.name)


class DelegateTool:
    """Spawn a sub-session for an agent through the app's ``session.spawn`` capability."""

    name = "delegate"

    def __init__(self, coordinator: Any, config: dict[str, Any]) -> None:
        self.coordinator = coordinator
        features = config.get("features", {})
        settings = config.get("settings", {})
        self_delegation = features.get("self_delegation", {})
        self.self_delegation_enabled = bool(self_delegation.get("enabled", True))
        self.max_self_delegation_depth = int(self_delegation.get("max_depth", 3))
        self.exclude_tools: list[str] = list(settings.get("exclude_tools", []))
        self.exclude_hooks: list[str] = list(settings.get("exclude_hooks", []))
        self.timeout: float | None = settings.get("timeout")

    @property
    def description(self) -> str:
        agents = self._agents()
        listing = "\n".join(
            f"- {name}: {(cfg or {}).get('description', 'No description')}"
            for name, cfg in sorted(agents.items())
        )
        return "Delegate a task to a specialised agent in its own sub-session.\n\n" + (
            f"Available agents:\n{listing}"
            if listing
            else 'No agents registered; use agent="self".'
        )

    @property
    def input_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "agent": {"type": "string", "description": "Agent name, 'bundle:agent' or 'self'."},
                "instruction": {"type": "string", "description": "The task for the agent."},
                "context_depth": {"type": "string", "enum": ["none", "recent", "all"]},
                "provider_preferences": {
                    "type": "array",
                    "description": "Ordered provider/model preferences (globs allowed).",
                    "items": {
                        "type": "object",
                        "properties": {"provider": {"type": "string"}, "model": {"type": "string"}},
                        "required": ["provider", "model"],
                    },
                },
                "model_role": {"type": "string", "description": "Model role to resolve."},
            },
            "required": ["instruction"],
        }

    async def execute(self, input: dict[str, Any]) -> ToolResult:
        agent = str(input.get("agent", "")).strip()
        instruction = str(input.get("instruction", "")).strip()
        if input.get("session_id"):
            return _failure("Session resume is not available in offline sessions")
        if not instruction:
            return _failure("Instruction cannot be empty")
        if not agent:
            return _failure("Agent name required for new delegation")
        agents = self._agents()
        child_depth = 0
        if agent == "self":
            if not self.self_delegation_enabled:
                return _failure("Self-delegation is disabled")
            depth = self.coordinator.get_capability("self_delegation_depth") or 0
            if depth >= self.max_self_delegation_depth:
                return _failure(
                    f"Self-delegation depth limit ({self.max_self_delegation_depth}) exceeded. "
                    f"Current depth: {depth}."
                )
            child_depth = depth + 1
        elif ":" not in agent and agent not in agents:
            return _failure(f"Agent '{agent}' not found. Available: {list(agents)}")
        role = str(input.get("model_role", "") or "").strip()
        try:
            preferences = await self._preferences(
                agent, agents, input.get("provider_preferences"), role
            )
        except InputError as err:
            return _failure(f"Invalid provider_preferences: {err}")
        return await self._spawn(
            agent,
            instruction,
            agents,
            preferences,
            role,
            child_depth,
            str(input.get("context_depth", "none")),
        )

    async def _preferences(
        self, agent: str, agents: dict[str, Any], from_call: Any, role: str
    ) -> list[Any] | None:
        """Call prefs > model_role via the resolver > the agent's own prefs > None."""
        if from_call:
            return [_preference(p, f"provider_preferences[{i}]") for i, p in enumerate(from_call)]
        if role:
            resolver = self.coordinator.get_capability("model_role_resolver")
            if resolver is not None:
                resolved = await resolver.resolve(role)
                if resolved:
                    return list(resolved)
        own = (agents.get(agent) or {}).get("provider_preferences")
        if own:
            return [
                _preference(p, f"agents.{agent}.provider_preferences[{i}]")
                for i, p in enumerate(own)
            ]
        return None

    async def _spawn(
        self,
        agent: str,
        instruction: str,
        agents: dict[str, Any],
        preferences: list[Any] | None,
        role: str,
        child_depth: int,
        context_depth: str,
    ) -> ToolResult:
        hooks = self.coordinator.hooks
        parent_id = self.coordinator.session_id
        child_id = sub_session_id(agent, parent_id)
        spawn = self.coordinator.get_capability("session.spawn")
        if spawn is None:
            return _failure(
                "Session spawning not available. "
                "App layer must register 'session.spawn' capability."
            )
        requested = [p.to_dict() for p in preferences] if preferences else None
        base = {
            "agent": agent,
            "sub_session_id": child_id,
            "parent_session_id": parent_id,
            "tool_call_id": "",
            "parallel_group_id": None,
        }
        await hooks.emit(
            "delegate:agent_spawned",
            {
                **base,
                "context_depth": context_depth,
                "context_scope": "conversation",
                "model_role": role or None,
                "provider_preferences": requested,
            },
        )
        parent = self.coordinator.session
        orchestrator = (parent.config.get("session") or {}).get("orchestrator")
        call = spawn(
            agent_name=agent,
            instruction=instruction,
            parent_session=parent,
            agent_configs=agents,
            sub_session_id=child_id,
            tool_inheritance={"exclude_tools": self.exclude_tools} if self.exclude_tools else {},
            hook_inheritance={"exclude_hooks": self.exclude_hooks} if self.exclude_hooks else {},
            orchestrator_config=(orchestrator.get("config") or None)
            if isinstance(orchestrator, dict)
            else None,
            provider_preferences=preferences,
            self_delegation_depth=child_depth,
            session_metadata={"agent_name": agent},
        )
        try:
            if self.timeout is not None:
                async with asyncio.timeout(self.timeout):
                    result = await call
            else:
                result = await call
        except asyncio.CancelledError:
            raise
        except Exception as err:  # every failure becomes the tool's answer
            message = (
                f"Agent '{agent}' timed out after {self.timeout}s"
                if isinstance(err, TimeoutError)
                else f"Agent delegation failed ({type(err).__name__}): {err or '(no detail)'}"
            )
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
        if role or preferences:
            output["provider_routing"] = {"model_role": role or None, "resolved": requested}
        return ToolResult(success=True, output=output)

    def _agents(self) -> dict[str, Any]:
        agents = (self.coordinator.config or {}).get("agents") or {}
        return agents if isinstance(agents, dict) else {}


def _preference(raw: Any, field: str) -> ProviderPreference:
    try:
        return ProviderPreference.from_dict(raw)
    except InputError as err:
        raise err.located(field_prefix=field) from None


def _failure(message: str) -> ToolResult:
    return ToolResult(success=False, error={"message": message})
