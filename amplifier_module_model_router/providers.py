"""Which mounted provider a preference means, and which catalog a provider serves.

A preference names a provider loosely (``anthropic``, ``provider-anthropic``, an instance id,
``google`` for ``gemini``); a session knows its providers by mount name. This is the one place
that bridges the two, so the resolver, the prefetch and the CLI never disagree.

Knows nothing of the kernel: it reads the ``coordinator.get("providers")`` mapping and the mount
plan's ``providers`` list as plain data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DEFAULT_PRIORITY", "ProviderEntry", "catalog_key", "entries_from", "match_provider"]

DEFAULT_PRIORITY = 100.0
_PREFIX = "provider-"
# Names that mean the same provider. Google's module is ``provider-gemini`` mounted as
# ``gemini``; older configs and routing matrices say ``google``.
_ALIASES: dict[str, str] = {"google": "gemini"}
# Where providers keep the endpoint their catalog comes from, in order of trust.
_ENDPOINT_ATTRS = ("base_url", "host", "azure_endpoint", "endpoint", "api_base")


def _canonical(name: str) -> str:
    """``Provider-Google`` -> ``gemini``: case, ``provider-`` prefix and aliases folded."""
    folded = name.strip().lower().removeprefix(_PREFIX)
    return _ALIASES.get(folded, folded)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _clean_endpoint(value: Any) -> str | None:
    """A URL-ish endpoint without user info, query or fragment (a cache key must hold no secret)."""
    if not isinstance(value, str):
        # httpx.URL and friends: accept URL objects, never arbitrary objects (mocks, clients).
        if type(value).__name__ not in ("URL", "Url", "AnyUrl", "HttpUrl"):
            return None
        value = str(value)
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value if "//" in value else f"//{value}")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    cleaned = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return cleaned.removeprefix("//") or None


def _endpoint_of(provider: Any, config: Mapping[str, Any] | None) -> str | None:
    for source in (provider, getattr(provider, "config", None), config):
        for attr in _ENDPOINT_ATTRS:
            try:
                if isinstance(source, Mapping):
                    value = source.get(attr)
                elif source is provider:
                    value = getattr(source, attr, None)
                else:
                    continue
            except Exception:  # a property that raises must not break routing
                continue
            endpoint = _clean_endpoint(value)
            if endpoint:
                return endpoint
    return None


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """One mounted provider as the resolver sees it.

    ``key`` identifies its catalog across sessions (see :func:`catalog_key`); it is computed
    once here because the resolver needs it on every cold lookup.
    """

    name: str
    provider: Any
    module_id: str | None = None
    instance_id: str | None = None
    priority: float = DEFAULT_PRIORITY
    endpoint: str | None = None
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _compute_key(self))


def _compute_key(entry: ProviderEntry) -> str:
    cls = type(entry.provider)
    endpoint = _clean_endpoint(entry.endpoint) or _endpoint_of(entry.provider, None)
    base = f"{entry.name}:{cls.__module__}.{cls.__qualname__}"
    return f"{base}@{endpoint}" if endpoint else base


def catalog_key(entry: ProviderEntry) -> str:
    """What identifies a provider's catalog across sessions.

    A child session mounts fresh provider instances, so the object itself cannot be the key.
    Mount name + provider class + endpoint (``base_url``/``host``..., credentials stripped) is
    what decides which models a provider lists: two instances pointing at different endpoints
    get separate catalogs, a parent and its children share one.
    """
    return entry.key


def _spec_for(name: str, specs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The mount-plan entry that mounted ``name``: instance id, then module, then config name."""
    valid = [s for s in specs if isinstance(s, Mapping)]
    for spec in valid:
        if name in (spec.get("instance_id"), spec.get("id")):
            return spec
    for spec in valid:
        if spec.get("instance_id") or spec.get("id"):
            continue
        module = spec.get("module")
        if isinstance(module, str) and _canonical(module) == _canonical(name):
            return spec
    for spec in valid:
        config = spec.get("config")
        if isinstance(config, Mapping) and config.get("name") == name:
            return spec
    return None


def entries_from(
    providers: Mapping[str, Any] | None, plan_providers: Sequence[Mapping[str, Any]] | None = ()
) -> tuple[ProviderEntry, ...]:
    """Entries for ``coordinator.get("providers")`` enriched by the mount plan's ``providers``.

    Priority follows the loops: the provider's ``priority`` attribute, else the plan's
    ``config.priority``, else 100. Junk (non-string names, ``None`` providers) is skipped.
    """
    if not isinstance(providers, Mapping):
        return ()
    specs = plan_providers if isinstance(plan_providers, Sequence) else ()
    entries: list[ProviderEntry] = []
    for name, provider in providers.items():
        if not isinstance(name, str) or not name or provider is None:
            continue
        spec = _spec_for(name, specs) or {}
        config = spec.get("config") if isinstance(spec.get("config"), Mapping) else {}
        module = spec.get("module") if isinstance(spec.get("module"), str) else None
        instance = spec.get("instance_id") or spec.get("id")
        priority = _number(getattr(provider, "priority", None))
        if priority is None:
            priority = _number(config.get("priority"))
        entries.append(
            ProviderEntry(
                name=name,
                provider=provider,
                module_id=module,
                instance_id=instance if isinstance(instance, str) else None,
                priority=DEFAULT_PRIORITY if priority is None else priority,
                endpoint=_endpoint_of(provider, config),
            )
        )
    return tuple(entries)


def match_provider(requested: str, entries: Sequence[ProviderEntry]) -> ProviderEntry | None:
    """The entry a preference's ``provider`` means, or None when nothing mounted matches.

    1. An exact instance id names one instance: it wins.
    2. Otherwise every entry whose mount name or module id equals the request (case-insensitive,
       with or without ``provider-``, ``google`` == ``gemini``) is a candidate, and the one with
       the lowest priority wins, as in the loops; ties keep mount order.
    """
    if not isinstance(requested, str) or not requested.strip():
        return None
    raw = requested.strip()
    for entry in entries:
        if entry.instance_id is not None and entry.instance_id == raw:
            return entry
    wanted = _canonical(raw)
    best: ProviderEntry | None = None
    for entry in entries:
        if _canonical(entry.name) == wanted or (
            entry.module_id is not None and _canonical(entry.module_id) == wanted
        ) or (entry.instance_id is not None and _canonical(entry.instance_id) == wanted):
            if best is None or entry.priority < best.priority:
                best = entry
    return best
