"""Spend caps that degrade instead of fail: session, daily and org budgets checked at every spawn.

Files: ``model`` (the ``budget:`` setting as values, spend levels), ``counters`` (the atomic
counters daily/org spend live in: the routing state store's, or this process's),
``book`` (spend per root session and per day, threshold events), ``routing`` (what a level
does to one spawn), ``gate`` (the check between a running agent's model calls).
"""

from .book import Budget, SpendBook, shared_book
from .counters import MemoryCounters, SpendCounters
from .model import BudgetSettings, CapSpend, SpendLevel

__all__ = [
    "Budget",
    "BudgetSettings",
    "CapSpend",
    "MemoryCounters",
    "SpendBook",
    "SpendCounters",
    "SpendLevel",
    "shared_book",
]
