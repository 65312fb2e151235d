"""Apply the layers to the bundle's tiers: one immutable answer, with where each part came from.

Rules (the README states them for users):
- Layers apply weakest first: bundle < org < user < project < local < mount.
- ``tiers`` and ``agents`` / ``agent_patterns`` merge per name (a later layer wins per tier or
  agent); ``provider_order``, ``disabled_providers``, ``default_tier`` and ``strict`` are
  replaced whole by a later layer that sets them.
- ``provider_order`` reorders the chains from the layers below it (a stable sort by
  provider: listed ones in list order, the rest after them in their own order); a tier written
  in the same or a later layer keeps the order written there.
- ``disabled_providers`` (the last layer's list) drops providers from every final chain.
- ``state`` merges per sub-key (``backend``, ``url``, ...), a later layer winning per key.
- ``price_ceiling`` merges per tier by the lowest value any layer sets (like the budget's caps):
  a project's settings may lower an org's or user's ceiling, never raise or remove it.
- Everything is checked before the result exists: nothing is applied half-way.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..budget.model import BudgetSettings
from ..errors import InputError, SettingsError
from ..resolve.globs import glob_matches
from ..resolve.preferences import (
    CALLER_CONFIG_KEYS,
    ProviderPreference,
    check_caller_config,
    parse_preferences,
)
from ..resolve.prices import CEILING_BASIS, PriceCeiling, tier_ceiling
from .names import (
    BUNDLE_NAMESPACE,
    INHERIT,
    KNOWN_PROVIDERS,
    RESERVED_TIER_NAMES,
    bare_agent,
    fold_agent,
    pattern_specificity,
    provider_key,
)
from .budget import BUDGET_CAPS, budget_rows, budget_settings, check_budget_tiers
from ..state.open import StateSettings
from ..state.redis import redacted_url
from .state_key import missing_url, state_settings
from .schema import (
    PER_NAME,
    REPLACE,
    SETTINGS,
    UNTRUSTED_LAYERS,
    AgentEntry,
    LayerSettings,
    SettingsLayer,
    parse_layer,
)

BUNDLE = "bundle"
DEFAULT = "default"
SELF = "self"


def declared_tier(agent_cfg: Mapping[str, Any]) -> str | None:
    """The tier an agent file declares: ``meta.model_tier`` (foundation may flatten meta)."""
    tier = agent_cfg.get("model_tier")
    if tier is None and isinstance(agent_cfg.get("meta"), Mapping):
        tier = agent_cfg["meta"].get("model_tier")
    return tier if isinstance(tier, str) and tier else None


@dataclass(frozen=True, slots=True)
class TierChoice:
    """Which tier an agent gets (:meth:`EffectiveRouting.agent_tier`), and why.

    ``tier`` is a tier this routing has a chain for, or None (no tier chain: the agent's own
    list, or its parent's model). ``sent_back`` is true when settings sent an agent that
    declares a tier back to its parent's model (``inherit``): then its own list must not be
    used either.
    """

    tier: str | None
    declared: str | None
    sent_back: bool
    why: str


@dataclass(frozen=True)
class EffectiveRouting:
    """The routing every layer agreed on. Immutable: a new layer set means a new object.

    ``agent_tiers`` and ``patterns`` map to ``None`` for ``inherit``. ``patterns`` is in
    match order (most literal characters first, then later layer, then written order).
    ``provenance`` maps ``tiers.<t>``, ``agents.<a>``, ``agent_patterns.<p>``,
    ``provider_order``, ``disabled_providers``, ``default_tier`` and ``strict`` to the layer
    that decided them (``user (/home/me/.amplifier/settings.yaml)``); a tier's entry lists
    every step that shaped its chain.
    """

    tiers: Mapping[str, tuple[ProviderPreference, ...]]
    agent_tiers: Mapping[str, str | None]
    patterns: tuple[tuple[str, str | None], ...]
    default_tier: str | None
    strict: bool
    provenance: Mapping[str, str]
    provider_order: tuple[str, ...] = ()
    disabled_providers: tuple[str, ...] = ()
    namespace: str = field(default=BUNDLE_NAMESPACE, compare=False)
    budget: BudgetSettings | None = None
    """Spend caps (``budget:``); None when no cap is set: routing exactly as without budgets."""
    caller_config_keys: tuple[str, ...] = ()
    """Model parameters delegate calls may set beyond the defaults (trusted layers only)."""
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """Names that are probably typos (an unknown provider in ``provider_order`` or
    ``disabled_providers``), each with file, line, key and a suggestion; nothing refused."""
    problems: tuple[InputError, ...] = field(default=(), compare=False)
    """Settings layers refused and left out (:func:`routing_without_bad_layers`), one error
    each, naming file, line and key."""
    state: Mapping[str, Any] = field(default_factory=dict)
    """The ``state`` sub-keys the layers set (later wins per key); the backend's default
    depends on the Amplifier home: :meth:`state_settings`."""
    price_ceiling: Mapping[str, float] = field(default_factory=dict)
    """Per tier, the most a candidate's list price may be (:data:`..resolve.prices.CEILING_BASIS`),
    the lowest any layer sets; a tier absent has no ceiling."""

    def ceiling_of(self, tier: str | None) -> PriceCeiling | None:
        """``tier``'s price ceiling with the price table in force; None when it has none."""
        return tier_ceiling(tier, self.price_ceiling.get(tier)) if tier else None

    def state_settings(
        self, amplifier_home: Path | None, env: Mapping[str, str] | None = None
    ) -> tuple[StateSettings, dict[str, str]]:
        """The state store settings and where each came from (``state.backend`` -> layer)."""
        return state_settings(self.state, self.provenance, amplifier_home, env)

    def state_values(
        self, amplifier_home: Path | None, env: Mapping[str, str] | None = None
    ) -> list[tuple[str, Any, str]]:
        """``(key, value, source)`` rows for the state store, defaults included (``settings``)."""
        settings, sources = self.state_settings(amplifier_home, env)
        rows: list[tuple[str, Any, str]] = [("state.backend", settings.backend, sources["state.backend"])]
        if settings.backend == "redis":
            rows.append(("state.url", redacted_url(settings.url or ""), sources.get("state.url", DEFAULT)))
            rows.append(("state.namespace", settings.namespace, sources.get("state.namespace", DEFAULT)))
        if settings.backend == "sqlite":
            path = settings.sqlite_path(amplifier_home)
            rows.append(("state.path", str(path) if path else "(no Amplifier home)", sources.get("state.path", DEFAULT)))
        for key in ("timeout", "refresh"):
            rows.append((f"state.{key}", getattr(settings, key), sources.get(f"state.{key}", DEFAULT)))
        return rows

    def tier_for(self, agent: str, declared_tier: str | None) -> tuple[str | None, str]:
        """``(tier or None to inherit, what decided it)`` for one agent.

        Order: an ``agents`` entry for the name (exact, then a plain entry for a namespaced
        agent) > the tier the agent declares > ``self`` inherits > the most specific matching
        ``agent_patterns`` entry > ``default_tier`` > inherit.
        """
        name = fold_agent(agent, self.namespace)
        for key in (name, bare_agent(name)):
            if key in self.agent_tiers:
                return self.agent_tiers[key], f"{self.provenance[f'agents.{key}']}: agents.{key}"
        if declared_tier:
            return declared_tier, f"{BUNDLE}: the agent's model_tier"
        if name == SELF:
            return None, "self-delegation inherits the parent's model unless agents.self is set"
        for pattern, tier in self.patterns:
            if glob_matches(pattern, agent) or glob_matches(pattern, name):
                where = f"agent_patterns.{pattern}"
                return tier, f"{self.provenance[where]}: {where}"
        if "default_tier" in self.provenance:
            return self.default_tier, f"{self.provenance['default_tier']}: default_tier"
        return None, "no tier: inherits the parent's model"

    def agent_tier(self, agent: str, agent_cfg: Mapping[str, Any] | None) -> TierChoice:
        """THE decision of which tier an agent gets: every session-side caller asks here.

        ``agent_cfg`` is the agent's config as the session holds it (``meta.model_tier`` or a
        flattened ``model_tier``); ``self`` declares nothing. The order is :meth:`tier_for`'s;
        a tier no layer or bundle defines gives no chain.
        """
        declared = declared_tier(agent_cfg or {}) if agent != SELF else None
        chosen, why = self.tier_for(agent, declared)
        return TierChoice(
            tier=chosen if chosen in self.tiers else None,
            declared=declared,
            sent_back=declared is not None and chosen is None,
            why=why,
        )

    def chain_for(self, tier: str) -> tuple[ProviderPreference, ...]:
        """The effective fallback chain of ``tier``; unknown tiers raise :class:`SettingsError`."""
        try:
            return self.tiers[tier]
        except KeyError:
            known = ", ".join(sorted(self.tiers)) or "none"
            raise SettingsError(f"unknown tier {tier!r}; known: {known}") from None

    def effective_values(self) -> list[tuple[str, Any, str]]:
        """``(key, value, source)`` for every effective setting, for ``settings`` output."""
        source = self.provenance.get
        rows: list[tuple[str, Any, str]] = [
            ("provider_order", list(self.provider_order), source("provider_order", DEFAULT)),
            ("disabled_providers", list(self.disabled_providers), source("disabled_providers", DEFAULT)),
            ("default_tier", self.default_tier or INHERIT, source("default_tier", DEFAULT)),
            ("strict", self.strict, source("strict", DEFAULT)),
        ]
        if self.budget is not None:
            rows += [
                (f"budget.{key}", value, source(f"budget.{key}", DEFAULT))
                for key, value in budget_rows(self.budget)
            ]
        if self.caller_config_keys:
            rows.append(("caller_config_keys", list(self.caller_config_keys), source("caller_config_keys", "")))
        rows += [
            (f"price_ceiling.{t}", f"${usd:.2f} ({CEILING_BASIS})", source(f"price_ceiling.{t}", ""))
            for t, usd in self.price_ceiling.items()
        ]
        rows += [
            (f"tiers.{t}", [str(p) for p in c], source(f"tiers.{t}", BUNDLE)) for t, c in self.tiers.items()
        ]
        rows += [
            (f"agents.{a}", t or INHERIT, source(f"agents.{a}", "")) for a, t in self.agent_tiers.items()
        ]
        rows += [
            (f"agent_patterns.{p}", t or INHERIT, source(f"agent_patterns.{p}", "")) for p, t in self.patterns
        ]
        return rows


def effective_routing(
    bundle_tiers: Mapping[str, Sequence[ProviderPreference]],
    layers: Sequence[SettingsLayer],
    *,
    namespace: str = BUNDLE_NAMESPACE,
) -> EffectiveRouting:
    """Apply ``layers`` (weakest first) to the bundle's tiers; all-or-nothing.

    Raises :class:`SettingsError` naming the layer's file and key for a bad layer, ``base`` in
    a tier no layer below defines, a tier no layer defines named by ``agents``,
    ``agent_patterns`` or ``default_tier``, or ``disabled_providers`` emptying a tier.
    """
    parsed = [(layer, parse_layer(layer, namespace=namespace)) for layer in layers]
    state = _State(bundle_tiers)
    for index, (layer, settings) in enumerate(parsed):
        state.apply(index, layer, settings)
    state.drop_disabled()
    caller_keys = tuple(state.collected.get("caller_config_keys", ()))
    store = state.named.get("state", {})
    if missing_url(store):
        raise state.state_backend_layer.error(
            "backend 'redis' needs state.url (in this layer or another)", "state.backend"
        )
    for layer, settings in parsed:
        _check_tier_names(layer, settings, state.chains)
        check_budget_tiers(layer, settings.budget, state.chains)
        if layer.name in UNTRUSTED_LAYERS:
            _check_untrusted_configs(layer, settings, CALLER_CONFIG_KEYS | frozenset(caller_keys))
    patterns = sorted(state.patterns.values(), key=lambda p: (-pattern_specificity(p[0]), -p[2], p[3]))
    agents: Mapping[str, AgentEntry] = state.named.get("agents", {})
    return EffectiveRouting(
        tiers=MappingProxyType({name: tuple(chain) for name, chain in state.chains.items()}),
        agent_tiers=MappingProxyType({name: _tier_or_none(e.tier) for name, e in agents.items()}),
        patterns=tuple((pattern, tier) for pattern, tier, _, _ in patterns),
        default_tier=_tier_or_none(state.replaced.get("default_tier", INHERIT)),
        strict=state.replaced.get("strict", False),
        provenance=MappingProxyType(state.provenance()),
        provider_order=state.replaced.get("provider_order", ()),
        disabled_providers=state.replaced.get("disabled_providers", ()),
        namespace=namespace,
        budget=budget_settings(state.named.get("budget", {}), state.chains),
        caller_config_keys=caller_keys,
        warnings=_unknown_providers(bundle_tiers, parsed),
        state=MappingProxyType(dict(store)),
        price_ceiling=MappingProxyType(dict(state.named.get("price_ceiling", {}))),
    )


def _unknown_providers(
    bundle_tiers: Mapping[str, Sequence[Any]],
    parsed: Sequence[tuple[SettingsLayer, LayerSettings]],
) -> tuple[str, ...]:
    """A warning, with the closest known name, for each provider in ``provider_order`` or
    ``disabled_providers`` that no tier of any layer names and no Amplifier provider is."""
    spelled: dict[str, str] = {provider_key(name): name for name in KNOWN_PROVIDERS}
    chains: list[Sequence[Any]] = list(bundle_tiers.values())
    chains += [items for _, settings in parsed for items in settings.tiers.values()]
    for chain in chains:
        for pref in chain:
            name = getattr(pref, "provider", None)
            if isinstance(pref, Mapping):
                name = pref.get("provider")
            if isinstance(name, str):
                spelled.setdefault(provider_key(name), name)
    warnings: list[str] = []
    for layer, settings in parsed:
        for key in ("provider_order", "disabled_providers"):
            for index, name in enumerate(getattr(settings, key) or ()):
                if provider_key(name) in spelled:
                    continue
                near = difflib.get_close_matches(provider_key(name), list(spelled), n=1, cutoff=0.6)
                hint = f"did you mean {spelled[near[0]]!r}? " if near else ""
                known = ", ".join(sorted(set(spelled.values())))
                reason = f"unknown provider {name!r}; {hint}(known: {known})"
                warnings.append(str(layer.error(reason, f"{key}[{index}]")))
    return tuple(warnings)


def _check_untrusted_configs(
    layer: SettingsLayer, settings: LayerSettings, allowed: frozenset[str]
) -> None:
    """A project layer's tier preferences may set model parameters only (README, Trust model)."""
    for name, items in settings.tiers.items():
        for index, pref in enumerate(items):
            if pref is None:
                continue
            try:
                check_caller_config(pref.config, allowed)
            except InputError as err:
                raise layer.error(err.reason, f"tiers.{name}[{index}].{err.field}") from None


def routing_without_bad_layers(
    bundle_tiers: Mapping[str, Sequence[ProviderPreference]],
    layers: Sequence[SettingsLayer],
    *,
    namespace: str = BUNDLE_NAMESPACE,
    problems: Sequence[InputError] = (),
) -> EffectiveRouting:
    """:func:`effective_routing` over the file layers that apply; each one that does not is
    left out whole and named in ``problems`` (after the ``problems`` already found).

    A session must never lose its routing to a typo in one settings file: the bundle's tiers
    and every valid layer still apply. A bad ``mount`` layer (the bundle's own module config)
    or bad bundle tiers still raise: those are the bundle's to fix, and ``validate`` says so.
    """
    kept = list(layers)
    found = list(problems)
    while True:
        try:
            routing = effective_routing(bundle_tiers, kept, namespace=namespace)
        except InputError as err:
            bad = next((x for x in kept if x.name != "mount" and x.source == err.file), None)
            if bad is None:
                raise
            kept.remove(bad)
            found.append(err)
            continue
        return dataclasses.replace(routing, problems=tuple(found))


class _State:
    """The fold over layers; private and short-lived, so mutable.

    Keys merge by their rule in the schema (:data:`.schema.REPLACE` into ``replaced``,
    :data:`.schema.PER_NAME` into ``named``, :data:`.schema.COLLECT` into ``collected``); the few with more to do than merge (tiers splice
    ``base``, provider_order reorders the chains below, patterns keep their layer and position)
    have an ``_apply_<key>`` method.
    """

    def __init__(self, bundle_tiers: Mapping[str, Sequence[ProviderPreference]]) -> None:
        self.chains: dict[str, list[ProviderPreference]] = {}
        self.history: dict[str, list[str]] = {}
        for name, chain in bundle_tiers.items():
            if name in RESERVED_TIER_NAMES:
                raise SettingsError(f"'{name}' is a reserved word, not a tier name", field=f"tiers.{name}")
            try:
                self.chains[name] = _dedupe(parse_preferences(chain))
            except InputError as err:
                raise err.located(field_prefix=f"tiers.{name}", kind=SettingsError) from None
            self.history[name] = [BUNDLE]
        self.replaced: dict[str, Any] = {}
        """REPLACE keys: the value of the last layer that set each."""
        self.set_by: dict[str, SettingsLayer] = {}
        self.named: dict[str, dict[str, Any]] = {}
        """PER_NAME keys: ``{key: {name: value}}``, a later layer winning per name."""
        self.collected: dict[str, dict[Any, None]] = {}
        """COLLECT keys: every layer's items, first mention first (an ordered set)."""
        self.patterns: dict[str, tuple[str, str | None, int, int]] = {}
        self.sources: dict[str, str] = {}

    def apply(self, index: int, layer: SettingsLayer, settings: LayerSettings) -> None:
        """Fold one layer in, key by key in schema order (provider_order before tiers)."""
        for key, spec in SETTINGS.items():
            value = getattr(settings, key)
            if value is None:
                continue
            special = getattr(self, f"_apply_{key}", None)
            if special is not None:
                special(index, layer, value)
            elif spec.metadata["merge"] == REPLACE:
                self.replaced[key] = value
                self.set_by[key] = layer
                self.sources[key] = layer.label
            elif spec.metadata["merge"] != PER_NAME:  # COLLECT
                self.collected.setdefault(key, {}).update(dict.fromkeys(value))
                if value:
                    previous = self.sources.get(key)
                    self.sources[key] = f"{previous}; {layer.label}" if previous else layer.label
            else:
                merged = self.named.setdefault(key, {})
                for name, item in value.items():
                    merged[name] = item
                    self.sources[f"{key}.{name}"] = layer.label

    def _apply_budget(self, index: int, layer: SettingsLayer, values: Mapping[str, Any]) -> None:
        """Caps only tighten: the lowest any layer sets wins (an org's cap holds whatever a
        user or project writes); the other budget keys merge per key, a later layer winning."""
        merged = self.named.setdefault("budget", {})
        for key, value in values.items():
            if key in BUDGET_CAPS:
                if value is None or (merged.get(key) is not None and merged[key] <= value):
                    continue
            merged[key] = value
            self.sources[f"budget.{key}"] = layer.label

    def _apply_price_ceiling(self, index: int, layer: SettingsLayer, values: Mapping[str, float]) -> None:
        """Ceilings only come down: the lowest any layer sets per tier wins, so neither a project's
        settings nor a user's can lift a ceiling a lower layer (an org) set."""
        merged = self.named.setdefault("price_ceiling", {})
        for tier, usd in values.items():
            if tier not in merged or usd < merged[tier]:
                merged[tier] = usd
                self.sources[f"price_ceiling.{tier}"] = layer.label

    def _apply_provider_order(self, index: int, layer: SettingsLayer, order: tuple[str, ...]) -> None:
        self.replaced["provider_order"] = order
        self.sources["provider_order"] = layer.label
        self._reorder(layer.label)  # before this layer's tiers: those keep their order

    def _apply_tiers(
        self, index: int, layer: SettingsLayer, tiers: Mapping[str, tuple[ProviderPreference | None, ...]]
    ) -> None:
        for name, items in tiers.items():
            self._redefine(layer, name, items)

    def _apply_state(self, index: int, layer: SettingsLayer, values: Mapping[str, Any]) -> None:
        merged = self.named.setdefault("state", {})
        for name, item in values.items():
            merged[name] = item
            self.sources[f"state.{name}"] = layer.label
            if name == "backend":
                self.state_backend_layer = layer

    def _apply_agent_patterns(self, index: int, layer: SettingsLayer, entries: tuple[AgentEntry, ...]) -> None:
        for position, entry in enumerate(entries):
            self.patterns[entry.key] = (entry.key, _tier_or_none(entry.tier), index, position)
            self.sources[f"agent_patterns.{entry.key}"] = layer.label

    def _redefine(
        self, layer: SettingsLayer, name: str, items: tuple[ProviderPreference | None, ...]
    ) -> None:
        below = self.chains.get(name)
        if None in items and below is None:
            raise layer.error(
                f"'base' stands for the chain of tier '{name}' in the layers below, but none defines it",
                f"tiers.{name}",
            )
        chain: list[ProviderPreference] = []
        for item in items:
            if item is None:
                chain.extend(below or ())
            else:
                chain.append(item)
        self.chains[name] = _dedupe(chain)
        if None in items:
            self.history[name].append(f"extended by {layer.label}")
        else:
            self.history[name] = [layer.label]

    def _reorder(self, label: str) -> None:
        rank = {provider_key(p): i for i, p in enumerate(self.replaced["provider_order"])}
        last = len(rank)
        for name, chain in self.chains.items():
            ordered = sorted(chain, key=lambda pref: rank.get(provider_key(pref.provider), last))
            if ordered != chain:
                self.chains[name] = ordered
                self.history[name].append(f"reordered by {label}")

    def drop_disabled(self) -> None:
        layer = self.set_by.get("disabled_providers")
        disabled = self.replaced.get("disabled_providers")
        if layer is None or not disabled:
            return
        off = {provider_key(p) for p in disabled}
        for name, chain in self.chains.items():
            kept = [pref for pref in chain if provider_key(pref.provider) not in off]
            if len(kept) == len(chain):
                continue
            if not kept:
                raise layer.error(
                    f"disables every provider of tier '{name}'; redefine the tier (tiers.{name}) "
                    "or keep one of its providers",
                    "disabled_providers",
                )
            dropped = sorted({pref.provider for pref in chain} - {pref.provider for pref in kept})
            self.chains[name] = kept
            self.history[name].append(f"{', '.join(dropped)} disabled by {layer.label}")

    def provenance(self) -> dict[str, str]:
        out = dict(self.sources)
        out.update({f"tiers.{name}": "; ".join(steps) for name, steps in self.history.items()})
        return out


def _check_tier_names(layer: SettingsLayer, settings: LayerSettings, chains: Mapping[str, Any]) -> None:
    """Every tier a layer names must exist once all layers are applied (even if overridden)."""
    named = [(f"agents.{e.key}", e.tier) for e in settings.agents.values()]
    named += [(f"agent_patterns.{e.key}", e.tier) for e in settings.agent_patterns]
    if settings.default_tier is not None:
        named.append(("default_tier", settings.default_tier))
    ceilings = [(f"price_ceiling.{tier}", tier) for tier in settings.price_ceiling or {}]
    for key, tier in named + ceilings:
        if tier != INHERIT and tier not in chains:
            known = ", ".join(sorted(chains)) or "none"
            inherit = "" if key.startswith("price_ceiling.") else f" (or '{INHERIT}')"
            raise layer.error(f"unknown tier {tier!r}; known: {known}{inherit}", key)


def _tier_or_none(tier: str) -> str | None:
    return None if tier == INHERIT else tier


def _dedupe(chain: Any) -> list[ProviderPreference]:
    """Keep the first of equal candidates (same provider and model): ``base`` may repeat one."""
    seen: set[tuple[str, str]] = set()
    out: list[ProviderPreference] = []
    for pref in chain:
        key = (provider_key(pref.provider), pref.model.lower())
        if key not in seen:
            seen.add(key)
            out.append(pref)
    return out
