"""amplifier-bundle-model-router: the right model for every delegated agent.

The kernel finds this module by its entry point ``model-router``. The real ``mount`` lives in
:mod:`.session.mount`; importing it lazily keeps ``import amplifier_module_model_router.bundle.loader`` (the
CLI, tests, other tools) free of the kernel and the session machinery.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    BundleError,
    CatalogError,
    InputError,
    ModelRouterError,
    RoutingError,
    SettingsError,
    UsageError,
)
from .resolve.preferences import ProviderPreference

__all__ = [
    "BundleError",
    "CatalogError",
    "InputError",
    "ModelRouterError",
    "ProviderPreference",
    "RoutingError",
    "SettingsError",
    "UsageError",
    "mount",
]

__amplifier_module_type__ = "hook"


async def mount(coordinator: Any, config: dict[str, Any] | None = None):
    """Mount module ``model-router`` (see :func:`.module.mount`)."""
    from .session.mount import mount as mount_router

    return await mount_router(coordinator, config)
