"""Import path kept from 0.1 (README); the code lives in :mod:`.settings.options`."""

from .settings.options import RouterConfig

__all__ = ["RouterConfig"]
