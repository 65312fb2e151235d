"""Put a child session behind a :class:`FailoverProvider` holding its whole resolved chain.

Used from two places: the child's own model-router instance at mount (app-cli children inherit
the parent's hooks) and our spawner after ``initialize()`` (its children do not mount our hook).
Idempotent: a child gets at most one failover provider.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..resolve.catalog import CatalogCache
from ..resolve.preferences import ProviderPreference
from ..resolve.resolver import Candidate
from .cooldown import CooldownRegistry
from .provider import FailoverCandidate, FailoverProvider

if TYPE_CHECKING:  # budget/ is imported only when a cap is set
    from ..budget.book import Budget
    from ..budget.gate import BudgetGate

logger = logging.getLogger(__name__)

FAILOVER_MOUNT_NAME = "model-router"


class RouteRequestView(Protocol):
    """What failover reads of a spawn's request (:class:`..session.decision.RouteRequest`)."""

    @property
    def agent(self) -> str: ...

    @property
    def tier(self) -> str | None: ...

    @property
    def source(self) -> str: ...


class RoutedSpawn(Protocol):
    """A resolved spawn (:class:`..session.router.RouteOutcome`): the chain the child runs behind."""

    @property
    def request(self) -> RouteRequestView: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...

    @property
    def chain(self) -> tuple[Candidate, ...]: ...


class ChainRouter(Protocol):
    """What failover needs of the mount's router (:class:`..session.router.Router`); a Protocol
    so this folder does not import the session that imports it."""

    @property
    def cache(self) -> CatalogCache: ...

    @property
    def cooldowns(self) -> CooldownRegistry | None: ...

    @property
    def budget(self) -> Budget | None: ...

    @property
    def min_failover_links(self) -> int: ...

    def root_of(self, session_id: str | None) -> str | None: ...

    async def resolve_tier(
        self, coordinator: Any, tier: str, *, priced_only: bool = False
    ) -> tuple[Candidate, ...]: ...


def config_scopes(outcome: RoutedSpawn) -> dict[str, str]:
    """``{mount name: scope}`` of the provider whose config a preference changed in this child.

    The child plan merges the first link's preference ``config`` into that provider's entry
    (as app-cli's spawner does), so that instance, whatever model it serves, runs on a config
    of the preference's choosing: failures there say nothing about the provider as others use it.
    """
    chain = outcome.chain
    config = chain[0].preference.config if chain else None
    if not config:
        return {}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()
    return {chain[0].provider: f"config:{digest[:8]}"}


def failover_candidates(
    links: Sequence[Candidate],
    providers: Mapping[str, Any],
    router: ChainRouter,
    scopes: Mapping[str, str] | None = None,
) -> list[FailoverCandidate]:
    """Resolved chain links -> candidates on the mounted ``providers`` (unmounted ones dropped).

    ``scopes`` (:func:`config_scopes`) marks providers running on a preference's config.
    """
    scopes = scopes or {}
    candidates: list[FailoverCandidate] = []
    for link in links:
        provider = providers.get(link.provider)
        if provider is None:
            continue
        lookup = router.cache.peek(link.entry)
        record = lookup.record(link.model) if lookup is not None else None
        candidates.append(
            FailoverCandidate(
                name=link.provider,
                provider=provider,
                model=link.model,
                context_window=record.context_window if record else None,
                config_scope=scopes.get(link.provider),
                identity=link.entry.identity,
            )
        )
    return candidates


async def _mount(coordinator: Any, provider: FailoverProvider) -> None:
    """Mount ``provider`` as :data:`FAILOVER_MOUNT_NAME`.

    amplifier-core's coordinator mounts a provider by placing it in its ``mount_points``:
    ``mount()`` does that when called and hands back an awaitable with nothing left to do,
    whose await is a round trip through the kernel's runtime (0.1-0.2 ms, once per child).
    Placing it there is that same mount without the round trip; a coordinator that keeps no
    such dict is awaited as before.
    """
    points = getattr(coordinator, "mount_points", None)
    slot = points.get("providers") if isinstance(points, dict) else None
    if isinstance(slot, dict):
        slot[FAILOVER_MOUNT_NAME] = provider
        return
    await coordinator.mount("providers", provider, name=FAILOVER_MOUNT_NAME)


async def mount_failover(coordinator: Any, outcome: RoutedSpawn, router: ChainRouter) -> bool:
    """Mount the failover provider for ``outcome``'s chain; False when too few links mount
    (two, or one when a spend cap may move the agent while it runs)."""
    providers = coordinator.get("providers") or {}
    if FAILOVER_MOUNT_NAME in providers:
        return True
    scopes = config_scopes(outcome)
    candidates = failover_candidates(outcome.chain, providers, router, scopes)
    if len(candidates) < router.min_failover_links:
        return False
    failover = FailoverProvider(
        candidates,
        registry=router.cooldowns,
        emit=coordinator.hooks.emit,
        agent=outcome.request.agent,
        gate=_budget_gate(coordinator, outcome, router, scopes),
    )
    await _mount(coordinator, failover)
    logger.debug("model-router: failover over %d candidates for %s", len(candidates), outcome.request.agent)
    return True


async def mount_root_budget_front(
    coordinator: Any, router: ChainRouter, provider_name: str | None, model: str | None
) -> bool:
    """Put a root session's own model behind the spend gate: at the cap it moves to the cap
    tier (``budget-only``) or its next call is refused (``refuse``), as every agent's does.

    Only with a spend cap; a one-link failover provider on the root's own provider and model.
    """
    providers = coordinator.get("providers") or {}
    provider = providers.get(provider_name) if provider_name else None
    if (
        router.budget is None
        or provider is None
        or not provider_name
        or not model
        or FAILOVER_MOUNT_NAME in providers
    ):
        return False
    from ..cost.summary import ROOT_AGENT

    gate = _gate(coordinator, router, agent=ROOT_AGENT, tier=None, source="inherit", applied_tier=None)
    front = FailoverProvider(
        [FailoverCandidate(name=provider_name, provider=provider, model=model)],
        registry=router.cooldowns,
        emit=coordinator.hooks.emit,
        agent=ROOT_AGENT,
        gate=gate,
    )
    await _mount(coordinator, front)
    return True


def _budget_gate(
    coordinator: Any, outcome: RoutedSpawn, router: ChainRouter, scopes: Mapping[str, str]
) -> BudgetGate | None:
    """The spend check before each model call, when a cap is set (see :mod:`..budget.gate`).

    The gate steps down from what the spawn asked for, not from the tier the budget already
    moved it to: the agent's own tier and source, as the resolved event's ``budget`` note says.
    """
    if router.budget is None:
        return None
    request = outcome.request
    note = outcome.payload.get("budget") or {}
    asked_tier = (note.get("from_tier") or request.tier) if note.get("degraded") else request.tier
    return _gate(
        coordinator, router, agent=request.agent, tier=asked_tier,
        source=note.get("overrode") or request.source, applied_tier=request.tier, scopes=scopes,
    )


def _gate(
    coordinator: Any,
    router: ChainRouter,
    *,
    agent: str,
    tier: str | None,
    source: str,
    applied_tier: str | None,
    scopes: Mapping[str, str] | None = None,
) -> BudgetGate:
    from ..budget.gate import BudgetGate

    async def resolve_tier(wanted: str, priced_only: bool) -> list[FailoverCandidate]:
        links = await router.resolve_tier(coordinator, wanted, priced_only=priced_only)
        return failover_candidates(links, coordinator.get("providers") or {}, router, scopes)

    assert router.budget is not None
    return BudgetGate(
        router.budget,
        agent=agent,
        tier=tier,
        source=source,
        applied_tier=applied_tier,
        root_id=lambda: router.root_of(getattr(coordinator, "session_id", None)),
        resolve_tier=resolve_tier,
        emit=coordinator.hooks.emit,
    )


def answered_by(coordinator: Any) -> tuple[str, str] | None:
    """(provider, model) that last answered in a session behind a failover provider."""
    failover = (coordinator.get("providers") or {}).get(FAILOVER_MOUNT_NAME)
    return getattr(failover, "answered", None)


def inherited_chain(coordinator: Any) -> tuple[ProviderPreference, ...]:
    """The concrete chain a session runs behind, for a child that inherits its model; else ()."""
    failover = (coordinator.get("providers") or {}).get(FAILOVER_MOUNT_NAME)
    if not isinstance(failover, FailoverProvider):
        return ()
    return tuple(ProviderPreference(provider=c.name, model=c.model) for c in failover.candidates)
