"""Event names this module emits, and the payload shapes observers can rely on.

Amplifier writes every emitted event to the session's ``events.jsonl``; these are advertised
through the ``observability.events`` contribution channel so loggers and UIs discover them.
"""

from __future__ import annotations

from typing import Any

RESOLVED = "model_router:resolved"
"""One per spawn: which provider and concrete model the child got, and why."""

FAILOVER = "model_router:failover"
"""A running child switched candidate after a provider error (rate limit, outage, ...)."""

COST = "model_router:cost"
"""At session end: per-agent tokens and cost, and what routing saved."""

ALL_EVENTS: tuple[str, ...] = (RESOLVED, FAILOVER, COST)

# The ``outcome`` of a ``model_router:resolved`` event (see :func:`resolved_payload`).
ROUTED = "routed"
INHERIT = "inherit"
UNRESOLVED = "unresolved"
"""A chain was asked for but nothing resolved: the agent inherits the parent's model."""
REFUSED = "refused"
"""Strict mode and nothing resolved: the spawn is refused."""


def resolved_payload(
    *,
    agent: str,
    tier: str | None,
    source: str,
    requested: list[dict[str, Any]],
    outcome: str,
    provider: str | None,
    model: str | None,
    fallbacks: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    from_cache: bool,
    resolution_ms: float,
    sub_session_id: str | None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The ``model_router:resolved`` payload.

    ``outcome`` is ``routed`` (a candidate of the chain was chosen), ``inherit`` (no routing
    asked for: the child runs on the parent's model, or on the chain the parent runs behind),
    ``unresolved`` (routing was asked for but nothing in the chain resolved, so the child
    inherits; ``reason`` says why) or ``refused`` (the same in strict mode: no child is spawned).
    """
    return {
        "agent": agent,
        "tier": tier,
        "source": source,
        "requested": requested,
        "outcome": outcome,
        "provider": provider,
        "model": model,
        "fallbacks": fallbacks,
        "skipped": skipped,
        "from_cache": from_cache,
        "resolution_ms": round(resolution_ms, 3),
        "sub_session_id": sub_session_id,
        "reason": reason,
    }
