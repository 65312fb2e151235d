"""The routing state store: catalogs, cooldowns, leases and counters shared across processes.

``memory`` keeps today's per-process behaviour; ``sqlite`` shares one file between the
processes of one user; ``redis`` shares one server between a team's machines. The router
always reads its in-memory tier first (:mod:`.sync`, the catalog cache's own slots), so a warm
spawn never waits on a store, and every store call is bounded and may fail (:mod:`.guard`).

Files: ``base`` (the contract), ``memory`` / ``sqlite`` / ``redis`` (backends), ``guard``
(bounds and fallbacks), ``identity`` (provider account keys), ``flight`` (cross-process
single-flight), ``sync`` (cooldowns in step with the store), ``open`` (settings -> store).
"""

from .base import BACKENDS, StateStore, StoredCatalog, StoredCooldown, StoreError, StoreUnavailable
from .flight import fetch_once
from .guard import GuardedStore
from .identity import provider_identity
from .memory import MemoryStore
from .open import StateSettings, describe, open_store, shared_store
from .sync import CooldownSync

__all__ = [
    "BACKENDS",
    "CooldownSync",
    "GuardedStore",
    "MemoryStore",
    "StateSettings",
    "StateStore",
    "StoreError",
    "StoreUnavailable",
    "StoredCatalog",
    "StoredCooldown",
    "describe",
    "fetch_once",
    "open_store",
    "provider_identity",
    "shared_store",
]
