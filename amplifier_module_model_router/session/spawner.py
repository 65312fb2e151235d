"""The ``session.spawn`` capability with routing: resolve first, then spawn on concrete models.

Two ways to run:
- wrapping an app's spawner (app-cli registers one): we hand it concrete preferences in fallback
  order, and an agent config without globs, so it does no catalog lookup of its own;
- on its own (apps without a spawner, e.g. a custom app): :func:`spawn_child` builds the child
  mount plan, runs the child session and returns tool-delegate's result shape. Custom apps can
  register it themselves: ``coordinator.register_capability("session.spawn",
  RoutingSpawner(router, coordinator))``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..cost.hooks import TRACKING_CAPABILITY
from ..session_ids import sub_session_id
from .attach import attach_child, leave_out_router_hook
from .child_plan import build_child_plan
from .router import RouteOutcome, Router
from .tiers import lookup_agent

logger = logging.getLogger(__name__)

SpawnFn = Callable[..., Awaitable[dict[str, Any]]]


new_sub_session_id = sub_session_id  # the name of 0.1


def concrete_agent_configs(
    agent_configs: Mapping[str, Any],
    found: tuple[str, Mapping[str, Any]] | None,
    outcome: RouteOutcome,
) -> dict[str, Any]:
    """Agent configs as the inner spawner must see them: no globs left for it to resolve.

    ``found`` is the spawned agent's ``(key, config)`` in ``agent_configs`` (None: not there).
    A routed agent carries its concrete chain; an inheriting agent carries no preferences at all
    (app-cli's spawner would otherwise fall back to the agent's globs and resolve them itself).
    """
    configs = dict(agent_configs)
    if found is None:
        return configs
    key, cfg = found
    cfg = dict(cfg)
    if outcome.chain:
        cfg["provider_preferences"] = [c.to_preference().to_dict() for c in outcome.chain]
    else:
        cfg.pop("provider_preferences", None)
    configs[key] = cfg
    return configs


class RoutingSpawner:
    """``session.spawn`` that routes every delegation; wraps ``inner`` when an app gave one."""

    is_model_router = True

    def __init__(self, router: Router, coordinator: Any, inner: SpawnFn | None = None) -> None:
        self.router = router
        self.coordinator = coordinator
        self.inner = inner

    async def __call__(
        self,
        *,
        agent_name: str,
        instruction: str,
        parent_session: Any,
        agent_configs: Mapping[str, Any] | None = None,
        sub_session_id: str | None = None,
        provider_preferences: list[Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        parent_coordinator = getattr(parent_session, "coordinator", None) or self.coordinator
        configs = agent_configs if agent_configs is not None else (
            (parent_coordinator.config or {}).get("agents") or {}
        )
        sub_session_id = sub_session_id or new_sub_session_id(
            agent_name, getattr(parent_session, "session_id", None)
        )
        found = lookup_agent(configs, agent_name) if agent_name != "self" else None
        if self.inner is None and agent_name != "self" and found is None:
            # As app-cli: an agent the caller may not see (``agents: none`` above it, or a
            # namespaced name tool-delegate does not check) is not spawned with an empty overlay.
            raise ValueError(f"Agent '{agent_name}' not found in configuration")
        agent_cfg = found[1] if found else {}
        tracker = parent_coordinator.get_capability(TRACKING_CAPABILITY)
        if tracker is not None:  # the parent's root counts the child from now on (cost/hooks.py)
            tracker.child_announced(sub_session_id)
        try:
            request = self.router.decide(agent_name, agent_cfg, provider_preferences)
            outcome = await self.router.route(parent_coordinator, request, sub_session_id=sub_session_id)
            self.router.handoffs.put(sub_session_id, outcome, self.router)
            if self.inner is not None:
                return await self.inner(
                    agent_name=agent_name,
                    instruction=instruction,
                    parent_session=parent_session,
                    agent_configs=concrete_agent_configs(configs, found, outcome),
                    sub_session_id=sub_session_id,
                    provider_preferences=[c.to_preference() for c in outcome.chain] or None,
                    **kwargs,
                )
            return await spawn_child(
                self.router,
                parent_session=parent_session,
                agent_name=agent_name,
                agent_cfg=agent_cfg,
                instruction=instruction,
                outcome=outcome,
                sub_session_id=sub_session_id,
                **kwargs,
            )
        finally:
            self.router.handoffs.discard(sub_session_id)
            if tracker is not None:
                tracker.child_over(sub_session_id)


def _agent_instruction(agent_cfg: Mapping[str, Any]) -> str | None:
    system = agent_cfg.get("system")
    if isinstance(system, Mapping) and isinstance(system.get("instruction"), str):
        return system["instruction"]
    instruction = agent_cfg.get("instruction")
    return instruction if isinstance(instruction, str) and instruction.strip() else None


async def spawn_child(
    router: Router,
    *,
    parent_session: Any,
    agent_name: str,
    agent_cfg: Mapping[str, Any],
    instruction: str,
    outcome: RouteOutcome,
    sub_session_id: str,
    orchestrator_config: Mapping[str, Any] | None = None,
    session_metadata: Mapping[str, Any] | None = None,
    parent_messages: list[dict[str, Any]] | None = None,
    tool_inheritance: Mapping[str, Any] | None = None,
    hook_inheritance: Mapping[str, Any] | None = None,
    self_delegation_depth: int = 0,
    use_subprocess: bool = False,
    **unknown: Any,
) -> dict[str, Any]:
    """Run the agent in a child ``AmplifierSession`` and return tool-delegate's result shape.

    Every keyword of the ``session.spawn`` contract is honoured as app-cli honours it:
    ``self_delegation_depth`` is registered on the child as the capability tool-delegate reads
    to stop a runaway ``self`` chain; ``parent_messages`` are added to the child's context.
    ``use_subprocess`` is the one exception: this spawner has no subprocess runner, so the child
    runs in process (logged). A keyword newer than this contract is logged, not dropped silently.
    The kernel does not mount model-router again in the child: the spawner sets it up itself
    (:mod:`.attach`).
    """
    from amplifier_core import AmplifierSession

    if unknown:
        logger.warning("model-router spawner: ignoring unknown session.spawn keyword(s) %s", sorted(unknown))
    if use_subprocess:
        logger.info("model-router spawner: use_subprocess requested; running %s in process", agent_name)
    parent_coordinator = parent_session.coordinator
    plan = build_child_plan(
        parent_session.config,
        (getattr(parent_coordinator, "config", None) or {}).get("agents"),
        agent_cfg,
        outcome.chain,
        orchestrator_config=orchestrator_config,
        session_metadata=session_metadata,
        tool_inheritance=tool_inheritance,
        hook_inheritance=hook_inheritance,
        failover=router.config.failover,
    )
    plan.pop("spawn_mode", None)
    unhooked = leave_out_router_hook(plan, parent_session.config)
    # The kernel's constructor converts every value of its plan into its own copy, which only
    # the session itself reads; agents are read by the app layer alone (tool-delegate, spawners),
    # from the plan object ``child.config`` is. Their configs are most of a plan (instructions,
    # chains): handed over after construction, they are not converted per spawn.
    agents = plan.pop("agents", None)
    child = AmplifierSession(
        plan,
        session_id=sub_session_id,
        parent_id=parent_session.session_id,
        approval_system=parent_coordinator.approval_system,
        display_system=parent_coordinator.display_system,
    )
    if agents is not None:
        child.config["agents"] = agents
    cancellation_linked = False
    try:
        await child.initialize()
        # After initialize, as app-cli does; tool-delegate reads it on every ``self`` call.
        child.coordinator.register_capability("self_delegation_depth", self_delegation_depth)
        if not getattr(child.coordinator.get_capability("session.spawn"), "is_model_router", False):
            child.coordinator.register_capability(
                "session.spawn", RoutingSpawner(router, child.coordinator)
            )
        await router.ensure_failover(child.coordinator, sub_session_id, outcome)
        if unhooked:
            attach_child(child.coordinator, parent_coordinator, router)
        try:
            parent_coordinator.cancellation.register_child(child.coordinator.cancellation)
            cancellation_linked = True
        except Exception:  # cancellation linking is best effort
            logger.debug("could not link child cancellation", exc_info=True)
        context = child.coordinator.get("context")
        preamble = _agent_instruction(agent_cfg)
        if context is not None and preamble:
            await context.add_message({"role": "system", "content": preamble})
        if context is not None and parent_messages:
            for message in parent_messages:
                await context.add_message(dict(message))
        output = await child.execute(instruction)
        return {
            "output": output,
            "session_id": sub_session_id,
            "status": "success",
            "turn_count": 1,
            "metadata": {"model_router": router.answered_by(child.coordinator, outcome)},
        }
    finally:
        if cancellation_linked:
            try:
                parent_coordinator.cancellation.unregister_child(child.coordinator.cancellation)
            except Exception:
                logger.debug("could not unlink child cancellation", exc_info=True)
        await child.cleanup()
