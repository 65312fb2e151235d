"""Spend counted against the caps: shared counters that go down, and days that end."""

from __future__ import annotations

from decimal import Decimal


class FlakyCounters:
    """Shared counters that can go down: then they answer None, as the guarded state store does."""

    def __init__(self) -> None:
        from amplifier_module_model_router.budget import MemoryCounters

        self.inner = MemoryCounters()
        self.down = False

    async def incr(self, name: str, amount: float, ttl: float) -> float | None:
        return None if self.down else await self.inner.incr(name, amount, ttl)

    async def get_counter(self, name: str) -> float | None:
        return None if self.down else await self.inner.get_counter(name)


async def test_a_store_that_cannot_answer_leaves_the_process_counting_its_own_spend() -> None:
    from amplifier_module_model_router.budget import Budget, BudgetSettings, SpendBook

    counters = FlakyCounters()
    book = SpendBook(counters, user="me")
    budget = Budget(BudgetSettings(daily_usd=Decimal("1.00")), book)
    await counters.inner.incr(book.counter_names()["daily"], 0.30, 3600)  # another process's spend
    assert (await budget.charge("root", Decimal("0.10"))).tightest.spend_usd == Decimal("0.4")
    counters.down = True
    level = await budget.charge("root", Decimal("0.30"))
    assert level.tightest.spend_usd == Decimal("0.7") and level.level == 1
    level = await budget.charge("root", Decimal("0.30"))
    assert level.at_cap  # counted here on top of the last shared total, never reset to zero


async def test_a_day_ends_with_its_counter() -> None:
    from amplifier_module_model_router.budget import Budget, BudgetSettings, MemoryCounters, SpendBook

    now = [86_400.0 * 20_000 + 3600]
    book = SpendBook(MemoryCounters(clock=lambda: now[0]), clock=lambda: now[0], user="me")
    budget = Budget(BudgetSettings(daily_usd=Decimal("1.00")), book)
    assert (await budget.charge("a", Decimal("0.90"))).level == 2
    now[0] += 86_400.0
    assert (await budget.level("b")).level == 0  # a new UTC day: a new counter
