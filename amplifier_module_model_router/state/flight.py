"""Single-flight across processes: N processes that need one catalog make one call.

The first process to miss the store takes a short lease and fetches; the others wait for its
answer to land in the store (polling a few times per tenth of a second, which costs nothing
next to a provider's catalog call) and fetch themselves only if the holder's lease runs out
without an answer (it crashed). With the store down, every lease is granted: each process
fetches for itself, as with the ``memory`` backend.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable

from .base import StoredCatalog
from .guard import GuardedStore

__all__ = ["fetch_once"]

_HOLDER_PREFIX = f"{os.getpid()}-"
_POLL_S = 0.02


async def fetch_once(
    store: GuardedStore,
    key: str,
    fetch: Callable[[], Awaitable[tuple[StoredCatalog, float]]],
    *,
    lease_s: float,
    poll_s: float = _POLL_S,
) -> tuple[StoredCatalog, bool]:
    """``(catalog, from_store)``: the stored catalog of ``key``, or one fetched by this process.

    ``fetch`` returns the catalog and the seconds it should stay shared. The caller bounds
    the whole call (its lookup timeout); ``lease_s`` is how long a holder may take before
    others stop waiting for it.
    """
    found = await store.get_catalog(key)
    if found is not None:
        return found, True
    holder = _HOLDER_PREFIX + uuid.uuid4().hex
    lease = f"catalog:{key}"
    while True:
        if await store.acquire_lease(lease, holder, lease_s):
            try:
                # Someone may have stored it between our read and our lease.
                found = await store.get_catalog(key) if store.up else None
                if found is not None:
                    return found, True
                catalog, ttl = await fetch()
                await store.put_catalog(key, catalog, ttl)
                return catalog, False
            finally:
                await store.release_lease(lease, holder)
        # Another process is fetching: its answer lands in the store, or its lease ends.
        waited_until = time.monotonic() + lease_s
        while time.monotonic() < waited_until:
            await asyncio.sleep(poll_s)
            found = await store.get_catalog(key)
            if found is not None:
                return found, True
            if not store.up:
                break
