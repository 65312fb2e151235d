"""The provider entries the user's Amplifier settings give (``config.providers``), for the CLI.

A session sees its providers' config in the mount plan; the CLI has no mount plan, but the
Amplifier CLI keeps the provider config a user chose (``amplifier provider use``, or edited by
hand) under ``config.providers`` of the same settings files the routing layers come from: the
user, project and local ``settings.yaml``. Entries merge as app-cli merges them: by ``id``, else
``module``; a later file's ``config`` deep-merged over an earlier one's. Only used to tell whether
a listing quirk's fix (``filtered: false``) is already in place; a file that cannot be read
says nothing here (the routing layers report it). The org file is ours alone and has none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..bounded_read import read_text
from ..errors import InputError
from ..merge import deep_merge
from ..safe_yaml import split_document
from .discover import settings_paths

__all__ = ["amplifier_providers"]

_MAX_ENTRIES = 64


def amplifier_providers(
    *, cwd: Path | None = None, env: Mapping[str, str] | None = None, home: Path | None = None
) -> tuple[dict[str, Any], ...]:
    """The merged ``config.providers`` entries of the user, project and local settings files."""
    cwd = cwd if cwd is not None else Path.cwd()
    env = os.environ if env is None else env
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:
            home = None
    merged: dict[str, dict[str, Any]] = {}
    seen: set[Path] = set()
    for layer, path, _, _ in settings_paths(cwd=cwd, env=env, home=home):
        if layer == "org" or path in seen or not path.is_file():
            continue
        seen.add(path)
        for entry in _entries(path):
            key = str(entry.get("id") or entry["module"])
            merged[key] = deep_merge(merged[key], entry) if key in merged else entry
    return tuple(merged.values())


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        data, _ = split_document(read_text(path), suffix=path.suffix, display=str(path))
    except InputError:
        return []
    config = data.get("config")
    providers = config.get("providers") if isinstance(config, Mapping) else None
    if not isinstance(providers, list):
        return []
    return [
        dict(entry)
        for entry in providers[:_MAX_ENTRIES]
        if isinstance(entry, Mapping) and isinstance(entry.get("module"), str)
    ]
