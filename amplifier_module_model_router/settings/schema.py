"""What one settings layer may say, validated before anything is applied.

A layer is one YAML mapping (org file, a ``model_router:`` section, the mount plan's keys).
Every key and type is checked here, with the file, dotted key and line in the error, so a bad
layer is refused whole and a typo never silently does nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, SettingsError
from ..resolve.globs import check_glob, is_glob
from ..resolve.preferences import ProviderPreference, is_protected_key
from .budget import parse_budget
from .lines import line_of
from .names import BASE, BUNDLE_NAMESPACE, INHERIT, RESERVED_TIER_NAMES, fold_agent, provider_key

LAYER_NAMES = ("bundle", "org", "user", "project", "local", "mount")
"""Every layer, weakest first."""

# The loader's rule for tier names in bundle.md, so a tier defined here could move into a bundle.
_TIER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

KEYS = (
    "provider_order",
    "disabled_providers",
    "tiers",
    "agents",
    "agent_patterns",
    "default_tier",
    "strict",
    "budget",
    "caller_config_keys",
)

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


@dataclass(frozen=True, slots=True)
class LayerSettings:
    """A validated layer. ``None`` / empty means "not set here": the layers below stand.

    ``tiers`` values hold preferences and ``None`` where the list said ``base``.
    ``agents`` is keyed by the folded name (``model-router:x`` -> ``x``).
    """

    provider_order: tuple[str, ...] | None = None
    disabled_providers: tuple[str, ...] | None = None
    tiers: Mapping[str, tuple[ProviderPreference | None, ...]] = field(default_factory=dict)
    agents: Mapping[str, AgentEntry] = field(default_factory=dict)
    agent_patterns: tuple[AgentEntry, ...] = ()
    default_tier: str | None = None
    strict: bool | None = None
    budget: Mapping[str, Any] | None = None
    """The ``budget`` keys this layer sets (:mod:`.budget`); None when it sets none."""
    caller_config_keys: tuple[str, ...] = ()
    """Model parameters this layer lets delegate calls set, beyond the defaults."""


def parse_layer(layer: SettingsLayer, *, namespace: str = BUNDLE_NAMESPACE) -> LayerSettings:
    """Validate every key of ``layer``; raises :class:`SettingsError` at the first bad one."""
    values = layer.values
    if not isinstance(values, Mapping):
        raise layer.error(f"settings must be a mapping, got {type(values).__name__}")
    for key in values:
        if key not in KEYS:
            raise layer.error(_unknown(key, KEYS), str(key))
    return LayerSettings(
        provider_order=_providers(layer, "provider_order"),
        disabled_providers=_providers(layer, "disabled_providers"),
        tiers=_tiers(layer),
        agents=_agents(layer, namespace),
        agent_patterns=_patterns(layer),
        default_tier=_tier_name(layer, "default_tier", values.get("default_tier"), allow_inherit=True)
        if "default_tier" in values
        else None,
        strict=_strict(layer),
        budget=parse_budget(layer),
        caller_config_keys=_caller_config_keys(layer),
    )


def _caller_config_keys(layer: SettingsLayer) -> tuple[str, ...]:
    key = "caller_config_keys"
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


def _unknown(key: Any, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key {key!r}{hint}; known: {', '.join(known)}"


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


def _providers(layer: SettingsLayer, key: str) -> tuple[str, ...] | None:
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


def _tiers(layer: SettingsLayer) -> dict[str, tuple[ProviderPreference | None, ...]]:
    tiers: dict[str, tuple[ProviderPreference | None, ...]] = {}
    for raw_name, chain in _mapping(layer, "tiers").items():
        where = f"tiers.{raw_name}"
        name = _name(layer, where, raw_name, "a tier name")
        if name in RESERVED_TIER_NAMES:
            raise layer.error(f"'{name}' is a reserved word, not a tier name", where)
        if not _TIER_NAME.match(name):
            raise layer.error(f"tier name {name!r} must be a word of letters, digits, '-', '_' or '.'", where)
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


def _agents(layer: SettingsLayer, namespace: str) -> dict[str, AgentEntry]:
    agents: dict[str, AgentEntry] = {}
    for raw_key, tier in _mapping(layer, "agents").items():
        where = f"agents.{raw_key}"
        key = _name(layer, where, raw_key, "an agent name")
        if is_glob(key):
            raise layer.error(f"{key!r} is a pattern: put it under agent_patterns", where)
        folded = fold_agent(key, namespace)
        if folded in agents:
            raise layer.error(f"agent {folded!r} is named twice (also as {agents[folded].key!r})", where)
        agents[folded] = AgentEntry(key, _tier_name(layer, where, tier, allow_inherit=True))
    return agents


def _patterns(layer: SettingsLayer) -> tuple[AgentEntry, ...]:
    patterns: list[AgentEntry] = []
    for raw_key, tier in _mapping(layer, "agent_patterns").items():
        where = f"agent_patterns.{raw_key}"
        pattern = _name(layer, where, raw_key, "an agent pattern")
        try:
            check_glob(pattern)
        except InputError as err:
            raise layer.error(err.reason, where) from None
        patterns.append(AgentEntry(pattern, _tier_name(layer, where, tier, allow_inherit=True)))
    return tuple(patterns)


def _strict(layer: SettingsLayer) -> bool | None:
    if "strict" not in layer.values:
        return None
    value = layer.values["strict"]
    if not isinstance(value, bool):
        raise layer.error(f"must be true or false, got {value!r}", "strict")
    return value
