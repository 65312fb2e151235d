"""Hand every tiered agent its tier's chain, where tool-delegate will read it.

tool-delegate reads ``coordinator.config["agents"][name]["provider_preferences"]`` (plain dicts,
it calls ``ProviderPreference.from_dict`` on each), so writing there at ``session:start`` is how a
tier reaches a delegate call without changing the call. Agents that declare ``model_role`` belong
to routing-matrix and are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ..settings.effective import EffectiveRouting, TierChoice, declared_tier
from ..shared import shared

__all__ = ["assign_tier_preferences", "declared_tier", "lookup_agent"]


def lookup_agent(agents: Mapping[str, Any], name: str) -> tuple[str, Mapping[str, Any]] | None:
    """Find an agent by its key, tolerating ``bundle:`` namespaces on either side."""
    if name in agents and isinstance(agents[name], Mapping):
        return name, agents[name]
    bare = name.rsplit(":", 1)[-1]
    for key, cfg in agents.items():
        if isinstance(cfg, Mapping) and key.rsplit(":", 1)[-1] == bare:
            return key, cfg
    return None


_MEMO_LIMIT = 64
_CHOICES_LIMIT = 4096
_memo: dict[int, tuple[EffectiveRouting, dict[tuple[str, str | None], TierChoice], dict[str, list[Any]]]] = shared(
    "tier decisions per routing", dict, dict.clear
)
"""``id(routing)`` -> (routing, ``{(agent, declared tier): choice}``, ``{tier: chain as dicts}``).

A child session gets its parent's agent configs (own dicts, shared contents) and, through
:mod:`..settings.reuse`, its parent's routing object: its ``session:start`` would decide and
write the same chains again. The decision depends only on the agent's name and declared tier
(:meth:`EffectiveRouting.agent_tier`), so it is memoised on those. Every agent of a tier gets
the tier's one chain list (readers only: tool-delegate and the spawners read it, a chain is
replaced, never edited), so a child's copy that already holds it is recognised at once."""


def _memo_for(routing: EffectiveRouting) -> tuple[dict[tuple[str, str | None], TierChoice], dict[str, list[Any]]]:
    hit = _memo.get(id(routing))
    if hit is None or hit[0] is not routing:
        if len(_memo) >= _MEMO_LIMIT:
            _memo.clear()
        hit = _memo[id(routing)] = (routing, {}, {})
    return hit[1], hit[2]


def assign_tier_preferences(agents: MutableMapping[str, Any], routing: EffectiveRouting) -> dict[str, str]:
    """Write each tiered agent's chain into its config; returns ``{agent: tier}`` written.

    Which tier is :meth:`EffectiveRouting.agent_tier`'s decision, as at spawn time.
    """
    choices, chains = _memo_for(routing)
    written: dict[str, str] = {}
    for name, cfg in agents.items():
        if type(cfg) is not dict and not isinstance(cfg, MutableMapping):
            continue
        written_tier = cfg.get("model_tier")
        if isinstance(written_tier, str) and (ours := chains.get(written_tier)) is not None:
            if cfg.get("provider_preferences") is ours:  # this routing wrote it (a parent's, copied)
                written[name] = written_tier
                continue
        key = (name, declared_tier(cfg))
        choice = choices.get(key)
        if choice is None:
            if len(choices) >= _CHOICES_LIMIT:
                choices.clear()
            choice = choices[key] = routing.agent_tier(name, cfg)
        if choice.declared is None and cfg.get("model_role"):
            continue  # routing-matrix's agent: its hook already wrote the role's chain
        if choice.sent_back:
            # settings sent this tiered agent back to its parent's model: nothing may carry
            # its file's chain to the spawner (tool-delegate or app-cli would use it)
            cfg.pop("provider_preferences", None)
            continue
        if choice.tier is None:
            continue
        chain = chains.get(choice.tier)
        if chain is None:
            chain = chains[choice.tier] = [pref.to_dict() for pref in routing.tiers[choice.tier]]
        cfg["provider_preferences"] = chain
        cfg["model_tier"] = choice.tier
        written[name] = choice.tier
    return written
