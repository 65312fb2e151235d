"""One mounted router: turns a spawn request into a resolved, announced route.

Owns the per-mount state (config, tier chooser) and the process-shared pieces (catalog cache,
cooldowns) so a parent session and all its children resolve against one catalog per provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import events
from ..errors import RoutingError
from ..failover.mount import answered_by, inherited_chain, mount_failover
from ..failover.provider import FailoverProvider
from ..resolve.catalog import shared_cache
from ..failover.cooldown import CooldownRegistry
from ..resolve.preferences import CALLER_CONFIG_KEYS, ProviderPreference
from ..resolve.prices import listed_price
from ..resolve.providers import ProviderEntry, entries_from, plan_index
from ..resolve.resolver import Candidate, Resolution, resolve
from ..settings.effective import EffectiveRouting
from ..settings.options import RouterConfig
from ..shared import shared
from .decision import SOURCE_CALL, SOURCE_INHERIT, RouteRequest, decide_route
from ..state import GuardedStore, StateSettings
from .handoff import shared_handoffs

if TYPE_CHECKING:  # budget/ is imported only when a cap is set
    from ..budget.book import Budget

logger = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class RouteOutcome:
    """The decision for one spawn: what was asked, what resolved, and the event sent."""

    request: RouteRequest
    resolution: Resolution | None
    payload: dict[str, Any]

    @property
    def chain(self) -> tuple[Candidate, ...]:
        return self.resolution.chain() if self.resolution and self.resolution.chosen else ()


_ENTRY_MEMO_LIMIT = 256
_entry_memo: dict[int, tuple[tuple[Any, ...], int, tuple[ProviderEntry, ...]]] = shared(
    "session provider entries", dict, dict.clear
)


def session_entries(coordinator: Any) -> tuple[ProviderEntry, ...]:
    """The providers a session has mounted, with their plan entries (module, instance, priority).

    Memoised per coordinator while its mounted providers (names and instances) and plan list stay
    the same: rebuilding costs ~20 µs a spawn, ten times the warm resolution itself. Returning the
    same tuple also lets the resolver's per-chain memo hit.
    """
    providers = coordinator.get("providers") or {}
    plan = (coordinator.config or {}).get("providers") or []
    signature = tuple(
        (name, id(provider), getattr(provider, "priority", None)) for name, provider in providers.items()
    )
    memo = _entry_memo.get(id(coordinator))
    if memo is not None and memo[0] == signature and memo[1] == id(plan):
        return memo[2]
    entries = entries_from(providers, plan)
    if len(_entry_memo) >= _ENTRY_MEMO_LIMIT:
        _entry_memo.clear()
    _entry_memo[id(coordinator)] = (signature, id(plan), entries)
    return entries


def forget_session(coordinator: Any) -> None:
    """Drop an ended session's memoised entries: they hold its providers (and so the session)."""
    _entry_memo.pop(id(coordinator), None)


def current_model(coordinator: Any) -> tuple[str | None, str | None]:
    """The (provider, model) a child that inherits runs on: the lowest-priority provider of the
    session's mount plan, as in the loops.

    A routed child's failover front (mounted at runtime, never in the plan a child copies) is
    not that provider: the child gets the plan's promoted candidate, so that is what we report.
    """
    entries = [e for e in session_entries(coordinator) if not isinstance(e.provider, FailoverProvider)]
    if not entries:
        return None, None
    chosen = min(entries, key=lambda e: e.priority)
    model = getattr(chosen.provider, "default_model", None)
    if not model:
        plan = (coordinator.config or {}).get("providers") or []
        index = plan_index(chosen.name, plan)
        if index is not None:
            model = (plan[index].get("config") or {}).get("default_model")
    return chosen.name, model


class Router:
    """Routing for one mount: decide, resolve, announce."""

    def __init__(
        self,
        config: RouterConfig,
        routing: EffectiveRouting,
        *,
        cooldowns: CooldownRegistry | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.config = config
        self.routing = routing
        """Tiers, agent tiers, strict and the rest, as every settings layer agreed (with provenance)."""
        self.cache = shared_cache(
            ttl=config.cache_ttl, timeout=config.lookup_timeout, cooldown=config.failure_cooldown
        )
        self.cooldowns = cooldowns
        """Shared with the failover providers of every session (None: no cooldown reads)."""
        self.handoffs = shared_handoffs()
        self.budget = budget
        """A :class:`..budget.book.Budget` when a spend cap is set, else None (no budget work)."""
        self.state_settings: StateSettings | None = None
        """The ``state:`` setting in force, set by ``build_router`` (None: memory, nothing shared)."""
        self.amplifier_home: Path | None = None
        self.state_store: GuardedStore | None = None
        """The shared store this router's cache and cooldowns use, when not ``memory``."""

    @property
    def tiers(self) -> Mapping[str, tuple[ProviderPreference, ...]]:
        """The effective chain of every tier."""
        return self.routing.tiers

    @property
    def strict(self) -> bool:
        """Refuse a spawn whose chain resolves to nothing, instead of inheriting."""
        return self.routing.strict

    @property
    def min_failover_links(self) -> int:
        """A budget moves running agents through the failover provider: mount it for one link too."""
        return 1 if self.budget is not None else 2

    def decide(
        self, agent: str, agent_cfg: Mapping[str, Any] | None, call_preferences: Sequence[Any] | None
    ) -> RouteRequest:
        """What this spawn asks for; ``agent_cfg`` is the agent's config, found once by the caller."""
        return decide_route(
            agent, agent_cfg, call_preferences, self.routing, caller_config_keys=self.caller_config_keys
        )

    @property
    def caller_config_keys(self) -> frozenset[str]:
        """Model parameters a delegate call may set: the defaults plus the settings' additions."""
        return CALLER_CONFIG_KEYS | frozenset(self.routing.caller_config_keys)

    async def route(
        self,
        coordinator: Any,
        request: RouteRequest,
        *,
        sub_session_id: str | None = None,
    ) -> RouteOutcome:
        """Resolve ``request`` against ``coordinator``'s providers and emit ``model_router:resolved``.

        When a chain resolves to nothing the child inherits the parent's model and the event says
        so (``unresolved``); in strict mode the event says ``refused`` and :class:`RoutingError`
        is raised, naming the agent and every skipped candidate.
        """
        started = time.perf_counter()
        budget_route = None
        if self.budget is not None:
            budget_route = await self._budget_route(coordinator, request)
            request = budget_route.request
            if budget_route.refusal is not None:
                await self._announce_refusal(coordinator, request, budget_route, started, sub_session_id)
                raise budget_route.refusal
        inheriting = request.source == SOURCE_INHERIT
        # A parent that itself runs behind a failover chain passes that chain on: its child
        # must not walk back into the candidate the parent just failed over from.
        preferences = inherited_chain(coordinator) if inheriting else request.preferences
        resolution: Resolution | None = None
        if preferences:
            ceiling = None if request.source == SOURCE_CALL else self.routing.ceiling_of(request.tier)
            resolution = await resolve(
                preferences,
                session_entries(coordinator),
                self.cache,
                cooldowns=self.cooldowns,
                ceiling=ceiling,
            )
            if budget_route is not None and budget_route.block_unknown:
                from ..budget.routing import drop_unknown_cost

                resolution = drop_unknown_cost(resolution, self.priced)
        reason = None
        provider: str | None
        model: str | None
        skipped: list[dict[str, Any]] = []
        fallbacks: list[dict[str, Any]] = []
        from_cache = True
        if resolution is not None:
            from_cache = resolution.from_cache
            skipped = [
                {"provider": t.preference.provider, "model": t.preference.model, "reason": t.reason}
                for t in resolution.skipped
            ]
        if resolution is not None and resolution.chosen is not None:
            outcome = events.INHERIT if inheriting else events.ROUTED
            provider, model = resolution.chosen.provider, resolution.chosen.model
            fallbacks = [{"provider": c.provider, "model": c.model} for c in resolution.fallbacks]
        elif inheriting:
            outcome = events.INHERIT
            provider, model = current_model(coordinator)
        else:
            assert resolution is not None  # a non-inheriting request always has preferences
            if self.strict:
                outcome, provider, model = events.REFUSED, None, None
                reason = "no candidate resolved and strict is on: the spawn is refused"
            else:
                outcome = events.UNRESOLVED
                provider, model = current_model(coordinator)
                reason = "no candidate resolved; inheriting the parent's model"
                logger.warning(
                    "model-router: no model resolved for agent %r (%s); inheriting %s/%s",
                    request.agent,
                    "; ".join(f"{s['provider']}/{s['model']}: {s['reason']}" for s in skipped),
                    provider,
                    model,
                )
        payload = events.resolved_payload(
            agent=request.agent,
            tier=request.tier,
            source=request.source,
            requested=[p.to_dict() for p in request.preferences],
            outcome=outcome,
            provider=provider,
            model=model,
            fallbacks=fallbacks,
            skipped=skipped,
            from_cache=from_cache,
            resolution_ms=(time.perf_counter() - started) * 1000,
            sub_session_id=sub_session_id,
            reason=reason,
            budget=budget_route.note if budget_route is not None else None,
        )
        await events.emit_observed(coordinator.hooks, events.RESOLVED, payload)
        if outcome == events.REFUSED:
            assert resolution is not None
            raise RoutingError(
                request.agent, request.tier, [(str(t.preference), t.reason) for t in resolution.trace]
            )
        return RouteOutcome(request, resolution, payload)

    # -- budgets ------------------------------------------------------------------------------

    def root_of(self, session_id: str | None) -> str | None:
        """The root session ``session_id`` rolls up to (the cost ledger's answer), else itself."""
        from ..cost.hooks import shared_ledger

        if not session_id:
            return None
        return shared_ledger().root_of(session_id) or session_id

    async def _budget_route(self, coordinator: Any, request: RouteRequest) -> Any:
        from ..budget.routing import apply_level

        budget = self.budget
        assert budget is not None  # called only when a cap is set
        root_id = self.root_of(getattr(coordinator, "session_id", None)) or ""
        level = await budget.level(root_id)
        await budget.announce(root_id, level, coordinator.hooks.emit)
        return apply_level(budget.settings, level, request, self.tiers)

    async def _announce_refusal(
        self, coordinator: Any, request: RouteRequest, budget_route: Any, started: float, sub_session_id: str | None
    ) -> None:
        payload = events.resolved_payload(
            agent=request.agent, tier=request.tier, source=request.source,
            requested=[p.to_dict() for p in request.preferences], outcome=events.REFUSED,
            provider=None, model=None, fallbacks=[], skipped=[], from_cache=True,
            resolution_ms=(time.perf_counter() - started) * 1000, sub_session_id=sub_session_id,
            reason=str(budget_route.refusal), budget=budget_route.note,
        )
        await events.emit_observed(coordinator.hooks, events.RESOLVED, payload)

    def priced(self, candidate: Candidate) -> bool:
        """True when ``candidate``'s cost can be known, as the cost ledger will price its calls:
        its catalog entry's list price, else the list-price table's (none for a provider that
        bills requests). Real providers list no prices, so without the table every one of their
        candidates would count as unknown.

        (A provider that reports ``cost_usd`` itself but has no list price counts as unknown
        here: before the call nothing says it will.)
        """
        lookup = self.cache.peek(candidate.entry)
        record = lookup.record(candidate.model) if lookup else None
        return listed_price(record, candidate.provider, candidate.model) is not None

    async def resolve_tier(self, coordinator: Any, tier: str, *, priced_only: bool = False) -> tuple[Candidate, ...]:
        """``tier``'s chain resolved against ``coordinator``'s providers (a running child's)."""
        chain = self.tiers.get(tier)
        if not chain:
            return ()
        resolution = await resolve(
            chain,
            session_entries(coordinator),
            self.cache,
            cooldowns=self.cooldowns,
            ceiling=self.routing.ceiling_of(tier),
        )
        if priced_only:
            from ..budget.routing import drop_unknown_cost

            resolution = drop_unknown_cost(resolution, self.priced)
        return resolution.chain()

    async def ensure_failover(self, child_coordinator: Any, sub_session_id: str, outcome: RouteOutcome) -> None:
        """Make sure a child with a fallback chain runs behind the failover provider.

        A child an app's spawner created has it from its own model-router instance (see
        :meth:`adopt_handoff`); our own spawner's children get it here (:mod:`.attach`).
        """
        if self.config.failover and len(outcome.chain) >= self.min_failover_links:
            await mount_failover(child_coordinator, outcome, self)

    async def adopt_handoff(self, coordinator: Any) -> bool:
        """Called at mount: when this session is a routed child, mount its failover provider."""
        outcome = self.handoffs.get(getattr(coordinator, "session_id", None))
        if outcome is None or not self.config.failover or len(outcome.chain) < self.min_failover_links:
            return False
        return await mount_failover(coordinator, outcome, self)

    def answered_by(self, child_coordinator: Any, outcome: RouteOutcome) -> dict[str, Any]:
        """Routing metadata for a spawn result: the model that answered, else the one chosen."""
        info = {
            "agent": outcome.request.agent,
            "tier": outcome.request.tier,
            "source": outcome.request.source,
            "provider": outcome.payload.get("provider"),
            "model": outcome.payload.get("model"),
        }
        answered = answered_by(child_coordinator)
        if answered:
            info["provider"], info["model"] = answered
        return info
