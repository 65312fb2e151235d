"""Process-wide cooldowns: which provider (or provider model) is resting, and until when.

A rate-limited model or an unavailable provider is skipped by every session in the process
(siblings included, and the resolver at spawn time) until its cooldown ends. Children mount
fresh provider instances, so entries are keyed by the provider's *mount name* (and model),
never by the provider object.

Two scopes: a model-level entry rests one ``(provider, model)``; a provider-level entry rests
every model of that provider. ``remaining()`` answers the larger of the two, so callers never
need to know which scope applied. ``remaining`` is also the ``CooldownView`` protocol the
resolver consumes.

The registry stays bounded: expired entries are dropped when met, swept when the table grows
past ``max_entries``, and if it is still full the entries closest to expiry are evicted first.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

__all__ = [
    "Cooldown",
    "CooldownRegistry",
    "CooldownView",
    "shared_cooldowns",
]

T = TypeVar("T")
Clock = Callable[[], float]
CandidateKey = tuple[str, str | None]

_PROVIDER_SCOPE = "provider"
_MODEL_SCOPE = "model"


class CooldownView(Protocol):
    """What a consumer needs to skip resting candidates: seconds left, 0 when free."""

    def remaining(self, provider: str, model: str | None = None) -> float: ...


@dataclass(frozen=True, slots=True)
class Cooldown:
    """One active cooldown, as reported by :meth:`CooldownRegistry.active`."""

    provider: str
    model: str | None
    remaining: float
    reason: str

    @property
    def scope(self) -> str:
        return _PROVIDER_SCOPE if self.model is None else _MODEL_SCOPE


def _key(provider: str, model: str | None) -> tuple[str, str | None]:
    """Case-insensitive key: mount names and model ids are matched case-insensitively elsewhere."""
    return (provider.casefold(), model.casefold() if model is not None else None)


def _identity(candidate: object) -> CandidateKey:
    provider, model = candidate  # type: ignore[misc]
    return provider, model


class CooldownRegistry:
    """Cooldowns keyed by provider mount name (provider scope) or (name, model) (model scope).

    Thread-safe and clock-injectable (tests pass a fake ``clock``; the default is
    ``time.monotonic`` so wall-clock jumps never shorten or extend a cooldown).
    """

    def __init__(self, *, clock: Clock = time.monotonic, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        # key -> (until, display provider, display model, reason)
        self._entries: dict[tuple[str, str | None], tuple[float, str, str | None, str]] = {}

    # -- writing -------------------------------------------------------------------------

    def cool(self, provider: str, model: str | None = None, *, seconds: float, reason: str = "") -> float:
        """Rest ``provider`` (every model) or one ``(provider, model)`` for ``seconds``.

        An existing longer cooldown is kept (a short rate-limit never cuts an auth cooldown
        short). Returns the seconds the entry now has left. Non-positive or NaN ``seconds``
        cool nothing and return what was already there.
        """
        if not provider:
            raise ValueError("cool() needs a provider name")
        key = _key(provider, model)
        with self._lock:
            now = self._clock()
            current = self._entries.get(key)
            current_left = max(0.0, current[0] - now) if current else 0.0
            if math.isnan(seconds) or seconds <= 0 or seconds <= current_left:
                return current_left
            self._entries[key] = (now + seconds, provider, model, reason)
            if len(self._entries) > self._max_entries:
                self._shrink(now)
            return seconds

    def clear(self, provider: str | None = None, model: str | None = None) -> None:
        """Forget cooldowns: all of them, one provider's entries, or one (provider, model)."""
        with self._lock:
            if provider is None:
                self._entries.clear()
                return
            if model is not None:
                self._entries.pop(_key(provider, model), None)
                return
            name = provider.casefold()
            for key in [k for k in self._entries if k[0] == name]:
                del self._entries[key]

    # -- reading -------------------------------------------------------------------------

    def remaining(self, provider: str, model: str | None = None) -> float:
        """Seconds until ``provider``/``model`` is usable again; ``0.0`` means free now.

        The larger of the provider-level and the model-level cooldown.
        """
        with self._lock:
            now = self._clock()
            left = self._left(_key(provider, None), now)
            if model is not None:
                left = max(left, self._left(_key(provider, model), now))
            return left

    def first_free(self, candidates: Iterable[T], key: Callable[[T], CandidateKey] = _identity) -> T | None:
        """The first candidate (in the given order) that is not cooling, else ``None``.

        ``key`` maps a candidate to ``(provider, model)``; by default candidates are such pairs.
        """
        for candidate in candidates:
            provider, model = key(candidate)
            if self.remaining(provider, model) == 0.0:
                return candidate
        return None

    def soonest_free(self, candidates: Iterable[T], key: Callable[[T], CandidateKey] = _identity) -> T | None:
        """The candidate whose cooldown ends first (earliest in order on ties); ``None`` if empty."""
        best: T | None = None
        best_left = math.inf
        for candidate in candidates:
            provider, model = key(candidate)
            left = self.remaining(provider, model)
            if left < best_left:
                best, best_left = candidate, left
        return best

    def active(self) -> list[Cooldown]:
        """Every cooldown still running, soonest to end first (for ``explain`` and events)."""
        with self._lock:
            now = self._clock()
            self._sweep(now)
            items = sorted(self._entries.values(), key=lambda entry: entry[0])
            return [Cooldown(p, m, until - now, reason) for until, p, m, reason in items]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # -- housekeeping (lock held) ---------------------------------------------------------

    def _left(self, key: tuple[str, str | None], now: float) -> float:
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        left = entry[0] - now
        if left <= 0:
            del self._entries[key]
            return 0.0
        return left

    def _sweep(self, now: float) -> None:
        for key in [k for k, entry in self._entries.items() if entry[0] <= now]:
            del self._entries[key]

    def _shrink(self, now: float) -> None:
        self._sweep(now)
        overflow = len(self._entries) - self._max_entries
        if overflow > 0:
            soonest = sorted(self._entries, key=lambda k: self._entries[k][0])[:overflow]
            for key in soonest:
                del self._entries[key]


_SHARED: CooldownRegistry | None = None
_SHARED_LOCK = threading.Lock()


def shared_cooldowns() -> CooldownRegistry:
    """The one registry every session in this process consults (parent, children, siblings)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = CooldownRegistry()
        return _SHARED
