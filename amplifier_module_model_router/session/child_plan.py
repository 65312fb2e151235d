"""Build a child session's mount plan: the parent's plan, the agent's overlay, the chosen model.

Pure dict work, no kernel. Mirrors what app-cli's spawner does so a session built by our own
spawner behaves like one built by the CLI: the chosen provider is promoted to ``priority: 0``
(strictly first; the standard loops pick the lowest priority) with ``default_model`` set.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..merge import deep_merge
from ..resolve.preferences import is_protected_key
from ..resolve.providers import plan_finder, plan_index
from ..resolve.resolver import Candidate

logger = logging.getLogger(__name__)

_MODULE_LISTS = ("providers", "tools", "hooks")
_AGENT_ONLY_KEYS = frozenset(
    {"name", "description", "model_tier", "model_role", "provider_preferences", "meta",
     "instruction", "system", "agents"}
)


def _own_entry(entry: Any) -> Any:
    """A module entry the child may write to: its own dict and its own ``config`` dict."""
    if not isinstance(entry, Mapping):
        return entry
    owned = dict(entry)
    if isinstance(owned.get("config"), Mapping):
        owned["config"] = dict(owned["config"])
    return owned


def _merge_module_lists(base: list[Any], overlay: list[Any]) -> list[Any]:
    """Merge by module id (and instance id): the overlay's entry updates the base's."""
    merged = [_own_entry(entry) for entry in base]

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
            target.update(entry)
            target["config"] = config
        else:
            index[key] = len(merged)
            merged.append(_own_entry(entry))
    return merged


def merge_agent_overlay(parent_plan: Mapping[str, Any], agent_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Parent plan + agent overlay: module lists merge by id, ``session`` deep-merges.

    The parent's ``spawn:`` policy (``spawn.tools`` replaces the tools a child inherits,
    ``spawn.exclude_tools`` drops some) applies before the overlay, as in app-cli.

    Copy rule: the plan returned owns every container a spawn or a child session writes to:
    the plan itself, its ``session`` section and the specs in it, the module lists, each module
    entry and its ``config``. Values below those (and the overlay's) are shared with the parent
    and only ever read. A deep copy of the parent's plan (every agent's config and instruction)
    cost more than the rest of the spawn's own work.
    """
    plan = dict(parent_plan)
    for key in _MODULE_LISTS:
        if isinstance(plan.get(key), list):
            plan[key] = [_own_entry(entry) for entry in plan[key]]
    if isinstance(plan.get("session"), Mapping):
        plan["session"] = {k: _own_entry(v) for k, v in plan["session"].items()}
    spawn_policy = plan.get("spawn")
    if isinstance(spawn_policy, Mapping):
        if isinstance(spawn_policy.get("tools"), list):
            plan["tools"] = [_own_entry(entry) for entry in spawn_policy["tools"]]
        elif isinstance(spawn_policy.get("exclude_tools"), list):
            plan["tools"] = _without(plan.get("tools"), spawn_policy["exclude_tools"], keep=())
    for key, value in agent_cfg.items():
        if key in _AGENT_ONLY_KEYS:
            continue
        if key in _MODULE_LISTS and isinstance(value, list):
            plan[key] = _merge_module_lists(list(plan.get(key) or []), value)
        elif isinstance(value, Mapping) and isinstance(plan.get(key), Mapping):
            plan[key] = deep_merge(plan[key], value)
        else:
            plan[key] = value
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
    sub-agent access control). Each agent's config is the child's own dict (the child's
    model-router writes its tier chain there, never into the parent's); what is inside is shared.
    """
    wanted = agent_cfg.get("agents")
    if wanted == "none":
        return {}
    return {
        name: dict(cfg) if isinstance(cfg, Mapping) else cfg
        for name, cfg in live_agents.items()
        if not isinstance(wanted, list) or name in wanted
    }


def quicken_chain_providers(plan: dict[str, Any], mount_names: set[str]) -> None:
    """Lower internal retries of the providers a failover chain uses (see failover/provider.py)."""
    from ..failover.provider import lower_internal_retries

    providers = plan.get("providers") or []
    find = plan_finder(providers)
    for name in mount_names:
        index = find(name)
        if index is not None:
            entry = providers[index] = dict(providers[index])
            entry["config"] = lower_internal_retries(entry.get("config") or {})


def _apply_orchestrator_config(plan: dict[str, Any], extra: Mapping[str, Any]) -> None:
    session = plan.setdefault("session", {})
    spec = session.get("orchestrator")
    if isinstance(spec, Mapping):
        session["orchestrator"] = {**spec, "config": {**(spec.get("config") or {}), **extra}}
    else:
        top = plan.get("orchestrator")
        top = top if isinstance(top, Mapping) else {}
        plan["orchestrator"] = {**top, "config": {**(top.get("config") or {}), **extra}}


def build_child_plan(
    parent_plan: Mapping[str, Any],
    live_agents: Mapping[str, Any] | None,
    agent_cfg: Mapping[str, Any],
    chain: Sequence[Candidate],
    *,
    orchestrator_config: Mapping[str, Any] | None = None,
    session_metadata: Mapping[str, Any] | None = None,
    tool_inheritance: Mapping[str, Any] | None = None,
    hook_inheritance: Mapping[str, Any] | None = None,
    failover: bool = True,
) -> dict[str, Any]:
    """Parent plan + agent overlay + the chosen provider at ``priority: 0`` with its model.

    ``live_agents`` (the parent coordinator's ``config["agents"]``, where hooks may have written
    since the session started) replaces the plan's agents. The ``session.spawn`` keywords shape
    the plan as app-cli's spawner does: tool and hook inheritance policies, the orchestrator
    config, the session metadata; the agent's own ``agents:`` declaration restricts whom the
    child may delegate to. With failover on, the chain's providers retry less inside
    themselves: the next candidate is a better answer to a 429 than minutes of the same
    provider's backoff.
    """
    plan = merge_agent_overlay(parent_plan, agent_cfg)
    agents: Mapping[str, Any] = (
        live_agents
        if live_agents is not None
        else plan["agents"] if isinstance(plan.get("agents"), dict) else {}
    )
    plan["agents"] = restrict_agents(agents, agent_cfg)
    apply_inheritance(plan, "tools", tool_inheritance, agent_cfg)
    apply_inheritance(plan, "hooks", hook_inheritance, agent_cfg)
    if chain:
        chosen = chain[0]
        if not promote_provider(plan, chosen.provider, chosen.model, chosen.preference.config):
            logger.warning("model-router: provider %r is mounted but not in the mount plan", chosen.provider)
        if failover and len(chain) > 1:
            quicken_chain_providers(plan, {link.provider for link in chain})
    if orchestrator_config:
        _apply_orchestrator_config(plan, orchestrator_config)
    if session_metadata:
        plan["session"] = {**(plan.get("session") or {}), "metadata": dict(session_metadata)}
    return plan
