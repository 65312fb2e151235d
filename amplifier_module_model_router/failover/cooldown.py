"""Process-wide cooldowns: which provider (or provider model) is resting, and until when.

A rate-limited model or an unavailable provider is skipped by every session in the process
(siblings included, and the resolver at spawn time) until its cooldown ends. Children mount
fresh provider instances, so entries are keyed by the provider's *account* (its identity,
``anthropic#3f9c...``, see :mod:`..state.identity`; a bare mount name works the same) and
model, never by the provider object.

With a shared state store (sqlite or Redis) the registry stays the tier in front: reads never
leave memory; a :class:`..state.sync.CooldownSync` attached with :meth:`attach` writes new
cooldowns through in the background and merges what other processes learnt (:meth:`sync`).

Two scopes: a model-level entry rests one ``(provider, model)``; a provider-level entry rests
every model of that provider. ``remaining()`` answers the larger of the two, so callers never
need to know which scope applied. ``remaining`` is also the ``CooldownView`` protocol the
resolver consumes.

When a cooldown ends, one caller probes first: :meth:`CooldownRegistry.claim` hands the first
caller a short lease during which everyone else still sees the candidate as resting, so
siblings in flight together send one call to a provider that may still be limited, not one
each. The probe's outcome either re-cools the candidate (:meth:`cool`) or clears it
(:meth:`settle`); a lease that is neither simply runs out.

The registry stays bounded: entries whose cooldown ended long ago are swept, the table is
swept when it grows past ``max_entries``, and if it is still full the entries closest to
their end are evicted first.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

__all__ = [
    "Cooldown",
    "CooldownRegistry",
    "CooldownView",
    "shared_cooldowns",
]

from ..resolve.resolver import CooldownView  # the one protocol (the resolver reads it)
from ..shared import shared

T = TypeVar("T")
Clock = Callable[[], float]
CandidateKey = tuple[str, str | None]
Key = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class Cooldown:
    """One active cooldown (or probe lease), as reported by :meth:`CooldownRegistry.active`."""

    provider: str
    model: str | None
    remaining: float
    reason: str
    probing: bool = False
    identity: str = ""
    """The registry key (the provider account); ``provider`` is its readable name."""

    @property
    def scope(self) -> str:
        return "provider" if self.model is None else "model"


@dataclass(slots=True)
class _Entry:
    until: float
    provider: str
    model: str | None
    reason: str
    lease_until: float = 0.0

    def blocks_until(self) -> float:
        return max(self.until, self.lease_until)


_ACCOUNT_HASH = re.compile(r"#[0-9a-f]{16}")


def _readable(key: str) -> str:
    """``anthropic#3f9c0a5e21b4d8c7~config:ab12`` -> ``anthropic~config:ab12`` (for messages)."""
    return _ACCOUNT_HASH.sub("", key)


def _key(provider: str, model: str | None) -> Key:
    """Case-insensitive key: mount names and model ids are matched case-insensitively elsewhere."""
    return (provider.casefold(), model.casefold() if model is not None else None)


def _keys(provider: str, model: str | None) -> tuple[Key, ...]:
    return (_key(provider, None),) if model is None else (_key(provider, None), _key(provider, model))


def _identity(candidate: object) -> CandidateKey:
    provider, model = cast(CandidateKey, candidate)
    return provider, model


class CooldownRegistry:
    """Cooldowns keyed by provider mount name (provider scope) or (name, model) (model scope).

    Thread-safe and clock-injectable (tests pass a fake ``clock``; the default is
    ``time.monotonic`` so wall-clock jumps never shorten or extend a cooldown).
    ``probe_lease_s`` bounds how long one probe holds others off after a cooldown ends: a
    limited provider answers 429 quickly, so a probe still running after the lease has
    evidently been accepted. Ended entries are kept ``keep_ended_s`` for that first probe.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        max_entries: int = 1024,
        probe_lease_s: float = 10.0,
        keep_ended_s: float = 600.0,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._clock = clock
        self._max_entries = max_entries
        self._lease_s = probe_lease_s
        self._keep_ended_s = keep_ended_s
        self._lock = threading.Lock()
        self._entries: dict[Key, _Entry] = {}
        self._listener: Any = None

    def attach(self, listener: Any) -> None:
        """Share this registry through a store (a :class:`..state.sync.CooldownSync`); None detaches."""
        self._listener = listener

    @property
    def listener(self) -> Any:
        return self._listener

    async def sync(self, candidates: Iterable[CandidateKey]) -> None:
        """Merge the shared store's cooldowns for ``candidates`` (bounded; no-op without a store)."""
        listener = self._listener
        if listener is not None:
            await listener.refresh(list(candidates))

    # -- writing -------------------------------------------------------------------------

    def cool(
        self, provider: str, model: str | None = None, *, seconds: float, reason: str = "", notify: bool = True
    ) -> float:
        """Rest ``provider`` (every model) or one ``(provider, model)`` for ``seconds``.

        An existing longer cooldown is kept (a short rate-limit never cuts an auth cooldown
        short). Returns the seconds the entry now has left. Non-positive or NaN ``seconds``
        cool nothing and return what was already there. ``notify=False`` keeps a cooldown read
        from the shared store from being written back to it.
        """
        if not provider:
            raise ValueError("cool() needs a provider name")
        key = _key(provider, model)
        with self._lock:
            now = self._clock()
            current = self._entries.get(key)
            current_left = max(0.0, current.until - now) if current else 0.0
            if math.isnan(seconds) or seconds <= 0 or seconds <= current_left:
                return current_left
            self._entries[key] = _Entry(now + seconds, provider, model, reason)
            if len(self._entries) > self._max_entries:
                self._shrink(now)
        if notify and self._listener is not None:
            self._listener.cooled(provider, model, seconds, reason)
        return seconds

    def claim(self, provider: str, model: str | None = None) -> bool:
        """May the caller use this candidate now? Takes the probe lease when a cooldown ended.

        False while it is cooling or another caller's probe lease runs; True otherwise.
        """
        with self._lock:
            now = self._clock()
            entries = [e for e in (self._entries.get(k) for k in _keys(provider, model)) if e is not None]
            if any(e.blocks_until() > now for e in entries):
                return False
            for entry in entries:
                entry.lease_until = now + self._lease_s
            return True

    def settle(self, provider: str, model: str | None = None, *, proven: bool = False) -> None:
        """The candidate answered: forget its ended cooldowns (a fresh one set meanwhile stays).

        ``proven=True`` when the caller called it *while* it was cooling (every candidate was):
        the answer beats the timer, so its provider- and model-level cooldowns are dropped.
        """
        dropped: list[_Entry] = []
        with self._lock:
            now = self._clock()
            for key in _keys(provider, model):
                entry = self._entries.get(key)
                if entry is not None and (proven or entry.until <= now):
                    del self._entries[key]
                    if entry.until > now:
                        dropped.append(entry)
        self._tell_cleared(dropped)

    def clear(
        self, provider: str | None = None, model: str | None = None, *, notify: bool = True, exact: bool = False
    ) -> None:
        """Forget cooldowns: all of them, one provider's entries, or one (provider, model).

        Clearing everything stays local (the shared store's entries expire by themselves);
        clearing one provider or model clears it in the shared store too, unless ``notify`` is
        False (the clear came from the store). ``exact`` with no model clears the provider-level
        entry only, not its models' (a store key is one or the other).
        """
        dropped: list[_Entry] = []
        with self._lock:
            if provider is None:
                self._entries.clear()
                return
            if model is not None or exact:
                keys = [_key(provider, model)]
            else:
                name = provider.casefold()
                keys = [k for k in self._entries if k[0] == name] or [_key(provider, None)]
            for key in keys:
                entry = self._entries.pop(key, None)
                dropped.append(entry or _Entry(0.0, provider, model, ""))
        if notify:
            self._tell_cleared(dropped)

    def _tell_cleared(self, dropped: list[_Entry]) -> None:
        if self._listener is not None:
            for entry in dropped:
                self._listener.cleared(entry.provider, entry.model)

    # -- reading -------------------------------------------------------------------------

    def remaining(self, provider: str, model: str | None = None) -> float:
        """Seconds until ``provider``/``model`` is usable again; ``0.0`` means free now.

        The larger of the provider-level and the model-level cooldown (or probe lease).
        """
        listener = self._listener
        if listener is not None:  # in memory only: remember the candidate, maybe re-read aside
            listener.watch(provider, model)
            listener.refresh_soon()
        with self._lock:
            now = self._clock()
            left = 0.0
            for key in _keys(provider, model):
                entry = self._entries.get(key)
                if entry is not None:
                    left = max(left, entry.blocks_until() - now)
            return left

    def first_free(self, candidates: Iterable[T], key: Callable[[T], CandidateKey] = _identity) -> T | None:
        """The first candidate (in the given order) that is not cooling, else ``None``.

        ``key`` maps a candidate to ``(provider, model)``; by default candidates are such pairs.
        Read-only: use :meth:`claim` when the caller is about to call the candidate.
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
        """Every cooldown or probe lease still running, soonest to end first (for ``explain``)."""
        with self._lock:
            now = self._clock()
            self._sweep(now)
            running = sorted((e for e in self._entries.values() if e.blocks_until() > now), key=_Entry.blocks_until)
            return [
                Cooldown(
                    _readable(e.provider),
                    e.model,
                    e.blocks_until() - now,
                    e.reason,
                    probing=e.until <= now,
                    identity=e.provider,
                )
                for e in running
            ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # -- housekeeping (lock held) ---------------------------------------------------------

    def _sweep(self, now: float, keep_ended_s: float | None = None) -> None:
        horizon = now - (self._keep_ended_s if keep_ended_s is None else keep_ended_s)
        for key in [k for k, e in self._entries.items() if e.blocks_until() <= horizon]:
            del self._entries[key]

    def _shrink(self, now: float) -> None:
        self._sweep(now, keep_ended_s=0.0)
        overflow = len(self._entries) - self._max_entries
        if overflow > 0:
            soonest = sorted(self._entries, key=lambda k: self._entries[k].blocks_until())[:overflow]
            for key in soonest:
                del self._entries[key]


def shared_cooldowns() -> CooldownRegistry:
    """The one registry every session in this process consults (parent, children, siblings)."""
    return shared("cooldowns", CooldownRegistry, _detach_and_clear, aclose=_close_listener)


def _detach_and_clear(registry: CooldownRegistry) -> None:
    """A clean slate: no cooldowns, and no state store it keeps in step with."""
    registry.attach(None)
    registry.clear()


async def _close_listener(registry: CooldownRegistry) -> None:
    """Stop the store subscription that keeps this registry in step (:meth:`..state.sync.CooldownSync.close`)."""
    close = getattr(registry.listener, "close", None)
    if close is not None:
        await close()
