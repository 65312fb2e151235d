"""Connect a mounted router to its routing state store (``state:`` setting).

``memory`` attaches nothing: the catalog cache and the cooldown registry work exactly as
before, per process. ``sqlite`` and ``redis`` open one process-wide store (shared by a parent
and all its children) and attach it to the shared catalog cache and cooldown registry. Opening
is bounded and never fails a mount: a store that cannot be used is reported once and routing
carries on per process.
"""

from __future__ import annotations

import logging
from pathlib import Path
from ..state import CooldownSync, StateSettings, shared_store
from .router import Router

logger = logging.getLogger(__name__)


async def link_state(router: Router, settings: StateSettings | None, amplifier_home: Path | None) -> None:
    """Attach the store ``settings`` name to ``router``'s catalog cache and cooldown registry."""
    registry = router.cooldowns
    if settings is None or settings.backend == "memory":
        router.cache.store = None
        if registry is not None and registry.listener is not None:
            registry.attach(None)
        router.state_store = None
        return
    store = await shared_store(settings, amplifier_home=amplifier_home)
    router.state_store = store
    if store.backend == "memory":  # could not open: already reported, routing stays per process
        router.cache.store = None
        if registry is not None:
            registry.attach(None)
        return
    router.cache.store = store
    if registry is not None and getattr(registry.listener, "store", None) is not store:
        registry.attach(CooldownSync(registry, store, refresh_s=settings.refresh))
