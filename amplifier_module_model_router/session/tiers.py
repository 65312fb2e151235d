"""Hand every tiered agent its tier's chain, where tool-delegate will read it.

tool-delegate reads ``coordinator.config["agents"][name]["provider_preferences"]`` (plain dicts,
it calls ``ProviderPreference.from_dict`` on each), so writing there at ``session:start`` is how a
tier reaches a delegate call without changing the call. Agents that declare ``model_role`` belong
to routing-matrix and are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ..settings.effective import EffectiveRouting, declared_tier

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


def assign_tier_preferences(agents: MutableMapping[str, Any], routing: EffectiveRouting) -> dict[str, str]:
    """Write each tiered agent's chain into its config; returns ``{agent: tier}`` written.

    Which tier is :meth:`EffectiveRouting.agent_tier`'s decision, as at spawn time.
    """
    written: dict[str, str] = {}
    for name, cfg in agents.items():
        if not isinstance(cfg, MutableMapping):
            continue
        choice = routing.agent_tier(name, cfg)
        if choice.declared is None and cfg.get("model_role"):
            continue  # routing-matrix's agent: its hook already wrote the role's chain
        if choice.sent_back:
            # settings sent this tiered agent back to its parent's model: nothing may carry
            # its file's chain to the spawner (tool-delegate or app-cli would use it)
            cfg.pop("provider_preferences", None)
            continue
        if choice.tier is None:
            continue
        cfg["provider_preferences"] = [pref.to_dict() for pref in routing.tiers[choice.tier]]
        cfg["model_tier"] = choice.tier
        written[name] = choice.tier
    return written
