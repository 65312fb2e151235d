"""A catalog-backed provider that answers offline, records every call, and fails on request.

It follows amplifier-core's ``Provider`` protocol (``name``, ``get_info()``, ``list_models()``,
``complete(request, **kwargs)``, ``parse_tool_calls(response)``) and emits ``llm:request`` /
``llm:response`` like the real providers. The model of each call is ``kwargs["model"]`` (how
provider-anthropic and provider-openai read it), else ``request.model`` (how the Copilot provider
reads it), else ``default_model``. Answers follow the prompt's script (:mod:`.script`); config
keys and faults are in :mod:`.sim_config`.

Mounting: the module mounts its provider at ``model-router-sim``, the default mount name the
kernel derives from the module id ``provider-model-router-sim``. Give every plan entry an
``instance_id`` (``offline_mount_plan`` uses the provider's name) and the kernel remaps it there,
so four providers from this one module mount as ``anthropic``, ``openai``, ``gemini`` and
``github-copilot``, exactly as a multi-account setup does with a real provider module.

Its ``base_url`` (``sim://offline/<name>/<digest>``) stands in for an endpoint: it changes with
the catalog and the ``list_models`` mode, so caches keyed by endpoint never mix two scenarios.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from decimal import Decimal
from typing import Any

from amplifier_core import llm_errors
from amplifier_core.message_models import (
    ChatRequest,
    ChatResponse,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCall,
    ToolCallBlock,
    Usage,
)
from amplifier_core.models import ModelInfo, Pricing, ProviderInfo

from ..cost.summary import Tokens
from ..errors import InputError, UsageError
from ..resolve.prices import price_of
from ..resolve.snapshot import CatalogModel
from .recorder import RECORDER, CatalogCall, CompletionCall
from .script import ScriptError, message_text, next_reply
from .sim_config import SimProviderConfig

__all__ = ["MOUNT_NAME", "SimProvider", "mount"]

__amplifier_module_type__ = "provider"

MOUNT_NAME = "model-router-sim"
"""Default mount name (module id without ``provider-``); the kernel renames it to instance_id."""

_JUNK: tuple[Any, ...] = (None, 42, "", {"display_name": "no id"}, "claude-*")


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount one offline provider; a bad config fails the mount with a :class:`UsageError`."""
    try:
        settings = SimProviderConfig.from_mapping(config or {})
    except InputError as err:
        name = (config or {}).get("name") or MOUNT_NAME
        raise err.located(field_prefix=f"provider {name!r} config", kind=UsageError) from None
    await coordinator.mount("providers", SimProvider(settings, coordinator), name=MOUNT_NAME)


class SimProvider:
    """One provider instance (a fresh one per session, as with real providers)."""

    catalog_complete = True
    """It serves exactly its snapshot: an exact name it does not list is skipped, not sent."""

    def __init__(self, settings: SimProviderConfig, coordinator: Any = None) -> None:
        self.settings = settings
        self.coordinator = coordinator
        self.priority = settings.priority
        self.default_model = settings.default_model
        self.config = {"priority": settings.priority, "default_model": settings.default_model}
        self.base_url = _endpoint(settings)
        self._by_id = {m.id.lower(): m for m in settings.models}
        self._infos: list[ModelInfo] | None = None  # built on the first list_models()
        self._calls = 0
        self._failures = 0

    @property
    def name(self) -> str:
        return self.settings.name

    def get_info(self) -> ProviderInfo:
        model = self._by_id.get(self.default_model.lower())
        defaults: dict[str, Any] = {"model": self.default_model}
        if model:
            defaults |= {
                "context_window": model.context_window,
                "max_output_tokens": model.max_output_tokens,
            }
        return ProviderInfo(
            id=self.name,
            display_name=f"{self.name} (offline, {self.settings.catalog_label})",
            credential_env_vars=[],
            capabilities=["tools"],
            defaults=defaults,
        )

    async def list_models(self) -> list[Any]:
        """The catalog as ``ModelInfo`` (with pricing), or the configured misbehaviour."""
        behaviour = self.settings.list_models
        RECORDER.record_catalog(CatalogCall(self._session_id(), self.name, behaviour.mode))
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.mode == "raise":
            raise behaviour.error(behaviour.message, provider=self.name)
        if behaviour.mode == "hang":
            await asyncio.sleep(behaviour.hang_seconds)
            raise llm_errors.LLMTimeoutError("model catalog timed out", provider=self.name)
        if behaviour.mode == "empty":
            return []
        if behaviour.mode == "junk":
            return list(_JUNK)
        if behaviour.mode == "strings":
            return [m.id for m in self.settings.models]
        if self._infos is None:
            self._infos = [_model_info(m) for m in self.settings.models]
        return [info.model_copy() for info in self._infos]

    async def complete(self, request: ChatRequest, **kwargs: Any) -> ChatResponse:
        """Answer the request's script on the chosen model (or raise the configured fault)."""
        model, source = _chosen_model(request, kwargs, self.default_model)
        self._calls += 1
        call_index = self._calls
        foreign = _foreign_state(request.messages, self.name)
        await self._emit(
            "llm:request",
            {
                "provider": self.name,
                "model": model,
                "message_count": len(request.messages),
            },
        )
        started = time.monotonic()
        wall = time.time()
        try:
            if self.settings.latency:
                await asyncio.sleep(self.settings.latency)
            self._raise_if_refused(model, call_index, foreign)
            response = self._answer(request, model, call_index)
        except llm_errors.LLMError as err:
            self._record(model, source, call_index, foreign, error=type(err).__name__, started=wall)
            await self._emit(
                "llm:response",
                {
                    "provider": self.name,
                    "model": model,
                    "status": "error",
                    "error": str(err),
                    "duration_ms": _ms(started),
                },
            )
            raise
        usage = response.usage
        self._record(model, source, call_index, foreign, response=response, started=wall)
        await self._emit(
            "llm:response",
            {
                "provider": self.name,
                "model": model,
                "status": "ok",
                "duration_ms": _ms(started),
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "cache_read_tokens": usage.cache_read_tokens,
                    "cost_usd": None if usage.cost_usd is None else str(usage.cost_usd),
                },
            },
        )
        return response

    def parse_tool_calls(self, response: ChatResponse) -> list[ToolCall]:
        return list(response.tool_calls or [])

    def _raise_if_refused(self, model: str, call_index: int, foreign: tuple[str, ...]) -> None:
        fault = self.settings.complete_error
        if fault and fault.applies(call_index, model, self._failures):
            self._failures += 1
            raise fault.build(self.name, model)
        if model.lower() not in self._by_id:
            raise llm_errors.NotFoundError(
                f"{self.name}: model {model!r} not found",
                provider=self.name,
                model=model,
                status_code=404,
            )
        if self.settings.thinking and foreign:
            raise llm_errors.InvalidRequestError(
                f"{self.name}: history holds state it did not sign: {', '.join(foreign)}",
                provider=self.name,
                model=model,
                status_code=400,
            )

    def _answer(self, request: ChatRequest, model: str, call_index: int) -> ChatResponse:
        offered = [tool.name for tool in request.tools or []]
        try:
            text, calls = next_reply(request.messages, offered, label=f"{self.name}/{model}")
        except ScriptError as err:
            raise llm_errors.InvalidRequestError(
                f"{self.name}: {err}", provider=self.name, model=model, status_code=400
            ) from None
        content: list[Any] = []
        metadata: dict[str, Any] = {"provider": self.name, "model": model}
        if self.settings.thinking:
            content.append(
                ThinkingBlock(
                    thinking="planning the answer", signature=f"sim:{self.name}:{call_index}"
                )
            )
            metadata[f"{self.name}:response_id"] = f"resp_{self._session_id()[:8]}_{call_index}"
        if calls:
            content += [ToolCallBlock(id=c.id, name=c.name, input=c.arguments) for c in calls]
            text = "".join(str(c.arguments) for c in calls)
        else:
            content.append(TextBlock(text=text))
        return ChatResponse(
            content=content,
            tool_calls=calls or None,
            usage=self._usage(request.messages, text, model),
            finish_reason="tool_use" if calls else "end_turn",
            metadata=metadata,
        )

    def _usage(self, messages: list[Message], output_text: str, model: str) -> Usage:
        """Deterministic token counts (~4 characters a token).

        The newest message is fresh input; everything before it is reported as a cache read,
        as prompt caching on a stable prefix would. As Amplifier's provider contract says,
        ``input_tokens`` includes the cache reads; ``total_tokens`` is input plus output.
        """
        if self.settings.usage is not None:
            (fresh, output), cached = self.settings.usage, 0
        else:
            fresh = _tokens(_full_text(messages[-1])) if messages else 0
            cached = sum(_tokens(_full_text(m)) for m in messages[:-1])
            output = _tokens(output_text)
        cost = None
        record = self._by_id.get(model.lower())
        if self.settings.report_cost and record and record.pricing:
            cost = _cost(record, fresh, cached, output)
        return Usage(
            input_tokens=fresh + cached,
            output_tokens=output,
            total_tokens=fresh + cached + output,
            cache_read_tokens=cached,
            cost_usd=cost,
        )

    def _record(
        self,
        model: str,
        source: str,
        call_index: int,
        foreign: tuple[str, ...],
        *,
        error: str | None = None,
        response: ChatResponse | None = None,
        started: float | None = None,
    ) -> None:
        usage = response.usage if response else None
        RECORDER.record_completion(
            CompletionCall(
                session_id=self._session_id(),
                parent_id=getattr(self.coordinator, "parent_id", None),
                provider=self.name,
                model=model,
                model_source=source,
                call_index=call_index,
                error=error,
                tool_calls=tuple(c.name for c in (response.tool_calls or [])) if response else (),
                input_tokens=usage.input_tokens if usage else 0,
                output_tokens=usage.output_tokens if usage else 0,
                cache_read_tokens=(usage.cache_read_tokens or 0) if usage else 0,
                cost_usd=usage.cost_usd if usage else None,
                foreign_state=foreign,
                started=started,
            )
        )

    def _session_id(self) -> str:
        return str(getattr(self.coordinator, "session_id", None) or "")

    async def _emit(self, event: str, data: dict[str, Any]) -> None:
        hooks = getattr(self.coordinator, "hooks", None)
        if hooks is not None:
            await hooks.emit(event, data)


def _endpoint(settings: SimProviderConfig) -> str:
    """A stand-in endpoint naming this provider's catalog and catalog behaviour.

    Catalog caches key providers by endpoint (children mount fresh instances); two offline
    providers share a key only when they would list the same models the same way.
    """
    identity = "|".join(
        [settings.catalog_label, settings.list_models.mode, *(m.id for m in settings.models)]
    )
    return f"sim://offline/{settings.name}/{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def _chosen_model(request: ChatRequest, kwargs: dict[str, Any], default: str) -> tuple[str, str]:
    if kwargs.get("model"):
        return str(kwargs["model"]), "kwargs"
    if request.model:
        return request.model, "request"
    return default, "default"


def _model_info(model: CatalogModel) -> ModelInfo:
    pricing = None
    if model.pricing is not None:  # the kernel's rates are floats (display only)
        p = model.pricing
        pricing = Pricing(
            input_per_million=float(p.input_per_million),
            output_per_million=float(p.output_per_million),
            cache_read_per_million=_float_or_none(p.cache_read_per_million),
            cache_write_per_million=_float_or_none(p.cache_write_per_million),
            currency=p.currency,
        )
    return ModelInfo(
        id=model.id,
        display_name=model.display_name,
        context_window=model.context_window,
        max_output_tokens=model.max_output_tokens,
        capabilities=list(model.capabilities),
        pricing=pricing,
    )


def _float_or_none(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _cost(model: CatalogModel, fresh: int, cached: int, output: int) -> Decimal | None:
    """List-price cost, by the one cost formula (:meth:`..resolve.prices.Price.cost`)."""
    price = price_of(model)
    if price is None:
        return None
    return price.cost(Tokens(input=fresh + cached, output=output, cache_read=cached))


def _foreign_state(messages: list[Message], name: str) -> tuple[str, ...]:
    """Thinking signatures and response ids in the history that another provider produced."""
    found: list[str] = []
    own = f"sim:{name}:"
    for message in messages:
        if not isinstance(message.content, str):
            for block in message.content:
                if block.type == "thinking" and not (block.signature or "").startswith(own):
                    found.append(f"thinking:{block.signature or 'unsigned'}")
                elif block.type in ("redacted_thinking", "reasoning"):
                    found.append(block.type)
        for key in message.metadata or {}:
            if key.endswith("response_id") and not key.startswith(f"{name}:"):
                found.append(key)
    return tuple(found)


def _full_text(message: Message) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = [message_text(message)]
    for block in message.content:
        if block.type == "tool_call":
            parts.append(f"{block.name}{block.input}")
        elif block.type == "tool_result":
            parts.append(str(block.output))
        elif block.type == "thinking":
            parts.append(block.thinking)
    return "\n".join(parts)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
