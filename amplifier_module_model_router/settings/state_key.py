"""The ``state:`` routing setting: where catalogs and cooldowns are shared (memory, sqlite, redis).

```yaml
model_router:
  state: {backend: redis, url: "redis://cache.internal:6379/0", namespace: team-a}
```

Only the org and user layers (and the mount plan) may set it: a project's settings file comes
with a repository, and must not decide where a user's routing state is written or which server
learns their provider accounts. Sub-keys merge per key across layers (an org file names the Redis, a user may only change
``timeout``), each with its own provenance. With no layer naming a backend the default is
``$AMPLIFIER_MODEL_ROUTER_STATE`` when set (a CI job, a test run: ``memory``), else ``sqlite``
when the Amplifier home exists (one file shared by the user's processes), else ``memory``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import unknown_keys
from ..state.base import BACKENDS
from ..state.open import StateSettings

__all__ = ["STATE_ENV", "STATE_KEYS", "parse_state", "state_settings"]

STATE_ENV = "AMPLIFIER_MODEL_ROUTER_STATE"
STATE_KEYS = ("backend", "url", "path", "namespace", "timeout", "refresh")
_URL_SCHEMES = ("redis://", "rediss://", "unix://")
_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_BOUNDS = {"timeout": (0.001, 10.0), "refresh": (0.0, 60.0)}


def parse_state(layer: Any) -> dict[str, Any] | None:
    """The layer's ``state`` mapping, validated (``layer`` is a :class:`.schema.SettingsLayer`)."""
    if "state" not in layer.values:
        return None
    raw = layer.values["state"]
    if not isinstance(raw, Mapping):
        raise layer.error(f"must be a mapping of {', '.join(STATE_KEYS)}, got {type(raw).__name__}", "state")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"state.{key}"
        if key not in STATE_KEYS:
            raise layer.error(unknown_keys([key], STATE_KEYS), where)
        if key == "backend":
            if value not in BACKENDS:
                raise layer.error(f"must be one of {', '.join(BACKENDS)}, got {value!r}", where)
        elif key == "url":
            if not isinstance(value, str) or not value.startswith(_URL_SCHEMES) or len(value) > 2000:
                raise layer.error(
                    f"must be a Redis URL ({', '.join(s + '...' for s in _URL_SCHEMES)}), got {type(value).__name__}",
                    where,
                )
        elif key == "path":
            if not isinstance(value, str) or not value.strip():
                raise layer.error(f"must be a file path, got {value!r}", where)
        elif key == "namespace":
            if not isinstance(value, str) or not _NAMESPACE.match(value):
                raise layer.error(
                    f"must be 1-64 letters, digits, '_', '.', ':' or '-', got {value!r}", where
                )
        else:
            low, high = _BOUNDS[key]
            number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            if number is None or not math.isfinite(number) or not low <= number <= high:
                raise layer.error(f"must be a number of seconds from {low:g} to {high:g}, got {value!r}", where)
            value = float(number)
        out[key] = value
    return out


def state_settings(
    merged: Mapping[str, Any],
    sources: Mapping[str, str],
    amplifier_home: Path | None,
    env: Mapping[str, str] | None = None,
) -> tuple[StateSettings, dict[str, str]]:
    """The effective :class:`StateSettings` and, per sub-key, where it came from.

    ``merged`` holds the sub-keys the layers set (later layers already won); ``sources`` maps
    ``state.<key>`` to the layer that set it. Raises ``ValueError`` for a bad
    ``$AMPLIFIER_MODEL_ROUTER_STATE``.
    """
    provenance = {f"state.{k}": sources[f"state.{k}"] for k in merged if f"state.{k}" in sources}
    values = dict(merged)
    chosen = (env or {}).get(STATE_ENV, "").strip()
    if "backend" not in values and chosen:
        if chosen not in BACKENDS or chosen == "redis":
            raise ValueError(f"${STATE_ENV} must be memory or sqlite (redis needs settings), got {chosen!r}")
        values["backend"] = chosen
        provenance["state.backend"] = f"environment (${STATE_ENV})"
    if "backend" not in values:
        home_exists = amplifier_home is not None and amplifier_home.is_dir()
        values["backend"] = "sqlite" if home_exists else "memory"
        provenance["state.backend"] = (
            f"default ({amplifier_home} exists)" if home_exists else "default (no Amplifier home)"
        )
    return StateSettings(**values), provenance


def missing_url(merged: Mapping[str, Any]) -> bool:
    """A ``redis`` backend named with no ``url`` in any layer."""
    return merged.get("backend") == "redis" and not merged.get("url")
