"""What every offline provider was asked, process-wide, so tests and ``verify`` can read it.

Child sessions mount fresh provider instances, so the only place that sees a whole delegation
tree is the process. Every ``complete()`` attempt (including the ones that raise) and every
``list_models()`` call is appended here with the session that made it; readers filter by
session id or by a root session and everything spawned under it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ..shared import shared

__all__ = ["RECORDER", "CallRecorder", "CatalogCall", "CompletionCall"]


@dataclass(frozen=True, slots=True)
class CompletionCall:
    """One ``complete()`` attempt: who asked which provider for which model, and how it went."""

    session_id: str
    parent_id: str | None
    provider: str
    model: str
    model_source: str
    """Where the model came from: ``kwargs`` (``model=``), ``request`` (``request.model``) or
    ``default`` (the provider's ``default_model``)."""
    call_index: int
    """1-based count of ``complete()`` calls on that provider instance (one per session)."""
    at: float = field(default_factory=time.time)
    error: str | None = None
    """The error type raised, e.g. ``RateLimitError``; None when it answered."""
    tool_calls: tuple[str, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: Decimal | None = None
    foreign_state: tuple[str, ...] = ()
    """Other vendors' thinking signatures / response ids found in the request history."""
    started: float | None = None
    """Wall-clock time the call began (``at`` is when it ended), to count calls in flight."""


@dataclass(frozen=True, slots=True)
class CatalogCall:
    """One ``list_models()`` call and its outcome (``ok``, ``raise``, ``hang``, ``junk``...)."""

    session_id: str
    provider: str
    outcome: str
    at: float = field(default_factory=time.time)


class CallRecorder:
    """Append-only, thread-safe log of offline provider calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._completions: list[CompletionCall] = []
        self._catalog_calls: list[CatalogCall] = []

    def record_completion(self, call: CompletionCall) -> None:
        with self._lock:
            self._completions.append(call)

    def record_catalog(self, call: CatalogCall) -> None:
        with self._lock:
            self._catalog_calls.append(call)

    def clear(self) -> None:
        """Forget everything (tests call this between cases)."""
        with self._lock:
            self._completions.clear()
            self._catalog_calls.clear()

    def completions(
        self,
        *,
        session_id: str | None = None,
        root: str | None = None,
        provider: str | None = None,
    ) -> list[CompletionCall]:
        """Calls in order; ``root`` keeps that session and every session spawned beneath it."""
        with self._lock:
            calls = list(self._completions)
        sessions = self._tree(calls, root) if root is not None else None
        return [
            c
            for c in calls
            if (session_id is None or c.session_id == session_id)
            and (sessions is None or c.session_id in sessions)
            and (provider is None or c.provider == provider)
        ]

    def catalog_calls(
        self, *, provider: str | None = None, session_id: str | None = None
    ) -> list[CatalogCall]:
        with self._lock:
            calls = list(self._catalog_calls)
        return [
            c
            for c in calls
            if (provider is None or c.provider == provider)
            and (session_id is None or c.session_id == session_id)
        ]

    def by_session(self, *, root: str | None = None) -> dict[str, list[CompletionCall]]:
        """Calls grouped by session id, sessions in the order they first called."""
        grouped: dict[str, list[CompletionCall]] = {}
        for call in self.completions(root=root):
            grouped.setdefault(call.session_id, []).append(call)
        return grouped

    def models_used(self, session_id: str) -> list[tuple[str, str]]:
        """``(provider, model)`` of each call a session made that was answered."""
        return [
            (c.provider, c.model)
            for c in self.completions(session_id=session_id)
            if c.error is None
        ]

    @staticmethod
    def _tree(calls: Iterable[CompletionCall], root: str) -> set[str]:
        parents = {c.session_id: c.parent_id for c in calls}
        members = {root}
        for session in parents:
            seen: set[str] = set()
            node: str | None = session
            while node is not None and node not in seen:
                if node == root:
                    members.add(session)
                    break
                seen.add(node)
                node = parents.get(node)
        return members


RECORDER = shared("offline call recorder", CallRecorder, CallRecorder.clear)
"""The process-wide recorder every offline provider writes to."""
