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

BUDGET = "model_router:budget"
"""Spend crossed a threshold of a cap (warn, a degrade step, the cap), or a running agent was
moved to a cheaper tier because of one."""

SETTINGS_ERROR = "model_router:settings_error"
"""At session start, one per settings layer that was refused (the session routes without it)."""

LISTING_QUIRK = "model_router:listing_quirk"
"""At root session start, one per mounted provider whose listing hides models (Anthropic's
default one-per-family), with the documented setting that shows them all."""

ALL_EVENTS: tuple[str, ...] = (RESOLVED, FAILOVER, COST, BUDGET, SETTINGS_ERROR, LISTING_QUIRK)

# The ``outcome`` of a ``model_router:resolved`` event (see :func:`resolved_payload`).
ROUTED = "routed"
INHERIT = "inherit"
UNRESOLVED = "unresolved"
"""A chain was asked for but nothing resolved: the agent inherits the parent's model."""
REFUSED = "refused"
"""Strict mode and nothing resolved: the spawn is refused."""


async def emit_observed(hooks: Any, event: str, payload: dict[str, Any]) -> None:
    """Emit ``event`` when a handler is registered for it (a logger, a UI, a test).

    The kernel's emit with no handler does nothing but cost a round trip to its runtime
    (~0.15 ms); per spawn that is a tenth of what routing may add. Registries without
    ``list_handlers`` always get the emit.
    """
    listing = getattr(hooks, "list_handlers", None)
    if listing is not None:
        try:
            if not any(listing(event).values()):
                return
        except Exception:  # a registry that cannot say: emit, as before
            pass
    await hooks.emit(event, payload)


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
    budget: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``model_router:resolved`` payload.

    ``outcome`` is ``routed`` (a candidate of the chain was chosen), ``inherit`` (no routing
    asked for: the child runs on the parent's model, or on the chain the parent runs behind),
    ``unresolved`` (routing was asked for but nothing in the chain resolved, so the child
    inherits; ``reason`` says why) or ``refused`` (the same in strict mode, or a spend cap
    with ``at_cap: refuse``: no child is spawned). ``budget`` (only when a spend cap is set)
    says whether the tier was degraded and why (:func:`budget_note`).
    """
    payload: dict[str, Any] = {
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
    if budget is not None:
        payload["budget"] = budget
    return payload


def budget_note(
    *,
    level: int,
    spend: str,
    degraded: bool,
    from_tier: str | None = None,
    to_tier: str | None = None,
    reason: str | None = None,
    overrode: str | None = None,
) -> dict[str, Any]:
    """The ``budget`` part of ``model_router:resolved``.

    ``degraded`` says the agent runs on ``to_tier`` instead of ``from_tier``; ``overrode``
    names what the budget won over at the cap (``call``: the caller's explicit preferences,
    ``inherit``: the parent's model); ``spend`` is the tightest cap's state in words.
    """
    return {
        "level": level,
        "spend": spend,
        "degraded": degraded,
        "from_tier": from_tier,
        "to_tier": to_tier,
        "reason": reason,
        "overrode": overrode,
    }


BUDGET_ACTIONS = ("warn", "degrade", "at_cap", "moved")


def budget_payload(
    *,
    action: str,
    session_id: str | None,
    cap: str | None,
    spend_usd: float,
    cap_usd: float | None,
    threshold: float | None,
    level: int,
    previous_level: int,
    at_cap: str,
    unknown_calls: int,
    caps: list[dict[str, Any]],
    agent: str | None = None,
    from_tier: str | None = None,
    to_tier: str | None = None,
    moved_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``model_router:budget`` payload.

    ``action``: ``warn`` (``warn_at`` crossed), ``degrade`` (a ``degrade.at`` fraction crossed:
    new spawns step down), ``at_cap`` (100 % of ``cap``: ``at_cap`` policy from now on) or
    ``moved`` (a running ``agent`` was moved from ``from_tier`` to ``to_tier``, now on
    ``moved_to``, at its next model call). ``cap`` is the tightest cap (``session``, ``daily``,
    ``org_daily``) and ``caps`` every cap's spend; ``unknown_calls`` counts calls whose cost
    cannot be known (never counted as zero dollars).
    """
    return {
        "action": action,
        "session_id": session_id,
        "cap": cap,
        "spend_usd": round(spend_usd, 6),
        "cap_usd": cap_usd,
        "threshold": threshold,
        "level": level,
        "previous_level": previous_level,
        "at_cap": at_cap,
        "unknown_calls": unknown_calls,
        "caps": caps,
        "agent": agent,
        "from_tier": from_tier,
        "to_tier": to_tier,
        "moved_to": moved_to,
    }


#: What happens to a settings file that fails validation; the one wording every surface uses
#: (the session's warning, the CLI's error line, the event's ``effect``).
IGNORED_SETTINGS_FILE = "this settings file is ignored; routing continues with the other layers"


def settings_error_payload(error: Any) -> dict[str, Any]:
    """The ``model_router:settings_error`` payload for a refused layer (a ``BundleError``).

    ``file``, ``line`` and ``key`` locate the problem; ``message`` is the one line the user
    sees; nothing of that layer was applied, the other layers were.
    """
    return {
        "file": error.file,
        "line": error.line,
        "key": error.field,
        "reason": error.reason,
        "message": str(error),
        "effect": IGNORED_SETTINGS_FILE,
    }
