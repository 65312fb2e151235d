"""Which provider errors fail over to the next candidate, what they cool, and for how long.

The providers translate their SDK errors into ``amplifier_core.llm_errors`` (and retry
internally first), so by the time an error reaches the failover provider it is final for that
candidate. The policy, in one table (checked top to bottom; subclasses before their bases):

====================================  =========  ========  ==================================
Error                                 Fail over  Cools     Cooldown
====================================  =========  ========  ==================================
ContextLengthError                    no         -         request too big: every candidate
                                                           of the chain would see the same
                                                           history (the chain reports its
                                                           smallest window, so compaction
                                                           is the fix, not another model)
ContentFilterError                    no         -         the content, not the provider
InvalidRequestError                   no         -         the request is malformed
InvalidToolCallError                  no         -         the model's output; the loop
                                                           decides what to do with it
AbortError, asyncio.CancelledError,   no         -         the caller asked to stop
KeyboardInterrupt, SystemExit
QuotaExceededError                    yes        model     retry_after clamped, else quota_s
RateLimitError (429, any retryable)   yes        model     retry_after clamped, else
                                                           rate_limit_s (a 429 with a long
                                                           retry-after arrives retryable=False
                                                           and still fails over)
AccessDeniedError (403)               yes        model     long_s: valid credentials without
                                                           access to *this* model; the
                                                           provider's other models may work
NotFoundError (404)                   yes        model     long_s: usually an unknown model id
AuthenticationError (401)             yes        provider  long_s: bad credentials break
                                                           every model of the provider
ConfigurationError                    yes        provider  long_s: missing key / bad base_url
                                                           needs a human
ProviderUnavailableError (5xx, 529),  yes        provider  retry_after clamped, else
NetworkError, LLMTimeoutError,                             unavailable_s: the service or the
StreamError                                                path to it is down, not one model
LLMError, retryable=True              yes        provider  as above (providers wrap unknown
                                                           failures this way)
LLMError, retryable=False             no         -         unknown and declared permanent:
                                                           surfacing it is more honest than
                                                           hiding it behind another model
TimeoutError (= asyncio.TimeoutError) yes        provider  unavailable_s: an untranslated
ConnectionError, socket.gaierror                           transport failure
any other exception                   no         -         a bug; failing over would hide it
====================================  =========  ========  ==================================

``retry_after`` is honoured for the classes that say "clamped": clamped to
``[min_s, max_s]`` (NaN ignored, infinity -> ``max_s``). Defaults apply when it is absent.
Long cooldowns (``long_s``) ignore ``retry_after``: those errors do not clear by waiting.
"""

from __future__ import annotations

import asyncio
import math
import socket
from dataclasses import dataclass
from typing import Literal

from amplifier_core import llm_errors as le

__all__ = ["CooldownPolicy", "DEFAULT_POLICY", "Decision", "classify"]

Scope = Literal["model", "provider"]


@dataclass(frozen=True, slots=True)
class CooldownPolicy:
    """Cooldown lengths in seconds. Defaults suit interactive agents; tune per deployment."""

    rate_limit_s: float = 30.0
    quota_s: float = 600.0
    unavailable_s: float = 60.0
    long_s: float = 1800.0
    min_s: float = 1.0
    max_s: float = 900.0

    def __post_init__(self) -> None:
        values = (self.rate_limit_s, self.quota_s, self.unavailable_s, self.long_s, self.min_s, self.max_s)
        if any(not math.isfinite(v) or v <= 0 for v in values):
            raise ValueError("cooldown durations must be finite and positive")
        if self.min_s > self.max_s:
            raise ValueError("min_s must not exceed max_s")

    def clamp(self, retry_after: float | None, default: float) -> float:
        """The server's ``retry_after`` kept within bounds, or ``default`` when it is absent."""
        if retry_after is None:
            return default
        try:
            value = float(retry_after)
        except (TypeError, ValueError):
            return default
        if math.isnan(value):
            return default
        return min(max(value, self.min_s), self.max_s)


DEFAULT_POLICY = CooldownPolicy()


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one error: fail over or not, and which cooldown to record."""

    failover: bool
    scope: Scope | None
    seconds: float
    reason: str
    """A stable label (``rate_limit``, ``unavailable``, ``context_length``, ...) for events/logs."""


def _surface(reason: str) -> Decision:
    return Decision(False, None, 0.0, reason)


# Never fail over; checked first so no failover class (by inheritance) can shadow them.
_NEVER: tuple[tuple[type[BaseException], str], ...] = (
    (le.ContextLengthError, "context_length"),
    (le.ContentFilterError, "content_filter"),
    (le.InvalidToolCallError, "invalid_tool_call"),
    (le.InvalidRequestError, "invalid_request"),
    (le.AbortError, "aborted"),
    (asyncio.CancelledError, "cancelled"),
    (KeyboardInterrupt, "interrupted"),
    (SystemExit, "interrupted"),
)

# Fail over with a long cooldown: these do not clear by waiting a few seconds.
_LONG: tuple[tuple[type[BaseException], Scope, str], ...] = (
    (le.AccessDeniedError, "model", "access_denied"),
    (le.AuthenticationError, "provider", "auth"),
    (le.NotFoundError, "model", "not_found"),
    (le.ConfigurationError, "provider", "configuration"),
)

# Transient and provider-wide: the service (or the way to it) is down.
_TRANSIENT: tuple[tuple[type[BaseException], str], ...] = (
    (le.NetworkError, "network"),
    (le.ProviderUnavailableError, "unavailable"),
    (le.LLMTimeoutError, "timeout"),
    (le.StreamError, "stream"),
)

_UNTRANSLATED: tuple[tuple[type[BaseException], str], ...] = (
    (TimeoutError, "timeout"),
    (ConnectionError, "network"),
    (socket.gaierror, "network"),
)


def classify(error: BaseException, policy: CooldownPolicy = DEFAULT_POLICY) -> Decision:
    """Classify ``error`` per the module table."""
    for kind, reason in _NEVER:
        if isinstance(error, kind):
            return _surface(reason)
    if isinstance(error, le.QuotaExceededError):
        return Decision(True, "model", policy.clamp(error.retry_after, policy.quota_s), "quota")
    if isinstance(error, le.RateLimitError):
        return Decision(True, "model", policy.clamp(error.retry_after, policy.rate_limit_s), "rate_limit")
    for kind, scope, reason in _LONG:
        if isinstance(error, kind):
            return Decision(True, scope, policy.long_s, reason)
    for kind, reason in _TRANSIENT:
        if isinstance(error, kind):
            seconds = policy.clamp(getattr(error, "retry_after", None), policy.unavailable_s)
            return Decision(True, "provider", seconds, reason)
    if isinstance(error, le.LLMError):
        if error.retryable:
            return Decision(True, "provider", policy.clamp(error.retry_after, policy.unavailable_s), "retryable")
        return _surface("permanent")
    for kind, reason in _UNTRANSLATED:
        if isinstance(error, kind):
            return Decision(True, "provider", policy.unavailable_s, reason)
    return _surface("unexpected")
