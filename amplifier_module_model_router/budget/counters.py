"""Where daily and org spend live: atomic counters that expire with their day.

:class:`SpendCounters` is the part of the routing state store (``state/``) that budgets use:
the store's ``GuardedStore`` answers it as is (``None`` when the store cannot say). Until a
store is configured, :class:`MemoryCounters` keeps them in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["MemoryCounters", "SpendCounters"]


@runtime_checkable
class SpendCounters(Protocol):
    """Atomic float counters; a counter expires ``ttl`` seconds after it was created."""

    async def incr(self, name: str, amount: float, ttl: float) -> float | None:
        """Add ``amount`` atomically; the new total, or None when the store cannot say."""
        ...

    async def get_counter(self, name: str) -> float | None:
        """The total (0.0 when absent or expired), or None when the store cannot say."""
        ...


class MemoryCounters:
    """Counters private to this process (one event loop at a time, so increments are atomic)."""

    backend = "memory"
    where = "this process"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[float, float]] = {}

    async def incr(self, name: str, amount: float, ttl: float) -> float:
        now = self._clock()
        value, expires = self._values.get(name, (0.0, 0.0))
        if expires <= now:
            value, expires = 0.0, now + ttl
        value += amount
        self._values[name] = (value, expires)
        return value

    async def get_counter(self, name: str) -> float:
        value, expires = self._values.get(name, (0.0, 0.0))
        return value if expires > self._clock() else 0.0
