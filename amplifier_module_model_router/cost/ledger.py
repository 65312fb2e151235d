"""The cost ledger: every provider response's tokens, filed under its agent and root session.

A delegated agent runs in a child session, possibly nested (an agent that delegates again);
each session with the module reports its own responses here, and the ledger files them under
the root session they roll up to, keyed by (agent, provider, model). Aggregates only (no
per-call lists), and a root's data is dropped once its summary is taken, so memory is bounded
by the sessions alive and the agents/models they used.

Costs: the provider's own ``Usage.cost_usd`` where it gives one, else tokens x the model's list
price from the cached catalog (:class:`..resolve.prices.Price`), else unknown: never zero.

Knows nothing of the kernel.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from ..duck import attr_or_key
from ..resolve.prices import Price, amount
from .summary import ROOT_AGENT, AgentCost, CostLine, CostSummary, ModelCost, Tokens

__all__ = [
    "CallUsage",
    "call_cost",
    "CostLedger",
    "RootUsage",
    "parse_usage",
    "summarize",
]

logger = logging.getLogger(__name__)

_MAX_ROOTS = 1024

ModelKey = tuple[str | None, str | None]
"""(provider, model)"""


@dataclass(frozen=True, slots=True)
class CallUsage:
    """One response's usage: tokens, and the cost the provider reported (None: it did not)."""

    tokens: Tokens
    cost_usd: Decimal | None = None


def _tokens(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return max(value, 0)


def parse_usage(raw: Any) -> CallUsage | None:
    """Usage from an ``llm:response`` payload's ``usage`` dict or a ``Usage`` object.

    ``input_tokens`` is the gross input, cache reads included (the kernel's ``llm:response``
    contract). A provider that reports fresh input only gives itself away when its cache reads
    exceed its input; those counts are made gross. None when the usage carries no token counts
    at all (an error response): not a billed call we can account for.
    """
    if raw is None:
        return None
    input_tokens = _tokens(attr_or_key(raw, "input_tokens"))
    output_tokens = _tokens(attr_or_key(raw, "output_tokens"))
    if input_tokens is None and output_tokens is None:
        return None
    input_tokens = input_tokens or 0
    cache_read = _tokens(attr_or_key(raw, "cache_read_tokens")) or 0
    if cache_read > input_tokens:  # fresh input only (older providers): make it gross
        input_tokens += cache_read
    tokens = Tokens(
        input=input_tokens,
        output=output_tokens or 0,
        cache_read=cache_read,
        cache_write=_tokens(attr_or_key(raw, "cache_write_tokens")) or 0,
    )
    return CallUsage(tokens, amount(attr_or_key(raw, "cost_usd")))


def call_cost(usage: CallUsage, price: Price | None) -> Decimal | None:
    """One call's cost: the provider's own, else its tokens at ``price``, else unknown (None)."""
    if usage.cost_usd is not None:
        return usage.cost_usd
    return price.cost(usage.tokens) if price is not None else None


@dataclass(slots=True)
class _Bucket:
    """One agent's calls on one provider/model within a root."""

    calls: int = 0
    tokens: Tokens = field(default_factory=Tokens)
    reported_usd: Decimal = Decimal(0)
    reported_calls: int = 0
    unreported: Tokens = field(default_factory=Tokens)
    """Tokens of the calls whose provider reported no cost (priced from the catalog later)."""


@dataclass(slots=True)
class RootUsage:
    """Everything filed under one root session so far."""

    root_id: str
    buckets: dict[tuple[str, str | None, str | None], _Bucket] = field(default_factory=dict)
    tiers: dict[str, str | None] = field(default_factory=dict)
    sessions: dict[str, set[str]] = field(default_factory=dict)
    prices: dict[ModelKey, Price] = field(default_factory=dict)
    """List prices found while the sessions ran (catalogs may expire before the end)."""
    root_model: ModelKey | None = None
    """The first model that answered in the root session itself: the baseline."""
    unanswered: int = 0
    """Calls sent by sessions that ended before an answer came (cancelled mid-call)."""

    def unpriced_models(self) -> set[ModelKey]:
        """Models with calls that still need a list price (their provider reported no cost)."""
        return {
            (provider, model)
            for (_, provider, model), b in self.buckets.items()
            if b.reported_calls < b.calls and (provider, model) not in self.prices
        }


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """Run ``method`` under the ledger's lock: the cost handlers are plain functions, which the
    kernel calls on its own worker threads while the event loop opens and closes sessions."""

    @functools.wraps(method)
    def run(self: "CostLedger", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


class CostLedger:
    """Sessions -> their root, and each root's usage. Process-wide (see :mod:`.hooks`)."""

    def __init__(self, *, max_roots: int = _MAX_ROOTS) -> None:
        self.max_roots = max_roots
        self._lock = threading.RLock()
        self._roots: dict[str, RootUsage] = {}
        self._root_of: dict[str, str] = {}
        self._agent_of: dict[str, str] = {}
        self._in_flight: dict[str, int] = {}
        """Calls sent and not yet answered, per session (``llm:request`` without a response)."""
        self._ended: dict[str, int] = {}
        """Roots summarised while sessions under them ran -> calls answered after that."""
        self._expected: set[str] = set()
        """Children announced (our spawner, :meth:`.hooks.CostTracker.child_announced`) whose
        session has not opened yet."""

    @_locked
    def open(
        self,
        session_id: str,
        parent_id: str | None,
        *,
        agent: str | None = None,
        tier: str | None = None,
    ) -> str:
        """Start filing ``session_id``'s usage; returns the root it rolls up to.

        A session whose parent the ledger knows joins the parent's root as ``agent``; any
        other session is a root of its own (its calls are ``agent``'s, else the root's).
        """
        root_id = self._root_of.get(parent_id) if parent_id else None
        if session_id in self._expected:  # announced by its parent's delegate call
            self._expected.discard(session_id)
            root_id = self._root_of.get(session_id, root_id)
        if root_id is None or root_id not in self._roots:
            root_id = session_id
            agent = agent if parent_id and agent else ROOT_AGENT
            if root_id not in self._roots:
                self._new_root(root_id)
        agent = agent or "(unattributed)"
        self._root_of[session_id] = root_id
        self._agent_of[session_id] = agent
        root = self._roots[root_id]
        root.tiers.setdefault(agent, tier)
        root.sessions.setdefault(agent, set()).add(session_id)
        return root_id

    def _new_root(self, root_id: str) -> None:
        while len(self._roots) >= self.max_roots:  # oldest first: a root that never ended
            self.forget(next(iter(self._roots)))
        self._roots[root_id] = RootUsage(root_id)

    @_locked
    def record(
        self,
        session_id: str,
        provider: str | None,
        model: str | None,
        usage: CallUsage,
        price: Price | None = None,
    ) -> bool:
        """File one response; False when the session is unknown (not opened, or forgotten)."""
        self._answered(session_id)
        root = self._roots.get(self._root_of.get(session_id, ""))
        if root is None:
            late_root = self._root_of.get(session_id)
            if late_root in self._ended:  # its summary is out: it said it might miss this
                self._ended[late_root] += 1
            return False
        agent = self._agent_of[session_id]
        bucket = root.buckets.setdefault((agent, provider, model), _Bucket())
        bucket.calls += 1
        bucket.tokens += usage.tokens
        if usage.cost_usd is not None:
            bucket.reported_usd += usage.cost_usd
            bucket.reported_calls += 1
        else:
            bucket.unreported += usage.tokens
        if price is not None:
            root.prices[(provider, model)] = price
        if session_id == root.root_id and root.root_model is None:
            root.root_model = (provider, model)
        return True

    @_locked
    def expect(self, session_id: str, parent_id: str) -> None:
        """A child of ``parent_id`` is being spawned: it counts as running under the root
        until it opens and ends (or :meth:`settle` says it never will)."""
        root_id = self._root_of.get(parent_id)
        if root_id in self._roots and session_id not in self._root_of:
            self._root_of[session_id] = root_id
            self._expected.add(session_id)

    @_locked
    def settle(self, session_id: str) -> None:
        """The spawn of ``session_id`` is over: drop it if its session never opened."""
        if session_id in self._expected:
            self._expected.discard(session_id)
            self._root_of.pop(session_id, None)

    @_locked
    def sent(self, session_id: str) -> None:
        """A call left ``session_id`` (``llm:request``); its answer comes through :meth:`record`."""
        if session_id in self._root_of:
            self._in_flight[session_id] = self._in_flight.get(session_id, 0) + 1

    def _answered(self, session_id: str) -> None:
        left = self._in_flight.get(session_id, 0) - 1
        if left > 0:
            self._in_flight[session_id] = left
        else:
            self._in_flight.pop(session_id, None)

    @_locked
    def failed(self, session_id: str) -> None:
        """A call of ``session_id`` ended without usage (an error): no longer in flight."""
        self._answered(session_id)

    @_locked
    def running_under(self, root_id: str) -> tuple[int, int]:
        """``(sessions, calls in flight)`` under ``root_id``, the root itself excluded."""
        sessions = [s for s, r in self._root_of.items() if r == root_id and s != root_id]
        return len(sessions), sum(self._in_flight.get(s, 0) for s in [*sessions, root_id])

    @_locked
    def late_calls(self, root_id: str) -> int | None:
        """Calls answered under ``root_id`` after its summary was taken (None: none expected)."""
        return self._ended.get(root_id)

    @_locked
    def root_of(self, session_id: str) -> str | None:
        """The root ``session_id`` files under, None when the ledger does not know it."""
        return self._root_of.get(session_id)

    @_locked
    def known_price(self, session_id: str, provider: str | None, model: str | None) -> Price | None:
        """The list price filed for ``(provider, model)`` under ``session_id``'s root."""
        root = self._roots.get(self._root_of.get(session_id, ""))
        return root.prices.get((provider, model)) if root is not None else None

    @_locked
    def knows_price(self, session_id: str, provider: str | None, model: str | None) -> bool:
        root = self._roots.get(self._root_of.get(session_id, ""))
        return root is not None and (provider, model) in root.prices

    @_locked
    def is_root(self, session_id: str) -> bool:
        return session_id in self._roots

    @_locked
    def close(self, session_id: str) -> RootUsage | None:
        """The session ended: a root hands back its usage (and the ledger drops it).

        Sessions still running under a closing root stay mapped to it until they end, so the
        calls they answer after the summary are counted (:meth:`late_calls`) and logged.
        """
        root_id = self._root_of.pop(session_id, None)
        self._agent_of.pop(session_id, None)
        unanswered = self._in_flight.pop(session_id, 0)
        if unanswered and root_id in self._roots and root_id != session_id:
            self._roots[root_id].unanswered += unanswered
        usage = self._roots.pop(session_id, None)
        if usage is not None:  # children announced but never opened will not be counted here
            for sid in [s for s in self._expected if self._root_of.get(s) == session_id]:
                self.settle(sid)
        if usage is not None and any(r == session_id for r in self._root_of.values()):
            while len(self._ended) >= self.max_roots:
                self._ended.pop(next(iter(self._ended)))
            self._ended[session_id] = 0
        elif root_id in self._ended and root_id not in self._root_of.values():
            late = self._ended.pop(root_id)  # the last straggler ended
            if late:
                logger.warning(
                    "model-router: %d call(s) under session %s were answered after its cost "
                    "summary (it was marked incomplete)", late, root_id,
                )
        return usage

    @_locked
    def forget(self, session_id: str) -> None:
        """Drop a session (and, for a root, its data and its sessions); idempotent."""
        if self.close(session_id) is not None:
            for sid in [s for s, r in self._root_of.items() if r == session_id]:
                self.close(sid)
            self._ended.pop(session_id, None)
        elif session_id in self._ended and session_id not in self._root_of.values():
            self._ended.pop(session_id)

    @_locked
    def __len__(self) -> int:
        return len(self._roots)

    @_locked
    def clear(self) -> None:
        """Forget every session and root, with their calls in flight and announced children."""
        self._roots.clear()
        self._root_of.clear()
        self._agent_of.clear()
        self._in_flight.clear()
        self._ended.clear()
        self._expected.clear()


def summarize(
    usage: RootUsage,
    prices: Mapping[ModelKey, Price | None],
    baseline: ModelKey | None,
) -> CostSummary:
    """The cost summary of a root: per agent and model, with the baseline on ``baseline``.

    ``prices`` completes the prices found during the run (``usage.prices`` wins). Calls whose
    provider reported no cost and whose model has no price stay unpriced. Calls that ran on
    the baseline model are their own baseline (their known cost, so they save nothing), else
    the baseline is their tokens at the baseline model's list price.
    """

    def price(key: ModelKey | None) -> Price | None:
        if key is None:
            return None
        return usage.prices.get(key) or prices.get(key)

    baseline_price = price(baseline)
    agents: dict[str, list[ModelCost]] = {}
    for (agent, provider, model), bucket in usage.buckets.items():
        line = _line(bucket, price((provider, model)), baseline_price)
        if (provider, model) == baseline and line.complete:
            line = replace(line, baseline_usd=line.cost_usd)  # ran on the baseline: no saving
        agents.setdefault(agent, []).append(ModelCost(provider, model, line))
    order = sorted(agents, key=lambda a: (a != ROOT_AGENT, a))  # the root first, then by name
    return CostSummary(
        session_id=usage.root_id,
        baseline_provider=baseline[0] if baseline else None,
        baseline_model=baseline[1] if baseline else None,
        agents=tuple(
            AgentCost(
                agent=name,
                tier=usage.tiers.get(name),
                sessions=len(usage.sessions.get(name, ())),
                models=tuple(agents[name]),
            )
            for name in order
        ),
    )


def _line(bucket: _Bucket, price: Price | None, baseline: Price | None) -> CostLine:
    cost: Decimal | None = bucket.reported_usd if bucket.reported_calls else None
    sources = {"provider"} if bucket.reported_calls else set()
    unreported_calls = bucket.calls - bucket.reported_calls
    unpriced = 0
    if unreported_calls:
        if price is None:
            unpriced = unreported_calls
        else:
            cost = (cost or Decimal(0)) + price.cost(bucket.unreported)
            sources.add("catalog")
    return CostLine(
        calls=bucket.calls,
        tokens=bucket.tokens,
        cost_usd=cost,
        unpriced_calls=unpriced,
        baseline_usd=None if baseline is None else baseline.cost(bucket.tokens),
        sources=frozenset(sources),
    )
