"""Process-wide state, in one registry.

A parent session and its children mount fresh module instances in one process, yet must share
some state: catalog caches, cooldowns, spawn handoffs, the cost ledger, the spend book, the
memo of each session's providers, the offline call recorder, the open state stores. Each lives
here under a name, made on first use, with the function that empties it; :func:`reset_shared`
empties them all in place (holders keep their references), which is what tests do between
cases. What holds a resource that only an ``await`` can release (a state store's sqlite thread
or Redis client, a cooldown subscription) also names that close; :func:`close_shared` runs
those closes, then the resets: the end of a test, or of a process's last session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

__all__ = ["close_shared", "replaced", "reset_shared", "shared", "shared_names"]

T = TypeVar("T")

logger = logging.getLogger(__name__)


class _Item(NamedTuple):
    value: Any
    reset: Callable[[Any], object]
    aclose: Callable[[Any], Awaitable[object]] | None


_LOCK = threading.Lock()
_ITEMS: dict[str, _Item] = {}


def shared(
    name: str,
    factory: Callable[[], T],
    reset: Callable[[T], object],
    *,
    aclose: Callable[[T], Awaitable[object]] | None = None,
) -> T:
    """The process's one ``name`` object, made by ``factory`` on first use.

    Args:
        name: what the state is (``"cooldowns"``); one name, one object.
        factory: makes the empty object.
        reset: empties it in place (for :func:`reset_shared`).
        aclose: releases what it holds that needs an ``await`` (for :func:`close_shared`);
            None when nothing does.

    Returns:
        The same object on every call.
    """
    item = _ITEMS.get(name)
    if item is None:
        with _LOCK:
            item = _ITEMS.get(name)
            if item is None:
                item = _ITEMS[name] = _Item(factory(), reset, aclose)
    value: T = item.value
    return value


@contextmanager
def replaced(
    name: str,
    value: T,
    reset: Callable[[T], object],
    *,
    aclose: Callable[[T], Awaitable[object]] | None = None,
) -> Iterator[T]:
    """``value`` is the process's ``name`` object for the block (a soak run's simulated clock);
    whatever was there before is back after it."""
    with _LOCK:
        saved = _ITEMS.get(name)
        _ITEMS[name] = _Item(value, reset, aclose)
    try:
        yield value
    finally:
        with _LOCK:
            if saved is None:
                _ITEMS.pop(name, None)
            else:
                _ITEMS[name] = saved


def shared_names() -> tuple[str, ...]:
    """Every piece of process-wide state made so far."""
    return tuple(_ITEMS)


def reset_shared() -> None:
    """Empty every piece of process-wide state in place (tests: a clean slate per case)."""
    for item in list(_ITEMS.values()):
        item.reset(item.value)


async def close_shared() -> None:
    """Release every held resource (in the order they were made), then :func:`reset_shared`.

    One close that fails is logged and the others still run: nothing is left open because
    something else would not close.
    """
    for name, item in list(_ITEMS.items()):
        if item.aclose is not None:
            try:
                await item.aclose(item.value)
            except Exception:
                logger.warning("model-router: could not close %s", name, exc_info=True)
    reset_shared()
