"""The ``memory`` backend: today's behaviour, state private to this process.

Also the fallback whenever a shared backend cannot be opened, and the model the other
backends are tested against (the same contract tests run on all three).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..budget.counters import MemoryCounters
from .base import CooldownKey, StoredCatalog, StoredCooldown, cooldown_field, model_of_field
from .codec import short_reason

__all__ = ["MemoryStore"]


class MemoryStore:
    """Dicts with deadlines on ``clock`` (monotonic by default). Never raises."""

    backend = "memory"
    where = "this process"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._catalogs: dict[str, tuple[StoredCatalog, float]] = {}
        self._cooldowns: dict[tuple[str, str], tuple[float, str]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._counters = MemoryCounters(clock=clock)  # the budget's own expiring counters

    async def get_catalog(self, key: str) -> StoredCatalog | None:
        found = self._catalogs.get(key)
        if found is None:
            return None
        left = found[1] - self._clock()
        return replace(found[0], remaining=left) if left > 0 else None

    async def put_catalog(self, key: str, catalog: StoredCatalog, ttl: float) -> None:
        if ttl > 0:
            self._catalogs[key] = (catalog, self._clock() + ttl)

    async def get_cooldowns(self, keys: Sequence[CooldownKey]) -> list[StoredCooldown]:
        now = self._clock()
        found: list[StoredCooldown] = []
        for identity, model in keys:
            entry = self._cooldowns.get((identity, cooldown_field(model)))
            if entry is not None and entry[0] > now:
                found.append(StoredCooldown(identity, model_of_field(cooldown_field(model)), entry[0] - now, entry[1]))
        return found

    async def put_cooldown(self, identity: str, model: str | None, seconds: float, reason: str) -> None:
        if not seconds > 0:
            return
        key = (identity, cooldown_field(model))
        until = self._clock() + seconds
        current = self._cooldowns.get(key)
        if current is None or current[0] < until:
            self._cooldowns[key] = (until, short_reason(reason))

    async def clear_cooldown(self, identity: str, model: str | None) -> None:
        self._cooldowns.pop((identity, cooldown_field(model)), None)

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        now = self._clock()
        current = self._leases.get(name)
        if current is not None and current[1] > now and current[0] != holder:
            return False
        self._leases[name] = (holder, now + ttl)
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        current = self._leases.get(name)
        if current is not None and current[0] == holder:
            del self._leases[name]

    async def incr(self, name: str, amount: float, ttl: float) -> float:
        return await self._counters.incr(name, amount, ttl)

    async def get_counter(self, name: str) -> float:
        return await self._counters.get_counter(name)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
