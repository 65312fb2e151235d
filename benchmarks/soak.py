"""Fault-injection soak: many delegations in real sessions while providers misbehave at random.

Every round is one root ``AmplifierSession`` (offline harness, model-router hook, event-tap
hook) whose four providers get a fresh, seeded fault scenario: ``list_models()`` answers, lists
plain strings, lists nothing, lists junk, raises a random ``amplifier_core.llm_errors`` type or
hangs past the router's lookup timeout; ``complete()`` raises a random ``llm_errors`` type from
the first call or mid-run (nested children meet it on their second call). The root delegates
to the 16 agents (some nested one level, some ``self``, some with caller preferences that
cannot resolve). Cooldowns run on a simulated clock that advances ``--step`` seconds a round,
so they expire during the run as they would over hours.

Two attacks ride along (issue 13): some delegations carry caller preferences whose ``config``
makes their first candidate fail (the poisoning attempt: a failure there must cool that
configuration only, never the shared entry), or a config key a caller may not set (refused by
name); and some rounds cancel their root while its agents still run (the root's cost summary
must count every call answered in its tree, or say it is incomplete).

Afterwards it checks, and exits non-zero when any check fails:
- every delegation was routed to a model of the chain it asked for (every answer in the child
  came from the resolved chain), or was unresolved / failed with a named reason;
- no asyncio task and no session is left behind (every ``session:start`` has its
  ``session:end``, i.e. every child was cleaned up);
- the catalog cache, resolver memo, cooldown registry, spawn handoffs and the per-session entry
  memo stay bounded (sampled every 5 ms while sessions run), and the last three hold nothing of
  ended sessions;
- no failure of a poisoned child cooled a shared entry, and every refused config was refused by
  name; every cancelled root's cost summary counted every answered call, or said it is incomplete.

It prints delegations per second, failovers, faults injected, peak memory and RSS growth per
session. ``--baseline`` first runs the same kind of rounds with no model-router and no faults
(kernel, offline harness and an app-style spawner alone) and prints its numbers as the reference.
amplifier-core 2.0.2 keeps every ended session reachable (a bare session too), so RSS grows with
the number of sessions in both runs; the soak reports it and does not count it against routing.

Run: ``python benchmarks/soak.py [--delegations 1000] [--seed N] [--baseline] [--tracemalloc]``
(the test suite runs a ~100-delegation version: ``tests/test_soak.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import logging
import random
import re
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

_TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

import amplifier_module_event_tap as tap  # noqa: E402
from amplifier_core import (
    AmplifierSession,  # noqa: E402
    llm_errors,  # noqa: E402
)
from session_kit import AGENT_TIER, ALL_AGENTS, BUNDLE, NS, AppCliStandIn, routed_plan  # noqa: E402

from amplifier_module_model_router.bundle.loader import agent_configs  # noqa: E402
from amplifier_module_model_router.failover import cooldown  # noqa: E402
from amplifier_module_model_router.offline import RECORDER, offline_mount_plan  # noqa: E402
from amplifier_module_model_router.resolve import resolver  # noqa: E402
from amplifier_module_model_router.resolve.catalog import shared_caches  # noqa: E402
from amplifier_module_model_router.resolve.globs import glob_matches  # noqa: E402
from amplifier_module_model_router.resolve.providers import canonical_name  # noqa: E402
from amplifier_module_model_router.resolve.snapshot import load_catalog  # noqa: E402
from amplifier_module_model_router.session import router  # noqa: E402
from amplifier_module_model_router.session.handoff import shared_handoffs  # noqa: E402
from amplifier_module_model_router.shared import replaced  # noqa: E402

PROVIDERS = ("anthropic", "openai", "gemini", "github-copilot")
SESSION_PROVIDER, SESSION_MODEL = "openai", "gpt-5.1"
"""The roots run here; no tier picks gpt-5.1, so faults aimed at routed models spare the root."""

LLM_ERRORS = tuple(
    sorted(
        (c for c in vars(llm_errors).values() if inspect.isclass(c) and issubclass(c, llm_errors.LLMError)),
        key=lambda c: c.__name__,
    )
)
ERROR_NAMES = frozenset(c.__name__ for c in LLM_ERRORS) | {"RoutingError", "InputError"}
LIST_MODES = ("ok", "ok", "ok", "ok", "strings", "empty", "junk", "raise", "raise", "hang", "hang")
TAPPED = [
    "session:start",
    "session:end",
    "model_router:resolved",
    "model_router:failover",
    "delegate:agent_spawned",
    "delegate:agent_completed",
    "delegate:error",
    "model_router:cost",
    "llm:request",
]
POISON_KEY = "complete_error"
"""The simulator's fault switch, made a caller-settable key for the soak: it stands in for any
allowed parameter whose value makes a provider fail (a 1 ms timeout, in the issue)."""
POISONED = [
    {"provider": "anthropic", "model": "claude-haiku-*",
     "config": {POISON_KEY: {"type": "RateLimitError", "retry_after": 1800.0}}},
    {"provider": "openai", "model": "gpt-[0-9].[0-9]-luna*"},
    {"provider": "gemini", "model": "gemini-[0-9]*-flash"},
    {"provider": "github-copilot", "model": "gpt-[0-9].[0-9]-mini*"},
]
REFUSED = [{"provider": "anthropic", "model": "claude-haiku-*", "config": {"timeout": 0.001}}]
UNRESOLVABLE = [
    [{"provider": "nosuch", "model": "claude-*"}, {"provider": "openai", "model": "gpt-99*"}],
    [{"provider": "anthropic", "model": "claude-opus-3000"}],
]
FAULT_WEIGHT = {"anthropic": 1.4, "openai": 1.0, "gemini": 0.6, "github-copilot": 0.6}
CATALOG_KEYS_PER_PROVIDER = 6  # one cache key per list_models mode (the endpoint names it)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SoakConfig:
    """Knobs of one soak run (defaults: the README's 1,000-delegation run)."""

    delegations: int = 1000
    seed: int = 20260612
    per_round: int = 10
    nested_share: float = 0.2
    self_share: float = 0.05
    call_prefs_share: float = 0.05
    poison_share: float = 0.04
    """Delegations whose caller preferences try to poison the shared cooldowns (or are refused)."""
    cancel_share: float = 0.1
    """Rounds whose root is cancelled while its agents run."""
    app_spawner_share: float = 0.3
    """Rounds whose root has an app-cli-like session.spawn (ours wraps it; children adopt the
    chain through the spawn handoff)."""
    fault_share: float = 0.5
    """Chance a provider's complete() fails in a round (anthropic, first in every chain: more)."""
    lookup_timeout: float = 0.05
    cache_ttl: float = 1.0
    failure_cooldown: float = 0.5
    step: float = 60.0
    """Simulated seconds per round on the cooldown clock."""
    trace_memory: bool = False


@dataclass
class SoakReport:
    """What happened; ``problems`` lists every failed check (empty = the soak passed)."""

    delegations: int = 0
    rounds: int = 0
    elapsed_s: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    results: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    failovers: int = 0
    faults_injected: Counter = field(default_factory=Counter)
    peak_rss_mb: float = 0.0
    rss_first_mb: float = 0.0
    rss_last_mb: float = 0.0
    traced_peak_mb: float | None = None
    max_catalog_slots: int = 0
    max_memo: int = 0
    max_cooldowns: int = 0
    max_handoffs: int = 0
    max_entry_memo: int = 0
    end_entry_memo: int = 0
    end_handoffs: int = 0
    leftover_tasks: list[str] = field(default_factory=list)
    max_tasks_after_round: int = 0
    sessions: int = 0
    unended: int = 0
    live_coordinators: int = 0
    poisoned: int = 0
    poison_failovers: int = 0
    refused_configs: int = 0
    cancelled_rounds: int = 0
    cancelled_calls: int = 0
    cancelled_counted: int = 0
    cancelled_incomplete: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.delegations / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def growth_kb_per_session(self) -> float:
        return (self.rss_last_mb - self.rss_first_mb) * 1024 / max(self.sessions, 1)

    def summary(self) -> str:
        lines = [
            f"delegations      {self.delegations} in {self.rounds} root sessions, "
            f"{self.elapsed_s:.1f} s -> {self.per_second:.1f} delegations/s",
            f"routing          {dict(sorted(self.outcomes.items()))}",
            f"results          {dict(sorted(self.results.items()))}",
            f"failed with      {dict(sorted(self.failures.items()))}",
            f"failovers        {self.failovers}",
            f"faults injected  {dict(sorted(self.faults_injected.items()))}",
            f"memory           peak RSS {self.peak_rss_mb:.1f} MB (after first round "
            f"{self.rss_first_mb:.1f} MB, after last {self.rss_last_mb:.1f} MB: "
            f"{self.growth_kb_per_session:.0f} KB per session)"
            + (f"; tracemalloc peak {self.traced_peak_mb:.1f} MB" if self.traced_peak_mb is not None else ""),
            f"bounded state    catalog slots max {self.max_catalog_slots}, resolver memo max "
            f"{self.max_memo}, cooldowns max {self.max_cooldowns}, handoffs max {self.max_handoffs} "
            f"(end {self.end_handoffs}), entry memo max {self.max_entry_memo} (end {self.end_entry_memo})",
            f"left behind      tasks {len(self.leftover_tasks)} (max {self.max_tasks_after_round} "
            f"right after a root's cleanup), sessions not ended {self.unended} of {self.sessions}",
            f"poisoning        {self.poisoned} poisoned delegations, {self.poison_failovers} of their "
            f"failovers, all cooling a config-scoped entry; {self.refused_configs} configs refused by name",
            f"cancelled roots  {self.cancelled_rounds}: {self.cancelled_counted} of "
            f"{self.cancelled_calls} answered calls in their trees counted, "
            f"{self.cancelled_incomplete} summaries marked incomplete",
            f"kernel           {self.live_coordinators} of {self.sessions} ended sessions' coordinators "
            "still reachable after gc (amplifier-core keeps them; a bare session does too)",
            f"checks           {'all passed' if not self.problems else f'{len(self.problems)} FAILED'}",
        ]
        lines += [f"  - {p}" for p in self.problems[:30]]
        return "\n".join(lines)


# -- scenarios ---------------------------------------------------------------------------------


def _provider_scenario(rng: random.Random, name: str, cfg: SoakConfig, report: SoakReport) -> dict[str, Any]:
    """Seeded misbehaviour for one provider during one round."""
    scenario: dict[str, Any] = {}
    mode = rng.choice(LIST_MODES)
    listing: dict[str, Any] = {"mode": mode}
    if mode == "raise":
        listing["error"] = rng.choice(LLM_ERRORS).__name__
    elif mode == "hang":
        listing["hang_seconds"] = 3600.0
    if rng.random() < 0.1:
        listing["delay"] = cfg.lookup_timeout / 2
    scenario["list_models"] = listing
    report.faults_injected[f"list_models:{mode}"] += 1
    if rng.random() < cfg.fault_share * FAULT_WEIGHT[name]:
        error = rng.choice(LLM_ERRORS).__name__
        if rng.random() < 0.3:
            error = "RateLimitError"  # the common case, weighted up
        fault: dict[str, Any] = {
            "type": error,
            "from_call": rng.choice((1, 1, 2)),  # 2 = mid-run, inside a nested child
            "times": rng.choice((None, None, 1, 3)),
            "retry_after": rng.choice((None, 1.0, 30.0, 120.0)),
        }
        if name == SESSION_PROVIDER:
            fault["models"] = ["gpt-5.[2-9]*", "gpt-5-*"]  # never the root's gpt-5.1
        scenario["complete_error"] = fault
        report.faults_injected[f"complete:{error}"] += 1
    return scenario


def _line(rng: random.Random, cfg: SoakConfig, depth: int = 0) -> tuple[str, int]:
    """One DELEGATE line and the number of delegations it makes (nested ones included)."""
    roll = rng.random()
    if roll < cfg.self_share:
        agent = "self"
    else:
        agent = NS + rng.choice(ALL_AGENTS)
    prefs = ""
    roll = rng.random()
    if agent != "self" and roll < cfg.call_prefs_share:
        prefs = " PREFS " + json.dumps(rng.choice(UNRESOLVABLE))
    elif agent != "self" and roll < cfg.call_prefs_share + cfg.poison_share:
        prefs = " PREFS " + json.dumps(POISONED if rng.random() < 0.75 else REFUSED)
    count = 1
    instruction = f"task {rng.randrange(10**6)}"
    if depth == 0 and rng.random() < cfg.nested_share:
        inner, more = _line(rng, cfg, depth + 1)
        instruction = json.dumps(inner)
        count += more
    return f"DELEGATE {agent}{prefs}: {instruction}", count


def _prompt(rng: random.Random, cfg: SoakConfig, budget: int) -> tuple[list[str], int]:
    lines: list[str] = []
    count = 0
    while count < min(cfg.per_round, budget):
        line, made = _line(rng, cfg)
        lines.append(line)
        count += made
    return lines, count


# -- state under test --------------------------------------------------------------------------


class SimClock:
    """Monotonic time plus a simulated offset, for the cooldown registry."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@contextmanager
def simulated_cooldowns(clock: SimClock) -> Iterator[cooldown.CooldownRegistry]:
    """A fresh process-wide cooldown registry on ``clock`` for the run; the old one after."""
    registry = cooldown.CooldownRegistry(clock=clock)
    with replaced("cooldowns", registry, cooldown.CooldownRegistry.clear):
        yield registry


async def _sampler(report: SoakReport, registry: cooldown.CooldownRegistry) -> None:
    """Sample the bounded state while a round runs (sessions in flight), every 5 ms."""
    while True:
        _sample_bounds(report, registry)
        await asyncio.sleep(0.005)


def _sample_bounds(report: SoakReport, registry: cooldown.CooldownRegistry) -> None:
    for cache in shared_caches():
        keys = max(len(cache._slots), len(cache._epochs), len(cache.calls))
        report.max_catalog_slots = max(report.max_catalog_slots, keys)
        report.max_memo = max(report.max_memo, len(cache.memo))
    report.max_cooldowns = max(report.max_cooldowns, len(registry))
    report.max_handoffs = max(report.max_handoffs, len(shared_handoffs()))
    report.max_entry_memo = max(report.max_entry_memo, len(router._entry_memo))


def _rss_mb() -> float:
    """Peak resident set size so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    """Resident set size now (Linux), else the peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _rss_mb()


# -- checks ------------------------------------------------------------------------------------


def _in_chain(provider: str | None, model: str | None, requested: list[dict[str, Any]]) -> bool:
    if not provider or not model:
        return False
    return any(
        canonical_name(p["provider"]) == canonical_name(provider) and glob_matches(p["model"], model)
        for p in requested
    )


def _check_round(
    events: list[tuple[str, str, dict[str, Any]]], root_id: str, lines: int, issued: int, report: SoakReport
) -> None:
    """Every delegation of one round accounted for (see the module docstring).

    Every top-level line spawns (the root never fails); a nested line spawns only when its
    outer child got as far as calling the delegate tool.
    """
    by_event: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for session_id, event, data in events:
        by_event.setdefault(event, []).append((session_id, data))
    spawns = by_event.get("delegate:agent_spawned", [])
    spawned = [data["sub_session_id"] for _, data in spawns]
    problems = report.problems
    top = sum(1 for sid, _ in spawns if sid == root_id)
    if top != lines or len(spawned) > issued:
        problems.append(f"{lines} lines ({issued} delegations) issued, {top} ({len(spawned)}) spawned")
    resolved = {data["sub_session_id"]: data for _, data in by_event.get("model_router:resolved", [])}
    completed = {data["sub_session_id"] for _, data in by_event.get("delegate:agent_completed", [])}
    errored = {data["sub_session_id"]: data["error"] for _, data in by_event.get("delegate:error", [])}
    started = {sid for sid, _ in by_event.get("session:start", [])}
    ended = {sid for sid, _ in by_event.get("session:end", [])}
    report.sessions += len(started)
    report.failovers += len(by_event.get("model_router:failover", []))
    report.unended += len(started - ended)
    for sid in started - ended:
        problems.append(f"session {sid} started but never ended")
    for sub in spawned:
        report.delegations += 1
        event = resolved.get(sub)
        if event is None:
            if "not a model parameter a caller may set" in errored.get(sub, ""):
                report.refused_configs += 1  # refused by name before routing: the point
                _check_result(sub, completed, errored, report)
            else:
                problems.append(f"{sub}: no model_router:resolved event")
            continue
        _check_routing(sub, event, report)
        _check_result(sub, completed, errored, report)
    _check_poisoning(by_event, resolved, report)


def _check_poisoning(
    by_event: dict[str, list[tuple[str, dict[str, Any]]]],
    resolved: dict[str, dict[str, Any]],
    report: SoakReport,
) -> None:
    """A failure under a caller's config cools that configuration only (issue 13 item 4)."""
    poisoned = {
        sub for sub, event in resolved.items()
        if event["source"] == "call" and POISON_KEY in ((event["requested"] or [{}])[0].get("config") or {})
    }
    report.poisoned += len(poisoned)
    for session_id, data in by_event.get("model_router:failover", []):
        if session_id not in poisoned or data["from"]["provider"] != "anthropic":
            continue
        report.poison_failovers += 1
        if "~config:" not in str(data.get("cooled")):
            report.problems.append(f"{session_id}: a poisoned child cooled the shared entry {data.get('cooled')!r}")


def _check_cancelled(events: list[tuple[str, str, dict[str, Any]]], root_id: str, report: SoakReport) -> None:
    """A cancelled root: its summary counts every call answered in its tree, or says it is
    incomplete; every session it started still ended; every routing it did is checked."""
    report.cancelled_rounds += 1
    started = {sid for sid, event, _ in events if event == "session:start"}
    ended = {sid for sid, event, _ in events if event == "session:end"}
    report.sessions += len(started)
    report.unended += len(started - ended)
    for sid in started - ended:
        report.problems.append(f"session {sid} (cancelled round) started but never ended")
    for sid, event, data in events:
        if event == "model_router:resolved":
            report.delegations += 1
            _check_routing(data["sub_session_id"], data, report)
        elif event == "model_router:failover":
            report.failovers += 1
    answered = sum(1 for c in RECORDER.completions() if c.error is None)
    costs = [data for sid, event, data in events if event == "model_router:cost" and sid == root_id]
    counted = sum(m["calls"] for a in costs[0]["agents"] for m in a["models"]) if costs else 0
    report.cancelled_calls += answered
    report.cancelled_counted += counted
    if costs and costs[0].get("incomplete"):
        report.cancelled_incomplete += 1
    elif counted != answered:
        report.problems.append(
            f"cancelled root {root_id}: its cost summary counted {counted} of {answered} answered "
            "calls and did not say it was incomplete"
        )


def _check_routing(sub: str, event: dict[str, Any], report: SoakReport) -> None:
    """Routed to a model of the chain it asked for, or unresolved/inherited with reasons; and
    every answer the child got came from what the event promised."""
    problems = report.problems
    outcome = event["outcome"]
    report.outcomes[outcome] += 1
    allowed: set[tuple[str, str]] = set()
    if outcome == "routed":
        picks = [(event["provider"], event["model"])]
        picks += [(f["provider"], f["model"]) for f in event["fallbacks"]]
        for provider, model in picks:
            if not _in_chain(provider, model, event["requested"]):
                problems.append(f"{sub}: {provider}/{model} is not in its chain {event['requested']}")
        allowed = set(picks)
        agent = event["agent"].removeprefix(NS)
        if event["source"] == "agent" and agent in AGENT_TIER:
            tier_chain = [p.to_dict() for p in BUNDLE.tiers[AGENT_TIER[agent]]]
            if event["requested"] != tier_chain:
                problems.append(f"{sub}: asked for {event['requested']}, not its tier's chain")
    elif outcome == "unresolved":
        if not event["reason"] or len(event["skipped"]) != len(event["requested"]):
            problems.append(f"{sub}: unresolved without a reason for every candidate: {event}")
        allowed = {(event["provider"], event["model"])}
    elif outcome == "inherit":
        allowed = {(event["provider"], event["model"])}
    else:
        problems.append(f"{sub}: unknown outcome {outcome!r}")
    if any(not s.get("reason") for s in event["skipped"]):
        problems.append(f"{sub}: a skipped candidate without a reason: {event['skipped']}")
    answers = {(c.provider, c.model) for c in RECORDER.completions(session_id=sub) if c.error is None}
    if not answers <= allowed:
        problems.append(f"{sub}: answered by {answers - allowed}, outside {allowed}")


def _check_result(sub: str, completed: set[str], errored: dict[str, str], report: SoakReport) -> None:
    """Completed, or failed with an error that names its type."""
    if sub in completed and sub not in errored:
        report.results["completed"] += 1
    elif sub in errored and sub not in completed:
        report.results["failed"] += 1
        named = [w for w in _WORD.findall(errored[sub]) if w in ERROR_NAMES]
        if named:
            report.failures[named[0]] += 1
        else:
            report.problems.append(f"{sub}: failed without a named reason: {errored[sub]!r}")
    else:
        report.problems.append(f"{sub}: neither completed nor failed exactly once")


def _check_end_state(report: SoakReport, registry: cooldown.CooldownRegistry) -> None:
    problems = report.problems
    slots_bound = len(PROVIDERS) * CATALOG_KEYS_PER_PROVIDER
    if report.max_catalog_slots > slots_bound:
        problems.append(f"catalog cache grew to {report.max_catalog_slots} slots (bound {slots_bound})")
    for cache in shared_caches():
        if cache._flights:
            problems.append(f"{len(cache._flights)} catalog lookups still in flight")
    if report.max_memo > resolver._MEMO_LIMIT:
        problems.append(f"resolver memo grew to {report.max_memo} (bound {resolver._MEMO_LIMIT})")
    models = _catalog_models()
    cooldown_bound = sum(1 + len(m) for m in models.values()) + 1 + len(models["anthropic"])  # + poison scope
    if report.max_cooldowns > cooldown_bound:
        problems.append(f"cooldown registry grew to {report.max_cooldowns} (bound {cooldown_bound})")
    if report.end_handoffs:
        problems.append(f"{report.end_handoffs} spawn handoffs left behind")
    if report.end_entry_memo:
        problems.append(f"{report.end_entry_memo} ended sessions still memoised in router._entry_memo")
    if report.max_entry_memo > router._ENTRY_MEMO_LIMIT:
        problems.append(f"entry memo grew to {report.max_entry_memo}")
    if report.leftover_tasks:
        problems.append(f"asyncio tasks left behind: {report.leftover_tasks[:5]}")


def _catalog_models() -> dict[str, list[str]]:
    snapshot = load_catalog()
    return {name: [m.id for m in snapshot.models(name)] for name in PROVIDERS}


def _live_coordinators() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj).__name__ == "RustCoordinator")


# -- the run -----------------------------------------------------------------------------------


async def _round(plan: dict[str, Any], prompt: str, app_spawner: bool, cancel: bool = False) -> str:
    """One root session's run; returns its id. ``cancel``: cancel the root once its agents
    run, clean it up at once (as an app does on Ctrl-C), then let the agents finish."""
    session = AmplifierSession(plan)
    task: asyncio.Task[Any] | None = None
    try:
        await session.initialize()
        if app_spawner:
            session.coordinator.register_capability("session.spawn", AppCliStandIn())
        if not cancel:
            await session.execute(prompt)
        else:
            task = asyncio.ensure_future(session.execute(prompt))
            for _ in range(500):  # until a child calls its model (or the root is done)
                if task.done() or any(e == "llm:request" and s != session.session_id for s, e, _ in tap.TAP):
                    break
                await asyncio.sleep(0.01)
            task.cancel()
    finally:
        await session.cleanup()
    if task is not None:
        await asyncio.gather(task, return_exceptions=True)
        await _drain(keep=_sampler_tasks())
    return session.session_id


def _sampler_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__name__", "") == "_sampler"}


async def _drain(keep: set[asyncio.Task[Any]], limit_s: float = 30.0) -> None:
    """Wait until the agents a cancelled root left running (and what they spawn) are done."""
    current = asyncio.current_task()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if not [t for t in asyncio.all_tasks() if t is not current and t not in keep]:
            return
        await asyncio.sleep(0.01)


async def run_soak(cfg: SoakConfig) -> SoakReport:
    """Run the soak in the current event loop; returns the report (check ``problems``)."""
    rng = random.Random(cfg.seed)
    report = SoakReport()
    clock = SimClock()
    hook_options = {
        "lookup_timeout": cfg.lookup_timeout,
        "cache_ttl": cfg.cache_ttl,
        "failure_cooldown": cfg.failure_cooldown,
        "use_settings_files": False,
        "caller_config_keys": [POISON_KEY],
    }
    if cfg.trace_memory:
        tracemalloc.start()
    memo_before = set(router._entry_memo)  # other sessions' entries (e.g. earlier tests)
    coordinators_before = _live_coordinators()
    with simulated_cooldowns(clock) as registry:
        started = time.perf_counter()
        remaining = cfg.delegations
        while remaining > 0:
            provider_config = {name: _provider_scenario(rng, name, cfg, report) for name in PROVIDERS}
            plan = routed_plan(
                session_model=f"{SESSION_PROVIDER}/{SESSION_MODEL}",
                provider_config=provider_config,
                hook_options=hook_options,
            )
            plan["hooks"].append({"module": "event-tap", "config": {"events": TAPPED}})
            lines, issued = _prompt(rng, cfg, remaining)
            tap.TAP.clear()
            root_id = ""
            cancel = rng.random() < cfg.cancel_share
            sampler = asyncio.ensure_future(_sampler(report, registry))
            try:
                root_id = await _round(plan, "\n".join(lines), rng.random() < cfg.app_spawner_share, cancel)
            except Exception as exc:  # the root itself must never fail
                report.problems.append(f"round {report.rounds}: root session raised {exc!r}")
            finally:
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
            current = asyncio.current_task()
            report.max_tasks_after_round = max(
                report.max_tasks_after_round, sum(1 for t in asyncio.all_tasks() if t is not current)
            )
            if cancel:
                _check_cancelled(list(tap.TAP), root_id, report)
            else:
                _check_round(list(tap.TAP), root_id, len(lines), issued, report)
            RECORDER.clear()
            tap.TAP.clear()
            remaining -= issued
            report.rounds += 1
            clock.offset += cfg.step
            if report.rounds == 1:
                report.rss_first_mb = _current_rss_mb()
        report.elapsed_s = time.perf_counter() - started
        await asyncio.sleep(cfg.lookup_timeout * 2 + 0.05)  # a timed-out lookup finishes
        current = asyncio.current_task()
        report.leftover_tasks = [repr(t) for t in asyncio.all_tasks() if t is not current]
        report.end_handoffs = len(shared_handoffs())
        report.end_entry_memo = len(set(router._entry_memo) - memo_before)
        report.live_coordinators = _live_coordinators() - coordinators_before
        report.rss_last_mb = _current_rss_mb()
        report.peak_rss_mb = _rss_mb()
        if cfg.trace_memory:
            report.traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        _check_end_state(report, registry)
    return report


async def run_baseline(cfg: SoakConfig) -> tuple[int, int, float, float]:
    """The same kind of rounds with no model-router and no faults: kernel, offline harness and
    an app-style spawner alone. ``(delegations, sessions, seconds, RSS growth KB/session)``."""
    rng = random.Random(cfg.seed)
    cfg = replace(cfg, call_prefs_share=0.0)
    agents = {key: {k: v for k, v in agent.items() if k != "provider_preferences"}
              for key, agent in agent_configs(BUNDLE).items()}  # children inherit: no globs to apply
    plan = offline_mount_plan(agents, session_model=f"{SESSION_PROVIDER}/{SESSION_MODEL}")
    plan["hooks"] = [{"module": "event-tap", "config": {"events": ["session:start"]}}]
    delegations = sessions = 0
    remaining = cfg.delegations
    started = time.perf_counter()
    first = None
    while remaining > 0:
        lines, issued = _prompt(rng, cfg, remaining)
        tap.TAP.clear()
        await _round(plan, "\n".join(lines), app_spawner=True)
        sessions += len(tap.TAP)
        delegations += len(tap.TAP) - 1
        remaining -= issued
        RECORDER.clear()
        if first is None:
            first = (_current_rss_mb(), sessions)
    tap.TAP.clear()
    elapsed = time.perf_counter() - started
    growth = (_current_rss_mb() - first[0]) * 1024 / max(sessions - first[1], 1)
    return delegations, sessions, elapsed, growth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delegations", type=int, default=SoakConfig.delegations)
    parser.add_argument("--seed", type=int, default=SoakConfig.seed)
    parser.add_argument("--step", type=float, default=SoakConfig.step, help="simulated seconds per round")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--baseline", action="store_true",
                        help="first run the same rounds without model-router or faults, as the reference")
    parser.add_argument("--verbose", action="store_true",
                        help="show the router's per-delegation warnings (thousands, by design)")
    args = parser.parse_args()
    if not args.verbose:  # unresolved chains are expected here; the summary counts them
        logging.getLogger("amplifier_module_model_router").setLevel(logging.ERROR)
    cfg = SoakConfig(delegations=args.delegations, seed=args.seed, step=args.step, trace_memory=args.tracemalloc)
    print(f"soak: {cfg.delegations} delegations, seed {cfg.seed}, lookup timeout {cfg.lookup_timeout}s, "
          f"catalog TTL {cfg.cache_ttl}s, {cfg.step:g} simulated s per round")
    if args.baseline:
        made, sessions, seconds, growth = asyncio.run(run_baseline(cfg))
        print(f"reference        no model-router, no faults, app-style spawner: {made} delegations in "
              f"{seconds:.1f} s -> {made / seconds:.1f} delegations/s; {growth:.0f} KB RSS per session "
              f"({sessions} sessions)")
    report = asyncio.run(run_soak(cfg))
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
