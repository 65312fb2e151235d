"""Parse once per process what every child session would parse again unchanged.

Each child session mounts the module afresh, with the parent's module config and the same
settings files: parsing them again cost more than the rest of the child's routing work. Three
bounded memos, in the process-wide registry (:mod:`..shared`), each keyed so that any change is
a miss and is parsed as before:

- the module config (:class:`.options.RouterConfig`), by the config's content;
- a settings file's parsed layer, by (path, device, inode, size, mtime) of the file as ``stat``
  sees it, only for a regular file last written more than :data:`SETTLED_NS` ago (a write in
  the same timestamp tick could otherwise keep size and mtime: git's "racily clean" rule);
  the read itself still goes through :mod:`..bounded_read`;
- the effective routing, by the identity of the (memoised, never mutated) tiers and layers it
  was computed from: a child whose parent resolved the same routing gets the same object.
"""

from __future__ import annotations

import copy
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import InputError
from ..shared import shared
from .effective import EffectiveRouting
from .options import RouterConfig
from .schema import SettingsLayer

__all__ = ["MEMO_LIMIT", "SETTLED_NS", "file_layer", "mount_layer", "router_config", "routing"]

MEMO_LIMIT = 64
"""Entries per memo; past it the memo is emptied (a process sees a handful of configs and files)."""
SETTLED_NS = 2_000_000_000
"""A file written less than this long ago is read every time (coarse filesystem timestamps)."""

K = TypeVar("K")
V = TypeVar("V")

_configs: dict[str, tuple[Mapping[str, Any], RouterConfig]] = shared("parsed module configs", dict, dict.clear)
_owners: dict[int, str] = shared("memoised module config settings", dict, dict.clear)
"""``id(config.settings)`` -> its config's key in ``_configs`` (confirmed by identity there)."""
_files: dict[tuple[Any, ...], SettingsLayer | InputError | None] = shared("parsed settings files", dict, dict.clear)
_mounts: dict[int, tuple[Mapping[str, Any], str, SettingsLayer]] = shared("parsed mount layers", dict, dict.clear)
_routings: dict[tuple[Any, ...], tuple[tuple[Any, ...], EffectiveRouting]] = shared(
    "effective routings", dict, dict.clear
)


def _remember(memo: dict[K, V], key: K, value: V) -> V:
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
        if memo is _configs:
            _owners.clear()
    memo[key] = value
    return value


def router_config(raw: Mapping[str, Any]) -> RouterConfig:
    """:meth:`RouterConfig.from_mount` of ``raw``, parsed once per distinct content.

    The key is the config's ``repr`` (types included: ``1`` is not ``True``), confirmed by
    equality with a private copy; the RouterConfig is built from that copy, so a later change
    to the caller's dicts cannot reach a config already handed out. Errors are not memoised.
    """
    try:
        key = repr(raw)
    except Exception:  # an object that cannot print itself: parse as before
        return RouterConfig.from_mount(raw)
    hit = _configs.get(key)
    if hit is not None and hit[0] == raw:
        return hit[1]
    snapshot = copy.deepcopy(dict(raw))
    config = RouterConfig.from_mount(snapshot)
    if len(_owners) >= 2 * MEMO_LIMIT:
        _owners.clear()
    _owners[id(config.settings)] = key
    return _remember(_configs, key, (snapshot, config))[1]


def _owner_key(values: Mapping[str, Any]) -> str:
    return _owners.get(id(values), "")


def _file_key(
    path: Path, info: os.stat_result | None, name: str, section: str | None, namespace: str
) -> tuple[Any, ...] | None:
    """What identifies the file's content, or None when it must be read (not a settled regular file)."""
    if info is None or not stat.S_ISREG(info.st_mode) or time.time_ns() - info.st_mtime_ns < SETTLED_NS:
        return None
    return (str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, name, section, namespace)


def file_layer(
    path: Path,
    info: os.stat_result | None,
    name: str,
    section: str | None,
    namespace: str,
    parse: Callable[[], SettingsLayer | None],
    *,
    reraise: bool,
) -> SettingsLayer | None:
    """``parse()`` (read and validate one file's layer), once per (path, inode, size, mtime)
    as ``info`` (the file's ``os.stat``) gives them.

    A bad file's error is remembered too (one stat instead of a read per child); with
    ``reraise`` (a caller that raises instead of collecting problems) a bad file is read again,
    so each raise carries its own traceback.
    """
    key = _file_key(path, info, name, section, namespace)
    if key is not None and key in _files:
        hit = _files[key]
        if not isinstance(hit, InputError):
            return hit
        if not reraise:
            raise hit
    try:
        layer = parse()
    except InputError as err:
        if key is not None and not reraise:
            _remember(_files, key, err)
        raise
    if key is not None:
        _remember(_files, key, layer)
    return layer


def mount_layer(values: Mapping[str, Any], namespace: str, parse: Callable[[], SettingsLayer]) -> SettingsLayer:
    """The mount plan's layer, parsed once per ``values`` object when that is the ``settings``
    of a :class:`RouterConfig` this module memoised (its own copy, never mutated), as every
    child's mount passes; any other mapping is parsed every time."""
    owned = _configs.get(_owner_key(values))
    if owned is None or owned[1].settings is not values:
        return parse()
    hit = _mounts.get(id(values))
    if hit is not None and hit[0] is values and hit[1] == namespace:
        return hit[2]
    return _remember(_mounts, id(values), (values, namespace, parse()))[2]


def routing(
    tiers: Mapping[str, Any],
    layers: Sequence[SettingsLayer],
    problems: Sequence[InputError],
    namespace: str,
    compute: Callable[[], EffectiveRouting],
) -> EffectiveRouting:
    """``compute()`` once per (tiers, layers, problems) objects: the same memoised inputs give
    the same (frozen) routing, so a child reuses its parent's."""
    parts = (tiers, *layers, None, *problems)
    key = (namespace, *map(id, parts))
    hit = _routings.get(key)
    if hit is not None and len(hit[0]) == len(parts) and all(a is b for a, b in zip(hit[0], parts)):
        return hit[1]
    return _remember(_routings, key, (parts, compute()))[1]
