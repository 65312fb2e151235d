"""Import path kept from 0.1 (README); the code lives in :mod:`.session.spawner`."""

from .session.spawner import RoutingSpawner

__all__ = ["RoutingSpawner"]
