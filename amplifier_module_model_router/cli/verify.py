"""``verify``: run a real Amplifier session offline and check the model every agent got.

One parent session (the offline loop, context and providers from the scenario's mount plan, the
model-router module as a hook) executes one prompt whose parallel ``DELEGATE`` lines reach every
agent of the bundle and ``self``. What each child session's provider actually received is read
from the offline providers' call recorder, and compared with the expected route worked out
independently (:mod:`.expect`). Failovers are read the same way: a child whose provider
answered with an error and whose next call went to another candidate was carried by the
failover provider, since the loop itself never retries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..events import COST, REFUSED, RESOLVED, ROUTED, UNRESOLVED
from ..failover.cooldown import shared_cooldowns
from ..offline import RECORDER, CompletionCall
from ..resolve.globs import is_glob
from .expect import Route
from .scenario import Scenario
from .status import ExitStatus

__all__ = ["AgentResult", "VerifyRun", "run_verify"]

INSTRUCTION = "verify routing: answer on the model you were given"
_WATCHED = (RESOLVED, COST, "delegate:agent_spawned", "delegate:error", "module:load_failed")


@dataclass(frozen=True, slots=True)
class AgentResult:
    """One agent's delegation in the session run, next to its expected route."""

    route: Route
    sub_session_id: str | None
    calls: tuple[CompletionCall, ...]
    """Every ``complete()`` attempt the child's providers received, in order."""
    resolved: dict[str, Any] | None
    """The module's ``model_router:resolved`` payload for this spawn (None: never routed)."""
    error: str | None

    @property
    def used(self) -> tuple[str, str] | None:
        """``(provider, model)`` of the call that answered last; None when nothing answered."""
        answered = [c for c in self.calls if c.error is None]
        return (answered[-1].provider, answered[-1].model) if answered else None

    @property
    def used_text(self) -> str:
        return "/".join(self.used) if self.used else "-"

    @property
    def failed_attempts(self) -> tuple[CompletionCall, ...]:
        return tuple(c for c in self.calls if c.error is not None)

    @property
    def failovers(self) -> int:
        """Errors a later call in the same child recovered from (the failover provider's work)."""
        if self.used is None:
            return 0
        last_ok = max(i for i, c in enumerate(self.calls) if c.error is None)
        return sum(1 for c in self.calls[:last_ok] if c.error is not None)

    @property
    def notes(self) -> tuple[str, ...]:
        """How the agent reached its model when not on the first try: failovers, cooled skips."""
        failed: dict[str, list[str]] = {}
        for call in self.failed_attempts:
            failed.setdefault(call.error or "error", []).append(f"{call.provider}/{call.model}")
        notes = [f"failover: {error} on {', '.join(models)}" for error, models in failed.items()]
        if self.refused_as_expected:
            notes.insert(0, "refused (strict): no candidate resolved")
        tried = {(c.provider, c.model) for c in self.calls}
        resolved = self.resolved or {}
        for skipped in resolved.get("skipped") or []:
            if "cooling" in str(skipped.get("reason", "")):
                notes.append(
                    f"skipped cooling {skipped.get('provider')}/{skipped.get('model')} at spawn"
                )
        chosen = (resolved.get("provider"), resolved.get("model"))
        if resolved.get("outcome") == ROUTED and self.used is not None and chosen not in tried:
            notes.append(f"failover: skipped cooling {chosen[0]}/{chosen[1]}")
        return tuple(notes)

    @property
    def refused_as_expected(self) -> bool:
        """Strict mode refused the spawn (the module's event says so), as the expectation does:
        no candidate resolved, so no model was meant to answer."""
        return (
            self.route.outcome == REFUSED
            and self.used is None
            and self.resolved is not None
            and self.resolved.get("outcome") == REFUSED
        )

    @property
    def globs_sent(self) -> tuple[str, ...]:
        return tuple(c.model for c in self.calls if is_glob(c.model))

    @property
    def unresolved(self) -> bool:
        return bool(self.resolved and self.resolved.get("outcome") == UNRESOLVED)

    @property
    def problem(self) -> str | None:
        """Why this row is not correct, or None."""
        expected = self.route.expected
        if self.refused_as_expected:
            return None
        if self.error is not None:
            return self.error
        if self.used is None:
            return "no call reached any provider"
        if expected is None:
            return f"expected no model ({self.route.outcome}), but {self.used_text} answered"
        if self.used != expected:
            return f"expected {self.route.expected_text}"
        return None

    @property
    def correct(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class VerifyRun:
    """The whole run: one result per agent (bundle order, ``self`` last) and session faults."""

    scenario: Scenario
    results: tuple[AgentResult, ...]
    load_failures: tuple[str, ...] = ()
    session_error: str | None = None
    elapsed_s: float = 0.0
    parent_output: str = ""
    cost: dict[str, Any] | None = None
    """The root session's ``model_router:cost`` payload (None when cost tracking is off)."""

    @property
    def correct(self) -> int:
        return sum(r.correct for r in self.results)

    @property
    def errors(self) -> int:
        agent_errors = sum(
            1 for r in self.results if r.error is not None and not r.refused_as_expected
        )
        return agent_errors + len(self.load_failures) + (self.session_error is not None)

    @property
    def failovers(self) -> int:
        return sum(r.failovers for r in self.results)

    @property
    def unresolved(self) -> tuple[str, ...]:
        return tuple(
            r.route.agent
            for r in self.results
            if r.unresolved or r.route.outcome in (UNRESOLVED, REFUSED)
        )

    @property
    def globs_sent(self) -> tuple[str, ...]:
        return tuple(g for r in self.results for g in r.globs_sent)

    @property
    def ok(self) -> bool:
        return (
            self.correct == len(self.results)
            and self.errors == 0
            and not self.unresolved
            and not self.globs_sent
        )

    @property
    def exit_status(self) -> ExitStatus:
        """PROBLEM for a wrong model, an error or a glob sent; INCOMPLETE when the only
        finding is agents whose chain resolved nothing (they inherit, as configured)."""
        if self.ok:
            return ExitStatus.OK
        if self.correct == len(self.results) and self.errors == 0 and not self.globs_sent:
            return ExitStatus.INCOMPLETE
        return ExitStatus.PROBLEM

    def summary(self) -> str:
        """``17/17 correct · 0 errors · all globs resolved`` (or what went wrong)."""
        errors = self.errors
        parts = [
            f"{self.correct}/{len(self.results)} correct",
            f"{errors} error{'' if errors == 1 else 's'}",
        ]
        if self.scenario.options.flaky or self.failovers:
            parts.append(f"{self.failovers} failover{'' if self.failovers == 1 else 's'}")
        problems = []
        if self.unresolved:
            problems.append(f"{len(self.unresolved)} unresolved ({', '.join(self.unresolved)})")
        if self.globs_sent:
            problems.append(f"globs sent to a provider: {', '.join(sorted(set(self.globs_sent)))}")
        parts += problems or ["all globs resolved"]
        return " · ".join(parts)


def _script(routes: list[Route]) -> str:
    """One prompt, one ``DELEGATE`` line per agent: the loop runs them as parallel tool calls."""
    return "\n".join(f"DELEGATE {route.agent}: {INSTRUCTION}" for route in routes)


async def run_verify(scenario: Scenario, routes: list[Route]) -> VerifyRun:
    """Run the scenario's session once, delegating to every route's agent in parallel."""
    from amplifier_core import AmplifierSession
    from amplifier_core.models import HookResult

    seen: list[tuple[str, dict[str, Any]]] = []

    async def watch(event: str, data: dict[str, Any]) -> HookResult:
        seen.append((event, dict(data)))
        return HookResult(action="continue")

    cooldowns = shared_cooldowns()
    cooldowns.clear()  # a previous run's simulated 429s must not steer this one
    started = time.perf_counter()
    session = AmplifierSession(scenario.plan)
    output, session_error = "", None
    try:
        for event in _WATCHED:
            session.coordinator.hooks.register(event, watch, name="model-router-verify")
        await session.initialize()
        output = str(await session.execute(_script(routes)) or "")
    except Exception as err:  # report it as a row problem; verify itself must not crash
        session_error = f"{type(err).__name__}: {err}"
    finally:
        await session.cleanup()
        cooldowns.clear()
    elapsed = time.perf_counter() - started
    return VerifyRun(
        scenario=scenario,
        results=tuple(_result(route, seen, session_error) for route in routes),
        load_failures=tuple(
            f"{d.get('module_type')} {d.get('module_id')}: {d.get('error')}"
            for event, d in seen
            if event == "module:load_failed"
        ),
        session_error=session_error,
        elapsed_s=elapsed,
        parent_output=output,
        cost=next((d for e, d in reversed(seen) if e == COST), None),
    )


def _result(
    route: Route, seen: list[tuple[str, dict[str, Any]]], session_error: str | None
) -> AgentResult:
    spawned = next(
        (d for e, d in seen if e == "delegate:agent_spawned" and d.get("agent") == route.agent),
        None,
    )
    sub = spawned.get("sub_session_id") if spawned else None
    resolved = next(
        (d for e, d in seen if e == RESOLVED and sub and d.get("sub_session_id") == sub), None
    )
    failed = next(
        (d for e, d in seen if e == "delegate:error" and sub and d.get("sub_session_id") == sub),
        None,
    )
    calls = tuple(RECORDER.completions(session_id=sub)) if sub else ()
    error = failed.get("error") if failed else None
    if spawned is None:
        error = session_error or "the parent never delegated to this agent"
    return AgentResult(route, sub, calls, resolved, error)
