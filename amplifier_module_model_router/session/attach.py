"""Set up a child session our own spawner creates, instead of the kernel loading model-router in it.

A child inherits the parent's hooks, ours included, so the kernel would load and mount
model-router again in every child: a module load, a router built from the settings files, two
lifecycle hooks and a catalog prefetch, all to arrive where the parent already is. In a child of
our spawner none of that decides anything: the parent's router routes the child's own
delegations (the spawner registers it) and the failover provider is mounted by the spawner. So
the spawner leaves our hook entry out of the child's plan and adds here what the mount would
have added that still matters: tier chains in the child's agent configs, the child's model
usage filed in the cost ledger (and so its budget), our events announced to the child's
loggers, and the cleanup of these.

Children created by an app's spawner (app-cli) are not ours to build: the kernel mounts
model-router in them as the plan says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .. import events
from ..bundle.files import MODULE_ID
from ..cost.hooks import TRACKING_CAPABILITY, install_cost_tracking
from .router import Router, forget_session
from .tiers import assign_tier_preferences

logger = logging.getLogger(__name__)


def _ours(entry: Any) -> bool:
    return isinstance(entry, Mapping) and entry.get("module") == MODULE_ID


def _router_entries(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    hooks = plan.get("hooks")
    return [h for h in hooks if _ours(h)] if isinstance(hooks, list) else []


def leave_out_router_hook(child_plan: dict[str, Any], parent_plan: Mapping[str, Any]) -> bool:
    """Drop our hook entry from ``child_plan`` when it is the parent's own (same config).

    Returns True when the child carries no entry of ours afterwards (it is then set up by
    :func:`attach_child`). An entry an agent overlay changed stays, and the kernel mounts it.
    """
    own = [h.get("config") or {} for h in _router_entries(parent_plan)]
    hooks = child_plan.get("hooks")
    if isinstance(hooks, list):
        child_plan["hooks"] = [h for h in hooks if not (_ours(h) and (h.get("config") or {}) in own)]
    return not _router_entries(child_plan)


def attach_child(coordinator: Any, parent_coordinator: Any, router: Router) -> bool:
    """What model-router's mount adds to a child that still matters once the spawner routes it.

    Only under a parent whose usage we track (our module is mounted there, or it was attached
    the same way): a custom app that registered the spawner by hand gets the routing alone, as
    before. Returns True when attached.
    """
    if parent_coordinator.get_capability(TRACKING_CAPABILITY) is None:
        return False
    try:
        coordinator.register_contributor(
            "observability.events", MODULE_ID, lambda: list(events.ALL_EVENTS)
        )
    except Exception:  # older kernels without contribution channels
        logger.debug("observability.events contribution not registered", exc_info=True)
    agents = (coordinator.config or {}).get("agents")
    if isinstance(agents, dict):  # agents the parent's live registry gained after its start
        assign_tier_preferences(agents, router.routing)
    stop_tracking = install_cost_tracking(coordinator, router)

    def cleanup() -> None:  # runs in the kernel's coordinator cleanup, after session:end
        stop_tracking()
        forget_session(coordinator)

    coordinator.register_cleanup(cleanup)
    return True
