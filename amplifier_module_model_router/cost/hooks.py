"""Cost per agent, the session side: feed the ledger, and emit ``model_router:cost`` at the end.

Installed in every session that mounts the module (children inherit it, so every delegated
agent's session reports its own usage):

- ``llm:response`` (emitted by the provider for each completion, with ``provider``, ``model``
  and the kernel's ``usage`` dict): the tokens, the provider's ``cost_usd`` if any, and the
  model's list price if the shared catalog cache holds it, go to the process-wide ledger under
  this session's agent and root. The provider and model are those of the call itself, so a
  child that failed over is charged for the model that answered.
- ``session:end`` (roots only): the root emits ``model_router:cost`` (see :mod:`.summary`) and
  its data is dropped; a child leaves the ledger at its cleanup, without a hook call.

Which agent a child is comes from the route the spawner filed under the child's session id
(:mod:`..session.handoff`); a child spawned by someone else falls back to the ``agent_name`` in its
session metadata (tool-delegate's), then to its sub-session id's ``_<agent>`` suffix.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from amplifier_core.models import HookResult

from .. import events
from ..resolve.prices import Price, listed_price
from ..resolve.providers import ProviderEntry, match_provider
from ..session_ids import agent_of
from ..session.router import current_model, session_entries
from ..shared import shared
from .summary import BudgetUse, CapUse, Incomplete
from .ledger import CostLedger, ModelKey, call_cost, parse_usage, summarize

__all__ = ["COST_HOOK_PRIORITY", "CostTracker", "install_cost_tracking", "shared_ledger"]

logger = logging.getLogger(__name__)

LATE_CALLS_GRACE_S = 2.0
"""How long a root's ``session:end`` waits for sessions still running under it (a cancelled
root's children finishing their call) before the summary is taken and marked incomplete."""
_GRACE_POLL_S = 0.05

COST_HOOK_PRIORITY = 50
"""Observers only; any order works. session:end runs before hooks-logging's (100) default."""


TRACKING_CAPABILITY = "model_router.cost_tracking"
"""Marks a session whose usage is already tracked."""

def shared_ledger() -> CostLedger:
    """The process-wide ledger: a root session and all its children file into one."""
    return shared("cost ledger", CostLedger, CostLedger.clear)


def install_cost_tracking(
    coordinator: Any, router: Any, *, ledger: CostLedger | None = None
) -> Callable[[], None]:
    """Track this session's model usage; returns the callable that stops it (for cleanup).

    Call at mount, after the router is built: a routed child's route is filed under its
    session id only while its spawn runs. A second call on the same session (the module
    mounted twice) tracks nothing more: every response is counted once.
    """
    if coordinator.get_capability(TRACKING_CAPABILITY) is not None:
        return lambda: None
    tracker = CostTracker(coordinator, router, ledger or shared_ledger())
    coordinator.register_capability(TRACKING_CAPABILITY, tracker)
    return tracker.register()


def _agent_identity(coordinator: Any, outcome: Any) -> tuple[str | None, str | None]:
    """(agent, tier) of a child session, or (None, None) when nothing names it."""
    if outcome is not None:
        return outcome.request.agent, outcome.request.tier
    session = (getattr(coordinator, "config", None) or {}).get("session") or {}
    metadata = session.get("metadata") if isinstance(session, dict) else None
    name = metadata.get("agent_name") if isinstance(metadata, dict) else None
    if isinstance(name, str) and name.strip():
        return name.strip(), None
    return agent_of(getattr(coordinator, "session_id", None)), None


class CostTracker:
    """One session's side of the cost ledger."""

    def __init__(self, coordinator: Any, router: Any, ledger: CostLedger) -> None:
        self.coordinator = coordinator
        self.router = router
        self.ledger = ledger
        self.session_id = str(coordinator.session_id)
        parent_id = getattr(coordinator, "parent_id", None)
        outcome = router.handoffs.get(self.session_id)
        payload = outcome.payload if outcome is not None else {}
        self.routed: ModelKey = (payload.get("provider"), payload.get("model"))
        agent, tier = _agent_identity(coordinator, outcome) if parent_id else (None, None)
        self.root_id = ledger.open(self.session_id, parent_id, agent=agent, tier=tier)
        self.budget = getattr(router, "budget", None)
        if self.budget is not None and self.root_id == self.session_id:
            self.budget.book.register_root(self.root_id, coordinator.hooks.emit)
        self._entries: tuple[ProviderEntry, ...] | None = None
        self._misses: dict[ModelKey, int] = {}
        self._unregister: list[Callable[[], None]] = []
        self._executing = False
        """Between the loop's prompt:submit and the end of its turn: it may still call its model."""

    def register(self) -> Callable[[], None]:
        """The events the ledger needs, and no more: each handler is a kernel dispatch on every
        emit of its event (~0.15 ms), so

        - whether the loop still runs is read only at a root's end (:meth:`_wait_for_stragglers`),
          and only in a root: from ``prompt:submit`` (every loop's first event of a turn) to
          ``orchestrator:complete`` or ``execution:end``, whichever comes (a turn that raises,
          a provider error in loop-basic or a hard cancel in loop-streaming, emits only the
          latter; a loop without it, only the former);
        - a child's ``session:end`` only leaves the ledger, which :meth:`stop` does at cleanup;
        - delegations are announced by our spawner (:meth:`child_announced`), through which
          every spawn of a routed session goes, not by tool-delegate's ``delegate:*`` events.
        """
        hooks = self.coordinator.hooks
        root_events: tuple[tuple[str, Callable[..., Any]], ...] = ()
        if self.root_id == self.session_id:
            root_events = (
                ("prompt:submit", self.on_loop_start),
                ("orchestrator:complete", self.on_loop_end),
                ("execution:end", self.on_loop_end),
                ("session:end", self.on_end),
            )
        for event, handler in (
            ("llm:request", self.on_request),
            ("llm:response", self.on_response),
            *root_events,
        ):
            self._unregister.append(
                hooks.register(
                    event, handler, priority=COST_HOOK_PRIORITY, name=f"model-router-cost:{event}"
                )
            )
        return self.stop

    def stop(self) -> None:
        """Unregister, and leave the ledger (a no-op after ``session:end``)."""
        for unregister in self._unregister:
            try:
                unregister()
            except Exception:
                logger.debug("cost hook unregister failed", exc_info=True)
        self._unregister.clear()
        self.ledger.forget(self.session_id)
        if self.budget is not None and self.root_id == self.session_id:
            self.budget.book.forget(self.root_id)

    # The bookkeeping handlers are plain functions: the kernel calls a handler that returns no
    # coroutine in place, where a coroutine costs it a task and a hop back to the event loop
    # (about twice the dispatch time, measured in benchmarks/bench_session.py's overhead).
    # They return None, the kernel's "continue" for a Python handler: a HookResult would be
    # dumped to JSON and parsed back on every event.

    def child_announced(self, sub_session_id: str) -> None:
        """A delegation from this session is starting: its child runs under this root now,
        before its session exists (a root ending meanwhile waits for it)."""
        self.ledger.expect(sub_session_id, self.session_id)

    def child_over(self, sub_session_id: str) -> None:
        """The delegation returned or failed (a child that never opened stops counting)."""
        self.ledger.settle(sub_session_id)

    def on_loop_start(self, event: str, data: dict[str, Any]) -> None:
        self._executing = True
        return None

    def on_loop_end(self, event: str, data: dict[str, Any]) -> None:
        self._executing = False
        return None

    def on_request(self, event: str, data: dict[str, Any]) -> None:
        self.ledger.sent(self.session_id)
        return None

    def on_response(self, event: str, data: dict[str, Any]) -> Awaitable[None] | None:
        """File the call; with a spend cap, return the coroutine that charges it (awaited by
        the kernel), so a session without one never pays for an awaited handler."""
        try:
            usage = parse_usage(data.get("usage"))
            if usage is None:
                self.ledger.failed(self.session_id)
                return None
            provider = data.get("provider") or self.routed[0]
            model = data.get("model") or self.routed[1] or current_model(self.coordinator)[1]
            price = None
            if usage.cost_usd is None or self.session_id == self.root_id:
                price = self._cached_price(provider, model)
            self.ledger.record(self.session_id, provider, model, usage, price)
        except Exception:  # accounting must never break a session
            logger.warning("model-router: could not account a response", exc_info=True)
            return None
        if self.budget is None:
            return None
        return self._charged(provider, model, usage, price)

    async def _charged(self, provider: str | None, model: str | None, usage: Any, price: Price | None) -> None:
        try:
            await self._charge(provider, model, usage, price)
        except Exception:  # accounting must never break a session
            logger.warning("model-router: could not charge a response", exc_info=True)
        return None

    async def _charge(self, provider: str | None, model: str | None, usage: Any, price: Price | None) -> None:
        """Count the call against the spend caps (the ledger's cost, never a made-up zero)."""
        if usage.cost_usd is None and price is None:
            price = self.ledger.known_price(self.session_id, provider, model)
            if price is None:  # not in the cache yet: one bounded lookup per provider and TTL
                price = (await self._resolve_prices([(provider, model)])).get((provider, model))
        assert self.budget is not None  # called only when a cap is set
        level = await self.budget.charge(self.root_id, call_cost(usage, price))
        await self.budget.announce(self.root_id, level, self.coordinator.hooks.emit)

    async def on_end(self, event: str, data: dict[str, Any]) -> HookResult:
        try:
            # Ended before its loop did (cancelled; cleaned up while still running): its loop
            # and the sessions under it may still answer calls.
            interrupted = data.get("status") != "completed" and (
                self._executing or bool(self._running_tools())
                or self.ledger.running_under(self.session_id)[1] > 0
            )
            running, in_flight = await self._wait_for_stragglers(interrupted)
            usage = self.ledger.close(self.session_id)
            unanswered = in_flight + (usage.unanswered if usage is not None else 0)
            incomplete = (
                Incomplete(running, unanswered) if running or (interrupted and unanswered) else None
            )
            if usage is not None and usage.buckets:
                baseline = usage.root_model or current_model(self.coordinator)
                wanted = usage.unpriced_models() | {baseline}
                prices = await self._resolve_prices(wanted)
                summary = replace(summarize(usage, prices, baseline), incomplete=incomplete)
                if self.budget is not None:
                    summary = replace(summary, budget=await self._budget_use())
                await self.coordinator.hooks.emit(events.COST, summary.to_payload())
        except Exception:
            logger.warning("model-router: could not emit the cost summary", exc_info=True)
        return HookResult(action="continue")

    async def _wait_for_stragglers(self, interrupted: bool) -> tuple[int, int]:
        """``(sessions running, calls in flight)`` under this root once they are done or
        ``LATE_CALLS_GRACE_S`` has passed; the root itself counts as running while it is still
        busy. A root ending while sessions under it still run (it was cancelled) gives them
        time to finish their calls; an interrupted root (ended while its own loop ran) also
        waits for that loop, which may go on after ``session:end`` (its tools finish, it asks
        its model once more), and for its own unanswered calls."""
        if not self.ledger.is_root(self.session_id):
            return 0, 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LATE_CALLS_GRACE_S
        quiet = 0
        while True:
            running, in_flight = self.ledger.running_under(self.session_id)
            own_busy = interrupted and (in_flight > 0 or self._executing or bool(self._running_tools()))
            if running or own_busy:
                quiet = 0
            else:
                quiet += 1
                if not interrupted or quiet > 2:  # a few quiet polls: its loop has stopped
                    return running, in_flight
            if loop.time() >= deadline:
                return running + (1 if own_busy else 0), in_flight
            await asyncio.sleep(_GRACE_POLL_S)

    def _running_tools(self) -> Any:
        try:
            return self.coordinator.cancellation.running_tools
        except Exception:  # a coordinator without cancellation tracking
            return ()

    async def _budget_use(self) -> BudgetUse:
        assert self.budget is not None  # called only when a cap is set
        level = await self.budget.level(self.root_id)
        caps = tuple(CapUse(c.name, c.cap_usd, c.spend_usd) for c in level.caps)
        return BudgetUse(caps, level.unknown_calls, self.budget.settings.at_cap)

    # -- prices ---------------------------------------------------------------------------------

    def _entry(self, provider: str | None) -> ProviderEntry | None:
        if not provider:
            return None
        if self._entries is None:
            self._entries = session_entries(self.coordinator)
        return match_provider(provider, self._entries)

    def _cached_price(self, provider: str | None, model: str | None) -> Price | None:
        """The list price from the shared catalog cache, without any I/O (hot path)."""
        if self.ledger.knows_price(self.session_id, provider, model):
            return None  # already filed for this root
        entry = self._entry(provider)
        lookup = self.router.cache.peek(entry) if entry is not None else None
        if lookup is None or self._misses.get((provider, model)) == lookup.serial:
            return None
        price = listed_price(lookup.record(model) if model else None, provider, model)
        if price is None:
            self._misses[(provider, model)] = lookup.serial
        return price

    async def _resolve_prices(self, wanted: Iterable[ModelKey]) -> dict[ModelKey, Price | None]:
        """List prices at session end: the cached catalogs, else lookups (in parallel, each
        bounded by the cache's timeout; a failed one is remembered for its cooldown)."""
        keys = [(p, m) for p, m in wanted if m and self._entry(p) is not None]

        async def one(provider: str | None, model: str | None) -> Price | None:
            entry = self._entry(provider)
            assert entry is not None
            lookup = self.router.cache.peek(entry) or await self.router.cache.lookup(entry)
            return listed_price(lookup.record(model) if model else None, provider, model)

        prices = await asyncio.gather(*(one(p, m) for p, m in keys))
        return dict(zip(keys, prices, strict=True))
