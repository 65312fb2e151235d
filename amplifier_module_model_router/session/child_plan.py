"""Build a child session's mount plan: the parent's plan, the agent's overlay, the chosen model.

Pure dict work, no kernel. Mirrors what app-cli's spawner does so a session built by our own
spawner behaves like one built by the CLI: the chosen provider is promoted to ``priority: 0``
(strictly first; the standard loops pick the lowest priority) with ``default_model`` set.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..resolve.preferences import is_protected_key
from ..resolve.providers import plan_index

_MODULE_LISTS = ("providers", "tools", "hooks")
_AGENT_ONLY_KEYS = frozenset(
    {"name", "description", "model_tier", "model_role", "provider_preferences", "meta",
     "instruction", "system", "agents"}
)


def _merge_module_lists(base: list[Any], overlay: list[Any]) -> list[Any]:
    """Merge by module id (and instance id): the overlay's entry updates the base's."""
    merged = [copy.deepcopy(entry) for entry in base]

    def ident(entry: Any) -> tuple[Any, Any]:
        if not isinstance(entry, Mapping):
            return (id(entry), None)
        return (entry.get("module"), entry.get("instance_id") or entry.get("id"))

    index = {ident(entry): i for i, entry in enumerate(merged)}
    for entry in overlay:
        key = ident(entry)
        if key in index and isinstance(entry, Mapping):
            target = merged[index[key]]
            config = {**(target.get("config") or {}), **(entry.get("config") or {})}
            target.update(copy.deepcopy(dict(entry)))
            target["config"] = config
        else:
            index[key] = len(merged)
            merged.append(copy.deepcopy(entry))
    return merged


def _deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def merge_agent_overlay(parent_plan: Mapping[str, Any], agent_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Parent plan + agent overlay: module lists merge by id, ``session`` deep-merges.

    The parent's ``spawn:`` policy (``spawn.tools`` replaces the tools a child inherits,
    ``spawn.exclude_tools`` drops some) applies before the overlay, as in app-cli.
    """
    plan = copy.deepcopy(dict(parent_plan))
    spawn_policy = plan.get("spawn")
    if isinstance(spawn_policy, Mapping):
        if isinstance(spawn_policy.get("tools"), list):
            plan["tools"] = copy.deepcopy(spawn_policy["tools"])
        elif isinstance(spawn_policy.get("exclude_tools"), list):
            plan["tools"] = _without(plan.get("tools"), spawn_policy["exclude_tools"], keep=())
    for key, value in agent_cfg.items():
        if key in _AGENT_ONLY_KEYS:
            continue
        if key in _MODULE_LISTS and isinstance(value, list):
            plan[key] = _merge_module_lists(list(plan.get(key) or []), value)
        elif isinstance(value, Mapping) and isinstance(plan.get(key), dict):
            plan[key] = _deep_merge(plan[key], value)
        else:
            plan[key] = copy.deepcopy(value)
    return plan


def promote_provider(
    plan: dict[str, Any], mount_name: str, model: str, pref_config: Mapping[str, Any] | None = None
) -> bool:
    """Make ``mount_name`` the child's provider with ``model``; False when it is not in the plan.

    Preference config is merged first and may never touch credentials or endpoints; the
    promotion (``priority: 0``, ``default_model``) is applied last so it always wins. Every other
    provider is pushed to priority >= 1 so the chosen one is strictly first.
    """
    providers = [dict(entry) for entry in plan.get("providers") or []]
    target = plan_index(mount_name, providers)
    if target is None:
        return False
    for i, entry in enumerate(providers):
        config = dict(entry.get("config") or {})
        if i == target:
            for key, value in (pref_config or {}).items():
                if not is_protected_key(key):
                    config[key] = copy.deepcopy(value)
            config["priority"] = 0
            config["default_model"] = model
        else:
            try:
                priority = float(config.get("priority", 100))
            except (TypeError, ValueError):
                priority = 100.0
            if priority <= 0:
                config["priority"] = 1
        entry["config"] = config
        providers[i] = entry
    plan["providers"] = providers
    return True


def _module_ids(entries: Any) -> list[Any]:
    return [e.get("module") for e in entries or () if isinstance(e, Mapping)]


def _without(entries: Any, excluded: Any, *, keep: Any) -> list[Any]:
    return [
        e for e in entries or ()
        if not isinstance(e, Mapping) or e.get("module") not in excluded or e.get("module") in keep
    ]


def apply_inheritance(
    plan: dict[str, Any], kind: str, policy: Mapping[str, Any] | None, agent_cfg: Mapping[str, Any]
) -> None:
    """The caller's ``tool_inheritance`` / ``hook_inheritance`` on the child's ``tools``/``hooks``.

    ``{"exclude_<kind>": [...]}`` drops those modules, ``{"inherit_<kind>": [...]}`` keeps only
    those; modules the agent itself declares are always kept (app-cli's rule:
    inherited - excluded + explicit). ``kind`` is ``"tools"`` or ``"hooks"``.
    """
    if not policy or not isinstance(plan.get(kind), list):
        return
    explicit = _module_ids(agent_cfg.get(kind) if isinstance(agent_cfg.get(kind), list) else ())
    allow = policy.get(f"inherit_{kind}")
    if isinstance(allow, list):
        plan[kind] = [
            e for e in plan[kind]
            if isinstance(e, Mapping) and (e.get("module") in allow or e.get("module") in explicit)
        ]
    elif isinstance(policy.get(f"exclude_{kind}"), list):
        plan[kind] = _without(plan[kind], policy[f"exclude_{kind}"], keep=explicit)


def restrict_agents(
    live_agents: Mapping[str, Any], agent_cfg: Mapping[str, Any]
) -> dict[str, Any]:
    """The agents a child may delegate to: its own ``agents:`` declaration over the live registry.

    ``"none"`` -> none, a list -> those names, ``"all"`` or absent -> every agent (app-cli's
    sub-agent access control). Deep-copied: a child's hooks must not write into the parent's.
    """
    wanted = agent_cfg.get("agents")
    if wanted == "none":
        return {}
    if isinstance(wanted, list):
        return {k: copy.deepcopy(v) for k, v in live_agents.items() if k in wanted}
    return copy.deepcopy(dict(live_agents))
