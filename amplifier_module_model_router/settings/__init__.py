"""Layered routing settings: org, user, project and mount-plan layers over the bundle's tiers.

Pure library (no kernel import): :func:`discover_layers` reads and validates the layers,
:func:`effective_routing` applies them to the bundle's tiers and says where each value came from.
"""

from __future__ import annotations

from .discover import HOME_ENV, ORG_ENV, SECTION, amplifier_home, discover_layers, settings_paths
from .effective import EffectiveRouting, effective_routing, routing_without_bad_layers
from .names import BASE, INHERIT
from .schema import KEYS, LAYER_NAMES, LayerSettings, SettingsLayer, parse_layer

__all__ = [
    "BASE",
    "HOME_ENV",
    "INHERIT",
    "KEYS",
    "LAYER_NAMES",
    "ORG_ENV",
    "SECTION",
    "EffectiveRouting",
    "LayerSettings",
    "SettingsLayer",
    "amplifier_home",
    "discover_layers",
    "effective_routing",
    "parse_layer",
    "routing_without_bad_layers",
    "settings_paths",
]
