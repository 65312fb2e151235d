"""The ``budget:`` key of a settings layer: spend caps, validated with file, line and key.

A layer may set any part of it; later layers win per key (``degrade.at`` and
``degrade.tiers`` are each replaced whole). Tier names are checked once every layer is
applied (:func:`check_budget_tiers`), like every other tier a layer names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..budget.model import (
    AT_CAP_BUDGET_ONLY,
    AT_CAP_REFUSE,
    UNKNOWN_ALLOW,
    UNKNOWN_BLOCK,
    BudgetSettings,
    money,
)
from ..errors import unknown_keys

__all__ = [
    "BUDGET_CAPS",
    "BUDGET_KEYS",
    "budget_rows",
    "budget_settings",
    "check_budget_tiers",
    "finite_number",
    "parse_budget",
]

BUDGET_KEYS = (
    "session_usd",
    "daily_usd",
    "org_daily_usd",
    "warn_at",
    "degrade",
    "at_cap",
    "cap_tier",
    "unknown_cost",
)
_DEGRADE_KEYS = ("at", "tiers")
BUDGET_CAPS = ("session_usd", "daily_usd", "org_daily_usd")
"""Caps merge by the lowest value any layer sets: a later layer may tighten a cap, never raise it."""
_MONEY = BUDGET_CAPS
_LOOSER = {"at_cap": "budget-only", "unknown_cost": "allow"}
"""Values that let more spend past the cap: a project's settings may not choose them."""
_UNTRUSTED_LAYERS = ("project", "local")
_CHOICES = {
    "at_cap": (AT_CAP_BUDGET_ONLY, AT_CAP_REFUSE),
    "unknown_cost": (UNKNOWN_ALLOW, UNKNOWN_BLOCK),
}


def parse_budget(layer: Any) -> dict[str, Any] | None:
    """The ``budget`` keys ``layer`` sets, as values ``BudgetSettings`` takes; None if absent.

    ``layer`` is a :class:`.schema.SettingsLayer` (its ``error`` locates the key).
    """
    if "budget" not in layer.values:
        return None
    raw = layer.values["budget"]
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise layer.error(f"must be a mapping of {', '.join(BUDGET_KEYS)}, got {type(raw).__name__}", "budget")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"budget.{key}"
        if key not in BUDGET_KEYS:
            raise layer.error(unknown_keys([key], BUDGET_KEYS), where)
        _refuse_loosening(layer, key, value, where)
        if key in _MONEY:
            out[key] = None if value is None else _dollars(layer, where, value)
        elif key == "warn_at":
            out[key] = _fraction(layer, where, value, allow_one=True)
        elif key in _CHOICES:
            if value not in _CHOICES[key]:
                raise layer.error(f"must be one of {', '.join(_CHOICES[key])}, got {value!r}", where)
            out[key] = value
        elif key == "cap_tier":
            out[key] = _tier_name(layer, where, value)
        else:
            out.update(_degrade(layer, value))
    return out


def _refuse_loosening(layer: Any, key: str, value: Any, where: str) -> None:
    """A project's (or local) settings come with a cloned repository: they may tighten a
    budget (a lower cap, refuse, block, when tiers step down) but not loosen it."""
    if layer.name not in _UNTRUSTED_LAYERS:
        return
    loose = (key in _LOOSER and value == _LOOSER[key]) or key == "cap_tier"
    loose = loose or (key == "degrade" and isinstance(value, Mapping) and "tiers" in value)
    if loose:
        raise layer.error(
            "a project's settings may tighten the budget (a lower cap, at_cap: refuse, "
            "unknown_cost: block, degrade.at) but not loosen it; put this in your user or org settings",
            where,
        )


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (never a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _dollars(layer: Any, where: str, value: Any) -> Decimal:
    number = finite_number(value)
    if number is None or number < 0:
        raise layer.error(f"must be a finite, non-negative number of US dollars, got {value!r}", where)
    return Decimal(str(value))


def _fraction(layer: Any, where: str, value: Any, *, allow_one: bool) -> float:
    number = finite_number(value)
    top_ok = number is not None and (number < 1 or (allow_one and number == 1))
    if number is None or number <= 0 or not top_ok:
        upper = "1" if allow_one else "1 (exclusive: 1 is the cap)"
        raise layer.error(f"must be a fraction of the cap above 0 and up to {upper}, got {value!r}", where)
    return number


def _tier_name(layer: Any, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise layer.error(f"a tier name must be a non-empty string, got {value!r}", where)
    return value.strip()


def _degrade(layer: Any, value: Any) -> dict[str, Any]:
    where = "budget.degrade"
    if not isinstance(value, Mapping):
        raise layer.error(f"must be a mapping with 'at' (fractions) and 'tiers' (steps down), got {value!r}", where)
    out: dict[str, Any] = {}
    for key in value:
        if key not in _DEGRADE_KEYS:
            raise layer.error(unknown_keys([key], _DEGRADE_KEYS), f"{where}.{key}")
    if "at" in value:
        at = value["at"]
        if not isinstance(at, list):
            raise layer.error(f"must be a list of fractions of the cap, got {at!r}", f"{where}.at")
        fractions = [_fraction(layer, f"{where}.at[{i}]", item, allow_one=False) for i, item in enumerate(at)]
        for i in range(1, len(fractions)):
            if fractions[i] <= fractions[i - 1]:
                raise layer.error("fractions must increase strictly", f"{where}.at[{i}]")
        out["degrade_at"] = tuple(fractions)
    if "tiers" in value:
        tiers = value["tiers"]
        if tiers is None:
            tiers = {}
        if not isinstance(tiers, Mapping):
            raise layer.error(f"must map a tier to the tiers it steps down to, got {tiers!r}", f"{where}.tiers")
        steps: dict[str, tuple[str, ...]] = {}
        for tier, chain in tiers.items():
            key = f"{where}.tiers.{tier}"
            name = _tier_name(layer, key, tier)
            if isinstance(chain, str):
                chain = [chain]
            if not isinstance(chain, list) or not chain:
                raise layer.error(f"must be a non-empty list of tier names, got {chain!r}", key)
            steps[name] = tuple(_tier_name(layer, f"{key}[{i}]", item) for i, item in enumerate(chain))
        out["degrade"] = steps
    return out


def check_budget_tiers(layer: Any, values: Mapping[str, Any] | None, tiers: Mapping[str, Any]) -> None:
    """Every tier ``budget`` names in ``layer`` must exist once all layers are applied."""
    if not values:
        return
    known = ", ".join(sorted(tiers)) or "none"
    if "cap_tier" in values and values["cap_tier"] not in tiers:
        raise layer.error(f"unknown tier {values['cap_tier']!r}; known: {known}", "budget.cap_tier")
    for tier, steps in (values.get("degrade") or {}).items():
        key = f"budget.degrade.tiers.{tier}"
        if tier not in tiers:
            raise layer.error(f"unknown tier {tier!r}; known: {known}", key)
        for i, step in enumerate(steps):
            if step not in tiers:
                raise layer.error(f"unknown tier {step!r}; known: {known}", f"{key}[{i}]")


def budget_settings(values: Mapping[str, Any], tiers: Mapping[str, Any]) -> BudgetSettings | None:
    """The effective budget from the merged layer values; None when no cap is set.

    Default degrade steps naming a tier the routing does not define are left out.
    """
    settings = BudgetSettings(**dict(values))
    if not settings.active:
        return None
    if "degrade" not in values:
        kept = {
            tier: steps
            for tier, steps in settings.degrade.items()
            if tier in tiers and all(step in tiers for step in steps)
        }
        settings = BudgetSettings(**{**dict(values), "degrade": kept})
    return settings


def budget_rows(settings: BudgetSettings) -> list[tuple[str, Any]]:
    """``(key, value)`` of the effective budget as a user writes it (for ``settings``)."""
    caps = settings.caps()
    rows: list[tuple[str, Any]] = [
        (f"{name}_usd", "no cap" if cap is None else money(cap)) for name, cap in caps.items()
    ]
    rows += [
        ("warn_at", settings.warn_at),
        ("degrade_at", list(settings.degrade_at)),
        ("degrade", [" -> ".join((tier, *steps)) for tier, steps in settings.degrade.items()]),
        ("at_cap", settings.at_cap),
        ("cap_tier", settings.cap_tier),
        ("unknown_cost", settings.unknown_cost),
    ]
    return rows
