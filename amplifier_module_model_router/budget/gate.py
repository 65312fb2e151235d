"""Between a running agent's model calls: move it down a tier when spend crossed a threshold.

The failover provider a routed child runs behind calls the gate before each ``complete()``.
The gate reads the root session's spend level; when the tier the agent should be on differs
from the one it runs on, it resolves that tier's chain against the child's own providers and
hands the failover provider the new candidates, and says so (``model_router:budget``,
``action: moved``). At the cap under ``refuse`` the call is refused instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .. import events
from .book import Budget, Emit
from .model import AT_CAP_REFUSE, UNKNOWN_BLOCK
from .routing import refusal, target_tier

__all__ = ["BudgetGate"]

logger = logging.getLogger(__name__)

ResolveTier = Callable[[str, bool], Awaitable[Sequence[Any]]]
"""(tier, priced only) -> failover candidates on the child's providers (empty: cannot)."""


class BudgetGate:
    """Checked before every model call of one routed child (see the module doc)."""

    def __init__(
        self,
        budget: Budget,
        *,
        agent: str,
        tier: str | None,
        source: str,
        applied_tier: str | None,
        root_id: Callable[[], str | None],
        resolve_tier: ResolveTier,
        emit: Emit | None,
    ) -> None:
        self.budget = budget
        self.agent = agent
        self.tier = tier
        self.source = source
        self.applied_tier = applied_tier
        self._root_id = root_id
        self._resolve_tier = resolve_tier
        self._emit = emit
        self.moves = 0

    async def __call__(self, provider: Any) -> None:
        root_id = self._root_id()
        if root_id is None:
            return
        level = await self.budget.level(root_id)
        await self.budget.announce(root_id, level, self._emit)
        if level.level == 0:
            return
        settings = self.budget.settings
        if level.at_cap and settings.at_cap == AT_CAP_REFUSE:
            raise refusal(self.agent, level, running=True)
        wanted = target_tier(settings, level, self.tier, self.source)
        if wanted is None or wanted == self.applied_tier:
            return
        block = level.at_cap and settings.unknown_cost == UNKNOWN_BLOCK
        candidates = await self._resolve_tier(wanted, block)
        if not candidates:
            logger.warning(
                "model-router: %s should move to tier %s (%s) but it resolves to nothing here; it stays",
                self.agent, wanted, level.describe(),
            )
            self.applied_tier = wanted  # say it once, not at every call
            return
        previous, self.applied_tier = self.applied_tier, wanted
        provider.replace_candidates(candidates)
        self.moves += 1
        first = candidates[0]
        tightest = level.tightest
        payload = events.budget_payload(
            action="moved",
            session_id=root_id,
            cap=tightest.name if tightest else None,
            spend_usd=float(tightest.spend_usd) if tightest else 0.0,
            cap_usd=float(tightest.cap_usd) if tightest else None,
            threshold=settings.threshold_of(level.level),
            level=level.level,
            previous_level=level.level,
            at_cap=settings.at_cap,
            unknown_calls=level.unknown_calls,
            caps=[c.to_dict() for c in level.caps],
            agent=self.agent,
            from_tier=previous,
            to_tier=wanted,
            moved_to={"provider": first.name, "model": first.model},
        )
        logger.info("model-router: budget moved %s from tier %s to %s (%s)", self.agent, previous, wanted, level.describe())
        emit = self.budget.book.root(root_id).emit or self._emit  # the root's events.jsonl first
        if emit is not None:
            try:
                await emit(events.BUDGET, payload)
            except Exception:
                logger.warning("model-router: emitting %s failed", events.BUDGET, exc_info=True)
