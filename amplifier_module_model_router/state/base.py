"""The routing state store's contract: what every backend keeps, and how it answers.

Four kinds of state, all small and all self-expiring, so a store never needs cleaning by hand:

- **catalogs**: a provider's model list (plain dicts) and how long it stays fresh;
- **cooldowns**: ``(provider identity, model or None)`` resting for a reason until a time;
- **leases**: a short named lock with an owner, for single-flight across processes;
- **counters**: floats incremented atomically, expiring as a whole (spend, next).

Times cross processes and machines, so the store speaks in *seconds left* (``remaining``),
never in a clock value: each reader turns that into its own monotonic deadline, and Redis
answers from its own clock, so machines whose clocks disagree still agree on a cooldown.

Backends raise :class:`StoreError` (or its subclass :class:`StoreUnavailable`) and nothing
else; :class:`.guard.GuardedStore` turns those into "use local state" for the router.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "BACKENDS",
    "CooldownKey",
    "StateStore",
    "StoreError",
    "StoreUnavailable",
    "StoredCatalog",
    "StoredCooldown",
]

BACKENDS = ("memory", "sqlite", "redis")
"""Every backend name, as written in the ``state.backend`` setting."""

CooldownKey = tuple[str, str | None]
"""``(provider identity, model)``; ``model`` None rests every model of the provider."""

MAX_CATALOG_MODELS = 5000
"""Models kept per stored catalog: a store is shared input, so its answers are bounded too."""
MAX_CATALOG_BYTES = 4_000_000
MAX_REASON_CHARS = 200


class StoreError(Exception):
    """A store operation failed; the router keeps routing on its local state."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or opened at all (down, stalled, corrupt, read-only)."""


@dataclass(frozen=True, slots=True)
class StoredCatalog:
    """One provider's catalog as shared: plain model dicts (``id`` first) or an error.

    ``remaining`` is the seconds it stays fresh from the moment it was read.
    """

    models: tuple[Mapping[str, Any], ...]
    error: str | None = None
    timed_out: bool = False
    remaining: float = 0.0


@dataclass(frozen=True, slots=True)
class StoredCooldown:
    """One shared cooldown: ``remaining`` seconds left when it was read."""

    identity: str
    model: str | None
    remaining: float
    reason: str = ""


@runtime_checkable
class StateStore(Protocol):
    """The routing state store. Every method may raise :class:`StoreError`, nothing else.

    Implementations: :class:`.memory.MemoryStore`, :class:`.sqlite.SqliteStore`,
    :class:`.redis.RedisStore`; the router talks to one through :class:`.guard.GuardedStore`.
    """

    backend: str
    """``memory``, ``sqlite`` or ``redis``."""
    where: str
    """Where the state lives, for messages (a path, a URL without password, ``this process``)."""

    async def get_catalog(self, key: str) -> StoredCatalog | None:
        """The fresh catalog stored under ``key``, else None."""
        ...

    async def put_catalog(self, key: str, catalog: StoredCatalog, ttl: float) -> None:
        """Store ``catalog`` under ``key`` for ``ttl`` seconds (replacing any older one)."""
        ...

    async def get_cooldowns(self, keys: Sequence[CooldownKey]) -> list[StoredCooldown]:
        """The cooldowns still running among ``keys`` (one round trip)."""
        ...

    async def put_cooldown(self, identity: str, model: str | None, seconds: float, reason: str) -> None:
        """Rest ``(identity, model)`` for ``seconds``; a longer cooldown already there is kept."""
        ...

    async def clear_cooldown(self, identity: str, model: str | None) -> None:
        """Forget the cooldown of ``(identity, model)`` (the provider answered after all)."""
        ...

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease ``name`` for ``ttl`` seconds unless someone else holds it."""
        ...

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease back, only if ``holder`` still holds it."""
        ...

    async def incr(self, name: str, amount: float, ttl: float) -> float:
        """Add ``amount`` to counter ``name`` atomically and return the new total.

        A counter that did not exist starts at 0 and expires ``ttl`` seconds after it was
        created (increments do not extend it: a daily counter ends with its day).
        """
        ...

    async def get_counter(self, name: str) -> float:
        """The counter's total, 0.0 when it does not exist or expired."""
        ...

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers now."""
        ...

    async def close(self) -> None:
        """Release connections and threads; the store may not be used afterwards."""
        ...


def cooldown_field(model: str | None) -> str:
    """The model part of a cooldown key as stored: ``*`` for the whole provider."""
    return "*" if model is None else model.casefold()


def model_of_field(value: str) -> str | None:
    return None if value == "*" else value
