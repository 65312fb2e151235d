"""The offline world a CLI command routes against: bundle, catalog snapshot, providers, settings.

Every command (``verify``, ``show``, ``explain``) starts from one :class:`Scenario`: the bundle
loaded, the catalog snapshot loaded, the offline mount plan built (which providers are down,
failing or flaky, and the session's own model), and the effective routing from the bundle's
tiers plus, when asked, the user's settings layers. Building it checks every input first, so a
typo in ``--down`` or a broken catalog is one :class:`UsageError` before anything runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bundle.loader import agent_configs, load_bundle
from ..bundle.model import Bundle
from ..errors import UsageError
from ..offline import offline_mount_plan
from ..resolve.quirks import quirk_notes
from ..resolve.snapshot import CatalogSnapshot, load_catalog
from ..settings import EffectiveRouting
from ..settings.options import RouterConfig

__all__ = [
    "Scenario",
    "ScenarioOptions",
    "build_scenario",
    "configured_providers",
    "default_bundle",
    "effective_routing_of",
]

BUNDLE_FILE = "bundle.md"
SHIPPED_BUNDLE = "data/bundle"  # where setup.py's build_py copies the bundle in a wheel


@dataclass(frozen=True, slots=True)
class ScenarioOptions:
    """What the user asked for on the command line."""

    bundle: str | Path | None = None
    catalog: str | Path | None = None
    down: tuple[str, ...] = ()
    failing: tuple[str, ...] = ()
    flaky: tuple[str, ...] = ()
    session_model: str | None = None
    use_settings: bool = False
    shared_state: bool = False
    """Use the ``state`` store the settings name (sqlite, Redis); else memory, so a run means
    the same on every machine and never reads or writes another process's cooldowns."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a command needs, validated. ``plan`` is the parent session's mount plan."""

    options: ScenarioOptions
    bundle: Bundle
    snapshot: CatalogSnapshot
    providers: tuple[str, ...]
    """Every provider of the catalog, in the catalog's order (mounted or not)."""
    session_model: str
    """``provider/model`` the parent session runs on (what ``self`` and inheritors get)."""
    hook_config: dict[str, Any]
    routing: EffectiveRouting
    plan: dict[str, Any]
    configured_providers: tuple[dict[str, Any], ...] | None = None
    """The provider entries of the user's Amplifier settings (``config.providers``) when settings
    files are honoured, else None: what listing-quirk notes are judged by."""

    def quirk_notes(self) -> tuple[str, ...]:
        """The listing-quirk notes for this scenario's providers (:func:`.quirks.quirk_notes`)."""
        return quirk_notes(self.providers, self.configured_providers)

    @property
    def mounted(self) -> tuple[str, ...]:
        return tuple(p for p in self.providers if p not in self.options.down)

    @property
    def session_pair(self) -> tuple[str, str]:
        provider, _, model = self.session_model.partition("/")
        return provider, model


def default_bundle(cwd: Path | None = None) -> Path:
    """``bundle.md`` in the working folder, else the bundle shipped with this package.

    Shipped means ``bundle/bundle.md`` inside the package (a wheel) or ``bundle.md`` beside the
    package folder (a source checkout or editable install).
    """
    here = (cwd or Path.cwd()) / BUNDLE_FILE
    if here.is_file():
        return here
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / SHIPPED_BUNDLE / BUNDLE_FILE, package.parent / BUNDLE_FILE):
        if candidate.is_file():
            return candidate
    raise UsageError(
        f"no {BUNDLE_FILE} here and none shipped with the package; pass a bundle path",
        file=str(here),
    )


def effective_routing_of(
    bundle: Bundle, *, use_settings: bool
) -> tuple[EffectiveRouting, dict[str, Any]]:
    """The routing a session with this bundle would use, and the module config that gives it.

    Built by the module's own :func:`.module.build_router`, so the CLI and a real session can
    never disagree on how settings layers apply. ``use_settings=False`` reads no settings file
    (only the bundle and its mount-plan keys count).
    """
    from ..session.mount import build_router  # the kernel-facing module; the CLI may import it

    hook_config = dict(bundle.module_config) | {"use_settings_files": use_settings}
    router_config = RouterConfig.from_mount(
        hook_config, source=f"{bundle.path.name}: hooks[model-router].config"
    )
    routing = build_router(
        dataclasses.replace(router_config, use_settings_files=use_settings)
    ).routing
    return routing, hook_config


def _session_model(
    options: ScenarioOptions, snapshot: CatalogSnapshot, providers: Sequence[str]
) -> str | None:
    """The parent's model: as given, else the first mounted provider that answers reliably.

    A flaky provider cannot carry the parent (the parent has no failover chain: its own model
    is whatever the app configured), so it is refused as the session model.
    """
    if options.session_model is not None:
        provider = options.session_model.partition("/")[0]
        if provider in options.flaky:
            raise UsageError(
                f"provider {provider!r} is flaky, so the parent session itself would fail; "
                "pick another --session-model",
                field="session_model",
            )
        return options.session_model
    mounted = [p for p in providers if p not in options.down]
    usable = [p for p in mounted if p not in options.flaky]
    if not usable:
        if not mounted:
            return None  # the mount plan says it: every provider is down
        raise UsageError(
            "every mounted provider is flaky; nothing can run the parent session", field="flaky"
        )
    return f"{usable[0]}/{snapshot.default_model(usable[0])}"


def build_scenario(options: ScenarioOptions) -> Scenario:
    """Load and check everything; raises :class:`UsageError` naming the bad input."""
    bundle = load_bundle(options.bundle if options.bundle is not None else default_bundle())
    snapshot = load_catalog(options.catalog)
    providers = tuple(snapshot.providers)
    routing, hook_config = effective_routing_of(bundle, use_settings=options.use_settings)
    if not options.shared_state:  # the mount layer is the strongest: memory, whatever files say
        hook_config = hook_config | {"state": {"backend": "memory"}}
    plan = offline_mount_plan(  # validates provider names and the session model
        agent_configs(bundle),
        providers=providers,
        down=options.down,
        failing=options.failing,
        flaky=options.flaky,
        catalog=snapshot,
        hooks=[{"module": "model-router", "config": hook_config}],
        session_model=_session_model(options, snapshot, providers),
    )
    session_model = _plan_session_model(plan)  # the catalog's own spelling of the id
    configured = configured_providers(use_settings=options.use_settings)
    return Scenario(options, bundle, snapshot, providers, session_model, hook_config, routing, plan, configured)


def configured_providers(*, use_settings: bool) -> tuple[dict[str, Any], ...] | None:
    """``config.providers`` of the user's Amplifier settings files, when they are honoured."""
    from ..settings.app_providers import amplifier_providers

    return amplifier_providers() if use_settings else None


def _plan_session_model(plan: dict[str, Any]) -> str:
    """``provider/model`` of the plan's priority-1 provider (the one the parent's loop picks)."""
    first = min(plan["providers"], key=lambda entry: entry["config"]["priority"])
    return f"{first['config']['name']}/{first['config']['default_model']}"
