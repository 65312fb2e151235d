"""The shared bundle loader: ``bundle.md``, its agents and includes -> one typed :class:`Bundle`.

Composition rules (documented in README.md, "Composition rules"):

- ``includes:`` entries mean what amplifier-foundation makes of them: ``file://`` URIs and
  absolute paths are read (a folder means its ``bundle.md``); ``namespace:path`` is read inside
  the bundle of that name when it is one of the files read here (a nested file's root bundle,
  found above it as foundation finds it, counts); remote sources (``git+https://...``),
  registry names (``foundation``) and other namespaces are listed in ``Bundle.unread``, not
  read. A relative path is refused with the form to use instead: foundation reads it from the
  working folder. Each bundle file is composed once, depth first, includes before the
  including bundle; later wins.
- ``agents.include`` adds agents (``name`` or ``namespace:name``, namespace = a bundle's name);
  an agent of the same name from a later bundle replaces the earlier one. An inline entry
  (``agents: {git-ops: {model_tier: strong}}``) overlays the agent's ``meta`` (e.g. to re-tier
  it) and, as in foundation, lists the agent when nothing listed it yet.
- ``hooks: [{module: model-router, config: {tiers: ...}}]`` holds the tiers. A later bundle's
  tier replaces that tier's whole chain (no list concatenation), and every agent on the tier
  follows. Other config keys deep-merge, later wins.

Every problem raises one :class:`BundleError` naming file, agent and field; nothing is returned
half-loaded. Parsed files are cached by ``(path, mtime, size)`` so warm loads only ``stat``.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import BundleError, InputError
from ..merge import deep_merge
from ..resolve.preferences import ProviderPreference, parse_preferences
from .files import (
    AgentFile,
    BundleFile,
    clear_cache,
    display_path,
    parse_tiers,
    read_agent_file,
    read_bundle_file,
    simple_name,
)
from .model import AgentSpec, Bundle, UnreadInclude

__all__ = [
    "agent_configs",
    "bundle_errors",
    "bundle_file",
    "clear_cache",
    "load_bundle",
    "parse_tiers",
]

MAX_INCLUDE_DEPTH = 32
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^git@")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_NAMESPACE_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_-]+:")  # foundation's namespace:path shape
_BUNDLE_SUFFIXES = (".md", ".yaml", ".yml")
_REGISTRY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ROOT_WALK = 4  # folders foundation-style root discovery climbs at most


# --------------------------------------------------------------------------- includes


def _is_dir(path: Path) -> bool:
    """``Path.is_dir`` that answers False, not OSError, for names the OS refuses (too long...)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    """``Path.is_file``, with the same tolerance as :func:`_is_dir`."""
    try:
        return path.is_file()
    except OSError:
        return False


def _bundle_file_in(folder: Path) -> Path:
    for candidate in ("bundle.md", "bundle.yaml", "bundle.yml"):
        if _is_file(folder / candidate):
            return folder / candidate
    return folder / "bundle.md"


def _find_resource(base: Path) -> Path | None:
    """``base`` or the file it names, tried the way foundation tries a namespace path."""
    for candidate in (
        base,
        base.with_suffix(".yaml"),
        base.with_suffix(".yml"),
        base.with_suffix(".md"),
        base / "bundle.yaml",
        base / "bundle.md",
    ):
        if _is_file(candidate):
            return candidate.resolve()
    return None


def _root_bundle(path: Path) -> Path | None:
    """The root bundle above a nested bundle file, as foundation finds it.

    Foundation walks up from the folder above the one holding the file (``behaviors/x.yaml`` ->
    the repository root) to the first ``bundle.md`` / ``bundle.yaml``, and registers that
    bundle's name as a namespace. The walk stops at a repository root (``.git``) or after a few
    levels, so a stray bundle file far above is never picked up.
    """
    if path.name in ("bundle.md", "bundle.yaml"):
        return None
    current = path.parent.parent
    for _ in range(_ROOT_WALK):
        for name in ("bundle.md", "bundle.yaml"):
            if _is_file(current / name):
                return (current / name).resolve()
        if (current / ".git").exists() or current.parent == current:
            return None
        current = current.parent
    return None


def _namespace_hint(target: Path, namespaces: Mapping[str, Path]) -> str:
    """The include form that means ``target`` wherever the CLI runs."""
    for name, folder in namespaces.items():
        try:
            rel = target.resolve().relative_to(folder)
        except ValueError:
            continue
        return f"'{name}:{rel.with_suffix('') if rel.suffix == '.yaml' else rel}'"
    return f"'file://{target.resolve()}'"


def _resolve_include(
    raw: Any, *, base: Path, namespaces: Mapping[str, Path], file: str, field: str
) -> Path | UnreadInclude:
    """What one ``includes:`` entry means, as amplifier-foundation reads it.

    Returns the local bundle file for ``file://`` URIs, absolute paths and namespace paths into
    a bundle read here (``model-router:behaviors/model-router``); an :class:`UnreadInclude`
    for a remote source, a registry name or a namespace this loader does not know. A relative
    path is refused: foundation reads it from the working folder, not from the including file,
    so it breaks as soon as the CLI runs elsewhere; the error names the form that works.
    """
    if isinstance(raw, Mapping):
        raw, field = raw.get("bundle"), f"{field}.bundle"
    if not isinstance(raw, str) or not raw.strip():
        raise BundleError(
            "must be a bundle source (file://, git+https://, namespace:path, a registry name) "
            "or {bundle: <source>}",
            file=file,
            field=field,
        )
    ref = raw.strip()
    including = Path(file)

    def unread(reason: str) -> UnreadInclude:
        return UnreadInclude(source=ref, file=including, field=field, reason=reason)

    if ref.lower().startswith("file:"):
        parts = urlsplit(ref)
        netloc = "" if parts.netloc in ("", "localhost") else parts.netloc
        target = Path(unquote(netloc + parts.path))
    elif _REMOTE.match(ref) or ref.startswith(("git+", "zip+")):
        return unread("remote source: the Amplifier CLI fetches it; not read offline")
    elif _NAMESPACE_PATH.match(ref) and not _WINDOWS_DRIVE.match(ref):
        namespace, rel = ref.split(":", 1)
        if namespace not in namespaces:
            return unread(
                f"namespace {namespace!r} is not a bundle read here: the Amplifier CLI resolves "
                f"it once a bundle named {namespace!r} is loaded (else it skips the include)"
            )
        found = _find_resource(namespaces[namespace] / rel)
        if found is None:
            raise BundleError(
                f"{ref!r}: no bundle at {rel!r} in namespace {namespace!r} "
                f"({display_path(namespaces[namespace])})",
                file=file,
                field=field,
            )
        return found
    elif ref.startswith(("/", "~")):
        try:
            target = Path(ref).expanduser()
        except RuntimeError as err:  # ``~someone/...`` for an unknown user
            raise BundleError(f"cannot expand {ref!r}: {err}", file=file, field=field) from None
    elif "/" in ref or "\\" in ref or ref.startswith(".") or ref.endswith(_BUNDLE_SUFFIXES):
        beside = base / ref
        raise BundleError(
            f"{ref!r} is a relative path: Amplifier reads it from the working folder, not "
            f"from this file, so the include fails wherever the CLI runs elsewhere; write "
            f"{_namespace_hint(beside, namespaces)} instead",
            file=file,
            field=field,
        )
    elif _REGISTRY_NAME.match(ref):
        return unread("registry name: the Amplifier CLI looks it up; not read offline")
    else:
        raise BundleError(
            f"{ref[:80]!r} is not a bundle source (file://, git+https://, namespace:path, "
            "an absolute path or a registry name)",
            file=file,
            field=field,
        )
    if _is_dir(target):
        target = _bundle_file_in(target)
    if not _is_file(target):
        raise BundleError(f"included bundle not found: {target}", file=file, field=field)
    return target.resolve()


def _register(path: Path, parsed: BundleFile, namespaces: dict[str, Path]) -> None:
    """The namespaces foundation knows once ``path`` is loaded: its name, its root bundle's."""
    namespaces.setdefault(parsed.name, path.parent)
    root = _root_bundle(path)
    if root is not None:
        namespaces.setdefault(read_bundle_file(root).name, root.parent)


def _linearize(
    path: Path,
    stack: list[Path],
    order: dict[Path, BundleFile],
    namespaces: dict[str, Path],
    unread: list[UnreadInclude],
) -> None:
    """Depth-first, includes first; each file once. ``stack`` detects cycles."""
    parsed: BundleFile = read_bundle_file(path)
    _register(path, parsed, namespaces)
    stack.append(path)
    file = display_path(path)
    for i, raw in enumerate(parsed.includes):
        child = _resolve_include(
            raw, base=path.parent, namespaces=namespaces, file=file, field=f"includes[{i}]"
        )
        if isinstance(child, UnreadInclude):
            unread.append(child)
            continue
        if child in stack:
            loop = " -> ".join(display_path(p) for p in [*stack[stack.index(child) :], child])
            raise BundleError(f"include cycle: {loop}", file=file, field=f"includes[{i}]")
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise BundleError(
                f"includes nest deeper than {MAX_INCLUDE_DEPTH} bundles",
                file=file,
                field=f"includes[{i}]",
            )
        if child not in order:
            _linearize(child, stack, order, namespaces, unread)
    stack.pop()
    order[path] = parsed


# --------------------------------------------------------------------------- composition


@dataclass(slots=True)
class _Entry:
    """An agent while layers are folded: its file plus the overlays later bundles put on it."""

    ref: str
    path: Path
    file: AgentFile
    overlay: dict[str, Any]
    overlay_from: dict[str, Path]  # overlay key -> the bundle file that set it


def _agent_path(ref: str, layer: BundleFile, namespaces: Mapping[str, Path], field: str) -> Path:
    namespace, _, name = ref.rpartition(":")
    if namespace and namespace not in namespaces:
        known = ", ".join(sorted(namespaces))
        raise BundleError(
            f"unknown namespace {namespace!r} (this bundle and its includes are: {known})",
            file=display_path(layer.path),
            agent=name,
            field=field,
        )
    folder = namespaces[namespace] if namespace else layer.path.parent
    return folder / "agents" / f"{name}.md"


def _read_agent(ref: str, layer: BundleFile, namespaces: Mapping[str, Path], field: str) -> _Entry:
    path = _agent_path(ref, layer, namespaces, field)
    try:
        return _Entry(ref, path, read_agent_file(path), {}, {})
    except BundleError:
        if os.path.exists(path):  # there but unreadable (or a FIFO, a device): say so
            raise
        raise BundleError(
            f"agent is listed but its file is missing: {display_path(path)}",
            file=display_path(layer.path),
            agent=simple_name(ref),
            field=field,
        ) from None


def _fold(
    order: list[BundleFile],
    namespaces: Mapping[str, Path],
    errors: list[InputError] | None = None,
) -> tuple[dict[str, tuple[ProviderPreference, ...]], dict[str, Any], dict[str, _Entry]]:
    """Compose the layers. With ``errors``, an agent that cannot be read is noted there and
    left out instead of stopping the fold (``validate`` lists every problem at once)."""

    def read(ref: str, layer: BundleFile, field: str) -> _Entry | None:
        try:
            return _read_agent(ref, layer, namespaces, field)
        except InputError as err:
            if errors is None:
                raise
            errors.append(err)
            return None

    tiers: dict[str, tuple[ProviderPreference, ...]] = {}
    config: dict[str, Any] = {}
    entries: dict[str, _Entry] = {}
    for layer in order:
        tiers.update(layer.tiers)
        config = deep_merge(config, layer.module_config)
        for i, ref in enumerate(layer.agent_refs):
            if (found := read(ref, layer, f"agents.include[{i}]")) is not None:
                entries[simple_name(ref)] = found
        for ref, overlay in layer.overlays.items():
            entry = entries.get(simple_name(ref))
            if entry is None:  # as in foundation, an inline entry also lists its agent
                entry = read(ref, layer, f"agents.{ref}")
                if entry is None:
                    continue
                entries[simple_name(ref)] = entry
            for key, value in overlay.items():
                entry.overlay[key] = value
                entry.overlay_from[key] = layer.path
    return tiers, config, entries


def _spec(entry: _Entry, tiers: Mapping[str, tuple[ProviderPreference, ...]]) -> AgentSpec:
    """The agent's effective values; an error names the file that set the bad value."""
    base, overlay, name = entry.file, entry.overlay, simple_name(entry.ref)

    def fail(reason: str, key: str, prefix: str = "meta") -> BundleError:
        if key in entry.overlay_from:
            return BundleError(
                reason,
                file=display_path(entry.overlay_from[key]),
                agent=name,
                field=f"agents.{entry.ref}.{key}",
            )
        return BundleError(
            reason, file=display_path(entry.path), agent=name, field=f"{prefix}.{key}"
        )

    tier = overlay.get("model_tier") or base.tier
    if tier is not None and not isinstance(tier, str):
        raise fail(f"must be a string, got {type(tier).__name__}", "model_tier")
    if tier is not None and tier not in tiers:
        raise fail(f"unknown tier {tier!r} (tiers: {', '.join(tiers) or 'none'})", "model_tier")
    own = base.own_preferences
    if "provider_preferences" in overlay:
        try:
            own = parse_preferences(overlay["provider_preferences"])
        except InputError as err:
            where = fail(err.reason, "provider_preferences")
            raise err.located(
                file=where.file, agent=name, field_prefix=where.field, kind=BundleError
            ) from None
    description = overlay.get("description") or base.description
    if not isinstance(description, str):
        raise fail("must be a string", "description")
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


def bundle_file(path: str | Path) -> Path:
    """The bundle file ``path`` names (a ``.md`` file, or a folder's ``bundle.md``).

    Raises :class:`BundleError` when there is none: the input itself is wrong, before any
    content is read.
    """
    return _root_path(path)


def _root_path(path: str | Path) -> Path:
    try:
        target = Path(path).expanduser()
    except RuntimeError as err:
        raise BundleError(f"cannot expand the path: {err}", file=str(path)) from None
    if _is_dir(target):
        target = _bundle_file_in(target)
    if not _is_file(target):
        raise BundleError("bundle file not found", file=str(target))
    return target.resolve()


def bundle_errors(path: str | Path) -> tuple[list[InputError], bool]:
    """Every problem :func:`load_bundle` would stop at, and whether the files composed.

    An include that cannot be read stops composition (one error, ``False``); past that, every
    agent that cannot be read or whose values are wrong is one error each. ``[]`` means
    :func:`load_bundle` succeeds.
    """
    root = _root_path(path)
    ordered: dict[Path, BundleFile] = {}
    namespaces: dict[str, Path] = {}
    try:
        _linearize(root, [], ordered, namespaces, [])
    except InputError as err:
        return [err], False
    errors: list[InputError] = []
    tiers, _, entries = _fold(list(ordered.values()), namespaces, errors)
    for entry in entries.values():
        try:
            _spec(entry, tiers)
        except InputError as err:
            errors.append(err)
    return errors, True


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle (its ``.md`` path or its folder) with includes and agents composed in."""
    root = _root_path(path)
    ordered: dict[Path, BundleFile] = {}
    namespaces: dict[str, Path] = {}
    unread: list[UnreadInclude] = []
    _linearize(root, [], ordered, namespaces, unread)
    layers = list(ordered.values())
    tiers, config, entries = _fold(layers, namespaces)
    agents = {name: _spec(entry, tiers) for name, entry in entries.items()}
    top = layers[-1]
    config = copy.deepcopy(config)  # cached file values must never reach a caller's hands
    config["tiers"] = {name: [p.to_dict() for p in chain] for name, chain in tiers.items()}
    instruction = next((layer.instruction for layer in reversed(layers) if layer.instruction), "")
    return Bundle(
        name=top.name,
        version=top.version,
        description=top.description,
        path=root,
        tiers=MappingProxyType(tiers),
        agents=MappingProxyType(agents),
        module_config=MappingProxyType(config),
        instruction=instruction,
        includes=tuple(layer.path for layer in layers[:-1]),
        unread=tuple(unread),
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
        cfg.update(
            copy.deepcopy({k: v for k, v in spec.meta.items() if k not in ("name", "description")})
        )
        cfg.update(copy.deepcopy(dict(spec.sections)))
        if spec.preferences:
            cfg["provider_preferences"] = [p.to_dict() for p in spec.preferences]
        if spec.instruction:
            cfg["instruction"] = spec.instruction
        out[spec.key] = cfg
    return out
