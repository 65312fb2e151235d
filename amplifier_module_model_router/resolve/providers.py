"""Which mounted provider a preference means, and which catalog a provider serves.

A preference names a provider loosely (``anthropic``, ``provider-anthropic``, an instance id,
``google`` for ``gemini``); a session knows its providers by mount name. This is the one place
that bridges the two, so the resolver, the prefetch and the CLI never disagree.

Knows nothing of the kernel: it reads the ``coordinator.get("providers")`` mapping and the mount
plan's ``providers`` list as plain data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..state.identity import provider_identity

__all__ = [
    "DEFAULT_PRIORITY",
    "ProviderEntry",
    "canonical_name",
    "catalog_key",
    "entries_from",
    "match_provider",
    "plan_finder",
    "plan_index",
]

DEFAULT_PRIORITY = 100.0
_PREFIX = "provider-"
# Names that mean the same provider. Google's module is ``provider-gemini`` mounted as
# ``gemini``; older configs and routing matrices say ``google``.
_ALIASES: dict[str, str] = {"google": "gemini"}
# Where providers keep the endpoint their catalog comes from, in order of trust.
_ENDPOINT_ATTRS = ("base_url", "host", "azure_endpoint", "endpoint", "api_base")


@lru_cache(maxsize=512)
def canonical_name(name: str) -> str:
    """``Provider-Google`` -> ``gemini``: case, ``provider-`` prefix and aliases folded.

    The one provider-name rule: two names mean the same provider iff their canonical names match.
    """
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
    return _clean_endpoint_text(value)


@lru_cache(maxsize=256)
def _clean_endpoint_text(value: str) -> str | None:
    """:func:`_clean_endpoint` of a string; pure, so memoised (every session's entries ask)."""
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value if "//" in value else f"//{value}")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    cleaned = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return cleaned.removeprefix("//") or None


def _endpoint_of(provider: Any, config: Mapping[str, Any] | None) -> str | None:
    """The endpoint a provider talks to: its own attributes, its ``config``, else the plan's."""
    for attr in _ENDPOINT_ATTRS:
        try:
            value = getattr(provider, attr, None)
        except Exception:  # a property that raises must not break routing
            continue
        if value is not None and (endpoint := _clean_endpoint(value)):
            return endpoint
    for source in (getattr(provider, "config", None), config):
        if isinstance(source, Mapping):
            for attr in _ENDPOINT_ATTRS:
                value = source.get(attr)
                if value is not None and (endpoint := _clean_endpoint(value)):
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
    config: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    """The mount plan's config for this provider (read for its account, never kept in keys)."""
    key: str = field(init=False, repr=False, compare=False)
    identity: str = field(init=False, repr=False, compare=False)
    """The provider *account* (:func:`..state.identity.provider_identity`): what shared
    catalogs and cooldowns are keyed by, so two accounts under one mount name never share."""
    names: frozenset[str] = field(init=False, repr=False, compare=False)
    """Canonical names this entry answers to (mount name, module id, instance id)."""
    signature: tuple = field(init=False, repr=False, compare=False)
    """Everything resolution depends on, as plain hashable values (cheap memo keys)."""

    def __post_init__(self) -> None:
        endpoint = _clean_endpoint(self.endpoint) if self.endpoint is not None else None
        if endpoint is None:
            endpoint = _endpoint_of(self.provider, None)
        cls = type(self.provider)
        base = f"{self.name}:{cls.__module__}.{cls.__qualname__}"
        object.__setattr__(self, "key", f"{base}@{endpoint}" if endpoint else base)
        object.__setattr__(
            self,
            "identity",
            provider_identity(
                self.name, self.provider, endpoint=endpoint, instance_id=self.instance_id, config=self.config
            ),
        )
        names = {canonical_name(n) for n in (self.name, self.module_id, self.instance_id) if isinstance(n, str)}
        object.__setattr__(self, "names", frozenset(names))
        object.__setattr__(
            self, "signature", (self.key, id(self.provider), self.module_id, self.instance_id, self.priority)
        )


def catalog_key(entry: ProviderEntry) -> str:
    """What identifies a provider's catalog across sessions.

    A child session mounts fresh provider instances, so the object itself cannot be the key.
    Mount name + provider class + endpoint (``base_url``/``host``..., credentials stripped) is
    what decides which models a provider lists: two instances pointing at different endpoints
    get separate catalogs, a parent and its children share one.
    """
    return entry.key


def plan_finder(specs: Sequence[Any]) -> Callable[[str], int | None]:
    """A lookup from mount name to the index of the plan entry that mounted it.

    Order: explicit instance id (``instance_id`` or legacy ``id``); then an entry without one
    whose module is the name (``provider-`` prefix and ``google``/``gemini`` folded); then an
    entry whose ``config.name`` is the name. Built once per plan so entries_from stays O(n).
    """
    by_instance: dict[str, int] = {}
    by_module: dict[str, int] = {}
    by_config_name: dict[str, int] = {}
    for index, spec in enumerate(specs):
        if not isinstance(spec, Mapping):
            continue
        instance = spec.get("instance_id") or spec.get("id")
        if isinstance(instance, str):
            by_instance.setdefault(instance, index)
        elif isinstance(module := spec.get("module"), str):
            by_module.setdefault(canonical_name(module), index)
        config = spec.get("config")
        if isinstance(config, Mapping) and isinstance(config.get("name"), str):
            by_config_name.setdefault(config["name"], index)

    def find(name: str) -> int | None:
        found = by_instance.get(name)
        if found is None:
            found = by_module.get(canonical_name(name))
        return by_config_name.get(name) if found is None else found

    return find


def plan_index(mount_name: str, plan_providers: Sequence[Any]) -> int | None:
    """Index of the mount-plan ``providers`` entry that mounted ``mount_name``, else None."""
    if not isinstance(plan_providers, Sequence) or isinstance(plan_providers, (str, bytes)):
        return None
    return plan_finder(plan_providers)(mount_name)


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
    find = plan_finder(specs)
    entries: list[ProviderEntry] = []
    for name, provider in providers.items():
        if not isinstance(name, str) or not name or provider is None:
            continue
        index = find(name)
        spec: Mapping[str, Any] = (specs[index] if index is not None else None) or {}
        config: Mapping[str, Any] = spec["config"] if isinstance(spec.get("config"), Mapping) else {}
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
                endpoint=_endpoint_of(provider, config) if config else None,
                config=config or None,
            )
        )
    return tuple(entries)


def match_provider(requested: str, entries: Sequence[ProviderEntry]) -> ProviderEntry | None:
    """The entry a preference's ``provider`` means, or None when nothing mounted matches.

    1. An exact instance id names one instance: it wins.
    2. Then a mount name equal to the request (case-insensitive, ``google``/``gemini``
       folded): ``ollama`` means the instance mounted as ``ollama``, not ``ollama-cloud`` that
       shares its module. A request spelled ``provider-x`` names a module and skips this step.
    3. Otherwise every entry whose mount name or module id equals the request is a candidate,
       and the one with the lowest priority wins, as in the loops; ties keep mount order.
    """
    if not isinstance(requested, str) or not requested.strip():
        return None
    raw = requested.strip()
    for entry in entries:
        if entry.instance_id is not None and entry.instance_id == raw:
            return entry
    wanted = canonical_name(raw)
    by_name: list[ProviderEntry] = []
    if not raw.lower().startswith(_PREFIX):
        by_name = [e for e in entries if isinstance(e.name, str) and canonical_name(e.name) == wanted]
    pool = by_name or [e for e in entries if wanted in e.names]
    best: ProviderEntry | None = None
    for entry in pool:
        if best is None or entry.priority < best.priority:
            best = entry
    return best
