"""The router's side of a store: every call bounded, every failure turned into "use local state".

A spawn must never fail, and never wait long, because a store is down, stalled, locked or
corrupt. :class:`GuardedStore` wraps any :class:`.base.StateStore`:

- each operation gets at most ``op_timeout`` seconds;
- a failure or timeout marks the store *down*: from then on calls answer at once with the
  "nothing shared" value (no catalog, no cooldowns, lease granted, counter unknown) and the
  router works on its local, in-memory state;
- while down, one background probe (``ping``) per ``retry_s`` (doubling to ``max_retry_s``)
  tries to reconnect; callers never wait for it;
- the first outage is logged once as a warning naming the store and what to do, later
  outages and every recovery at info level.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .base import CooldownKey, StateStore, StoreError, StoredCatalog, StoredCooldown

__all__ = ["GuardStats", "GuardedStore"]

logger = logging.getLogger("amplifier_module_model_router.state")

T = TypeVar("T")


@dataclass(slots=True)
class GuardStats:
    """What the guard saw (for ``explain``, the benchmark and tests)."""

    calls: int = 0
    failures: int = 0
    timeouts: int = 0
    skipped: int = 0
    """Calls answered locally because the store was down."""
    reconnects: int = 0


class GuardedStore:
    """A :class:`.base.StateStore` whose calls never raise and never take long (module doc)."""

    def __init__(
        self,
        store: StateStore,
        *,
        op_timeout: float = 0.25,
        retry_s: float = 1.0,
        max_retry_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.op_timeout = op_timeout
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self.stats = GuardStats()
        self._clock = clock
        self._down_since: float | None = None
        self._down_reason = ""
        self._retry_at = 0.0
        self._backoff = retry_s
        self._probe: asyncio.Task | None = None
        self._warned = False

    @property
    def backend(self) -> str:
        return self.store.backend

    @property
    def where(self) -> str:
        return self.store.where

    @property
    def up(self) -> bool:
        return self._down_since is None

    @property
    def shared(self) -> bool:
        """True when state reaches other processes (a shared backend that is up)."""
        return self.store.backend != "memory" and self.up

    def status(self) -> str:
        """One line for ``settings``/``explain``: backend, where, and whether it is up."""
        state = "up" if self.up else f"down ({self._down_reason}); routing on local state"
        return f"{self.backend} at {self.where}: {state}"

    # -- the guarded operations ----------------------------------------------------------

    async def get_catalog(self, key: str) -> StoredCatalog | None:
        return await self._guard(lambda: self.store.get_catalog(key), None)

    async def put_catalog(self, key: str, catalog: StoredCatalog, ttl: float) -> None:
        await self._guard(lambda: self.store.put_catalog(key, catalog, ttl), None)

    async def get_cooldowns(self, keys: Sequence[CooldownKey]) -> list[StoredCooldown]:
        if not keys:
            return []
        return await self._guard(lambda: self.store.get_cooldowns(keys), [])

    async def put_cooldown(self, identity: str, model: str | None, seconds: float, reason: str) -> None:
        await self._guard(lambda: self.store.put_cooldown(identity, model, seconds, reason), None)

    async def clear_cooldown(self, identity: str, model: str | None) -> None:
        await self._guard(lambda: self.store.clear_cooldown(identity, model), None)

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """True when the caller should go ahead: it holds the lease, or nobody can be asked."""
        return await self._guard(lambda: self.store.acquire_lease(name, holder, ttl), True)

    async def release_lease(self, name: str, holder: str) -> None:
        await self._guard(lambda: self.store.release_lease(name, holder), None)

    async def incr(self, name: str, amount: float, ttl: float) -> float | None:
        """The new shared total, or None when the store cannot say (keep counting locally)."""
        return await self._guard(lambda: self.store.incr(name, amount, ttl), None)

    async def get_counter(self, name: str) -> float | None:
        return await self._guard(lambda: self.store.get_counter(name), None)

    @property
    def can_push(self) -> bool:
        """The backend delivers other processes' cooldowns as they happen (Redis pub/sub)."""
        return callable(getattr(self.store, "listen_cooldowns", None))

    async def listen_cooldowns(
        self, on_change: Callable[[StoredCooldown], None], on_ready: Callable[[], None]
    ) -> None:
        """Run the backend's cooldown subscription until it fails (then the store is down)."""
        if not self.up or not self.can_push:
            return
        try:
            await self.store.listen_cooldowns(on_change, on_ready)  # type: ignore[attr-defined]
        except StoreError as exc:
            self.stats.failures += 1
            self._mark_down(str(exc))

    async def close(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
        try:
            async with asyncio.timeout(self.op_timeout):
                await self.store.close()
        except (StoreError, TimeoutError, OSError):
            pass

    # -- machinery -----------------------------------------------------------------------

    async def _guard(self, op: Callable[[], Awaitable[T]], fallback: T) -> T:
        if self._down_since is not None:
            self.stats.skipped += 1
            self._maybe_probe()
            return fallback
        self.stats.calls += 1
        try:
            async with asyncio.timeout(self.op_timeout):
                return await op()
        except TimeoutError:
            self.stats.timeouts += 1
            self._mark_down(f"no answer within {self.op_timeout:g}s")
        except StoreError as exc:
            self.stats.failures += 1
            self._mark_down(str(exc))
        return fallback

    def _mark_down(self, reason: str) -> None:
        if self._down_since is not None:
            return
        self._down_since = self._clock()
        self._down_reason = reason[:300]
        self._retry_at = self._down_since + self._backoff
        level = logging.INFO if self._warned else logging.WARNING
        self._warned = True
        logger.log(
            level,
            "model-router: the %s state store at %s is unavailable (%s); routing on this process's own "
            "state, retrying in the background",
            self.backend,
            self.where,
            self._down_reason,
        )

    def _maybe_probe(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        probing = self._probe is not None and not self._probe.done() and self._probe.get_loop() is loop
        if probing or self._clock() < self._retry_at:
            return
        self._retry_at = self._clock() + self._backoff
        self._probe = loop.create_task(self._reconnect(), name="model-router-state-reconnect")

    async def _reconnect(self) -> None:
        try:
            async with asyncio.timeout(self.op_timeout):
                await self.store.ping()
        except (StoreError, TimeoutError, OSError) as exc:
            self._backoff = min(self._backoff * 2, self.max_retry_s)
            self._retry_at = self._clock() + self._backoff
            logger.debug("model-router: state store still unavailable: %s", exc)
            return
        self.stats.reconnects += 1
        down_for = self._clock() - (self._down_since or self._clock())
        self._down_since = None
        self._backoff = self.retry_s
        logger.info("model-router: the %s state store at %s is back after %.1fs", self.backend, self.where, down_for)
