"""One bundle or agent file, validated on its own and cached by ``(path, mtime, size)``.

Everything here depends only on the file itself, so a parsed file can be shared by every load
that reaches it; composing files into a bundle is :mod:`.loader`'s job. Values are immutable
because they are shared. Knows nothing of the kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from ..errors import BundleError, InputError, reraised_as
from ..resolve.preferences import ProviderPreference, parse_preferences
from ..safe_yaml import read_document
from ..shared import shared
from .model import NAME, NAME_RULE

__all__ = [
    "MODULE_ID",
    "AgentFile",
    "BundleFile",
    "clear_cache",
    "display_path",
    "parse_tiers",
    "read_agent_file",
    "read_bundle_file",
    "simple_name",
]

MODULE_ID = "model-router"
"""The module id whose ``hooks:`` entry carries the tiers."""

# Names that become file names (agents/<name>.md) or dotted fields: no separators, no "..".
# Top-level agent-file keys amplifier-foundation keeps besides ``meta`` (the rest it drops).
_AGENT_SECTIONS = ("tools", "providers", "hooks", "session", "model_role")
_T = TypeVar("_T")


def parse_tiers(raw: Any, *, file: str | None = None) -> dict[str, tuple[ProviderPreference, ...]]:
    """Validate ``{tier: [preference, ...]}``; errors name the field (``tiers.budget[2].model``)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise BundleError(
            f"must be a mapping of tier name to a list of preferences, got {type(raw).__name__}",
            file=file,
            field="tiers",
        )
    tiers: dict[str, tuple[ProviderPreference, ...]] = {}
    for name, chain in raw.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise BundleError(
                f"tier name {name!r} {NAME_RULE}",
                file=file,
                field="tiers",
            )
        try:
            tiers[name] = parse_preferences(chain)
        except InputError as err:
            raise err.located(file=file, field_prefix=f"tiers.{name}", kind=BundleError) from None
    return tiers


@dataclass(frozen=True, slots=True)
class AgentFile:
    """An agent file, validated on its own (cacheable: depends on nothing else)."""

    name: str
    tier: str | None
    description: str
    instruction: str
    own_preferences: tuple[ProviderPreference, ...]
    meta: Mapping[str, Any]
    sections: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class BundleFile:
    """A bundle file, validated on its own; includes and agent refs are resolved later."""

    path: Path
    name: str
    version: str
    description: str
    instruction: str
    includes: tuple[Any, ...]
    agent_refs: tuple[str, ...]
    overlays: Mapping[str, Mapping[str, Any]]
    tiers: Mapping[str, tuple[ProviderPreference, ...]]
    module_config: Mapping[str, Any]  # without "tiers"


_cache: dict[tuple[str, Path], tuple[int, int, Any]] = shared("parsed bundle files", dict, dict.clear)
_CACHE_LIMIT = 1024


def clear_cache() -> None:
    """Forget every parsed file (benchmarks use it to time cold loads)."""
    _cache.clear()


def display_path(path: Path) -> str:
    """Path as a user typed it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _cached(kind: str, path: Path, parse: Callable[[Path], _T]) -> _T:
    """Parse ``path`` once per (mtime, size); a changed file is parsed again."""
    try:
        st = path.stat()
    except OSError as exc:
        raise BundleError(
            f"cannot read file: {exc.strerror or exc}", file=display_path(path)
        ) from None
    hit = _cache.get((kind, path))
    if hit is not None and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
        return hit[2]
    value = parse(path)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[(kind, path)] = (st.st_mtime_ns, st.st_size, value)
    return value


def _opt_str(data: Mapping[str, Any], key: str, *, file: str, agent: str | None, field: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BundleError(
            f"must be a string, got {type(value).__name__}", file=file, agent=agent, field=field
        )
    return value


def _parse_agent_file(path: Path) -> AgentFile:
    file = display_path(path)
    with reraised_as(BundleError):
        front, body = read_document(path, display=file)
    fallback = path.stem
    if "model_tier" in front:
        raise BundleError(
            "model_tier belongs under meta: (amplifier-foundation drops unknown top-level keys)",
            file=file,
            agent=fallback,
            field="model_tier",
        )
    meta = front.get("meta")
    if meta is None and ("name" in front or "description" in front):
        meta = front  # foundation accepts flat frontmatter without a meta: wrapper
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise BundleError(
            f"must be a mapping, got {type(meta).__name__}", file=file, agent=fallback, field="meta"
        )
    name = _opt_str(meta, "name", file=file, agent=fallback, field="meta.name") or fallback
    description = _opt_str(meta, "description", file=file, agent=name, field="meta.description")
    tier = _opt_str(meta, "model_tier", file=file, agent=name, field="meta.model_tier") or None
    own: tuple[ProviderPreference, ...] = ()
    if "provider_preferences" in front:
        try:
            own = parse_preferences(front["provider_preferences"])
        except InputError as err:
            raise err.located(
                file=file, agent=name, field_prefix="provider_preferences", kind=BundleError
            ) from None
    sections = {k: front[k] for k in _AGENT_SECTIONS if k in front}
    access = front.get("agents")
    if isinstance(access, (str, list)):
        sections["agents"] = access  # foundation's per-agent delegation allow-list
    return AgentFile(
        name=name,
        tier=tier,
        description=description,
        instruction=body.strip(),
        own_preferences=own,
        meta=MappingProxyType(dict(meta)),
        sections=MappingProxyType(sections),
    )


def _module_entry(hooks: Any, *, file: str) -> tuple[int | None, Mapping[str, Any]]:
    """The ``config`` of this bundle's ``model-router`` hooks entry (index, config)."""
    if hooks is None:
        return None, {}
    if not isinstance(hooks, list):
        raise BundleError(f"must be a list, got {type(hooks).__name__}", file=file, field="hooks")
    found: tuple[int | None, Mapping[str, Any]] = (None, {})
    for i, entry in enumerate(hooks):
        if not isinstance(entry, Mapping) or entry.get("module") != MODULE_ID:
            continue
        if found[0] is not None:
            raise BundleError(
                f"module {MODULE_ID!r} is listed twice (also hooks[{found[0]}])",
                file=file,
                field=f"hooks[{i}]",
            )
        config = entry.get("config")
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise BundleError(
                f"must be a mapping, got {type(config).__name__}",
                file=file,
                field=f"hooks[{i}].config",
            )
        found = (i, config)
    return found


def _agent_roster(
    agents: Any, *, file: str
) -> tuple[tuple[str, ...], dict[str, Mapping[str, Any]]]:
    """(include refs, inline overlays). A string/list is foundation's allow-list: no roster."""
    if agents is None or isinstance(agents, (str, list)):
        return (), {}
    if not isinstance(agents, Mapping):
        raise BundleError(
            f"must be a mapping, got {type(agents).__name__}", file=file, field="agents"
        )
    refs: list[str] = []
    include = agents.get("include") or []
    if not isinstance(include, list):
        raise BundleError("must be a list of agent names", file=file, field="agents.include")
    for i, ref in enumerate(include):
        _check_ref(ref, file=file, field=f"agents.include[{i}]")
        refs.append(ref)
    overlays: dict[str, Mapping[str, Any]] = {}
    for key, value in agents.items():
        if key == "include":
            continue
        _check_ref(key, file=file, field="agents")
        if not isinstance(value, Mapping):
            raise BundleError(
                f"an inline agent entry must be a mapping, got {type(value).__name__}",
                file=file,
                agent=simple_name(key),
                field=f"agents.{key}",
            )
        overlays[key] = value
    return tuple(refs), overlays


def _check_ref(ref: Any, *, file: str, field: str) -> None:
    if not isinstance(ref, str):
        raise BundleError(
            f"agent name must be a string, got {type(ref).__name__}", file=file, field=field
        )
    namespace, _, name = ref.rpartition(":")
    if not NAME.match(name) or (namespace and not NAME.match(namespace)):
        raise BundleError(
            f"agent name {ref!r} must be 'name' or 'namespace:name' "
            "(letters, digits, '-', '_', '.')",
            file=file,
            field=field,
        )


def simple_name(ref: str) -> str:
    return ref.rpartition(":")[2]


def _parse_bundle_file(path: Path) -> BundleFile:
    file = display_path(path)
    with reraised_as(BundleError):
        front, body = read_document(path, display=file)
    meta = front.get("bundle")
    if not isinstance(meta, Mapping):
        raise BundleError(
            "missing 'bundle:' mapping with name, version, description", file=file, field="bundle"
        )
    name = _opt_str(meta, "name", file=file, agent=None, field="bundle.name")
    if not NAME.match(name):
        raise BundleError(
            "must be a non-empty word (it is the namespace of the bundle's agents)",
            file=file,
            field="bundle.name",
        )
    version = meta.get("version", "")
    if version is not None and not isinstance(version, str):
        raise BundleError(
            f"must be a string (quote it: '{version}'), got {type(version).__name__}",
            file=file,
            field="bundle.version",
        )
    includes = front.get("includes") or []
    if not isinstance(includes, list):
        raise BundleError(
            f"must be a list, got {type(includes).__name__}", file=file, field="includes"
        )
    index, config = _module_entry(front.get("hooks"), file=file)
    field_prefix = f"hooks[{index}].config"
    try:
        tiers = parse_tiers(config.get("tiers"))
    except InputError as err:
        raise err.located(file=file, field_prefix=field_prefix, kind=BundleError) from None
    refs, overlays = _agent_roster(front.get("agents"), file=file)
    return BundleFile(
        path=path,
        name=name,
        version=version or "",
        description=_opt_str(
            meta, "description", file=file, agent=None, field="bundle.description"
        ),
        instruction=body.strip(),
        includes=tuple(includes),
        agent_refs=refs,
        overlays=MappingProxyType(overlays),
        tiers=MappingProxyType(tiers),
        module_config=MappingProxyType({k: v for k, v in config.items() if k != "tiers"}),
    )


def read_agent_file(path: Path) -> AgentFile:
    """The agent file at ``path``, parsed once per version of the file."""
    return _cached("agent", path, _parse_agent_file)


def read_bundle_file(path: Path) -> BundleFile:
    """The bundle file at ``path``, parsed once per version of the file."""
    return _cached("bundle", path, _parse_bundle_file)
