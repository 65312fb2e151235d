"""Hand a resolved chain from the spawner to the child session it is about to create.

Errors do not cross the session boundary intact, so failover must live inside the child; but
the child is created by whoever spawns it (our spawner, or app-cli's). The spawner files the
route under the child's session id; in an app's child, the child's own model-router instance
(children inherit the parent's hooks) picks it up while mounting, with the parent's router. Process-wide, bounded by the number of
spawns in flight: every entry is discarded when its spawn returns.
"""

from __future__ import annotations

from typing import Any

from ..shared import shared


class Handoffs:
    """sub_session_id -> the spawn's route (and the router that made it), while that spawn is
    running."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[Any, Any]] = {}

    def put(self, sub_session_id: str, route: Any, router: Any = None) -> None:
        self._routes[sub_session_id] = (route, router)

    def get(self, sub_session_id: str | None) -> Any | None:
        return self._routes.get(sub_session_id, (None, None))[0] if sub_session_id else None

    def router_for(self, sub_session_id: str | None) -> Any | None:
        """The parent's router, for a child that mounts model-router with the same config: one
        session tree routes with one settings snapshot, built once."""
        return self._routes.get(sub_session_id, (None, None))[1] if sub_session_id else None

    def discard(self, sub_session_id: str) -> None:
        self._routes.pop(sub_session_id, None)

    def __len__(self) -> int:
        return len(self._routes)

    def clear(self) -> None:
        self._routes.clear()


def shared_handoffs() -> Handoffs:
    """The process-wide registry: spawner and child router must see the same one."""
    return shared("spawn handoffs", Handoffs, Handoffs.clear)
