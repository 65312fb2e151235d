"""Spend caps as values: what the ``budget:`` setting says, and what a spend level means.

Pure: no kernel, no store, no clock. A *level* is how far spend has gone against the tightest
cap: 0 below the first ``degrade.at`` fraction, ``k`` once ``k`` fractions are crossed, and
:data:`AT_CAP` levels (``len(at) + 1``) at 100 % of any cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

__all__ = [
    "AT_CAP_BUDGET_ONLY",
    "AT_CAP_REFUSE",
    "CAPS",
    "DEFAULT_DEGRADE",
    "UNKNOWN_ALLOW",
    "UNKNOWN_BLOCK",
    "BudgetSettings",
    "CapSpend",
    "SpendLevel",
    "money",
]

CAPS = ("session", "daily", "org_daily")
"""Cap names, as events and reports spell them (``<name>_usd`` in settings)."""

AT_CAP_BUDGET_ONLY = "budget-only"
AT_CAP_REFUSE = "refuse"
UNKNOWN_ALLOW = "allow"
UNKNOWN_BLOCK = "block"

DEFAULT_DEGRADE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"frontier": ("strong", "budget"), "strong-code": ("strong", "budget")}
)
"""Each tier's steps down: at the k-th ``degrade.at`` fraction it runs on its k-th step."""


@dataclass(frozen=True, slots=True)
class BudgetSettings:
    """The effective ``budget:`` setting. A cap of None is no cap.

    ``degrade_at`` are fractions of a cap, strictly increasing in (0, 1); ``degrade`` maps a
    tier to the tiers it steps down to at each of those fractions (the last step holds for
    the fractions after it); ``cap_tier`` is where every agent runs at the cap under
    ``budget-only``; ``unknown_cost`` says whether a call whose cost cannot be known (GitHub
    Copilot bills requests, not tokens) may run past the cap.
    """

    session_usd: Decimal | None = None
    daily_usd: Decimal | None = None
    org_daily_usd: Decimal | None = None
    warn_at: float = 0.8
    degrade_at: tuple[float, ...] = (0.5, 0.8)
    degrade: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_DEGRADE)
    at_cap: str = AT_CAP_BUDGET_ONLY
    cap_tier: str = "budget"
    unknown_cost: str = UNKNOWN_ALLOW

    @property
    def active(self) -> bool:
        """True when any cap is set: without one, routing is exactly as without budgets."""
        return any(cap is not None for cap in self.caps().values())

    @property
    def at_cap_level(self) -> int:
        return len(self.degrade_at) + 1

    def caps(self) -> dict[str, Decimal | None]:
        return {"session": self.session_usd, "daily": self.daily_usd, "org_daily": self.org_daily_usd}

    def level_of(self, fraction: float) -> int:
        """0 below the first degrade fraction, k after k of them, :attr:`at_cap_level` at 1.0."""
        if fraction >= 1.0:
            return self.at_cap_level
        return sum(1 for at in self.degrade_at if fraction >= at)

    def tier_at(self, tier: str | None, level: int) -> str | None:
        """The tier an agent of ``tier`` runs on at ``level`` (below the cap)."""
        if tier is None or level <= 0:
            return tier
        if level >= self.at_cap_level:
            return self.cap_tier
        steps = self.degrade.get(tier)
        if not steps:
            return tier
        return steps[min(level, len(steps)) - 1]

    def threshold_of(self, level: int) -> float:
        """The fraction at which ``level`` starts (1.0 for the cap)."""
        if level >= self.at_cap_level:
            return 1.0
        return self.degrade_at[level - 1] if level > 0 else 0.0


@dataclass(frozen=True, slots=True)
class CapSpend:
    """One cap and the spend measured against it."""

    name: str
    cap_usd: Decimal
    spend_usd: Decimal

    @property
    def fraction(self) -> float:
        if self.cap_usd <= 0:
            return 1.0
        return float(self.spend_usd / self.cap_usd)

    def to_dict(self) -> dict[str, object]:
        return {
            "cap": self.name,
            "cap_usd": float(self.cap_usd),
            "spend_usd": round(float(self.spend_usd), 6),
            "fraction": round(self.fraction, 4),
        }


@dataclass(frozen=True, slots=True)
class SpendLevel:
    """Where a root session stands: every cap's spend, the tightest one, and the level.

    Built by :meth:`of` (the tightest cap and its fraction are worked out once: this is read
    at every spawn and every model call of a budgeted session).
    """

    caps: tuple[CapSpend, ...]
    level: int
    unknown_calls: int
    at_cap_level: int
    warn_at: float
    tightest: CapSpend | None = None
    fraction: float = 0.0

    @classmethod
    def of(cls, caps: tuple[CapSpend, ...], settings: BudgetSettings, unknown_calls: int) -> SpendLevel:
        fractions = [c.fraction for c in caps]
        fraction = max(fractions, default=0.0)
        tightest = caps[fractions.index(fraction)] if caps else None
        return cls(
            caps=caps,
            level=settings.level_of(fraction),
            unknown_calls=unknown_calls,
            at_cap_level=settings.at_cap_level,
            warn_at=settings.warn_at,
            tightest=tightest,
            fraction=fraction,
        )

    @property
    def at_cap(self) -> bool:
        return self.level >= self.at_cap_level

    @property
    def warned(self) -> bool:
        return self.fraction >= self.warn_at

    def describe(self) -> str:
        """``session spend $1.02 of $2.00 (51%)``: the tightest cap, for reasons and errors."""
        cap = self.tightest
        if cap is None:
            return "no cap"
        text = f"{cap.name} spend ${money(cap.spend_usd)} of ${money(cap.cap_usd)} ({cap.fraction:.0%})"
        if self.unknown_calls:
            text += f", plus {self.unknown_calls} call(s) of unknown cost"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "at_cap": self.at_cap,
            "caps": [c.to_dict() for c in self.caps],
            "unknown_calls": self.unknown_calls,
        }


def money(amount: Decimal | float) -> str:
    """``2.00``, ``1.9875``: cents always, up to four decimals when they matter."""
    text = f"{amount:.4f}"
    return text[:-2] if text.endswith("00") else text.rstrip("0")
