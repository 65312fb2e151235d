"""Daily and org spend in the routing state store: real sessions on one sqlite file or one Redis
server (what a second process would read is what the store holds). Redis runs where
``MODEL_ROUTER_TEST_REDIS_URL`` is set (``.ci/run`` sets it)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from amplifier_module_model_router.budget import MemoryCounters, shared_book
from test_budget import OPUS, SONNET, budget_plan, resolved, turns

state = pytest.importorskip("amplifier_module_model_router.state")


def state_of(backend: str, tmp_path: Path) -> dict:
    if backend == "sqlite":
        return {"backend": "sqlite", "path": str(tmp_path / "state.db")}
    from redis_kit import redis_url

    return {"backend": "redis", "url": redis_url(), "namespace": f"test-budget-{uuid.uuid4().hex[:8]}"}


def state_plan(store: dict, budget: dict) -> dict:
    plan = budget_plan(budget)
    for hook in plan["hooks"]:
        if hook["module"] == "model-router":
            hook["config"]["state"] = dict(store)
    return plan


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_daily_and_org_spend_count_in_the_shared_store(backend: str, tmp_path: Path) -> None:
    store_config = state_of(backend, tmp_path)
    plan = state_plan(store_config, {"daily_usd": 1.00, "org_daily_usd": 10, "degrade": {"at": [0.4]}})
    await turns(plan, ["DELEGATE model-router:zen-architect: go"])
    names = shared_book().counter_names()
    store = await state.open_store(state.StateSettings(**store_config), amplifier_home=None)
    try:
        daily = await store.get_counter(names["daily"])
        org = await store.get_counter(names["org_daily"])
    finally:
        await store.close()
    assert daily is not None and round(daily, 2) == 0.50 and round(org, 2) == 0.50
    # a new process starts with nothing counted in memory: it reads the day from the store
    shared_book().reset(MemoryCounters())
    seen, _ = await turns(plan, ["DELEGATE model-router:zen-architect: go"])
    event = resolved(seen)[0]
    assert event["model"] == SONNET and "daily spend $0.50 of $1.00" in event["budget"]["spend"]


async def test_a_memory_state_keeps_the_day_in_this_process(tmp_path: Path) -> None:
    plan = budget_plan({"daily_usd": 1.00, "degrade": {"at": [0.4]}})
    await turns(plan, ["DELEGATE model-router:zen-architect: go"])
    shared_book().reset(MemoryCounters())  # another process: it never saw this one's spend
    seen, _ = await turns(plan, ["DELEGATE model-router:zen-architect: go"])
    assert resolved(seen)[0]["model"] == OPUS
