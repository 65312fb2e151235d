"""Import path kept from 0.1 (README); the code lives in :mod:`.bundle.loader`."""

from .bundle.loader import agent_configs, load_bundle, parse_tiers

__all__ = ["agent_configs", "load_bundle", "parse_tiers"]
