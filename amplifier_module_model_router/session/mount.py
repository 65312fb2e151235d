"""``mount``: plug the router into a session through the kernel's public contracts.

At mount: validate config, and when this session is a routed child, put its failover provider
in front. At ``session:start`` / ``session:resume`` (after routing-matrix's priority-5 hook, and
after app-cli registered ``session.spawn``): write tier chains into the agent configs, prefetch
the catalogs those chains need in the background, and wrap (or provide) ``session.spawn``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amplifier_core.models import HookResult

from .. import events
from ..resolve.quirks import listing_quirks
from ..cost.hooks import install_cost_tracking
from ..errors import InputError
from ..settings.effective import EffectiveRouting
from ..state import StateSettings
from ..settings import reuse
from ..settings.names import BUNDLE_NAMESPACE
from ..settings.options import RouterConfig
from ..shared import shared
from .handoff import shared_handoffs
from .router import Router, forget_session, session_entries
from .spawner import RoutingSpawner
from .state_link import link_state
from .tiers import assign_tier_preferences

if TYPE_CHECKING:  # budget/ is imported only when a cap is set
    from ..budget.book import Budget

logger = logging.getLogger(__name__)

HOOK_PRIORITY = 10
"""Runs after routing-matrix's session:start (priority 5, lower first) so its writes stand."""

LIFECYCLE_EVENTS = ("session:start", "session:resume")

_NOWHERE = Path("/nonexistent/model-router-no-settings")
"""home and cwd used when settings files are switched off: no user or project layer exists there."""


_WARNED: set[str] = shared("settings warnings logged", set, set.clear)
"""Settings problems already logged in this process (children re-read the same files)."""
_WARNED_MAX = 256


def _warn_once(message: str) -> None:
    if message in _WARNED:
        return
    if len(_WARNED) >= _WARNED_MAX:
        _WARNED.clear()
    _WARNED.add(message)
    logger.warning("model-router: %s", message)


def _needed_providers(tiers: Mapping[str, Any], used: set[str]) -> set[str]:
    return {pref.provider for tier in used for pref in tiers.get(tier, ())}


class SessionRouting:
    """The router's per-session side: the lifecycle hook, prefetch task and cleanup."""

    def __init__(self, coordinator: Any, router: Router, *, prefetched: bool = False) -> None:
        self.coordinator = coordinator
        self.router = router
        self._prefetched = prefetched
        """A routed child under its parent's router: the parent prefetched what the tree needs."""
        self._done = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unregister: list[Any] = []

    def register(self) -> None:
        for event in LIFECYCLE_EVENTS:
            self._unregister.append(
                self.coordinator.hooks.register(
                    event, self.on_lifecycle, priority=HOOK_PRIORITY, name=f"model-router:{event}"
                )
            )
        try:
            self.coordinator.register_contributor(
                "observability.events", "model-router", lambda: list(events.ALL_EVENTS)
            )
        except Exception:  # older kernels without contribution channels
            logger.debug("observability.events contribution not registered", exc_info=True)

    async def on_lifecycle(self, event: str, data: dict[str, Any]) -> HookResult:
        if self._done:
            return HookResult(action="continue")
        self._done = True
        await self._report_settings_problems()
        link_budget_counters(self.router)  # again: the state store may have been linked after mount's own call
        await self._report_listing_quirks()
        agents = (self.coordinator.config or {}).get("agents")
        used: set[str] = set()
        if isinstance(agents, dict):
            written = assign_tier_preferences(agents, self.router.routing)
            used = set(written.values())
        if self.router.config.prefetch and used and not self._prefetched:
            self._prefetch(_needed_providers(self.router.tiers, used))
        inner = self.coordinator.get_capability("session.spawn")
        if not getattr(inner, "is_model_router", False):
            self.coordinator.register_capability(
                "session.spawn", RoutingSpawner(self.router, self.coordinator, inner)
            )
        return HookResult(action="continue")

    async def _report_settings_problems(self) -> None:
        """Record each refused settings layer in the session's events (events.jsonl)."""
        routing = self.router.routing
        for problem in getattr(routing, "problems", ()):
            try:
                await self.coordinator.hooks.emit(
                    events.SETTINGS_ERROR, events.settings_error_payload(problem)
                )
            except Exception:  # an observer's fault must not stop routing
                logger.debug("settings_error event not emitted", exc_info=True)

    async def _report_listing_quirks(self) -> None:
        """Say once per root session (event) and once per process (log) that a provider's
        listing hides versions, with the setting that shows them; children stay quiet."""
        if getattr(self.coordinator, "parent_id", None):
            return
        for quirk in listing_quirks((self.coordinator.config or {}).get("providers")):
            if quirk.message() not in _WARNED:
                _WARNED.add(quirk.message())
                logger.warning("model-router: %s", quirk.message())
            try:
                await self.coordinator.hooks.emit(events.LISTING_QUIRK, quirk.to_dict())
            except Exception:  # an observer's fault must not stop routing
                logger.debug("listing_quirk event not emitted", exc_info=True)

    def _prefetch(self, wanted: set[str]) -> None:
        """Warm the shared catalog cache without delaying the session's first turn.

        A child finds its parent's catalogs already cached: no task is started for those.
        """
        from ..resolve.providers import match_provider

        entries = session_entries(self.coordinator)
        cache = self.router.cache
        targets = {
            id(e): e
            for name in wanted
            if (e := match_provider(name, entries)) is not None and cache.peek(e) is None
        }
        if not targets:
            return
        task = asyncio.ensure_future(self.router.cache.prefetch(targets.values()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_cleanup(self, stop: Any) -> None:
        """Run ``stop()`` when the session ends (e.g. cost tracking's unregister)."""
        self._unregister.append(stop)

    async def cleanup(self) -> None:
        forget_session(self.coordinator)
        for unregister in self._unregister:
            try:
                unregister()
            except Exception:
                logger.debug("hook unregister failed", exc_info=True)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        sync = getattr(self.router.cooldowns, "listener", None)
        if sync is not None:  # cooldowns this session learnt reach the store before it ends
            await sync.flush(timeout=0.5)


async def mount(coordinator: Any, config: Mapping[str, Any] | None = None):
    """Mount module ``model-router``; invalid config fails the mount with a clear error.

    A child an app's spawner created while our spawner routed it (app-cli's children inherit
    our hook) takes its parent's router when its config is the parent's: the settings were
    read, the state store linked and the catalogs prefetched for the whole tree already.
    """
    router_config = reuse.router_config(config or {})  # a child parses its parent's config once
    handoffs = shared_handoffs()
    parent_router = handoffs.router_for(getattr(coordinator, "session_id", None))
    if isinstance(parent_router, Router) and parent_router.config == router_config:
        router = parent_router
    else:
        router = build_router(router_config)
        await link_state(router, router.state_settings, router.amplifier_home)
        link_budget_counters(router)
    await router.adopt_handoff(coordinator)
    if router.budget is not None and router.config.failover and not getattr(coordinator, "parent_id", None):
        from ..failover.mount import mount_root_budget_front
        from .router import current_model

        await mount_root_budget_front(coordinator, router, *current_model(coordinator))
    routing = SessionRouting(coordinator, router, prefetched=router is parent_router)
    routing.register()
    routing.on_cleanup(install_cost_tracking(coordinator, router))
    return routing.cleanup


def build_router(router_config: RouterConfig) -> Router:
    """A Router over the effective routing: bundle tiers + org/user/project/local/mount layers.

    Settings files are looked at on every mount of a root (a routed child takes its parent's
    router, see :func:`mount`) so an edit applies to the next session without a restart; a
    file unchanged since it was parsed (same inode, size and mtime) is not parsed again, nor is
    the module config, nor the routing made of them (:mod:`..settings.reuse`). A bad settings file is left out whole and the session routes with
    the other layers: one warning line (file, line, key) per process, and the session emits
    ``model_router:settings_error`` at its start, when every hook (an app's logger included)
    is registered.
    """
    from ..failover.cooldown import shared_cooldowns
    from ..settings import amplifier_home, discover_layers, routing_without_bad_layers

    problems: list[InputError] = []
    if router_config.use_settings_files:
        layers = discover_layers(mount_config=router_config.settings, problems=problems)
        home = amplifier_home(env=os.environ, home=_user_home())
        env: Mapping[str, str] = os.environ
    else:
        layers = discover_layers(
            mount_config=router_config.settings, env={}, home=_NOWHERE, cwd=_NOWHERE
        )
        home, env = None, {}
    routing = reuse.routing(
        router_config.tiers, layers, problems, BUNDLE_NAMESPACE,
        lambda: routing_without_bad_layers(router_config.tiers, layers, problems=problems),
    )
    for problem in routing.problems:
        _warn_once(f"{problem} ({events.IGNORED_SETTINGS_FILE})")
    for warning in routing.warnings:
        _warn_once(warning)
    try:
        state, _ = routing.state_settings(home, env)
    except ValueError as exc:  # a bad $AMPLIFIER_MODEL_ROUTER_STATE never switches routing off
        logger.warning("model-router: %s; routing state stays in this process", exc)
        state = StateSettings()
    router = Router(router_config, routing, cooldowns=shared_cooldowns(), budget=_budget(routing))
    router.state_settings = state
    router.amplifier_home = home
    return router


def link_budget_counters(router: Router) -> None:
    """Daily and org spend count in the routing state store when one is shared (sqlite,
    Redis); with ``memory`` (or a store that could not open) each process counts its own."""
    store = getattr(router, "state_store", None)
    if router.budget is not None and store is not None and getattr(store, "backend", "memory") != "memory":
        router.budget.book.use_counters(store)


def _budget(routing: EffectiveRouting) -> Budget | None:
    """The spend caps of ``routing`` over the process-wide book; None without a cap."""
    if routing.budget is None:
        return None
    from ..budget.book import Budget

    return Budget(routing.budget)


def _user_home() -> Path | None:
    try:
        return Path.home()
    except RuntimeError:
        return None
