"""The offline provider's module config: its catalog, its defaults, and the faults it plays.

Everything a test or ``verify`` wants a provider to do is config, so it survives the trip into
child sessions (spawners copy the parent's provider entries into the child's mount plan).

Keys (all optional except ``name``)::

    name: anthropic                 # the provider's name (ProviderInfo.id, recorder, errors)
    priority: 100                   # selection priority, lower wins (loops read .priority)
    default_model: claude-sonnet-4-6  # else the catalog section's default
    catalog_file: path/to/file.yaml # a snapshot file (its section ``name``); default: embedded
    models: [{id: ..., context_window: ..., max_output_tokens: ..., pricing: {...}}]
                                    # inline catalog instead of a file (same fields)
    latency: 0.0                    # seconds each complete() takes
    report_cost: false              # put Usage.cost_usd (from catalog pricing) on responses
    usage: null                     # fixed token counts per call instead of ~4 characters a
                                    # token: {input_tokens: 100000, output_tokens: 2000}
                                    # (no cache reads), for scripted runs of known cost
    max_retries / max_retry_delay / overloaded_delay_multiplier
                                    # accepted like the real providers' retry knobs; ignored
    thinking: false                 # sign answers with a thinking block + response id, and
                                    # reject history holding another vendor's (InvalidRequestError)
    list_models:
      mode: ok                      # ok | strings | empty | junk | raise | hang
      error: ProviderUnavailableError  # for mode raise: any amplifier_core.llm_errors type
      message: "..."
      delay: 0.0                    # seconds before answering (any mode)
      hang_seconds: 3600            # for mode hang (cancellable)
    complete_error:                 # complete() raises, e.g. a 429 from the first call
      type: RateLimitError          # any amplifier_core.llm_errors type
      from_call: 1                  # 1-based call number (per provider instance) it starts at
      times: null                   # how many calls fail; null = every call from then on
      models: []                    # only for these model globs (empty = every model)
      retry_after: null

A ``complete()`` for a model the catalog does not list raises NotFoundError, as a real API does.
"""

from __future__ import annotations

import math
from inspect import signature
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amplifier_core import llm_errors

from ..errors import UsageError
from ..resolve.globs import check_glob, glob_matches
from ..resolve.snapshot import CatalogModel, load_catalog, parse_models, reject_unknown_keys

__all__ = ["CompleteFault", "ListModelsBehaviour", "SimProviderConfig", "llm_error_type"]

LIST_MODES = ("ok", "strings", "empty", "junk", "raise", "hang")
_KEYS = frozenset(
    {
        "name",
        "priority",
        "default_model",
        "models",
        "catalog_file",
        "latency",
        "report_cost",
        "usage",
        "thinking",
        # the real providers' retry knobs (failover lowers them in routed children); the
        # offline provider never retries, so it accepts and ignores them
        "max_retries",
        "max_retry_delay",
        "overloaded_delay_multiplier",
        "list_models",
        "complete_error",
    }
)
_LIST_KEYS = frozenset({"mode", "error", "message", "delay", "hang_seconds"})
_FAULT_KEYS = frozenset({"type", "from_call", "times", "models", "retry_after"})
_USUAL_STATUS = {
    "RateLimitError": 429,
    "QuotaExceededError": 429,
    "ProviderUnavailableError": 503,
    "NetworkError": None,
    "LLMTimeoutError": 408,
    "AuthenticationError": 401,
    "AccessDeniedError": 403,
    "NotFoundError": 404,
    "ContextLengthError": 413,
    "InvalidRequestError": 400,
    "ContentFilterError": 400,
}


def llm_error_type(name: Any, *, field: str) -> type[llm_errors.LLMError]:
    """The ``amplifier_core.llm_errors`` class called ``name``."""
    found = getattr(llm_errors, name, None) if isinstance(name, str) else None
    if not (isinstance(found, type) and issubclass(found, llm_errors.LLMError)):
        raise UsageError(f"{name!r} is not an amplifier_core.llm_errors error type", field=field)
    return found


@dataclass(frozen=True, slots=True)
class ListModelsBehaviour:
    """How ``list_models()`` answers."""

    mode: str = "ok"
    error: type[llm_errors.LLMError] = llm_errors.ProviderUnavailableError
    message: str = "model catalog unavailable"
    delay: float = 0.0
    hang_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class CompleteFault:
    """An error ``complete()`` raises instead of answering."""

    error: type[llm_errors.LLMError]
    from_call: int = 1
    times: int | None = None
    models: tuple[str, ...] = ()
    retry_after: float | None = None

    def applies(self, call_index: int, model: str, failures_so_far: int) -> bool:
        """Whether call number ``call_index`` (1-based) for ``model`` fails."""
        if call_index < self.from_call:
            return False
        if self.times is not None and failures_so_far >= self.times:
            return False
        return not self.models or any(glob_matches(p, model) for p in self.models)

    def build(self, provider: str, model: str) -> llm_errors.LLMError:
        """The exception, filled the way real providers fill theirs."""
        name = self.error.__name__
        kwargs: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "status_code": _USUAL_STATUS.get(name),
        }
        if self.retry_after is not None and "retry_after" in signature(self.error).parameters:
            kwargs["retry_after"] = self.retry_after
        return self.error(f"{provider}/{model}: simulated {name}", **kwargs)


@dataclass(frozen=True, slots=True)
class SimProviderConfig:
    """Validated provider config (see the module docstring for the keys)."""

    name: str
    priority: float
    default_model: str
    models: tuple[CatalogModel, ...]
    catalog_label: str
    latency: float = 0.0
    report_cost: bool = False
    usage: tuple[int, int] | None = None
    """Fixed (input, output) tokens per call; None: counted from the text."""
    thinking: bool = False
    list_models: ListModelsBehaviour = ListModelsBehaviour()
    complete_error: CompleteFault | None = None

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> SimProviderConfig:
        """Validate; raises :class:`UsageError` naming the key."""
        reject_unknown_keys(config, _KEYS, file=None, field=None)
        name = config.get("name")
        if not isinstance(name, str) or not name.strip():
            raise UsageError("missing provider 'name'", field="name")
        models, label, default = _catalog(config, name)
        default_model = config.get("default_model", default)
        if not isinstance(default_model, str) or not default_model.strip():
            raise UsageError("needs a model id (no catalog default)", field="default_model")
        fault = config.get("complete_error")
        return cls(
            name=name,
            priority=_number(config.get("priority", 100), "priority", allow_negative=True),
            default_model=default_model,
            models=models,
            catalog_label=label,
            latency=_number(config.get("latency", 0.0), "latency"),
            report_cost=_flag(config, "report_cost", False),
            usage=_fixed_usage(config.get("usage")),
            thinking=_flag(config, "thinking", False),
            list_models=_list_behaviour(config.get("list_models")),
            complete_error=_fault(fault) if fault is not None else None,
        )


def _catalog(
    config: Mapping[str, Any], name: str
) -> tuple[tuple[CatalogModel, ...], str, str | None]:
    if config.get("models") is not None:
        models = parse_models(config["models"], file=None, field="models")
        return models, "inline models", models[0].id
    snapshot = load_catalog(config.get("catalog_file"))
    models = snapshot.models(name)
    if not models:
        raise UsageError(
            f"catalog {snapshot.label} lists no provider {name!r}; it has "
            f"{', '.join(snapshot.providers)}",
            field="name",
        )
    return models, snapshot.label, snapshot.default_model(name)


def _fixed_usage(raw: Any) -> tuple[int, int] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise UsageError("must be a mapping with input_tokens and output_tokens", field="usage")
    reject_unknown_keys(raw, frozenset({"input_tokens", "output_tokens"}), file=None, field="usage")
    counts = []
    for key in ("input_tokens", "output_tokens"):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UsageError(f"must be a token count >= 0, got {value!r}", field=f"usage.{key}")
        counts.append(value)
    return counts[0], counts[1]


def _list_behaviour(raw: Any) -> ListModelsBehaviour:
    if raw is None:
        return ListModelsBehaviour()
    if isinstance(raw, str):
        raw = {"mode": raw}
    if not isinstance(raw, Mapping):
        raise UsageError("must be a mapping or a mode name", field="list_models")
    reject_unknown_keys(raw, _LIST_KEYS, file=None, field="list_models")
    mode = raw.get("mode", "ok")
    if mode not in LIST_MODES:
        raise UsageError(f"must be one of {', '.join(LIST_MODES)}", field="list_models.mode")
    values: dict[str, Any] = {
        "mode": mode,
        "delay": _number(raw.get("delay", 0.0), "list_models.delay"),
        "hang_seconds": _number(raw.get("hang_seconds", 3600.0), "list_models.hang_seconds"),
    }
    if "error" in raw:
        values["error"] = llm_error_type(raw["error"], field="list_models.error")
    if "message" in raw:
        values["message"] = str(raw["message"])
    return ListModelsBehaviour(**values)


def _fault(raw: Any) -> CompleteFault:
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, Mapping):
        raise UsageError("must be a mapping or an error type name", field="complete_error")
    reject_unknown_keys(raw, _FAULT_KEYS, file=None, field="complete_error")
    from_call = raw.get("from_call", 1)
    if isinstance(from_call, bool) or not isinstance(from_call, int) or from_call < 1:
        raise UsageError("must be a call number >= 1", field="complete_error.from_call")
    times = raw.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise UsageError("must be a count >= 1 or null", field="complete_error.times")
    models = raw.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise UsageError("must be a list of model globs", field="complete_error.models")
    for pattern in models:
        check_glob(pattern)
    retry_after = raw.get("retry_after")
    return CompleteFault(
        error=llm_error_type(raw.get("type", "RateLimitError"), field="complete_error.type"),
        from_call=from_call,
        times=times,
        models=tuple(models),
        retry_after=None
        if retry_after is None
        else _number(retry_after, "complete_error.retry_after"),
    )


def _number(value: Any, field: str, *, allow_negative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"must be a number, got {value!r}", field=field)
    if value < 0 and not allow_negative:
        raise UsageError(f"must not be negative, got {value!r}", field=field)
    return value


def _flag(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise UsageError(f"must be true or false, got {value!r}", field=key)
    return value
