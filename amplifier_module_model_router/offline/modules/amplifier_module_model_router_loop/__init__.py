"""Offline module `model-router-loop`, importable under the name the kernel looks up."""

from amplifier_module_model_router.offline.loop import __amplifier_module_type__, mount

__all__ = ["__amplifier_module_type__", "mount"]
