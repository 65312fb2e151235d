"""Cooldowns shared through the store, with the process's registry as the tier in front.

The registry (:class:`..failover.cooldown.CooldownRegistry`) stays the only thing the router
reads on its hot paths: synchronous, in memory, no I/O. This class keeps it in step with the
store, the way LiteLLM's router keeps its in-memory cooldowns in step with Redis:

- a cooldown set here is written to the store in the background (the caller never waits);
- a cooldown proven wrong here (the provider answered) is cleared there too, and a cooldown
  this process only read from the store is dropped here once a read finds the store without
  it (sqlite and a missed push leave no trace of a clear but the row's absence);
- before a model call, :meth:`refresh` reads the store's cooldowns for the candidates about
  to be tried (sqlite: an inline read of a few rows; bounded by the guard), so a 429 seen by
  any process on the same account is honoured by the next call everywhere;
- where the store pushes changes (Redis pub/sub), a subscription keeps the registry current
  instead: a candidate read once since the subscription started is never read again before a
  call, so a warm call costs no network round trip;
- :meth:`refresh_soon` re-reads every candidate this process has looked at, in the
  background, at most once per ``refresh_s``: the spawn-time resolver sees what others
  learnt within that interval, and never waits for it.

Registry keys are provider identities (:func:`.identity.provider_identity`); entries keyed by
a plain mount name are shared under that name.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .base import CooldownKey, StoredCooldown
from .guard import GuardedStore

__all__ = ["CooldownSync", "MergeTarget"]

logger = logging.getLogger("amplifier_module_model_router.state")

_MAX_WATCHED = 256
_MAX_PENDING = 256


class MergeTarget(Protocol):
    """What the sync needs of a registry: cool and clear without telling the store again."""

    def cool(
        self, provider: str, model: str | None = None, *, seconds: float, reason: str = "", notify: bool = True
    ) -> float: ...

    def clear(
        self, provider: str | None = None, model: str | None = None, *, notify: bool = True, exact: bool = False
    ) -> None: ...


def _key(provider: str, model: str | None) -> CooldownKey:
    return provider.casefold(), model.casefold() if model is not None else None


class CooldownSync:
    """Links one registry to one store (module doc). Attach with ``registry.attach(sync)``."""

    def __init__(
        self,
        registry: MergeTarget,
        store: GuardedStore,
        *,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.store = store
        self.refresh_s = refresh_s
        self._clock = clock
        self._watched: OrderedDict[CooldownKey, None] = OrderedDict()
        self._last_refresh = -float("inf")
        self._pending: set[asyncio.Task] = set()
        self._refreshing: asyncio.Task | None = None
        self.sync_ms: deque[float] = deque(maxlen=1000)
        """How long the pre-call reads took (ms), for the benchmark and ``explain``."""
        self._listening: asyncio.Task | None = None
        self._live = False
        self._fresh: set[CooldownKey] = set()
        """Keys read since the subscription went live: pushes keep them current."""
        self._learnt: OrderedDict[CooldownKey, None] = OrderedDict()
        """Keys whose cooldown here came from the store (not set by this process since)."""

    # -- from the registry (synchronous: schedule, never wait) ----------------------------

    def cooled(self, provider: str, model: str | None, seconds: float, reason: str) -> None:
        identity, model_key = _key(provider, model)
        self._learnt.pop((identity, model_key), None)  # this process's own now
        self._schedule(self.store.put_cooldown(identity, model_key, seconds, reason))
        self._listen()

    def cleared(self, provider: str, model: str | None) -> None:
        identity, model_key = _key(provider, model)
        self._learnt.pop((identity, model_key), None)
        self._schedule(self.store.clear_cooldown(identity, model_key))

    def watch(self, provider: str, model: str | None) -> None:
        """Remember a candidate this process cares about (re-read by :meth:`refresh_soon`)."""
        for key in ((_key(provider, None),) if model is None else (_key(provider, None), _key(provider, model))):
            self._watched[key] = None
            self._watched.move_to_end(key)
        while len(self._watched) > _MAX_WATCHED:
            self._watched.popitem(last=False)

    # -- reading the store ----------------------------------------------------------------

    async def refresh(self, candidates: Iterable[tuple[str, str | None]] | None = None) -> int:
        """Merge the store's cooldowns for ``candidates`` (default: every watched one).

        Returns how many entries were read. Bounded by the guard; never raises.
        """
        self._listen()
        keys: list[CooldownKey] = []
        if candidates is None:
            keys = list(self._watched)
        else:
            for provider, model in candidates:
                self.watch(provider, model)
                keys.append(_key(provider, None))
                if model is not None:
                    keys.append(_key(provider, model))
        if candidates is None:
            self._last_refresh = self._clock()
        started = time.perf_counter()
        live = self._live
        wanted = [k for k in dict.fromkeys(keys) if not (live and k in self._fresh)]
        found = await self.store.get_cooldowns(wanted) if wanted else []
        if live and self._live:
            self._fresh.update(wanted)
        if candidates is not None:
            self.sync_ms.append(round((time.perf_counter() - started) * 1000, 4))
        for entry in found:
            self._merge(entry)
        if self.store.up:  # the read answered: a learnt cooldown it lacks was cleared or ended
            present = {_key(entry.identity, entry.model) for entry in found}
            for key in wanted:
                if key in self._learnt and key not in present:
                    del self._learnt[key]
                    self.registry.clear(key[0], key[1], notify=False, exact=True)
        return len(found)

    def refresh_soon(self) -> None:
        """Re-read the watched candidates in the background, at most once per ``refresh_s``
        (not at all while a live subscription keeps them current)."""
        if self._clock() - self._last_refresh < self.refresh_s or not self._watched:
            return
        self._listen()
        if self._live and all(k in self._fresh for k in self._watched):
            return
        if self._refreshing is not None and not self._refreshing.done():
            return
        self._last_refresh = self._clock()
        self._refreshing = self._schedule(self.refresh())

    async def flush(self, timeout: float = 1.0) -> None:
        """Wait (bounded) for the writes still in flight, e.g. before a process exits."""
        pending = [t for t in self._pending if not t.done() and t.get_loop() is asyncio.get_running_loop()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def close(self) -> None:
        """Stop the subscription (a process or test tearing down)."""
        task, self._listening = self._listening, None
        self._live = False
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -- machinery -------------------------------------------------------------------------

    def _merge(self, entry: StoredCooldown) -> None:
        key = _key(entry.identity, entry.model)
        if entry.remaining > 0:
            kept = self.registry.cool(
                entry.identity, entry.model, seconds=entry.remaining, reason=entry.reason, notify=False
            )
            if kept == entry.remaining:  # adopted (a longer one of this process's own stays its own)
                self._learnt[key] = None
                self._learnt.move_to_end(key)
                while len(self._learnt) > _MAX_WATCHED:
                    self._learnt.popitem(last=False)
        else:
            self._learnt.pop(key, None)
            self.registry.clear(entry.identity, entry.model, notify=False, exact=True)

    def _listen(self) -> None:
        """Keep one subscription running on this loop where the store pushes (never waits)."""
        if not self.store.can_push or not self.store.up:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = self._listening
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._live = False
        self._fresh.clear()
        self._listening = loop.create_task(self._subscription(), name="model-router-cooldown-subscription")

    async def _subscription(self) -> None:
        def ready() -> None:
            self._fresh.clear()
            self._live = True

        try:
            await self.store.listen_cooldowns(self._merge, ready)
        finally:
            self._live = False
            self._fresh.clear()

    def _schedule(self, coro: Any) -> asyncio.Task | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): nothing to share with
            coro.close()
            return None
        if len(self._pending) >= _MAX_PENDING:  # the store is far behind: drop, never pile up
            coro.close()
            logger.debug("model-router: state store writes backing up; one dropped")
            return None
        task = loop.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task
