"""What one settings layer may say, validated before anything is applied.

A layer is one YAML mapping (org file, a ``model_router:`` section, the mount plan's keys).
Every key and type is checked here, with the file, dotted key and line in the error, so a bad
layer is refused whole and a typo never silently does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..bundle.model import NAME, NAME_RULE
from ..errors import InputError, SettingsError, unknown_keys
from ..resolve.globs import check_glob, is_glob
from ..resolve.preferences import ProviderPreference, is_protected_key
from ..resolve.prices import CEILING_BASIS
from .budget import finite_number, parse_budget
from .lines import line_of
from .state_key import parse_state
from .names import BASE, BUNDLE_NAMESPACE, INHERIT, RESERVED_TIER_NAMES, fold_agent, provider_key

LAYER_NAMES = ("bundle", "org", "user", "project", "local", "mount")
"""Every layer, weakest first."""

REPLACE = "replace"
"""Merge rule: a later layer that sets the key replaces it whole."""

PER_NAME = "per name"
"""Merge rule: the value maps names to values; a later layer wins per name."""

COLLECT = "collect"
"""Merge rule: the value is a list; every layer's items count, the first mention first."""

UNTRUSTED_LAYERS = ("project", "local")
"""Layers read from the working folder: a cloned repository can carry them (README, Trust
model). Their tiers' preference ``config`` holds model parameters only, and they cannot widen
``caller_config_keys``."""


@dataclass(frozen=True, slots=True)
class SettingsLayer:
    """One layer as written: ``values`` is the raw mapping, ``source`` a path or "mount plan".

    ``section`` is the key the values sit under in their file (``model_router``), and
    ``lines`` maps dotted paths from the file's root to lines; both only sharpen errors.
    """

    name: str
    source: str
    values: Mapping[str, Any]
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    section: str | None = field(default=None, compare=False)
    parsed: "tuple[str, LayerSettings] | None" = field(default=None, compare=False, repr=False)
    """``(namespace, settings)`` once validated (:func:`parse_layer`), so a mount parses a layer once."""

    @property
    def label(self) -> str:
        """``user (/home/me/.amplifier/settings.yaml)``: how provenance names this layer."""
        return f"{self.name} ({self.source})"

    def error(self, reason: str, key: str | None = None) -> SettingsError:
        """A :class:`SettingsError` at ``key`` (relative to the layer), with file and line."""
        full = ".".join(part for part in (self.section, key) if part) or None
        line = line_of(self.lines, full) if full else None
        return SettingsError(reason, file=self.source, field=full, line=line)


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """One ``agents:`` or ``agent_patterns:`` entry: ``key`` as written, for messages."""

    key: str
    tier: str  # a tier name or INHERIT


def _mapping(layer: SettingsLayer, key: str) -> Mapping[Any, Any]:
    value = layer.values.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise layer.error(f"must be a mapping, got {type(value).__name__}", key)
    return value


def _name(layer: SettingsLayer, where: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise layer.error(f"{what} must be a non-empty string, got {value!r}", where)
    return value.strip()


def _providers(layer: SettingsLayer, key: str, namespace: str) -> tuple[str, ...] | None:
    if key not in layer.values:
        return None
    items = layer.values[key]
    if not isinstance(items, list):
        raise layer.error(f"must be a list of provider names, got {type(items).__name__}", key)
    seen: dict[str, str] = {}
    names: list[str] = []
    for index, item in enumerate(items):
        name = _name(layer, f"{key}[{index}]", item, "a provider name")
        folded = provider_key(name)
        if folded in seen:
            raise layer.error(
                f"provider {name!r} is listed twice (also as {seen[folded]!r})", f"{key}[{index}]"
            )
        seen[folded] = name
        names.append(name)
    return tuple(names)


def _tier_name(layer: SettingsLayer, where: str, value: Any, *, allow_inherit: bool) -> str:
    name = _name(layer, where, value, "a tier name")
    if name == BASE or (name == INHERIT and not allow_inherit):
        raise layer.error(f"'{name}' is a reserved word, not a tier name", where)
    return name


def _tiers(layer: SettingsLayer, key: str, namespace: str) -> dict[str, tuple[ProviderPreference | None, ...]]:
    tiers: dict[str, tuple[ProviderPreference | None, ...]] = {}
    for raw_name, chain in _mapping(layer, key).items():
        where = f"tiers.{raw_name}"
        name = _name(layer, where, raw_name, "a tier name")
        if name in RESERVED_TIER_NAMES:
            raise layer.error(f"'{name}' is a reserved word, not a tier name", where)
        if not NAME.match(name):
            raise layer.error(f"tier name {name!r} {NAME_RULE}", where)
        if not isinstance(chain, list) or not chain:
            raise layer.error("must be a non-empty list of preferences (and optionally 'base')", where)
        items: list[ProviderPreference | None] = []
        for index, item in enumerate(chain):
            if item == BASE:
                if None in items:
                    raise layer.error("'base' may appear only once", f"{where}[{index}]")
                items.append(None)
                continue
            if isinstance(item, str):
                raise layer.error(
                    f"expected a preference mapping or '{BASE}', got {item!r}", f"{where}[{index}]"
                )
            try:
                items.append(ProviderPreference.from_dict(item))
            except InputError as err:
                sub = f"{where}[{index}]" + (f".{err.field}" if err.field else "")
                raise layer.error(err.reason, sub) from None
        tiers[name] = tuple(items)
    return tiers


def _agents(layer: SettingsLayer, key: str, namespace: str) -> dict[str, AgentEntry]:
    agents: dict[str, AgentEntry] = {}
    for raw_key, tier in _mapping(layer, key).items():
        where = f"agents.{raw_key}"
        name = _name(layer, where, raw_key, "an agent name")
        if is_glob(name):
            raise layer.error(f"{name!r} is a pattern: put it under agent_patterns", where)
        folded = fold_agent(name, namespace)
        if folded in agents:
            raise layer.error(f"agent {folded!r} is named twice (also as {agents[folded].key!r})", where)
        agents[folded] = AgentEntry(name, _tier_name(layer, where, tier, allow_inherit=True))
    return agents


def _patterns(layer: SettingsLayer, key: str, namespace: str) -> tuple[AgentEntry, ...]:
    patterns: list[AgentEntry] = []
    for raw_key, tier in _mapping(layer, key).items():
        where = f"agent_patterns.{raw_key}"
        pattern = _name(layer, where, raw_key, "an agent pattern")
        try:
            check_glob(pattern)
        except InputError as err:
            raise layer.error(err.reason, where) from None
        patterns.append(AgentEntry(pattern, _tier_name(layer, where, tier, allow_inherit=True)))
    return tuple(patterns)


def _strict(layer: SettingsLayer, key: str, namespace: str) -> bool | None:
    if key not in layer.values:
        return None
    value = layer.values[key]
    if not isinstance(value, bool):
        raise layer.error(f"must be true or false, got {value!r}", key)
    return value


def _default_tier(layer: SettingsLayer, key: str, namespace: str) -> str | None:
    if key not in layer.values:
        return None
    return _tier_name(layer, key, layer.values[key], allow_inherit=True)


def _budget(layer: SettingsLayer, key: str, namespace: str) -> Mapping[str, Any] | None:
    return parse_budget(layer)


def _price_ceiling(layer: SettingsLayer, key: str, namespace: str) -> Mapping[str, float] | None:
    """``{tier: USD}``; a ceiling can be lowered by a later layer, never raised or removed
    (:meth:`.effective._State._apply_price_ceiling`), so ``null`` is refused, not ignored."""
    if key not in layer.values:
        return None
    ceilings: dict[str, float] = {}
    for raw_tier, value in _mapping(layer, key).items():
        where = f"{key}.{raw_tier}"
        tier = _tier_name(layer, where, raw_tier, allow_inherit=False)
        number = finite_number(value)
        if number is None or number <= 0:
            hint = " (a ceiling set in a lower layer cannot be removed, only lowered)" if value is None else ""
            raise layer.error(
                f"must be a positive number of US dollars ({CEILING_BASIS}), got {value!r}{hint}", where
            )
        ceilings[tier] = number
    return ceilings


def _state(layer: SettingsLayer, key: str, namespace: str) -> Mapping[str, Any] | None:
    if key in layer.values and layer.name in UNTRUSTED_LAYERS:
        raise layer.error(
            "may be set only in the org or user settings (or the mount plan): a project's files must not "
            "choose where routing state is kept",
            key,
        )
    return parse_state(layer)


def _caller_config_keys(layer: SettingsLayer, key: str, namespace: str) -> tuple[str, ...]:
    if key not in layer.values:
        return ()
    if layer.name in UNTRUSTED_LAYERS:
        raise layer.error(
            "a project's settings cannot widen what delegate calls may set; "
            "put it in your user or org settings",
            key,
        )
    items = layer.values[key]
    if not isinstance(items, list):
        raise layer.error(f"must be a list of config key names, got {type(items).__name__}", key)
    names = []
    for index, item in enumerate(items):
        name = _name(layer, f"{key}[{index}]", item, "a config key")
        if is_protected_key(name):
            raise layer.error(
                f"{name!r} names a credential or an endpoint: no preference may set it",
                f"{key}[{index}]",
            )
        names.append(name)
    return tuple(names)


def _setting(parse: Callable[[SettingsLayer, str, str], Any], merge: str, **default: Any) -> Any:
    """A :class:`LayerSettings` field that is a settings key: its parser and its merge rule."""
    return field(metadata={"parse": parse, "merge": merge}, **default)


@dataclass(frozen=True, slots=True)
class LayerSettings:
    """A validated layer: THE list of settings keys. ``None`` / empty means "not set here".

    Each field is a key: its parser (``(layer, key, namespace) -> value``) and its merge rule
    (:data:`REPLACE`, :data:`PER_NAME` or :data:`COLLECT`) live beside it, so adding a key is adding a field
    here (and, when routing must read it, a field of :class:`.effective.EffectiveRouting`).
    ``tiers`` values hold preferences and ``None`` where the list said ``base``.
    ``agents`` is keyed by the folded name (``model-router:x`` -> ``x``).
    """

    provider_order: tuple[str, ...] | None = _setting(_providers, REPLACE, default=None)
    disabled_providers: tuple[str, ...] | None = _setting(_providers, REPLACE, default=None)
    tiers: Mapping[str, tuple[ProviderPreference | None, ...]] = _setting(
        _tiers, PER_NAME, default_factory=dict
    )
    agents: Mapping[str, AgentEntry] = _setting(_agents, PER_NAME, default_factory=dict)
    agent_patterns: tuple[AgentEntry, ...] = _setting(_patterns, PER_NAME, default=())
    default_tier: str | None = _setting(_default_tier, REPLACE, default=None)
    strict: bool | None = _setting(_strict, REPLACE, default=None)
    budget: Mapping[str, Any] | None = _setting(_budget, PER_NAME, default=None)
    """The ``budget`` keys this layer sets (:mod:`.budget`); None when it sets none."""
    price_ceiling: Mapping[str, float] | None = _setting(_price_ceiling, PER_NAME, default=None)
    """Per tier, the most a candidate's list price may be (lowest across layers wins)."""
    caller_config_keys: tuple[str, ...] = _setting(_caller_config_keys, COLLECT, default=())
    """Model parameters this layer lets delegate calls set, beyond the defaults."""
    state: Mapping[str, Any] | None = _setting(_state, PER_NAME, default=None)
    """The ``state`` sub-keys this layer sets (:mod:`.state_key`: where routing state is kept)."""


SETTINGS = {key.name: key for key in fields(LayerSettings)}
"""Every settings key (its field: ``metadata`` holds ``parse`` and ``merge``), in apply order."""

KEYS = tuple(SETTINGS)


def parse_layer(layer: SettingsLayer, *, namespace: str = BUNDLE_NAMESPACE) -> LayerSettings:
    """Validate every key of ``layer``; raises :class:`SettingsError` at the first bad one.

    A layer :func:`.discover.discover_layers` already validated is not parsed again.
    """
    if layer.parsed is not None and layer.parsed[0] == namespace:
        return layer.parsed[1]
    values = layer.values
    if not isinstance(values, Mapping):
        raise layer.error(f"settings must be a mapping, got {type(values).__name__}")
    for key in values:
        if key not in SETTINGS:
            raise layer.error(unknown_keys([key], KEYS), str(key))
    return LayerSettings(
        **{name: key.metadata["parse"](layer, name, namespace) for name, key in SETTINGS.items()}
    )


def parsed_layer(layer: SettingsLayer, *, namespace: str = BUNDLE_NAMESPACE) -> SettingsLayer:
    """``layer`` validated, carrying its :class:`LayerSettings` so nothing parses it again."""
    return replace(layer, parsed=(namespace, parse_layer(layer, namespace=namespace)))


