"""What a spend level does to one spawn's request: keep it, step its tier down, or refuse it.

Rules (the README states them for users):
- below the first ``degrade.at`` fraction nothing changes;
- below the cap, an agent on its own tier steps down that tier's ``degrade`` steps; a caller's
  explicit ``provider_preferences`` and an inheriting agent (``self``) are left alone;
- at the cap, ``budget-only`` puts every spawn on ``cap_tier`` (the caller's preferences and
  inheritance included: the budget wins, and the event says what it overrode), and ``refuse``
  refuses it with :class:`..errors.BudgetExceededError`;
- ``unknown_cost: block`` drops, at the cap, every candidate whose cost cannot be known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import events
from ..errors import BudgetExceededError
from ..resolve.resolver import CHOSEN, FALLBACK, SKIPPED, Candidate, Resolution, TraceEntry
from .model import AT_CAP_REFUSE, UNKNOWN_BLOCK, BudgetSettings, SpendLevel, money

__all__ = ["SOURCE_BUDGET", "BudgetRoute", "apply_level", "drop_unknown_cost", "refusal", "target_tier"]

SOURCE_BUDGET = "budget"
"""The ``source`` of a spawn the cap moved off the caller's preferences or the parent's model."""


@dataclass(frozen=True, slots=True)
class BudgetRoute:
    """A request after the budget had its say, and the note for the resolved event."""

    request: Any  # session.decision.RouteRequest (budget/ does not import session/)
    note: dict[str, Any] | None
    refusal: BudgetExceededError | None = None
    block_unknown: bool = False


def refusal(agent: str, level: SpendLevel, *, running: bool = False) -> BudgetExceededError:
    cap = level.tightest
    return BudgetExceededError(
        agent,
        cap=cap.name if cap else None,
        spend_usd=money(cap.spend_usd) if cap else "0.00",
        cap_usd=money(cap.cap_usd) if cap else "0.00",
        unknown_calls=level.unknown_calls,
        running=running,
    )


def target_tier(settings: BudgetSettings, level: SpendLevel, tier: str | None, source: str) -> str | None:
    """The tier a spawn of ``tier`` from ``source`` runs on at ``level`` (None: leave it)."""
    if level.at_cap:
        return settings.cap_tier
    if source != "agent":
        return tier
    return settings.tier_at(tier, level.level)


def apply_level(
    settings: BudgetSettings,
    level: SpendLevel,
    request: Any,
    tiers: Mapping[str, Sequence[Any]],
) -> BudgetRoute:
    """The request ``level`` allows (see the module doc); never touches providers."""
    spend = level.describe()
    if level.at_cap and settings.at_cap == AT_CAP_REFUSE:
        note = events.budget_note(level=level.level, spend=spend, degraded=False, reason="at the cap: refused")
        return BudgetRoute(request, note, refusal(request.agent, level))
    wanted = target_tier(settings, level, request.tier, request.source)
    if level.level == 0:
        return BudgetRoute(request, events.budget_note(level=0, spend=spend, degraded=False))
    block = level.at_cap and settings.unknown_cost == UNKNOWN_BLOCK
    if wanted == request.tier and not level.at_cap:
        reason = None
        if request.source == "call":
            reason = "the caller's provider_preferences are honoured below the cap"
        note = events.budget_note(level=level.level, spend=spend, degraded=False, reason=reason)
        return BudgetRoute(request, note, block_unknown=block)
    if wanted is None or wanted not in tiers:
        note = events.budget_note(
            level=level.level, spend=spend, degraded=False,
            reason=f"tier {wanted!r} to step down to is not defined; kept {request.tier!r}",
        )
        return BudgetRoute(request, note, block_unknown=block)
    where = "at the cap" if level.at_cap else f"past {settings.threshold_of(level.level):.0%} of the cap"
    overrode = None
    source = request.source
    if level.at_cap and request.source in ("call", "inherit"):
        overrode, source = request.source, SOURCE_BUDGET
    if level.at_cap and wanted == request.tier and overrode is None:
        note = events.budget_note(level=level.level, spend=spend, degraded=False, reason=f"{where}: already on it")
        return BudgetRoute(request, note, block_unknown=block)
    reason = f"{spend}: {where}, tier {request.tier or '(none)'} -> {wanted}"
    if overrode == "call":
        reason += " (the budget wins over the caller's provider_preferences)"
    elif overrode == "inherit":
        reason += " (instead of the parent's model)"
    note = events.budget_note(
        level=level.level, spend=spend, degraded=True, from_tier=request.tier, to_tier=wanted,
        reason=reason, overrode=overrode,
    )
    moved = replace(request, tier=wanted, source=source, preferences=tuple(tiers[wanted]))
    return BudgetRoute(moved, note, block_unknown=block)


_UNKNOWN_BLOCKED = "its cost cannot be known, and unknown_cost: block keeps such calls under the cap"


def drop_unknown_cost(resolution: Resolution, priced: Callable[[Candidate], bool]) -> Resolution:
    """``resolution`` without the candidates whose cost cannot be known (``unknown_cost: block``)."""
    chain = resolution.chain()
    kept = [c for c in chain if priced(c)]
    if len(kept) == len(chain):
        return resolution
    dropped = {(c.provider, c.model) for c in chain if not priced(c)}
    first = (kept[0].provider, kept[0].model) if kept else None

    def relabel(t: TraceEntry) -> TraceEntry:
        if t.outcome == SKIPPED:
            return t
        if (t.provider, t.model) in dropped:
            return replace(t, outcome=SKIPPED, reason=_UNKNOWN_BLOCKED)
        return replace(t, outcome=CHOSEN if (t.provider, t.model) == first else FALLBACK)

    trace = tuple(relabel(t) for t in resolution.trace)
    return replace(resolution, chosen=kept[0] if kept else None, fallbacks=tuple(kept[1:]), trace=trace)

