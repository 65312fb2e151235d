"""amplifier-bundle-model-router: the right model for every delegated agent.

The kernel finds this module by its entry point ``model-router``; ``mount`` lives in
:mod:`.module` so this file stays an index.
"""

from __future__ import annotations

from .errors import BundleError
from .preferences import ProviderPreference

__all__ = ["BundleError", "ProviderPreference", "mount"]

__amplifier_module_type__ = "hook"


async def mount(coordinator, config=None):  # pragma: no cover - replaced by the integration issue
    """Mount the router (placeholder until the session integration lands)."""
    return None
