"""Import path kept from 0.1 (README); the code lives in :mod:`.session.mount`."""

from .session.mount import build_router, mount

__all__ = ["build_router", "mount"]
