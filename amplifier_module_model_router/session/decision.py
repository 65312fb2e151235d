"""Decide what a spawn asks for: the caller's preferences, the agent's tier, or inheritance.

Precedence (what users rely on): preferences passed in the delegate call always win; otherwise
the agent's tier chain (or its own frontmatter list when it has no tier); ``self`` and agents
with neither inherit the parent's model. tool-delegate forwards an agent's configured list as
``provider_preferences`` too, so a call list equal to the agent's own counts as "agent".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..resolve.preferences import CALLER_CONFIG_KEYS, ProviderPreference, check_caller_config
from ..settings.effective import EffectiveRouting
from ..shared import shared

SOURCE_CALL = "call"
SOURCE_AGENT = "agent"
SOURCE_INHERIT = "inherit"


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """What one spawn asks the resolver for."""

    agent: str
    tier: str | None
    source: str
    preferences: tuple[ProviderPreference, ...]


_PARSED_LIMIT = 256
_parsed: dict[str, tuple[list[dict[str, Any]], tuple[ProviderPreference, ...]]] = shared(
    "parsed preference lists", dict, dict.clear
)
"""A chain of plain dicts (an agent's tier chain, as tool-delegate forwards it on every spawn)
-> its parsed preferences, by ``repr`` and confirmed equal to a private copy; errors are not kept."""


def as_preferences(items: Sequence[Any] | None) -> tuple[ProviderPreference, ...]:
    """Normalise dicts or foreign preference objects; invalid entries raise InputError."""
    if not items:
        return ()
    if type(items) is list and all(type(item) is dict for item in items):
        key = repr(items)
        hit = _parsed.get(key)
        if hit is not None and hit[0] == items:
            return hit[1]
        parsed = _parse_preferences(items)
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        _parsed[key] = (copy.deepcopy(items), parsed)
        return parsed
    return _parse_preferences(items)


def _parse_preferences(items: Sequence[Any]) -> tuple[ProviderPreference, ...]:
    out = []
    for index, item in enumerate(items):
        try:
            out.append(ProviderPreference.from_dict(item))
        except InputError as err:
            raise InputError(err.reason, field=f"provider_preferences[{index}]"
                              + (f".{err.field}" if err.field else "")) from None
    return tuple(out)


def _same_chain(a: Sequence[ProviderPreference], b: Sequence[ProviderPreference]) -> bool:
    return [(p.provider, p.model) for p in a] == [(p.provider, p.model) for p in b]


def decide_route(
    agent: str,
    agent_cfg: Mapping[str, Any] | None,
    call_preferences: Sequence[Any] | None,
    routing: EffectiveRouting,
    caller_config_keys: frozenset[str] = CALLER_CONFIG_KEYS,
) -> RouteRequest:
    """Pick the source of this spawn's chain; never touches providers.

    The caller's preferences are untrusted (a prompt-injected model writes them): when they are
    used, each ``config`` may hold only model parameters (``caller_config_keys``), else
    :class:`InputError` names the key. The agent's own list, forwarded back by tool-delegate,
    is recognised and used from the agent's config, not from the call.

    A settings layer can move an agent to another tier, give ``self`` a tier, or send a tiered
    agent back to its parent's model (``inherit``): then the agent's own list from its file is
    ignored too, as is that same list forwarded by tool-delegate.
    """
    cfg = agent_cfg or {}
    choice = routing.agent_tier(agent, cfg)
    tier = choice.tier
    configured = as_preferences(cfg.get("provider_preferences"))
    if choice.sent_back:
        own: tuple[ProviderPreference, ...] = ()
    else:
        own = tuple(routing.tiers[tier]) if tier else configured
    called = as_preferences(call_preferences)
    if called and not (_same_chain(called, configured) or _same_chain(called, own)):
        for index, pref in enumerate(called):
            try:
                check_caller_config(pref.config, caller_config_keys)
            except InputError as err:
                raise err.located(field_prefix=f"provider_preferences[{index}]") from None
        return RouteRequest(agent, tier, SOURCE_CALL, called)
    if own:
        return RouteRequest(agent, tier, SOURCE_AGENT, own)
    return RouteRequest(agent, None, SOURCE_INHERIT, ())
