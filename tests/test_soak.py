"""The fault-injection soak, short and seeded, plus the defects it found kept as regressions.

``benchmarks/soak.py`` runs real sessions (offline harness, model-router hook, event-tap) while
providers fail at random; its checks are the assertions here. The full run is
``python benchmarks/soak.py`` (1,000 delegations); this one makes about 100.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import amplifier_module_event_tap as tap
from session_kit import routed_plan, run

from amplifier_module_model_router.offline import RECORDER
from amplifier_module_model_router.session import router

_SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def _load_soak():
    if "model_router_soak" in sys.modules:
        return sys.modules["model_router_soak"]
    spec = importlib.util.spec_from_file_location("model_router_soak", _SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_router_soak"] = module
    spec.loader.exec_module(module)
    return module


soak = _load_soak()


async def test_short_soak_routes_every_delegation_or_names_why_and_leaves_nothing_behind() -> None:
    report = await soak.run_soak(soak.SoakConfig(delegations=100, seed=7))

    assert report.problems == [], report.summary()
    assert report.delegations >= 90
    injected = {key.split(":")[1] for key in report.faults_injected}
    assert {"hang", "raise", "junk", "RateLimitError"} <= injected, report.faults_injected
    assert report.outcomes["routed"] > 0 and report.results["failed"] > 0
    assert report.failovers > 0
    assert report.end_handoffs == 0 and report.end_entry_memo == 0
    assert report.leftover_tasks == []


# -- regressions found by the soak ---------------------------------------------------------------


def _nested_plan():
    plan = routed_plan(session_model="openai/gpt-5.1")
    plan["hooks"].append({"module": "event-tap", "config": {"events": ["model_router:resolved"]}})
    tap.TAP.clear()
    return plan


async def test_a_child_inheriting_from_a_routed_parent_is_told_the_provider_it_really_runs_on() -> None:
    """Was: the parent runs behind the failover front (mount name ``model-router``), so the
    inheriting child's event said ``model-router/claude-haiku-4-5``, a provider that does not
    exist in any plan; the child really ran on anthropic/claude-haiku-4-5."""
    result = await run(_nested_plan(), 'DELEGATE model-router:git-ops: "DELEGATE self: inner task"')

    inner = [d for _, e, d in tap.TAP if e == "model_router:resolved" and d["agent"] == "self"]
    assert len(inner) == 1
    event = inner[0]
    assert event["outcome"] == "inherit"
    assert (event["provider"], event["model"]) == ("anthropic", "claude-haiku-4-5")
    answers = {(c.provider, c.model) for c in RECORDER.completions(session_id=event["sub_session_id"])}
    assert answers == {("anthropic", "claude-haiku-4-5")}
    assert "inner task" in result.output


async def test_ended_sessions_are_not_kept_in_the_entry_memo() -> None:
    """Was: every session that spawned stayed in ``router._entry_memo`` (up to 256 of them),
    and with it its providers and coordinator, after ``cleanup()``. (Sessions without the hook,
    where an app calls the spawner itself, still rely on the memo's bound of 256.)"""
    before = set(router._entry_memo)
    result = await run(_nested_plan(), 'DELEGATE model-router:git-ops: "DELEGATE model-router:file-ops: x"')

    assert "file-ops" in result.output
    assert set(router._entry_memo) - before == set()


async def test_the_resolver_memo_stays_bounded_for_list_preferences() -> None:
    """Was: only the identity shortcut (tuples) cleared the memo at its limit, so resolving list
    preferences for fresh sessions' providers grew it by one plan (holding those providers) per
    call until a catalog changed: 5,000 calls, 5,000 entries. Found while auditing the soak's
    bounded state."""
    from amplifier_module_model_router.resolve import resolver
    from amplifier_module_model_router.resolve.catalog import CatalogCache
    from amplifier_module_model_router.resolve.preferences import ProviderPreference
    from amplifier_module_model_router.resolve.providers import ProviderEntry

    class Provider:
        base_url = "https://api.example.test"

        async def list_models(self) -> list[str]:
            return ["claude-haiku-4-5", "claude-sonnet-4-6"]

    cache = CatalogCache(ttl=600)
    for _ in range(3 * resolver._MEMO_LIMIT):
        entries = (ProviderEntry("anthropic", Provider()),)  # a fresh session's provider
        resolution = await resolver.resolve([ProviderPreference("anthropic", "claude-haiku-*")], entries, cache)
        assert resolution.chosen is not None and resolution.chosen.model == "claude-haiku-4-5"
    assert len(cache.memo) <= resolver._MEMO_LIMIT
