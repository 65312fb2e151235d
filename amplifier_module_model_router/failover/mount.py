"""Put a child session behind a :class:`FailoverProvider` holding its whole resolved chain.

Used from two places: the child's own model-router instance at mount (app-cli children inherit
the parent's hooks) and our spawner after ``initialize()`` (children whose plan dropped our hook).
Idempotent: a child gets at most one failover provider.
"""

from __future__ import annotations

import logging
from typing import Any

from ..resolve.preferences import ProviderPreference
from .provider import FailoverCandidate, FailoverProvider

logger = logging.getLogger(__name__)

FAILOVER_MOUNT_NAME = "model-router"


async def mount_failover(coordinator: Any, outcome: Any, router: Any) -> bool:
    """Mount the failover provider for ``outcome``'s chain; False when fewer than two links mount."""
    providers = coordinator.get("providers") or {}
    if FAILOVER_MOUNT_NAME in providers:
        return True
    candidates: list[FailoverCandidate] = []
    for link in outcome.chain:
        provider = providers.get(link.provider)
        if provider is None:
            continue
        record = None
        lookup = router.cache.peek(link.entry)
        if lookup is not None:
            record = next((m for m in lookup.models if m.id == link.model), None)
        candidates.append(
            FailoverCandidate(
                name=link.provider,
                provider=provider,
                model=link.model,
                context_window=record.context_window if record else None,
            )
        )
    if len(candidates) < 2:
        return False
    failover = FailoverProvider(
        candidates,
        registry=router.cooldowns,
        emit=coordinator.hooks.emit,
        agent=outcome.request.agent,
    )
    await coordinator.mount("providers", failover, name=FAILOVER_MOUNT_NAME)
    logger.debug("model-router: failover over %d candidates for %s", len(candidates), outcome.request.agent)
    return True


def answered_by(coordinator: Any) -> tuple[str, str] | None:
    """(provider, model) that last answered in a session behind a failover provider."""
    failover = (coordinator.get("providers") or {}).get(FAILOVER_MOUNT_NAME)
    return getattr(failover, "answered", None)


def inherited_chain(coordinator: Any) -> tuple[ProviderPreference, ...]:
    """The concrete chain a session runs behind, for a child that inherits its model; else ()."""
    failover = (coordinator.get("providers") or {}).get(FAILOVER_MOUNT_NAME)
    if not isinstance(failover, FailoverProvider):
        return ()
    return tuple(ProviderPreference(provider=c.name, model=c.model) for c in failover.candidates)
