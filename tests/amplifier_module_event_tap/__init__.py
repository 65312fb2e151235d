"""Test hook module ``event-tap``: records chosen events from every session that mounts it.

Children inherit their parent's hooks, so a tap in the root plan sees events emitted inside
child sessions too (e.g. ``model_router:failover``), which a handler registered on the root
coordinator never would. Loaded by the kernel's filesystem discovery (``amplifier_module_<id>``).
With ``plans: true`` it also keeps each session's mount plan (the live ``coordinator.config``).
"""

from __future__ import annotations

from typing import Any

from amplifier_core.models import HookResult

__amplifier_module_type__ = "hook"

TAP: list[tuple[str, str, dict[str, Any]]] = []
"""(session id, event, data) in emission order, across all sessions of the process."""

PLANS: dict[str, dict[str, Any]] = {}
"""session id -> that session's live mount plan (only with ``plans: true``)."""


async def mount(coordinator: Any, config: dict[str, Any] | None = None):
    session_id = coordinator.session_id
    unregister = []
    if (config or {}).get("plans"):
        PLANS[session_id] = coordinator.config

    async def record(event: str, data: dict[str, Any]) -> HookResult:
        TAP.append((session_id, event, data))
        return HookResult()

    for event in (config or {}).get("events", []):
        unregister.append(coordinator.hooks.register(event, record, name=f"event-tap:{event}"))

    def cleanup() -> None:
        for fn in unregister:
            fn()

    return cleanup
