"""Per-provider model catalogs, fetched once and shared by a session and all its children.

Every spawn needs a catalog to turn a glob into a model; ``list_models()`` is an HTTP call. The
cache makes it one call per provider per TTL: concurrent lookups share one in-flight call
(single-flight), a failed or hung provider is remembered for a cooldown (one call per cooldown,
not one per spawn), and lookups time out. Keys come from :func:`.providers.catalog_key`, so the
fresh provider instances of a child session hit the parent's entry.

With a shared state store attached (:attr:`CatalogCache.store`, sqlite or Redis), a cold
lookup first reads the store, and a miss is fetched by one process only (a short lease in the
store, :func:`..state.flight.fetch_once`): N processes starting together make one
``list_models()`` per provider account. The cache's own slots stay the tier in front, so a warm
lookup never touches the store; a store that is down or slow costs at most the lookup timeout.

Knows nothing of the kernel: models may be ``amplifier_core.models.ModelInfo`` objects (duck
typed), dicts or plain strings; junk is dropped and reported, never raised.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..duck import attr_or_key
from ..shared import shared
from ..state.base import StoredCatalog
from ..state.flight import fetch_once
from .prices import Price, price_of
from .providers import ProviderEntry, catalog_key
from .versions import SortedCatalog

__all__ = ["CatalogCache", "CatalogLookup", "ModelRecord", "parse_models", "shared_cache", "shared_caches"]

_MAX_JUNK_REPORTED = 20
MAX_MODELS_PER_PROVIDER = 2_000
"""Entries read from one ``list_models()`` answer (junk included); the largest real catalogs
(OpenRouter, an Ollama host) list a few hundred. Past it the rest is left unread, so an endless
iterable costs a bounded amount of work."""
MAX_MODEL_ID_CHARS = 256


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One catalog entry, whatever shape the provider returned it in (``raw`` keeps it)."""

    id: str
    context_window: int | None
    pricing: Price | None
    """Its USD list price (:func:`.prices.price_of`), None when it states none."""
    raw: Any


@dataclass(frozen=True, slots=True)
class CatalogLookup:
    """The answer to "what does this provider serve?".

    ``error`` set means the lookup failed (``timed_out`` says whether it hung); empty ``models``
    without an error means the provider does not support discovery. ``expires_at`` is on the
    cache's clock; ``serial`` changes whenever the cache stores a new answer for ``key``.
    """

    models: tuple[ModelRecord, ...]
    sorted: SortedCatalog
    from_cache: bool
    error: str | None
    junk: tuple[str, ...]
    key: str = ""
    timed_out: bool = False
    expires_at: float = math.inf
    serial: int = 0
    by_id: Mapping[str, ModelRecord] = field(init=False, repr=False, compare=False)
    """``models`` by case-folded id (the first of equal ones), derived: see :meth:`record`."""

    def __post_init__(self) -> None:
        by_id: dict[str, ModelRecord] = {}
        for model in self.models:
            by_id.setdefault(model.id.lower(), model)
        object.__setattr__(self, "by_id", by_id)

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self, model_id: str) -> ModelRecord | None:
        """This catalog's record of ``model_id`` (ids compare case-insensitively), else None."""
        return self.by_id.get(model_id.lower())


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _describe(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_models(items: Any) -> tuple[tuple[ModelRecord, ...], tuple[str, ...]]:
    """``(records, junk notes)`` from whatever ``list_models()`` returned; never raises."""
    if items is None:
        return (), ("list_models() returned None",)
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        return (), (f"list_models() returned {type(items).__name__}, not a list",)
    records: list[ModelRecord] = []
    junk: list[str] = []
    seen: set[str] = set()
    read = 0
    try:
        for item in itertools.islice(items, MAX_MODELS_PER_PROVIDER + 1):
            read += 1
            if read > MAX_MODELS_PER_PROVIDER:
                junk.append(f"stopped after {MAX_MODELS_PER_PROVIDER} entries; the rest is not read")
                break
            model_id = item if isinstance(item, str) else attr_or_key(item, "id")
            if not isinstance(model_id, str) or not model_id.strip():
                junk.append(f"entry without a string id: {_describe(item)}")
                continue
            model_id = model_id.strip()
            if len(model_id) > MAX_MODEL_ID_CHARS:
                junk.append(f"id over {MAX_MODEL_ID_CHARS} characters: {_describe(model_id)}")
                continue
            if model_id in seen:
                junk.append(f"duplicate id {model_id!r}")
                continue
            seen.add(model_id)
            if isinstance(item, str):
                records.append(ModelRecord(model_id, None, None, item))
                continue
            records.append(ModelRecord(model_id, _int_or_none(attr_or_key(item, "context_window")), price_of(item), item))
    except Exception as exc:  # a lazy iterable that blows up half way: keep what we have
        junk.append(f"iteration stopped: {type(exc).__name__}: {exc}")
    if len(junk) > _MAX_JUNK_REPORTED:
        last = junk[-1] if read > MAX_MODELS_PER_PROVIDER else None
        junk = junk[:_MAX_JUNK_REPORTED] + [f"... and {len(junk) - _MAX_JUNK_REPORTED} more"]
        if last is not None:
            junk.append(last)
    return tuple(records), tuple(junk)


def _error_text(exc: BaseException) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass(slots=True)
class _Flight:
    """One in-flight ``list_models()`` call, shared by every concurrent lookup of its key."""

    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class CatalogCache:
    """Catalogs keyed by :func:`.providers.catalog_key`, with TTL, single-flight and cooldown.

    ``memo`` is scratch space for results derived from the current catalogs (the resolver
    keeps its per-chain answers there); the cache empties it whenever any catalog changes.
    """

    def __init__(
        self,
        *,
        ttl: float = 600,
        timeout: float = 10,
        cooldown: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self.cooldown = cooldown
        self.clock = clock
        self.memo: dict[Any, Any] = {}
        self.store: Any = None
        """A :class:`..state.guard.GuardedStore` shared with other processes, or None."""
        self.generation = 0
        self._slots: dict[str, CatalogLookup] = {}
        self._flights: dict[str, _Flight] = {}
        self._epochs: dict[str, int] = {}
        self._calls: dict[str, int] = {}
        self._serials = itertools.count(1)
        self.calls: Mapping[str, int] = MappingProxyType(self._calls)

    # -- reading -------------------------------------------------------------------------------

    def peek(self, entry: ProviderEntry) -> CatalogLookup | None:
        """The cached, unexpired answer for ``entry`` without any I/O, else None."""
        return self.peek_key(catalog_key(entry))

    def peek_key(self, key: str) -> CatalogLookup | None:
        slot = self._slots.get(key)
        if slot is not None and self.clock() < slot.expires_at:
            return slot
        return None

    def is_current(self, lookup: CatalogLookup) -> bool:
        """True while ``lookup`` is still the cache's unexpired answer for its key."""
        slot = self._slots.get(lookup.key)
        return slot is not None and slot.serial == lookup.serial and self.clock() < slot.expires_at

    async def lookup(self, entry: ProviderEntry) -> CatalogLookup:
        """The catalog of ``entry``'s provider: cached, joined in flight, or fetched now.

        Never raises (except cancellation of the caller); failures come back as ``error``.
        """
        key = catalog_key(entry)
        cached = self.peek_key(key)
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        flight = self._flights.get(key)
        if flight is None or flight.loop is not loop or flight.future.done():
            # A flight from another (maybe closed) event loop cannot be awaited here.
            task = loop.create_task(self._fetch(key, entry, self._epochs.get(key, 0)))
            flight = self._flights[key] = _Flight(task, loop)
        # shield: a cancelled spawn must not cancel the call other spawns are waiting on.
        return await asyncio.shield(flight.future)

    async def prefetch(self, entries: Iterable[ProviderEntry]) -> None:
        """Fetch every distinct catalog among ``entries`` in parallel."""
        unique = {catalog_key(e): e for e in entries if isinstance(e, ProviderEntry)}
        if unique:
            await asyncio.gather(*(self.lookup(e) for e in unique.values()))

    # -- writing -------------------------------------------------------------------------------

    def invalidate(self, key: str | None = None) -> None:
        """Forget one catalog (or all): the next lookup calls ``list_models()`` again.

        A call already in flight still answers its waiters but is not stored.
        """
        keys = list(self._slots) + list(self._flights) if key is None else [key]
        for k in keys:
            self._slots.pop(k, None)
            self._flights.pop(k, None)
            self._epochs[k] = self._epochs.get(k, 0) + 1
        self._changed()

    def _changed(self) -> None:
        self.generation += 1
        self.memo.clear()

    async def _fetch(self, key: str, entry: ProviderEntry, epoch: int) -> CatalogLookup:
        try:
            store = self.store
            if store is not None and store.shared:
                lookup = await self._shared_call(store, key, entry)
            else:
                lookup = await self._call(key, entry)
        finally:
            flight = self._flights.get(key)
            if flight is not None and flight.future is asyncio.current_task():
                del self._flights[key]
        expires = lookup.expires_at
        if not math.isfinite(expires):
            expires = self.clock() + (self.ttl if lookup.error is None else self.cooldown)
        lookup = replace(lookup, expires_at=expires, serial=next(self._serials))
        if self._epochs.get(key, 0) == epoch:  # not invalidated while in flight
            self._slots[key] = replace(lookup, from_cache=True)
            self._changed()
        return lookup

    async def _shared_call(self, store: Any, key: str, entry: ProviderEntry) -> CatalogLookup:
        """The catalog from the shared store, else fetched once for every process sharing it.

        The whole call, store included, is bounded by the lookup timeout.
        """
        fetched: CatalogLookup | None = None

        async def fetch() -> tuple[StoredCatalog, float]:
            nonlocal fetched
            fetched = await self._call(key, entry)
            return _to_stored(fetched), (self.ttl if fetched.error is None else self.cooldown)

        try:
            async with asyncio.timeout(self.timeout):
                stored, from_store = await fetch_once(store, entry.identity, fetch, lease_s=self.timeout + 1)
        except TimeoutError:
            if fetched is not None:
                return fetched
            return _lookup(key, (), f"timed out after {self.timeout:g}s", (), timed_out=True)
        if not from_store and fetched is not None:
            return fetched
        records, junk = parse_models(stored.models)
        return replace(
            _lookup(key, records, stored.error, junk, timed_out=stored.timed_out),
            from_cache=True,
            expires_at=self.clock() + stored.remaining,
        )

    async def _call(self, key: str, entry: ProviderEntry) -> CatalogLookup:
        self._calls[key] = self._calls.get(key, 0) + 1
        list_models = getattr(entry.provider, "list_models", None)
        if not callable(list_models):
            return _lookup(key, (), None, ("provider has no list_models(): discovery unsupported",))
        try:
            async with asyncio.timeout(self.timeout):
                result = list_models()
                if inspect.isawaitable(result):
                    result = await result
                # Read inside the timeout and bounded in count: a lazy answer may never end.
                records, junk = parse_models(result)
        except TimeoutError:
            return _lookup(key, (), f"timed out after {self.timeout:g}s", (), timed_out=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return _lookup(key, (), _error_text(exc), ())
        return _lookup(key, records, None, junk)


def _lookup(
    key: str,
    records: tuple[ModelRecord, ...],
    error: str | None,
    junk: tuple[str, ...],
    *,
    timed_out: bool = False,
) -> CatalogLookup:
    return CatalogLookup(
        models=records,
        sorted=SortedCatalog(r.id for r in records),
        from_cache=False,
        error=error,
        junk=junk,
        key=key,
        timed_out=timed_out,
    )


def _shared_caches() -> dict[tuple[float, float, float], CatalogCache]:
    return shared("catalog caches", dict, _invalidate_all)


def _invalidate_all(caches: dict[tuple[float, float, float], CatalogCache]) -> None:
    """Cold caches, and none reading a state store (the next mount attaches its own)."""
    for cache in caches.values():
        cache.invalidate()
        cache.store = None


def _to_stored(lookup: CatalogLookup) -> StoredCatalog:
    """What other processes need of a catalog: ids, context windows and list prices (exact)."""
    models = tuple(
        {k: v for k, v in (("id", r.id), ("context_window", r.context_window),
                           ("pricing", r.pricing.to_dict() if r.pricing else None)) if v is not None}
        for r in lookup.models
    )
    return StoredCatalog(models=models, error=lookup.error, timed_out=lookup.timed_out)



def shared_cache(*, ttl: float = 600, timeout: float = 10, cooldown: float = 60) -> CatalogCache:
    """The process-wide cache for these timings: a parent session and its children (which mount
    the same config) resolve against one catalog per provider."""
    key = (float(ttl), float(timeout), float(cooldown))
    caches = _shared_caches()
    cache = caches.get(key)
    if cache is None:
        cache = caches[key] = CatalogCache(ttl=ttl, timeout=timeout, cooldown=cooldown)
    return cache


def shared_caches() -> tuple[CatalogCache, ...]:
    """Every process-wide cache made so far (tests reset them, the soak checks their bounds)."""
    return tuple(_shared_caches().values())
