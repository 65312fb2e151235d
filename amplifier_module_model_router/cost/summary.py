"""What a ``model_router:cost`` event says: per-agent usage and cost, the baseline, the savings.

The one shape shared by the session side (:mod:`.hooks` builds it when a root session
ends) and the report side (:mod:`.report` reads it back from ``events.jsonl``). Money is
``Decimal`` in memory and a decimal string in payloads: the kernel JSON-copies event data, and
floats would lose cents. ``None`` means unknown, never zero.

Knows nothing of the kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "PAYLOAD_VERSION",
    "ROOT_AGENT",
    "AgentCost",
    "BudgetUse",
    "CapUse",
    "Comparison",
    "CostLine",
    "CostSummary",
    "ModelCost",
    "Tokens",
    "combine_summaries",
    "money",
]

PAYLOAD_VERSION = 1
ROOT_AGENT = "(root)"
"""The agent name of the root session's own calls."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts, as the kernel's ``llm:response`` contract defines them.

    ``input`` is the gross input (fresh + cache reads); ``cache_read`` is the part of it served
    from the prompt cache; ``cache_write`` is billed on top of it.
    """

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
        )

    @property
    def fresh_input(self) -> int:
        """Input tokens not read from the cache (never negative, whatever a provider reported)."""
        return max(self.input - self.cache_read, 0)


def _add_money(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None:
        return b
    return a if b is None else a + b


@dataclass(frozen=True, slots=True)
class CostLine:
    """Usage and cost of some calls (one agent on one model, an agent, or everything).

    ``cost_usd`` sums the calls whose cost is known; ``unpriced_calls`` counts the others, so a
    line whose every call is unpriced has ``cost_usd=None``. ``baseline_usd`` is what the same
    tokens cost on the baseline model (None: its price is unknown). ``sources`` says where known
    costs came from: ``provider`` (the provider's ``Usage.cost_usd``) and/or ``catalog``
    (tokens x the model's list price).
    """

    calls: int = 0
    tokens: Tokens = field(default_factory=Tokens)
    cost_usd: Decimal | None = None
    unpriced_calls: int = 0
    baseline_usd: Decimal | None = None
    sources: frozenset[str] = frozenset()

    def __add__(self, other: CostLine) -> CostLine:
        if not other.calls:
            return self
        if not self.calls:
            return other
        baseline = (
            None
            if self.baseline_usd is None or other.baseline_usd is None
            else self.baseline_usd + other.baseline_usd
        )
        return CostLine(
            calls=self.calls + other.calls,
            tokens=self.tokens + other.tokens,
            cost_usd=_add_money(self.cost_usd, other.cost_usd),
            unpriced_calls=self.unpriced_calls + other.unpriced_calls,
            baseline_usd=baseline,
            sources=self.sources | other.sources,
        )

    @property
    def complete(self) -> bool:
        """Every call's cost is known."""
        return self.cost_usd is not None and self.unpriced_calls == 0

    @property
    def comparable(self) -> bool:
        """Cost and baseline both fully known: this line counts towards the savings."""
        return self.complete and self.baseline_usd is not None

    @property
    def savings_ratio(self) -> float | None:
        """Share of the baseline saved (negative: routing cost more); None when not comparable."""
        if not self.comparable or not self.baseline_usd:
            return None
        assert self.cost_usd is not None and self.baseline_usd is not None
        return float((self.baseline_usd - self.cost_usd) / self.baseline_usd)


@dataclass(frozen=True, slots=True)
class ModelCost:
    """One agent's calls on one provider/model (the model that answered, after any failover)."""

    provider: str | None
    model: str | None
    line: CostLine

    @property
    def label(self) -> str:
        if self.provider and self.model:
            return f"{self.provider}/{self.model}"
        return self.model or self.provider or "(unknown model)"


@dataclass(frozen=True, slots=True)
class AgentCost:
    """One agent across every session it ran in, nested delegations included."""

    agent: str
    tier: str | None
    sessions: int
    models: tuple[ModelCost, ...]

    @property
    def line(self) -> CostLine:
        return sum((m.line for m in self.models), CostLine())


@dataclass(frozen=True, slots=True)
class Comparison:
    """Savings over the calls whose cost and baseline are both known."""

    calls: int = 0
    cost_usd: Decimal = Decimal(0)
    baseline_usd: Decimal = Decimal(0)

    @property
    def savings_usd(self) -> Decimal | None:
        return self.baseline_usd - self.cost_usd if self.calls else None

    @property
    def savings_ratio(self) -> float | None:
        """Share of the baseline saved; None when nothing could be compared."""
        if not self.calls or not self.baseline_usd:
            return None
        return float((self.baseline_usd - self.cost_usd) / self.baseline_usd)


@dataclass(frozen=True, slots=True)
class CapUse:
    """One spend cap and the spend against it when the root session ended."""

    name: str
    cap_usd: Decimal
    spend_usd: Decimal

    @property
    def fraction(self) -> float | None:
        return float(self.spend_usd / self.cap_usd) if self.cap_usd > 0 else None


_MAX_CAPS = 8


@dataclass(frozen=True, slots=True)
class BudgetUse:
    """The ``budget`` part of a cost payload: each cap's spend, and the calls of unknown cost."""

    caps: tuple[CapUse, ...]
    unknown_calls: int = 0
    at_cap_policy: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "caps": [{"cap": c.name, "cap_usd": money(c.cap_usd), "spend_usd": money(c.spend_usd)} for c in self.caps],
            "unknown_calls": self.unknown_calls,
            "at_cap_policy": self.at_cap_policy,
        }

    @classmethod
    def from_payload(cls, data: Any, where: str) -> BudgetUse:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: not a mapping")
        raw_caps = data.get("caps") or []
        if not isinstance(raw_caps, list) or len(raw_caps) > _MAX_CAPS:
            raise ValueError(f"{where}.caps: not a list of at most {_MAX_CAPS} caps")
        caps = []
        for i, raw in enumerate(raw_caps):
            at = f"{where}.caps[{i}]"
            if not isinstance(raw, Mapping) or not isinstance(raw.get("cap"), str):
                raise ValueError(f"{at}: not a cap")
            cap, spend = _money_from(raw.get("cap_usd"), f"{at}.cap_usd"), _money_from(raw.get("spend_usd"), f"{at}.spend_usd")
            if cap is None or spend is None:
                raise ValueError(f"{at}: cap_usd and spend_usd are required")
            caps.append(CapUse(raw["cap"][:40], cap, spend))
        unknown = data.get("unknown_calls", 0)
        if isinstance(unknown, bool) or not isinstance(unknown, int) or not 0 <= unknown < 10**12:
            raise ValueError(f"{where}.unknown_calls: not a count")
        return cls(tuple(caps), unknown, _opt_str(data.get("at_cap_policy"), f"{where}.at_cap_policy"))


@dataclass(frozen=True, slots=True)
class Incomplete:
    """What a summary may be missing: its root ended while sessions of its tree still ran.

    ``sessions_running`` sessions had not finished when the summary was taken (children not
    ended, and the root itself when its loop was still going); each may still make calls.
    ``calls_in_flight`` calls had been sent without an answer yet. The summary counts every
    call answered until then.
    """

    sessions_running: int
    calls_in_flight: int

    def __add__(self, other: "Incomplete") -> "Incomplete":
        return Incomplete(
            self.sessions_running + other.sessions_running,
            self.calls_in_flight + other.calls_in_flight,
        )

    def to_payload(self) -> dict[str, int]:
        return {"sessions_running": self.sessions_running, "calls_in_flight": self.calls_in_flight}

    @classmethod
    def from_payload(cls, data: Any, where: str) -> "Incomplete":
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: not a mapping")
        counts = []
        for key in ("sessions_running", "calls_in_flight"):
            value = data.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**12:
                raise ValueError(f"{where}.{key}: not a count")
            counts.append(value)
        return cls(*counts)


@dataclass(frozen=True, slots=True)
class CostSummary:
    """Cost per agent of one root session (or of several, see :func:`combine_summaries`).

    The baseline is the root session's model: what every token would have cost had no agent
    been routed elsewhere.
    """

    session_id: str | None
    baseline_provider: str | None
    baseline_model: str | None
    agents: tuple[AgentCost, ...]
    timestamp: str | None = None
    sessions: int = 1
    budget: BudgetUse | None = None
    """Spend against each cap at the end, when a spend cap was set (one session only)."""
    incomplete: Incomplete | None = None
    """Set when the root ended (cancelled) while sessions under it still ran: a lower bound."""

    @property
    def total(self) -> CostLine:
        return sum((a.line for a in self.agents), CostLine())

    @property
    def comparison(self) -> Comparison:
        calls, cost, baseline = 0, Decimal(0), Decimal(0)
        for agent in self.agents:
            for m in agent.models:
                if m.line.comparable:
                    assert m.line.cost_usd is not None and m.line.baseline_usd is not None
                    calls += m.line.calls
                    cost += m.line.cost_usd
                    baseline += m.line.baseline_usd
        return Comparison(calls, cost, baseline)

    @property
    def baseline_label(self) -> str | None:
        if self.baseline_provider and self.baseline_model:
            return f"{self.baseline_provider}/{self.baseline_model}"
        return self.baseline_model

    def to_payload(self) -> dict[str, Any]:
        """The ``model_router:cost`` payload (JSON-safe; money as decimal strings)."""
        payload = self._payload()
        if self.budget is not None:
            payload["budget"] = self.budget.to_payload()
        if self.incomplete is not None:
            payload["incomplete"] = self.incomplete.to_payload()
        return payload

    def _payload(self) -> dict[str, Any]:
        total, comparison = self.total, self.comparison
        return {
            "version": PAYLOAD_VERSION,
            "session_id": self.session_id,
            "currency": "USD",
            "baseline": {
                "provider": self.baseline_provider,
                "model": self.baseline_model,
                "priced": total.baseline_usd is not None,
            },
            "agents": [
                {
                    "agent": a.agent,
                    "tier": a.tier,
                    "sessions": a.sessions,
                    **_line_payload(a.line),
                    "models": [
                        {"provider": m.provider, "model": m.model, **_line_payload(m.line)}
                        for m in a.models
                    ],
                }
                for a in self.agents
            ],
            "totals": {
                **_line_payload(total),
                "compared_calls": comparison.calls,
                "compared_cost_usd": money(comparison.cost_usd),
                "compared_baseline_usd": money(comparison.baseline_usd),
                "savings_usd": money(comparison.savings_usd),
                "savings_ratio": _ratio(comparison.savings_ratio),
            },
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any], *, timestamp: str | None = None) -> CostSummary:
        """Read a ``model_router:cost`` payload back; ``ValueError`` names the bad field.

        Agent and grand totals are recomputed from the per-model lines, the single source.
        """
        if not isinstance(data, Mapping):
            raise ValueError("payload: not a mapping")
        baseline = data.get("baseline") or {}
        if not isinstance(baseline, Mapping):
            raise ValueError("baseline: not a mapping")
        agents_raw = data.get("agents")
        if not isinstance(agents_raw, list):
            raise ValueError("agents: not a list")
        agents = tuple(_agent_from(raw, f"agents[{i}]") for i, raw in enumerate(agents_raw))
        return cls(
            session_id=_opt_str(data.get("session_id"), "session_id"),
            baseline_provider=_opt_str(baseline.get("provider"), "baseline.provider"),
            baseline_model=_opt_str(baseline.get("model"), "baseline.model"),
            agents=agents,
            timestamp=timestamp or _opt_str(data.get("timestamp"), "timestamp"),
            budget=BudgetUse.from_payload(data["budget"], "budget") if data.get("budget") is not None else None,
            incomplete=Incomplete.from_payload(data["incomplete"], "incomplete")
            if data.get("incomplete") is not None
            else None,
        )


def combine_summaries(summaries: Iterable[CostSummary]) -> CostSummary:
    """Several root sessions as one summary: agents merged by name, models by provider/model.

    The baseline is kept when every session had the same one, else reported as ``None``
    (each session's baseline amounts still compare against its own root model).
    """
    items = list(summaries)
    agents: dict[str, dict[str, Any]] = {}
    baselines = {(s.baseline_provider, s.baseline_model) for s in items}
    for summary in items:
        for agent in summary.agents:
            slot = agents.setdefault(agent.agent, {"tiers": set(), "sessions": 0, "models": {}})
            slot["tiers"].add(agent.tier)
            slot["sessions"] += agent.sessions
            for m in agent.models:
                key = (m.provider, m.model)
                slot["models"][key] = slot["models"].get(key, CostLine()) + m.line
    merged = tuple(
        AgentCost(
            agent=name,
            tier=next(iter(slot["tiers"])) if len(slot["tiers"]) == 1 else None,
            sessions=slot["sessions"],
            models=tuple(ModelCost(p, m, line) for (p, m), line in slot["models"].items()),
        )
        for name, slot in agents.items()
    )
    provider, model = next(iter(baselines)) if len(baselines) == 1 else (None, None)
    return CostSummary(
        session_id=items[0].session_id if len(items) == 1 else None,
        baseline_provider=provider,
        baseline_model=model,
        agents=merged,
        sessions=sum(s.sessions for s in items),
        incomplete=sum((s.incomplete for s in items if s.incomplete), Incomplete(0, 0))
        if any(s.incomplete for s in items)
        else None,
    )


# -- payload helpers ----------------------------------------------------------------------------


def money(value: Decimal | None) -> str | None:
    """A decimal string without exponent or trailing zeros (``None`` stays ``None``)."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _line_payload(line: CostLine) -> dict[str, Any]:
    return {
        "calls": line.calls,
        "input_tokens": line.tokens.input,
        "output_tokens": line.tokens.output,
        "cache_read_tokens": line.tokens.cache_read,
        "cache_write_tokens": line.tokens.cache_write,
        "cost_usd": money(line.cost_usd),
        "unpriced_calls": line.unpriced_calls,
        "baseline_usd": money(line.baseline_usd),
        "cost_sources": sorted(line.sources),
    }


def _agent_from(raw: Any, where: str) -> AgentCost:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: not a mapping")
    name = raw.get("agent")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}.agent: missing")
    models_raw = raw.get("models")
    if not isinstance(models_raw, list):
        raise ValueError(f"{where}.models: not a list")
    models = []
    for i, m in enumerate(models_raw):
        here = f"{where}.models[{i}]"
        if not isinstance(m, Mapping):
            raise ValueError(f"{here}: not a mapping")
        models.append(
            ModelCost(
                provider=_opt_str(m.get("provider"), f"{here}.provider"),
                model=_opt_str(m.get("model"), f"{here}.model"),
                line=_line_from(m, here),
            )
        )
    return AgentCost(
        agent=name,
        tier=_opt_str(raw.get("tier"), f"{where}.tier"),
        sessions=_count(raw.get("sessions", 1), f"{where}.sessions"),
        models=tuple(models),
    )


def _line_from(raw: Mapping[str, Any], where: str) -> CostLine:
    sources = raw.get("cost_sources") or []
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ValueError(f"{where}.cost_sources: not a list of names")
    return CostLine(
        calls=_count(raw.get("calls", 0), f"{where}.calls"),
        tokens=Tokens(
            *(
                _count(raw.get(f"{k}_tokens", 0), f"{where}.{k}_tokens")
                for k in ("input", "output", "cache_read", "cache_write")
            )
        ),
        cost_usd=_money_from(raw.get("cost_usd"), f"{where}.cost_usd"),
        unpriced_calls=_count(raw.get("unpriced_calls", 0), f"{where}.unpriced_calls"),
        baseline_usd=_money_from(raw.get("baseline_usd"), f"{where}.baseline_usd"),
        sources=frozenset(sources),
    )


MAX_COUNT = 10**15
"""Calls and tokens read back from a file are below this (a quadrillion tokens is junk)."""
MAX_EXPONENT = 30
"""Amounts read back are between 1e-30 and 1e30 USD (or zero): printing stays bounded."""


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_COUNT:
        raise ValueError(f"{where}: not a count: {str(value)[:40]}")
    return value


def _money_from(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{where}: not a decimal string: {value!r}")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValueError(f"{where}: not a decimal string: {str(value)[:40]}") from None
    if not amount.is_finite():
        raise ValueError(f"{where}: not a finite amount: {value!r}")
    if amount and abs(amount.adjusted()) > MAX_EXPONENT:
        raise ValueError(f"{where}: amount out of range: {str(value)[:40]}")
    return amount


def _opt_str(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{where}: not a string: {value!r}")
