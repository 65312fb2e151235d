"""Offline module `provider-model-router-sim`, importable under the name the kernel looks up."""

from amplifier_module_model_router.offline.provider import __amplifier_module_type__, mount

__all__ = ["__amplifier_module_type__", "mount"]
