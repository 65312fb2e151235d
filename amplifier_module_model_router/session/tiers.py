"""Hand every tiered agent its tier's chain, where tool-delegate will read it.

tool-delegate reads ``coordinator.config["agents"][name]["provider_preferences"]`` (plain dicts,
it calls ``ProviderPreference.from_dict`` on each), so writing there at ``session:start`` is how a
tier reaches a delegate call without changing the call. Agents that declare ``model_role`` belong
to routing-matrix and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

from ..resolve.preferences import ProviderPreference

TierChooser = Callable[[str, str | None], str | None]
"""(agent name, declared tier) -> effective tier; settings layers plug in here."""


def declared_tier(agent_cfg: Mapping[str, Any]) -> str | None:
    """The tier an agent file declares: ``meta.model_tier`` (foundation may flatten meta)."""
    tier = agent_cfg.get("model_tier")
    if tier is None and isinstance(agent_cfg.get("meta"), Mapping):
        tier = agent_cfg["meta"].get("model_tier")
    return tier if isinstance(tier, str) and tier else None


def lookup_agent(agents: Mapping[str, Any], name: str) -> tuple[str, Mapping[str, Any]] | None:
    """Find an agent by its key, tolerating ``bundle:`` namespaces on either side."""
    if name in agents and isinstance(agents[name], Mapping):
        return name, agents[name]
    bare = name.rsplit(":", 1)[-1]
    for key, cfg in agents.items():
        if isinstance(cfg, Mapping) and key.rsplit(":", 1)[-1] == bare:
            return key, cfg
    return None


def assign_tier_preferences(
    agents: MutableMapping[str, Any],
    tiers: Mapping[str, Sequence[ProviderPreference]],
    choose_tier: TierChooser | None = None,
) -> dict[str, str]:
    """Write each tiered agent's chain into its config; returns ``{agent: tier}`` written."""
    written: dict[str, str] = {}
    for name, cfg in agents.items():
        if not isinstance(cfg, MutableMapping):
            continue
        declared = declared_tier(cfg)
        if declared is None and cfg.get("model_role"):
            continue  # routing-matrix's agent: its hook already wrote the role's chain
        tier = choose_tier(name, declared) if choose_tier else declared
        if tier is None and declared is not None:
            # settings sent this tiered agent back to its parent's model: nothing may carry
            # its file's chain to the spawner (tool-delegate or app-cli would use it)
            cfg.pop("provider_preferences", None)
            continue
        if tier is None or tier not in tiers:
            continue
        cfg["provider_preferences"] = [pref.to_dict() for pref in tiers[tier]]
        cfg["model_tier"] = tier
        written[name] = tier
    return written
