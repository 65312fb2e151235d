"""The error types users see, each with the location that lets them act on it.

One base, :class:`ModelRouterError`, so a caller can catch everything this package raises.
Input problems are :class:`InputError` (a ``ValueError``) whose message starts with where the
problem is (``file:line: agent 'x': field: reason``); the subclass says which kind of input:

- :class:`BundleError`: a bundle or agent file (also reached as ``amplifier_module_model_router.BundleError``);
- :class:`SettingsError`: a settings layer or the module's mount options;
- :class:`CatalogError`: a model catalog snapshot;
- :class:`UsageError`: a command-line flag or an offline scenario input.

Helpers that do not know whose input they read (bounded YAML, preference chains, globs) raise
the plain :class:`InputError`; the folder that called them re-raises it as its own kind with
:func:`reraised_as`. :class:`RoutingError` is the strict-mode refusal of a spawn.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

_CLIP = {"agent": 200, "field": 300, "reason": 1000}
"""Longest rendered agent / field / reason: a 20,000-character value pasted into a file must
not become a 20,000-character error. The attributes keep the full text for programs."""

_E = TypeVar("_E", bound="InputError")


def unknown_keys(found: Iterable[Any], known: Iterable[str]) -> str:
    """The one message for keys a mapping may not have: ``unknown key 'x' (did you mean 'y'?);
    known: a, b`` (several: ``unknown keys 'x', 'z'; known: ...``)."""
    names = [str(key) for key in found]
    allowed = sorted(known)
    hint = ""
    if len(names) == 1:
        close = difflib.get_close_matches(names[0], allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
    listed = ", ".join(repr(name) for name in names)
    plural = "s" if len(names) > 1 else ""
    return f"unknown key{plural} {listed}{hint}; known: {', '.join(allowed) or 'none'}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


class ModelRouterError(Exception):
    """Base of every error model-router raises on purpose."""


class InputError(ModelRouterError, ValueError):
    """Bad input, located: ``file``, ``line``, ``agent`` and ``field`` stay available for programs.

    The message always starts with where the problem is, so a user can jump to it:
    ``agents/git-ops.md: agent 'git-ops': provider_preferences[2]: missing 'model'``.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        agent: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.agent = agent
        self.field = field
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.agent:
            parts.append(f"agent '{_clip(self.agent, _CLIP['agent'])}'")
        if self.field:
            parts.append(_clip(self.field, _CLIP["field"]))
        parts.append(_clip(self.reason, _CLIP["reason"]))
        return ": ".join(parts)

    def located(
        self,
        *,
        file: str | None = None,
        agent: str | None = None,
        field_prefix: str | None = None,
        kind: type["InputError"] | None = None,
    ) -> "InputError":
        """A copy with missing location parts filled in (outer context).

        It keeps its kind; a kind-less error takes ``kind`` when one is given.
        """
        field = self.field
        if field_prefix:
            field = f"{field_prefix}{field}" if field and field.startswith("[") else (
                f"{field_prefix}.{field}" if field else field_prefix
            )
        cls = kind if kind is not None and type(self) is InputError else type(self)
        return cls(
            self.reason,
            file=self.file or file,
            agent=self.agent or agent,
            field=field,
            line=self.line,
        )

    def as_kind(self, kind: type[_E]) -> "InputError":
        """This error as ``kind`` when it has no kind of its own yet; else itself."""
        if type(self) is not InputError:
            return self
        return kind(self.reason, file=self.file, agent=self.agent, field=self.field, line=self.line)


class BundleError(InputError):
    """A bad bundle or agent file (the name of 0.1, when it served every input)."""


class SettingsError(InputError):
    """A bad settings layer (org/user/project/local) or module mount option."""


class CatalogError(InputError):
    """A bad model catalog snapshot."""


class UsageError(InputError):
    """A bad command-line flag or offline scenario input."""


@contextmanager
def reraised_as(kind: type[InputError]) -> Iterator[None]:
    """Re-raise a kind-less :class:`InputError` escaping the block as ``kind``."""
    try:
        yield
    except InputError as err:
        converted = err.as_kind(kind)
        if converted is err:
            raise
        raise converted from None


class RoutingError(ModelRouterError, RuntimeError):
    """Strict mode: no candidate of an agent's chain resolved, so the spawn is refused.

    The message names the agent and every candidate with the reason it was skipped.
    """

    def __init__(self, agent: str, tier: str | None, skipped: list[tuple[str, str]]) -> None:
        self.agent = agent
        self.tier = tier
        self.skipped = skipped
        where = f"agent '{agent}'" + (f" (tier {tier})" if tier else "")
        detail = "; ".join(f"{cand}: {reason}" for cand, reason in skipped) or "empty chain"
        super().__init__(f"model-router (strict): no model resolved for {where}: {detail}")


class BudgetExceededError(ModelRouterError, RuntimeError):
    """A spend cap is reached and ``at_cap: refuse``: a delegation (or a running agent's next
    model call) is refused.

    The message names the cap, the spend against it and the agent; ``cap``, ``spend_usd``,
    ``cap_usd``, ``unknown_calls`` and ``agent`` stay available for programs.
    """

    def __init__(
        self,
        agent: str,
        *,
        cap: str | None,
        spend_usd: str,
        cap_usd: str,
        unknown_calls: int = 0,
        running: bool = False,
    ) -> None:
        self.agent = agent
        self.cap = cap
        self.spend_usd = spend_usd
        self.cap_usd = cap_usd
        self.unknown_calls = unknown_calls
        if agent == "(root)":
            what = "the root session's next model call"
        else:
            what = f"the next model call of agent '{agent}'" if running else f"delegation to agent '{agent}'"
        unknown = f", plus {unknown_calls} call(s) of unknown cost" if unknown_calls else ""
        super().__init__(
            f"model-router (budget): {what} refused: the {cap} spend cap of ${cap_usd} is reached "
            f"(spent ${spend_usd}{unknown}; at_cap: refuse)"
        )
