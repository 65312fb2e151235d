"""Which store a process uses: settings in, one shared, guarded store per configuration out.

Every session of a process (a parent and all its children) mounts the same settings, so they
get the same store object, opened once. A shared backend that cannot be opened (a corrupt or
locked sqlite file, a read-only Amplifier home, no ``redis`` package) becomes a ``memory``
store with one warning: routing works exactly as before, per process.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from ..shared import shared
from .base import BACKENDS, StoreError
from .guard import GuardedStore
from .memory import MemoryStore
from .redis import DEFAULT_NAMESPACE, RedisStore, redacted_url
from .sqlite import SqliteStore, default_path

__all__ = ["StateSettings", "describe", "open_store", "shared_store"]

logger = logging.getLogger("amplifier_module_model_router.state")


@dataclass(frozen=True, slots=True)
class StateSettings:
    """The ``state:`` routing setting, validated (see ``settings/schema.py``).

    ``path`` overrides the sqlite file; ``timeout`` bounds every store operation;
    ``refresh`` is the longest a process goes without re-reading shared cooldowns.
    """

    backend: str = "memory"
    url: str | None = None
    path: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    timeout: float = 0.5
    refresh: float = 1.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown state backend {self.backend!r}")

    def sqlite_path(self, amplifier_home: Path | None) -> Path | None:
        if self.path:
            return Path(self.path).expanduser()
        return default_path(amplifier_home) if amplifier_home is not None else None


def describe(settings: StateSettings, amplifier_home: Path | None) -> str:
    """``sqlite at ~/.amplifier/cache/model-router/state.db``: what the settings point at."""
    if settings.backend == "sqlite":
        return f"sqlite at {settings.sqlite_path(amplifier_home) or '(no Amplifier home)'}"
    if settings.backend == "redis":
        return f"redis at {redacted_url(settings.url or '')} (namespace {settings.namespace})"
    return "memory (this process only)"


def _fallback(settings: StateSettings, where: str, reason: str) -> GuardedStore:
    logger.warning(
        "model-router: cannot use the %s state store at %s (%s); catalogs and cooldowns stay in this "
        "process (memory backend)",
        settings.backend,
        where,
        reason,
    )
    store = GuardedStore(MemoryStore(), op_timeout=settings.timeout)
    store.fallback_reason = f"{settings.backend} at {where}: {reason}"  # type: ignore[attr-defined]
    return store


async def open_store(settings: StateSettings, *, amplifier_home: Path | None) -> GuardedStore:
    """A new guarded store for ``settings`` (a fallback ``memory`` store when it cannot open)."""
    if settings.backend == "sqlite":
        path = settings.sqlite_path(amplifier_home)
        if path is None:
            return _fallback(settings, "(no Amplifier home)", "no home folder to keep the file in")
        try:
            async with asyncio.timeout(max(settings.timeout, 1.0)):
                backend = await SqliteStore.open(path)
        except (StoreError, TimeoutError) as exc:
            return _fallback(settings, str(path), str(exc) or "opening took too long")
        return GuardedStore(backend, op_timeout=settings.timeout)
    if settings.backend == "redis":
        if not settings.url:
            return _fallback(settings, "(no url)", "state.url is not set")
        try:
            remote = RedisStore(
                settings.url, namespace=settings.namespace, connect_timeout=settings.timeout, op_timeout=settings.timeout
            )
        except StoreError as exc:
            return _fallback(settings, redacted_url(settings.url), str(exc))
        return GuardedStore(remote, op_timeout=settings.timeout)
    return GuardedStore(MemoryStore(), op_timeout=settings.timeout)


def _stores() -> dict[tuple, GuardedStore]:
    return shared("state stores", dict, _stay_open, aclose=_close_all)


def _stay_open(stores: dict[tuple, GuardedStore]) -> None:
    """A reset leaves the stores open and known: only an ``await`` can close one, which
    :func:`..shared.close_shared` does (:func:`_close_all`)."""


async def _close_all(stores: dict[tuple, GuardedStore]) -> None:
    """Close and forget every process-wide store (sqlite threads, Redis clients)."""
    opened = list(stores.values())
    stores.clear()
    for store in opened:
        await store.close()


async def shared_store(settings: StateSettings, *, amplifier_home: Path | None) -> GuardedStore:
    """The process-wide store for ``settings`` (opened on first use, then reused)."""
    key = (settings.backend, settings.url, str(settings.sqlite_path(amplifier_home)), settings.namespace, settings.timeout)
    stores = _stores()
    store = stores.get(key)
    if store is None:
        opened = await open_store(settings, amplifier_home=amplifier_home)
        store = stores.setdefault(key, opened)
        if store is not opened:  # another session opened it meanwhile
            await opened.close()
    return store
