"""Offline module `tool-model-router-delegate`, importable under the name the kernel looks up."""

from amplifier_module_model_router.offline.delegate import __amplifier_module_type__, mount

__all__ = ["__amplifier_module_type__", "mount"]
