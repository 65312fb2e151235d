"""The shared bundle loader: ``bundle.md`` + ``agents/*.md`` + includes -> one typed :class:`Bundle`.

Composition rules (documented in README.md, "Composition rules"):

- ``includes:`` entries are relative paths or ``file://`` URIs (a folder means its
  ``bundle.md``); remote sources (``git+https://...``) and registry names are refused with a
  clear error, since the loader must work offline. Each bundle file is composed once, depth
  first, includes before the including bundle; later wins.
- ``agents.include`` adds agents (``name`` or ``namespace:name``, namespace = a bundle's name);
  an agent of the same name from a later bundle replaces the earlier one. An inline entry
  (``agents: {git-ops: {model_tier: strong}}``) overlays an agent already listed, e.g. to
  re-tier it.
- ``hooks: [{module: model-router, config: {tiers: ...}}]`` holds the tiers. A later bundle's
  tier replaces that tier's whole chain (no list concatenation), and every agent on the tier
  follows. Other config keys deep-merge, later wins.

Every problem raises one :class:`BundleError` naming file, agent and field; nothing is returned
half-loaded. Parsed files are cached by ``(path, mtime, size)`` so warm loads only ``stat``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

from .bundle_model import AgentSpec, Bundle
from .errors import BundleError
from .preferences import ProviderPreference, parse_preferences
from .safe_yaml import read_document

__all__ = ["MODULE_ID", "agent_configs", "clear_cache", "load_bundle", "parse_tiers"]

MODULE_ID = "model-router"
MAX_INCLUDE_DEPTH = 32

# Names that become file names (agents/<name>.md) or dotted fields: no separators, no "..".
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Top-level agent-file keys amplifier-foundation keeps besides ``meta`` (the rest it drops).
_AGENT_SECTIONS = ("tools", "providers", "hooks", "session", "model_role")
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^git@")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


# --------------------------------------------------------------------------- tiers


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
        if not isinstance(name, str) or not _NAME.match(name):
            raise BundleError(
                f"tier name {name!r} must be a word of letters, digits, '-', '_' or '.'",
                file=file,
                field="tiers",
            )
        try:
            tiers[name] = parse_preferences(chain)
        except BundleError as err:
            raise err.located(file=file, field_prefix=f"tiers.{name}") from None
    return tiers


# --------------------------------------------------------------------------- parsed files


@dataclass(frozen=True, slots=True)
class _AgentFile:
    """An agent file, validated on its own (cacheable: depends on nothing else)."""

    name: str
    tier: str | None
    description: str
    instruction: str
    own_preferences: tuple[ProviderPreference, ...]
    meta: Mapping[str, Any]
    sections: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _BundleFile:
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
    hooks_index: int | None


_cache: dict[tuple[str, Path], tuple[int, int, Any]] = {}
_CACHE_LIMIT = 1024


def clear_cache() -> None:
    """Forget every parsed file (benchmarks use it to time cold loads)."""
    _cache.clear()


def _display(path: Path) -> str:
    """Path as a user typed it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _cached(kind: str, path: Path, parse: Any) -> Any:
    """Parse ``path`` once per (mtime, size); a changed file is parsed again."""
    try:
        st = path.stat()
    except OSError as exc:
        raise BundleError(f"cannot read file: {exc.strerror or exc}", file=_display(path)) from None
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


def _parse_agent_file(path: Path) -> _AgentFile:
    file = _display(path)
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
        except BundleError as err:
            raise err.located(file=file, agent=name, field_prefix="provider_preferences") from None
    sections = {k: front[k] for k in _AGENT_SECTIONS if k in front}
    access = front.get("agents")
    if isinstance(access, (str, list)):
        sections["agents"] = access  # foundation's per-agent delegation allow-list
    return _AgentFile(
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
                f"must be a mapping, got {type(config).__name__}", file=file, field=f"hooks[{i}].config"
            )
        found = (i, config)
    return found


def _agent_roster(agents: Any, *, file: str) -> tuple[tuple[str, ...], dict[str, Mapping[str, Any]]]:
    """(include refs, inline overlays). A string/list is foundation's allow-list: no roster."""
    if agents is None or isinstance(agents, (str, list)):
        return (), {}
    if not isinstance(agents, Mapping):
        raise BundleError(f"must be a mapping, got {type(agents).__name__}", file=file, field="agents")
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
                agent=_simple(key),
                field=f"agents.{key}",
            )
        overlays[key] = value
    return tuple(refs), overlays


def _check_ref(ref: Any, *, file: str, field: str) -> None:
    if not isinstance(ref, str):
        raise BundleError(f"agent name must be a string, got {type(ref).__name__}", file=file, field=field)
    namespace, _, name = ref.rpartition(":")
    if not _NAME.match(name) or (namespace and not _NAME.match(namespace)):
        raise BundleError(
            f"agent name {ref!r} must be 'name' or 'namespace:name' (letters, digits, '-', '_', '.')",
            file=file,
            field=field,
        )


def _simple(ref: str) -> str:
    return ref.rpartition(":")[2]


def _parse_bundle_file(path: Path) -> _BundleFile:
    file = _display(path)
    front, body = read_document(path, display=file)
    meta = front.get("bundle")
    if not isinstance(meta, Mapping):
        raise BundleError("missing 'bundle:' mapping with name, version, description", file=file, field="bundle")
    name = _opt_str(meta, "name", file=file, agent=None, field="bundle.name")
    if not _NAME.match(name):
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
        raise BundleError(f"must be a list, got {type(includes).__name__}", file=file, field="includes")
    index, config = _module_entry(front.get("hooks"), file=file)
    field_prefix = f"hooks[{index}].config"
    try:
        tiers = parse_tiers(config.get("tiers"))
    except BundleError as err:
        raise err.located(file=file, field_prefix=field_prefix) from None
    refs, overlays = _agent_roster(front.get("agents"), file=file)
    return _BundleFile(
        path=path,
        name=name,
        version=version or "",
        description=_opt_str(meta, "description", file=file, agent=None, field="bundle.description"),
        instruction=body.strip(),
        includes=tuple(includes),
        agent_refs=refs,
        overlays=MappingProxyType(overlays),
        tiers=MappingProxyType(tiers),
        module_config=MappingProxyType({k: v for k, v in config.items() if k != "tiers"}),
        hooks_index=index,
    )


# --------------------------------------------------------------------------- includes


def _bundle_file_in(folder: Path) -> Path:
    for candidate in ("bundle.md", "bundle.yaml", "bundle.yml"):
        if (folder / candidate).is_file():
            return folder / candidate
    return folder / "bundle.md"


def _resolve_include(raw: Any, *, base: Path, file: str, field: str) -> Path:
    """A local path for one ``includes:`` entry, or a BundleError saying why not."""
    if isinstance(raw, Mapping):
        raw, field = raw.get("bundle"), f"{field}.bundle"
    if not isinstance(raw, str) or not raw.strip():
        raise BundleError("must be a path, a file:// URI or {bundle: <path>}", file=file, field=field)
    ref = raw.strip()
    if ref.lower().startswith("file:"):
        parts = urlsplit(ref)
        netloc = "" if parts.netloc in ("", "localhost") else parts.netloc
        target = Path(unquote(netloc + parts.path))
    elif _REMOTE.match(ref):
        raise BundleError(
            f"cannot be fetched offline: {ref!r} is a remote source and this loader reads local "
            "files only; check it out and include it by path or file://",
            file=file,
            field=field,
        )
    elif ":" in ref and not _WINDOWS_DRIVE.match(ref):
        raise BundleError(
            f"{ref!r} is a registry reference (namespace:path); this loader reads local files "
            "only: include it by path or file://",
            file=file,
            field=field,
        )
    else:
        target = Path(ref).expanduser()
    if not target.is_absolute():
        target = base / target
    if target.is_dir():
        target = _bundle_file_in(target)
    if not target.is_file():
        raise BundleError(f"included bundle not found: {target}", file=file, field=field)
    return target.resolve()


def _linearize(path: Path, stack: list[Path], order: dict[Path, _BundleFile]) -> None:
    """Depth-first, includes first; each file once. ``stack`` detects cycles."""
    parsed: _BundleFile = _cached("bundle", path, _parse_bundle_file)
    stack.append(path)
    file = _display(path)
    for i, raw in enumerate(parsed.includes):
        child = _resolve_include(raw, base=path.parent, file=file, field=f"includes[{i}]")
        if child in stack:
            loop = " -> ".join(_display(p) for p in [*stack[stack.index(child) :], child])
            raise BundleError(f"include cycle: {loop}", file=file, field=f"includes[{i}]")
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise BundleError(
                f"includes nest deeper than {MAX_INCLUDE_DEPTH} bundles", file=file, field=f"includes[{i}]"
            )
        if child not in order:
            _linearize(child, stack, order)
    stack.pop()
    order[path] = parsed


# --------------------------------------------------------------------------- composition


@dataclass(slots=True)
class _Entry:
    """An agent while layers are folded: its file plus the overlays later bundles put on it."""

    ref: str
    path: Path
    file: _AgentFile
    overlay: dict[str, Any]
    overlay_file: str | None = None


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Later wins; mappings merge recursively; lists and scalars are replaced, never concatenated."""
    out = dict(base)
    for key, value in top.items():
        old = out.get(key)
        out[key] = _deep_merge(old, value) if isinstance(old, Mapping) and isinstance(value, Mapping) else value
    return out


def _agent_path(ref: str, layer: _BundleFile, namespaces: Mapping[str, Path], file: str, field: str) -> Path:
    namespace, _, name = ref.rpartition(":")
    if namespace and namespace not in namespaces:
        known = ", ".join(sorted(namespaces))
        raise BundleError(
            f"unknown namespace {namespace!r} (this bundle and its includes are: {known})",
            file=file,
            agent=name,
            field=field,
        )
    folder = namespaces[namespace] if namespace else layer.path.parent
    path = folder / "agents" / f"{name}.md"
    if not path.is_file():
        raise BundleError(f"agent is listed but its file is missing: {_display(path)}", file=file, agent=name, field=field)
    return path


def _fold(order: list[_BundleFile]) -> tuple[dict[str, tuple[ProviderPreference, ...]], dict[str, Any], dict[str, _Entry]]:
    tiers: dict[str, tuple[ProviderPreference, ...]] = {}
    config: dict[str, Any] = {}
    entries: dict[str, _Entry] = {}
    namespaces: dict[str, Path] = {}
    for layer in order:
        file = _display(layer.path)
        namespaces[layer.name] = layer.path.parent
        tiers.update(layer.tiers)
        config = _deep_merge(config, layer.module_config)
        for i, ref in enumerate(layer.agent_refs):
            field = f"agents.include[{i}]"
            path = _agent_path(ref, layer, namespaces, file, field)
            agent_file: _AgentFile = _cached("agent", path, _parse_agent_file)
            entries[_simple(ref)] = _Entry(ref=ref, path=path, file=agent_file, overlay={})
        for ref, overlay in layer.overlays.items():
            entry = entries.get(_simple(ref))
            if entry is None:
                raise BundleError(
                    "inline entry for an agent that is neither listed in agents.include nor inherited",
                    file=file,
                    agent=_simple(ref),
                    field=f"agents.{ref}",
                )
            entry.overlay.update(overlay)
            entry.overlay_file = file
    return tiers, config, entries


def _spec(entry: _Entry, tiers: Mapping[str, tuple[ProviderPreference, ...]]) -> AgentSpec:
    base = entry.file
    name = _simple(entry.ref)
    overlay = entry.overlay
    where = entry.overlay_file or _display(entry.path)
    tier = overlay.get("model_tier") or base.tier
    field = f"agents.{entry.ref}.model_tier" if overlay.get("model_tier") else "meta.model_tier"
    if tier is not None and not isinstance(tier, str):
        raise BundleError(f"must be a string, got {type(tier).__name__}", file=where, agent=name, field=field)
    if tier is not None and tier not in tiers:
        known = ", ".join(tiers) or "none defined"
        raise BundleError(f"unknown tier {tier!r} (tiers: {known})", file=where, agent=name, field=field)
    own = base.own_preferences
    if "provider_preferences" in overlay:
        try:
            own = parse_preferences(overlay["provider_preferences"])
        except BundleError as err:
            raise err.located(file=where, agent=name, field_prefix=f"agents.{entry.ref}.provider_preferences") from None
    description = overlay.get("description") or base.description
    if not isinstance(description, str):
        raise BundleError("must be a string", file=where, agent=name, field=f"agents.{entry.ref}.description")
    meta = {**base.meta, **{k: v for k, v in overlay.items() if k != "provider_preferences"}}
    meta["description"] = description
    if tier:
        meta["model_tier"] = tier
    return AgentSpec(
        name=name,
        tier=tier,
        description=description,
        instruction=base.instruction,
        preferences=tiers[tier] if tier else own,
        source=entry.path,
        meta=MappingProxyType(meta),
        ref=entry.ref,
        own_preferences=own,
        sections=base.sections,
    )


def _root_path(path: str | Path) -> Path:
    target = Path(path).expanduser()
    if target.is_dir():
        target = _bundle_file_in(target)
    if not target.is_file():
        raise BundleError("bundle file not found", file=str(target))
    return target.resolve()


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle (its ``.md`` path or its folder) with includes and agents composed in."""
    root = _root_path(path)
    ordered: dict[Path, _BundleFile] = {}
    _linearize(root, [], ordered)
    layers = list(ordered.values())
    tiers, config, entries = _fold(layers)
    agents = {name: _spec(entry, tiers) for name, entry in entries.items()}
    top = layers[-1]
    config["tiers"] = {name: [p.to_dict() for p in chain] for name, chain in tiers.items()}
    instruction = next((layer.instruction for layer in reversed(layers) if layer.instruction), "")
    return Bundle(
        name=top.name,
        version=top.version,
        description=top.description,
        path=root,
        tiers=MappingProxyType(tiers),
        agents=MappingProxyType(agents),
        module_config=MappingProxyType(copy.deepcopy(config)),
        instruction=instruction,
        includes=tuple(layer.path for layer in layers[:-1]),
    )


# --------------------------------------------------------------------------- foundation shape


def agent_configs(bundle: Bundle) -> dict[str, dict[str, Any]]:
    """``config["agents"]`` as amplifier-foundation builds it from these agent files.

    Keyed like foundation keys them (the include reference, e.g. ``model-router:git-ops``), with
    ``name`` equal to that key, every ``meta.*`` key, the kept top-level sections, the markdown
    body as ``instruction``, and ``provider_preferences`` as plain dicts: the effective chain,
    so a redefined tier shows here too. Fresh copies: callers may mutate them.
    """
    out: dict[str, dict[str, Any]] = {}
    for spec in bundle.agents.values():
        cfg: dict[str, Any] = {"name": spec.key, "description": spec.description}
        cfg.update(copy.deepcopy({k: v for k, v in spec.meta.items() if k not in ("name", "description")}))
        cfg.update(copy.deepcopy(dict(spec.sections)))
        if spec.preferences:
            cfg["provider_preferences"] = [p.to_dict() for p in spec.preferences]
        if spec.instruction:
            cfg["instruction"] = spec.instruction
        out[spec.key] = cfg
    return out
