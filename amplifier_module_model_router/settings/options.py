"""The module's own options, as they arrive from the mount plan (bundle.md's ``hooks:`` entry).

Validated once at mount: a typo fails the mount with a message naming the key, instead of
routing silently falling back to defaults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..bundle.files import parse_tiers
from ..errors import SettingsError, unknown_keys
from ..resolve.preferences import ProviderPreference
from .schema import KEYS

SETTINGS_KEYS = frozenset(KEYS)
"""Keys a settings layer may also give in the mount config (the last, strongest layer): every
settings key (:data:`.schema.KEYS`). ``tiers`` and ``strict`` are also the module's own options:
its tiers are the bundle's (the weakest layer) and its ``strict`` the default."""


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """Validated module options. Durations are seconds."""

    tiers: Mapping[str, tuple[ProviderPreference, ...]] = field(default_factory=dict)
    cache_ttl: float = 600.0
    lookup_timeout: float = 10.0
    failure_cooldown: float = 60.0
    strict: bool = False
    prefetch: bool = True
    failover: bool = True
    settings: Mapping[str, Any] = field(default_factory=dict)
    use_settings_files: bool = True

    @classmethod
    def from_mount(cls, raw: Mapping[str, Any] | None, *, source: str = "mount plan") -> "RouterConfig":
        """Parse the module config; raises :class:`SettingsError` naming the bad key."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise SettingsError(f"module config must be a mapping, got {type(raw).__name__}", file=source)
        raw = dict(raw)
        known = {f for f in cls.__dataclass_fields__ if f != "settings"} | SETTINGS_KEYS
        unknown = sorted(str(k) for k in raw if k not in known)
        if unknown:
            raise SettingsError(unknown_keys(unknown, known), file=source, field="config")
        tiers = parse_tiers(raw.get("tiers") or {}, file=source)
        values: dict[str, Any] = {"tiers": tiers}
        for name in ("cache_ttl", "lookup_timeout", "failure_cooldown"):
            if name in raw:
                values[name] = _seconds(raw[name], source=source, field=f"config.{name}")
        for name in ("strict", "prefetch", "failover", "use_settings_files"):
            if name in raw:
                if not isinstance(raw[name], bool):
                    raise SettingsError(
                        f"must be true or false, got {raw[name]!r}", file=source, field=f"config.{name}"
                    )
                values[name] = raw[name]
        values["settings"] = {k: raw[k] for k in SETTINGS_KEYS if k in raw}
        return cls(**values)


def _seconds(value: Any, *, source: str, field: str) -> float:
    """A finite, non-negative duration: NaN would time every lookup out at once, infinity would
    let a hung provider hang every spawn, and a huge int overflows ``float()``."""
    seconds = None
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        big = isinstance(value, int) and not isinstance(value, bool) and seconds is None
        shown = "an integer too large for a float" if big else repr(value)
        raise SettingsError(
            f"must be a finite, non-negative number of seconds, got {shown}", file=source, field=field
        )
    return seconds
