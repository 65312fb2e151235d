"""Spend against the caps: per root session here, per day and per org in shared counters.

A root session and its delegations (nested ones included) share one session spend; the ledger
(:mod:`..cost.ledger`) says which root a session rolls up to. Daily and org spend are counters
in the routing state store, so every process on the store counts toward one total; the
counter's name carries the UTC day and it expires a little after that day ends.

When the store cannot answer (down, slow), a process keeps counting what it spent itself on
top of the last total it saw, and goes on routing on that estimate.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import events
from ..shared import shared
from .counters import MemoryCounters, SpendCounters
from .model import BudgetSettings, CapSpend, SpendLevel

__all__ = ["Budget", "SpendBook", "shared_book"]

logger = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], Awaitable[Any]]
_MAX_ROOTS = 1024
_DAY = 86_400.0


@dataclass(slots=True)
class RootSpend:
    """One root session's spend and what has been announced for it."""

    usd: Decimal = Decimal(0)
    unknown_calls: int = 0
    announced_level: int = 0
    warned: bool = False
    emit: Emit | None = None
    """The root session's own ``hooks.emit``: budget events go to the root's events.jsonl."""


def _user_scope() -> str:
    """A stable, non-identifying name for this OS user (daily caps are per user)."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry, no USER: one shared scope
        user = "unknown"
    return hashlib.sha256(user.encode()).hexdigest()[:12]


class SpendBook:
    """Process-wide spend: roots in memory, daily/org totals in :class:`SpendCounters`."""

    def __init__(
        self,
        counters: SpendCounters | None = None,
        *,
        clock: Callable[[], float] = time.time,
        user: str | None = None,
    ) -> None:
        self.counters: SpendCounters = counters if counters is not None else MemoryCounters()
        self.clock = clock
        self.user = user or _user_scope()
        self._roots: OrderedDict[str, RootSpend] = OrderedDict()
        self._seen: dict[str, float] = {}
        """Last shared total read per counter; plus ``_unsynced`` it is the local estimate."""
        self._unsynced: dict[str, float] = {}
        self._names: tuple[int, dict[str, str]] = (-1, {})

    def use_counters(self, counters: SpendCounters) -> None:
        """Count daily/org spend in ``counters`` from now on (the routing state store)."""
        if counters is not self.counters:
            self.counters = counters
            self._seen.clear()
            self._unsynced.clear()

    def reset(self, counters: SpendCounters | None = None) -> None:
        """Forget every root and local total; count in ``counters`` (fresh memory by default)."""
        self._roots.clear()
        self.use_counters(counters if counters is not None else MemoryCounters())

    # -- roots -----------------------------------------------------------------------------

    def root(self, root_id: str) -> RootSpend:
        found = self._roots.get(root_id)
        if found is None:
            while len(self._roots) >= _MAX_ROOTS:
                self._roots.popitem(last=False)
            found = self._roots[root_id] = RootSpend()
        return found

    def register_root(self, root_id: str, emit: Emit | None) -> None:
        self.root(root_id).emit = emit

    def forget(self, root_id: str) -> None:
        self._roots.pop(root_id, None)

    # -- shared counters -------------------------------------------------------------------

    def counter_names(self) -> dict[str, str]:
        """Today's counter per shared cap (UTC day in the name)."""
        day_number = int(self.clock() // _DAY)
        if self._names[0] != day_number:
            day = time.strftime("%Y-%m-%d", time.gmtime(day_number * _DAY))
            names = {"daily": f"budget:daily:{self.user}:{day}", "org_daily": f"budget:org_daily:{day}"}
            self._names = (day_number, names)
        return self._names[1]

    def _ttl(self) -> float:
        """Seconds until the UTC day ends, plus an hour for clocks that disagree."""
        now = self.clock()
        return (_DAY - now % _DAY) + 3600.0

    async def add(self, name: str, amount: float) -> float:
        """Add to a shared counter; the total as best known."""
        total = await self.counters.incr(name, amount, self._ttl())
        if total is None:
            self._unsynced[name] = self._unsynced.get(name, 0.0) + amount
            return self.estimate(name)
        self._seen[name] = total
        return self.estimate(name)

    async def read(self, name: str) -> float:
        total = await self.counters.get_counter(name)
        if total is not None:
            self._seen[name] = total
        return self.estimate(name)

    def estimate(self, name: str) -> float:
        return self._seen.get(name, 0.0) + self._unsynced.get(name, 0.0)

    def __len__(self) -> int:
        return len(self._roots)


def shared_book() -> SpendBook:
    """The process-wide book: a root session and all its children count into one."""
    return shared("spend book", SpendBook, SpendBook.reset)


class Budget:
    """One mount's caps over the process-wide :class:`SpendBook`."""

    def __init__(self, settings: BudgetSettings, book: SpendBook | None = None) -> None:
        self.settings = settings
        self.book = book if book is not None else shared_book()
        self._caps = tuple((name, cap) for name, cap in settings.caps().items() if cap is not None)
        self._shared = tuple(name for name, _ in self._caps if name != "session")

    async def level(self, root_id: str) -> SpendLevel:
        """Where ``root_id`` stands now (reads the shared counters it has caps on)."""
        root = self.book.root(root_id)
        shared: dict[str, float] = {}
        if self._shared:
            names = self.book.counter_names()
            for cap in self._shared:
                shared[cap] = await self.book.read(names[cap])
        return self._level(root, shared)

    async def charge(self, root_id: str, cost_usd: Decimal | None) -> SpendLevel:
        """Count one call: its cost, or one call of unknown cost (never zero dollars)."""
        root = self.book.root(root_id)
        shared: dict[str, float] = {}
        names = self.book.counter_names() if self._shared else {}
        if cost_usd is None:
            root.unknown_calls += 1
            for cap in self._shared:
                shared[cap] = await self.book.read(names[cap])
            return self._level(root, shared)
        root.usd += cost_usd
        for cap in self._shared:
            shared[cap] = await self.book.add(names[cap], float(cost_usd))
        return self._level(root, shared)

    def _level(self, root: RootSpend, shared: dict[str, float]) -> SpendLevel:
        caps: list[CapSpend] = []
        for name, cap in self._caps:
            spend = root.usd if name == "session" else Decimal(repr(round(shared.get(name, 0.0), 9)))
            caps.append(CapSpend(name, cap, spend))
        return SpendLevel.of(tuple(caps), self.settings, root.unknown_calls)

    async def announce(self, root_id: str, level: SpendLevel, emit: Emit | None) -> None:
        """Emit ``model_router:budget`` for every threshold ``level`` crossed since the last one.

        Goes to the root session when it registered (its events.jsonl), else to ``emit``.
        The bookkeeping happens before any await, so concurrent children announce once.
        """
        root = self.book.root(root_id)
        payloads: list[dict[str, Any]] = []
        if level.warned and not root.warned:
            root.warned = True
            payloads.append(self._payload(root_id, level, "warn", root.announced_level, self.settings.warn_at))
        if level.level > root.announced_level:
            previous, root.announced_level = root.announced_level, level.level
            action = "at_cap" if level.at_cap else "degrade"
            payloads.append(self._payload(root_id, level, action, previous, self.settings.threshold_of(level.level)))
        target = root.emit or emit
        if target is None:
            return
        for payload in payloads:
            logger.info("model-router: budget %s: %s", payload["action"], level.describe())
            try:
                await target(events.BUDGET, payload)
            except Exception:  # observers must never break a session
                logger.warning("model-router: emitting %s failed", events.BUDGET, exc_info=True)

    def _payload(
        self, root_id: str, level: SpendLevel, action: str, previous: int, threshold: float
    ) -> dict[str, Any]:
        tightest = level.tightest
        return events.budget_payload(
            action=action,
            session_id=root_id,
            cap=tightest.name if tightest else None,
            spend_usd=float(tightest.spend_usd) if tightest else 0.0,
            cap_usd=float(tightest.cap_usd) if tightest else None,
            threshold=threshold,
            level=level.level,
            previous_level=previous,
            at_cap=self.settings.at_cap,
            unknown_calls=level.unknown_calls,
            caps=[c.to_dict() for c in level.caps],
        )
