"""Offline module `model-router-context`, importable under the name the kernel looks up."""

from amplifier_module_model_router.offline.context import __amplifier_module_type__, mount

__all__ = ["__amplifier_module_type__", "mount"]
