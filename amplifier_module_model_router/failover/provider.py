"""A provider that keeps the whole resolved chain alive while an agent runs.

The standard loops pick one provider per ``execute()`` (lowest ``priority``) and re-raise any
``LLMError`` without retrying. Mounted with a priority below 0, :class:`FailoverProvider` is
that pick; on each ``complete()`` it calls the first candidate of the chain that is not
cooling, with the candidate's model both as ``model=`` (provider-anthropic, provider-openai,
provider-gemini read it there) and on a copy of the request (provider-github-copilot reads
``request.model``). Errors the policy (:mod:`.policy`) marks for failover cool the
candidate in the shared registry, emit ``model_router:failover`` and move on; others surface
unchanged; when the chain is exhausted the last error surfaces.

Tools are never run twice: failover wraps ``complete()`` only, and ``complete()`` never runs
tools. The loop executes the tool calls of the one response that was returned.

A caller that names a model (``model=`` or ``request.model``) gets the candidates serving that
model tried first; a model no candidate serves is ignored, because the chain's models are
the only ones known to exist on these providers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from amplifier_core.message_models import ChatRequest, ChatResponse, ToolCall
from amplifier_core.models import ModelInfo, ProviderInfo

from ..events import FAILOVER
from .cooldown import CooldownRegistry, shared_cooldowns
from .history import ROUTER_METADATA_KEY, clean_for_vendor, vendor_of
from .policy import DEFAULT_POLICY, CooldownPolicy, Decision, classify

__all__ = ["Emit", "FailoverCandidate", "FailoverProvider", "lower_internal_retries"]

logger = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], Awaitable[Any]]
Gate = Callable[["FailoverProvider"], Awaitable[None]]
"""Called before every ``complete()``: may swap the chain (:meth:`FailoverProvider.replace_candidates`)
or raise to refuse the call (spend caps, :mod:`..budget.gate`)."""
_ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class FailoverCandidate:
    """One link of the chain: a mounted provider (by mount name) and a concrete model."""

    name: str
    provider: Any
    model: str
    context_window: int | None = None
    max_output_tokens: int | None = None
    vendor: str | None = None
    """History family; derived with :func:`history.vendor_of` when not given."""
    config_scope: str | None = None
    """Set when this provider instance runs under a config a preference changed (a caller's
    ``temperature``, say): its failures then cool ``name~config_scope``, never the shared
    ``name`` entry that sessions on the provider's own config rely on."""

    identity: str | None = None
    """The provider account cooldowns are kept under (``ProviderEntry.identity``); the mount
    name when not given."""

    @property
    def cooldown_name(self) -> str:
        """The registry key this candidate's failures are recorded under: its account, scoped
        by ``config_scope`` when a preference changed its config."""
        base = self.identity or self.name
        return f"{base}~{self.config_scope}" if self.config_scope else base


def _provider_defaults(provider: Any) -> Mapping[str, Any]:
    try:
        defaults = getattr(provider.get_info(), "defaults", None)
    except Exception:  # a candidate's metadata must never break the chain
        return {}
    return defaults if isinstance(defaults, Mapping) else {}


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class FailoverProvider:
    """Provider-protocol front for an ordered chain of candidates with a shared cooldown."""

    def __init__(
        self,
        candidates: Sequence[FailoverCandidate],
        *,
        registry: CooldownRegistry | None = None,
        emit: Emit | None = None,
        agent: str | None = None,
        name: str = "model-router",
        priority: int = -1,
        policy: CooldownPolicy = DEFAULT_POLICY,
        gate: Gate | None = None,
    ) -> None:
        self._set_candidates(candidates)
        self._name = name
        self._emit = emit
        self.gate = gate
        self.registry = registry if registry is not None else shared_cooldowns()
        self.policy = policy
        self.agent = agent
        self.priority = priority
        self.answered: tuple[str, str] | None = None
        """``(provider, model)`` of the last candidate that answered."""
        self.failovers = 0
        """Switches this instance made (one per ``model_router:failover`` event)."""

    def _set_candidates(self, candidates: Sequence[FailoverCandidate]) -> None:
        if not candidates:
            raise ValueError("FailoverProvider needs at least one candidate")
        self._candidates = tuple(candidates)
        self._vendors: list[str | None] = [c.vendor or None for c in self._candidates]
        """Each candidate's vendor, worked out when it is first called (most never are)."""
        self._by_answer = {(c.name, c.model): i for i, c in reversed(list(enumerate(self._candidates)))}
        self._info: ProviderInfo | None = None

    def replace_candidates(self, candidates: Sequence[FailoverCandidate]) -> None:
        """Run on another chain from the next call on (a spend cap moved the agent down a tier).

        The history keeps its messages; vendor state the new chain cannot read is cleaned from
        what is sent, as on any failover.
        """
        self._set_candidates(candidates)

    # -- Provider protocol -----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def candidates(self) -> tuple[FailoverCandidate, ...]:
        return self._candidates

    @property
    def default_model(self) -> str:
        """The model that answered last, else the chain's first (read by tools that show it)."""
        return self.answered[1] if self.answered else self._candidates[0].model

    def get_info(self) -> ProviderInfo:
        """The chain as one provider: its smallest context window, so history fits every link."""
        if self._info is None:
            self._info = self._build_info()
        return self._info

    async def list_models(self) -> list[ModelInfo]:
        """The chain's models, from what the spawner already resolved (no catalog lookups)."""
        seen: set[str] = set()
        models: list[ModelInfo] = []
        for cand in self._candidates:
            if cand.model in seen:
                continue
            seen.add(cand.model)
            window, output = self._limits(cand)
            models.append(
                ModelInfo(
                    id=cand.model,
                    display_name=f"{cand.model} ({cand.name})",
                    context_window=window or 0,
                    max_output_tokens=output or 0,
                )
            )
        return models

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        """Call the first healthy candidate; fail over per the error policy (module doc)."""
        if self.gate is not None:
            await self.gate(self)
        order = self._order(kwargs.get("model") or request.model)
        sync = getattr(self.registry, "sync", None)
        if sync is not None:  # what other processes learnt about this chain (bounded, may be a no-op)
            keys = [self._key(i) for i in order]
            keys += [(c.identity or c.name, c.model) for c in (self._candidates[i] for i in order) if c.config_scope]
            await sync(keys)
        tried: set[int] = set()
        forced_used = False
        last_error: Exception | None = None
        index, forced = self._next(order, tried, allow_forced=True)
        while index is not None:
            tried.add(index)
            forced_used = forced_used or forced
            try:
                response = await self._call(index, request, kwargs)
            except Exception as error:
                decision = classify(error, self.policy)
                if not decision.failover:
                    raise
                last_error = error
                cooldown = self._cool(index, decision, error)
                following, forced = self._next(order, tried, allow_forced=not forced_used)
                if following is not None:
                    await self._announce(index, following, error, decision, cooldown)
                index = following
                continue
            self.registry.settle(*self._key(index), proven=forced)
            return self._stamp(index, response)
        assert last_error is not None  # the first pick is never None: the chain is not empty
        raise last_error

    def parse_tool_calls(self, response: ChatResponse) -> list[ToolCall]:
        """Parse with the candidate that produced ``response`` (its own tool-call format)."""
        provider = self._candidates[self._answerer(response)].provider
        parse = getattr(provider, "parse_tool_calls", None)
        if parse is None:
            return list(response.tool_calls or [])
        return parse(response)

    # -- internals -----------------------------------------------------------------------

    def _order(self, preferred: str | None) -> list[int]:
        indexes = list(range(len(self._candidates)))
        if not preferred:
            return indexes
        wanted = preferred.casefold()
        first = [i for i in indexes if self._candidates[i].model.casefold() == wanted]
        if not first:
            logger.debug("model-router: requested model %r is not in the chain; ignoring it", preferred)
        return first + [i for i in indexes if i not in first]

    def _next(self, order: list[int], tried: set[int], *, allow_forced: bool) -> tuple[int | None, bool]:
        """``(index, forced)``: the next candidate the registry lets us use; if every one left
        is cooling, the one freeing first (``forced``, at most once per call)."""
        left = [i for i in order if i not in tried]
        for index in left:
            if self._shared_cooling(index):
                continue
            if self.registry.claim(*self._key(index)):
                return index, False
        if not allow_forced:
            return None, False
        return self.registry.soonest_free(left, key=self._key), True

    def _vendor(self, index: int) -> str:
        vendor = self._vendors[index]
        if vendor is None:
            cand = self._candidates[index]
            vendor = self._vendors[index] = vendor_of(cand.name, cand.provider)
        return vendor

    def _key(self, index: int) -> tuple[str, str | None]:
        cand = self._candidates[index]
        return cand.cooldown_name, cand.model

    def _shared_cooling(self, index: int) -> bool:
        """A config-scoped candidate still honours the shared entry (read, never written)."""
        cand = self._candidates[index]
        return bool(cand.config_scope) and self.registry.remaining(cand.identity or cand.name, cand.model) > 0

    async def _call(self, index: int, request: ChatRequest, kwargs: dict[str, Any]) -> ChatResponse:
        cand = self._candidates[index]
        outgoing = clean_for_vendor(request.model_copy(update={"model": cand.model}), self._vendor(index))
        return await cand.provider.complete(outgoing, **{**kwargs, "model": cand.model})

    def _cool(self, index: int, decision: Decision, error: Exception) -> float:
        cand = self._candidates[index]
        model = cand.model if decision.scope == "model" else None
        reason = f"{decision.reason} ({type(error).__name__})"
        return self.registry.cool(cand.cooldown_name, model, seconds=decision.seconds, reason=reason)

    async def _announce(
        self, index: int, following: int, error: Exception, decision: Decision, cooldown: float
    ) -> None:
        self.failovers += 1
        source, target = self._candidates[index], self._candidates[following]
        payload = {
            "agent": self.agent,
            "from": {"provider": source.name, "model": source.model},
            "to": {"provider": target.name, "model": target.model},
            "error_type": type(error).__name__,
            "error": str(error)[:_ERROR_TEXT_LIMIT],
            "reason": decision.reason,
            "cooldown_s": round(cooldown, 3),
            "cooldown_scope": decision.scope,
            "cooled": source.cooldown_name,
        }
        logger.info(
            "model-router: %s failed over %s/%s -> %s/%s (%s, cooling %.0fs)",
            self.agent or "agent", source.name, source.model, target.name, target.model,
            payload["error_type"], cooldown,
        )
        if self._emit is None:
            return
        try:
            await self._emit(FAILOVER, payload)
        except Exception:  # observers must never break the agent's run
            logger.warning("model-router: emitting %s failed", FAILOVER, exc_info=True)

    def _stamp(self, index: int, response: ChatResponse) -> ChatResponse:
        cand = self._candidates[index]
        self.answered = (cand.name, cand.model)
        tag = {"provider": cand.name, "model": cand.model, "vendor": self._vendor(index)}
        try:
            response.metadata = {**(response.metadata or {}), ROUTER_METADATA_KEY: tag}
        except (AttributeError, TypeError, ValueError):
            logger.debug("model-router: cannot tag a %s response", type(response).__name__)
        return response

    def _answerer(self, response: Any) -> int:
        tag = (getattr(response, "metadata", None) or {}).get(ROUTER_METADATA_KEY)
        if isinstance(tag, Mapping):
            provider, model = tag.get("provider"), tag.get("model")
            found = (
                self._by_answer.get((provider, model))
                if isinstance(provider, str) and isinstance(model, str)
                else None
            )
            if found is not None:
                return found
        if self.answered is not None:
            return self._by_answer.get(self.answered, 0)
        return 0

    def _limits(self, cand: FailoverCandidate) -> tuple[int | None, int | None]:
        defaults = _provider_defaults(cand.provider) if not (cand.context_window and cand.max_output_tokens) else {}
        window = _positive_int(cand.context_window) or _positive_int(defaults.get("context_window"))
        output = _positive_int(cand.max_output_tokens) or _positive_int(defaults.get("max_output_tokens"))
        return window, output

    def _build_info(self) -> ProviderInfo:
        limits = [self._limits(c) for c in self._candidates]
        windows = [w for w, _ in limits if w]
        defaults: dict[str, Any] = {"model": self._candidates[0].model}
        if windows:
            window = min(windows)
            defaults["context_window"] = window
            # Context managers budget ``context_window - max_output_tokens``: report the output
            # size that makes that budget fit the tightest link (min over w_i - o_i).
            if any(o for _, o in limits):
                tightest = min(w - (o or 0) for w, o in limits if w)
                defaults["max_output_tokens"] = max(window - tightest, 0)
        capabilities: list[str] | None = None
        for cand in self._candidates:
            try:
                own = list(getattr(cand.provider.get_info(), "capabilities", []) or [])
            except Exception:
                continue
            capabilities = own if capabilities is None else [c for c in capabilities if c in own]
        return ProviderInfo(
            id="model-router-failover",
            display_name="Model router failover chain: "
            + " -> ".join(f"{c.name}/{c.model}" for c in self._candidates),
            capabilities=capabilities or [],
            defaults=defaults,
        )


def lower_internal_retries(
    config: Mapping[str, Any] | None, *, max_retries: int = 1, max_retry_delay: float = 5.0
) -> dict[str, Any]:
    """A copy of a candidate provider's config with its own retries lowered, for quick failover.

    The real providers share these keys: ``max_retries`` (anthropic and openai default 5,
    github-copilot 2), ``max_retry_delay`` (seconds; provider-openai fails fast when a 429's
    retry-after exceeds it) and ``overloaded_delay_multiplier`` (anthropic and copilot, 10x on
    529). Values already lower are kept; anthropic's own ``fallback_on_overload`` model ladder
    is switched off when present, because the chain is the fallback and the answer must come
    from the model we record. Unknown keys are never added except these documented ones.
    """
    lowered = dict(config or {})

    def lower(key: str, ceiling: float, cast: type) -> None:
        try:
            current = cast(lowered[key]) if key in lowered else None
        except (TypeError, ValueError):
            current = None
        lowered[key] = ceiling if current is None or current > ceiling else current

    lower("max_retries", max_retries, int)
    lower("max_retry_delay", max_retry_delay, float)
    lower("overloaded_delay_multiplier", 2.0, float)
    if lowered.get("fallback_on_overload"):
        lowered["fallback_on_overload"] = False
    return lowered
