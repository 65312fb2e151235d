"""What each agent should get in a scenario, worked out without running a session.

``verify`` compares a real session against these answers, so they are computed on a separate
path: the tier from the effective settings, the chain resolved by :func:`.resolver.resolve`
with a fresh catalog cache against fresh offline providers built from the same mount plan. No
hook, delegate tool, spawner, child plan or failover provider is involved here; those are what
``verify`` checks. ``show`` and ``explain`` print these answers directly.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UsageError
from ..events import INHERIT, REFUSED, ROUTED, UNRESOLVED
from ..offline.provider import SimProvider
from ..offline.sim_config import SimProviderConfig
from ..resolve.catalog import CatalogCache
from ..resolve.globs import glob_matches, is_glob
from ..resolve.preferences import ProviderPreference
from ..resolve.providers import ProviderEntry, entries_from
from ..resolve.resolver import Resolution, TraceEntry, resolve
from .scenario import Scenario

__all__ = ["ROUTED", "INHERIT", "UNRESOLVED", "REFUSED", "FAILS", "Route", "Planner", "SELF"]

SELF = "self"
FAILS = "fails"
"""Every resolved candidate is flaky: the agent's run ends with the last provider error."""


@dataclass(frozen=True, slots=True)
class Route:
    """One agent's expected route."""

    agent: str
    """The ``config["agents"]`` key (``model-router:git-ops``) or ``self``."""
    tier: str | None
    decided_by: str
    """Which settings layer (or rule) chose the tier."""
    chain_source: str | None
    """Which layers shaped the tier's chain (``bundle; reordered by user (...)``)."""
    preferences: tuple[ProviderPreference, ...]
    resolution: Resolution | None
    outcome: str
    expected: tuple[str, str] | None
    """``(provider, model)`` the agent's provider should receive; None when it cannot run."""
    first_fallback: tuple[str, str] | None

    @property
    def expected_text(self) -> str:
        return "/".join(self.expected) if self.expected else "-"


class Planner:
    """Resolves agents of one scenario against its offline providers, with one shared cache."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.cache = CatalogCache()  # fresh: nothing the session run cached can leak in
        plan_providers = scenario.plan["providers"]
        providers = {
            entry["instance_id"]: SimProvider(SimProviderConfig.from_mapping(entry["config"]))
            for entry in plan_providers
        }
        self.entries: tuple[ProviderEntry, ...] = entries_from(providers, plan_providers)
        self.configs = scenario.plan["agents"]

    def agent_keys(self) -> list[str]:
        """Every agent of the bundle in bundle order, then ``self``."""
        return [*self.configs, SELF]

    def find(self, name: str) -> str:
        """The agent key for a name as a user types it: ``git-ops``, ``model-router:git-ops``,
        ``GIT-OPS`` or ``self`` (case-insensitive, like provider and glob matching).

        A namespace that is written must be the agent's: ``foundation:explorer`` is not
        ``model-router:explorer``. A name the bundle lacks is still explained when settings
        route it (another bundle's agent matched by a pattern or a default tier); anything
        else is a :class:`UsageError` with the closest names.
        """
        wanted = name.strip()
        if wanted.casefold() == SELF:
            return SELF
        folded = wanted.casefold()
        by_key = {key.casefold(): key for key in self.configs}
        if folded in by_key:
            return by_key[folded]
        namespace, _, bare = folded.rpartition(":")
        if not namespace:
            same = [key for key in self.configs if key.rsplit(":", 1)[-1].casefold() == bare]
            if len(same) == 1:
                return same[0]
        tier, _ = self.scenario.routing.tier_for(wanted, None)
        if tier is not None:  # another bundle's agent that settings route (patterns, default)
            return wanted
        raise UsageError(self._unknown(wanted))

    def _unknown(self, name: str) -> str:
        """``unknown agent ...``, with the agent the user probably meant."""
        keys = list(self.configs)
        bare = name.rsplit(":", 1)[-1].casefold()
        near = [key for key in keys if key.rsplit(":", 1)[-1].casefold() == bare]
        if not near:
            names = {key.rsplit(":", 1)[-1].casefold(): key for key in keys}
            near = [names[m] for m in difflib.get_close_matches(bare, list(names), n=3, cutoff=0.6)]
        bundle = self.scenario.bundle.name
        namespace = name.rpartition(":")[0]
        where = f"unknown agent {name!r}"
        if namespace and near:
            where += f": bundle {bundle} has no agent in namespace {namespace!r}"
        if near:
            return f"{where}; did you mean {' or '.join(near)}?"
        known = ", ".join(key.rsplit(":", 1)[-1] for key in keys)
        return f"{where}; agents of {bundle}: {known}, self"

    async def routes(self, agents: Iterable[str] | None = None) -> list[Route]:
        return [
            await self.route(agent)
            for agent in (agents if agents is not None else self.agent_keys())
        ]

    async def route(self, agent: str) -> Route:
        """The expected route of ``agent`` (a key from :meth:`find`)."""
        scenario = self.scenario
        routing = scenario.routing
        spec = None if agent == SELF else scenario.bundle.agents.get(agent.rsplit(":", 1)[-1])
        declared = spec.tier if spec is not None else None
        tier, decided_by = routing.tier_for(agent, declared)
        if agent == SELF and tier is None:  # routed only when a settings layer names it
            return self._inherit(SELF, "self: inherits the parent's model")
        if tier is not None and tier in routing.tiers:
            preferences = tuple(routing.tiers[tier])
            chain_source = routing.provenance.get(f"tiers.{tier}")
        else:
            tier, chain_source = None, None
            # Re-tiered to inherit by settings: no chain, even if the file carries one.
            preferences = (
                tuple(spec.own_preferences) if spec is not None and declared is None else ()
            )
            if preferences:
                decided_by = f"{decided_by}; the agent's own provider_preferences"
        if not preferences:
            return self._inherit(agent, decided_by)
        resolution = await resolve(preferences, self.entries, self.cache, ceiling=routing.ceiling_of(tier))
        outcome, expected = self._expected(resolution)
        pairs = [(c.provider, c.model) for c in resolution.chain()]
        after = pairs[pairs.index(expected) + 1 :] if expected in pairs else pairs
        return Route(
            agent=agent,
            tier=tier,
            decided_by=decided_by,
            chain_source=chain_source,
            preferences=preferences,
            resolution=resolution,
            outcome=outcome,
            expected=expected,
            first_fallback=after[0] if after else None,
        )

    def _inherit(self, agent: str, decided_by: str) -> Route:
        """No chain: the agent runs on the session's model."""
        return Route(
            agent=agent,
            tier=None,
            decided_by=decided_by,
            chain_source=None,
            preferences=(),
            resolution=None,
            outcome=INHERIT,
            expected=self.scenario.session_pair,
            first_fallback=None,
        )

    def _expected(self, resolution: Resolution) -> tuple[str, tuple[str, str] | None]:
        chain = resolution.chain()
        if not chain:
            if self.scenario.routing.strict:
                return REFUSED, None
            return UNRESOLVED, self.scenario.session_pair
        flaky = set(self.scenario.options.flaky)
        healthy = next((c for c in chain if c.provider not in flaky), None)
        if healthy is None:
            return FAILS, None
        return ROUTED, (healthy.provider, healthy.model)

    def matches(self, step: TraceEntry) -> tuple[str, ...]:
        """Every catalog id a glob candidate matched, newest first (for ``explain``)."""
        if not is_glob(step.preference.model) or step.provider is None:
            return ()
        entry = next((e for e in self.entries if e.name == step.provider), None)
        lookup = self.cache.peek(entry) if entry is not None else None
        if lookup is None:
            return ()
        return tuple(m for m in lookup.sorted.ids if glob_matches(step.preference.model, m))
