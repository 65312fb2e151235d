"""Process-wide state, in one registry.

A parent session and its children mount fresh module instances in one process, yet must share
some state: catalog caches, cooldowns, spawn handoffs, the cost ledger, the spend book, the
memo of each session's providers, the offline call recorder. Each lives here under a name, made
on first use, with the function that empties it; :func:`reset_shared` empties them all in place
(holders keep their references), which is what tests do between cases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["replaced", "reset_shared", "shared", "shared_names"]

T = TypeVar("T")

_LOCK = threading.Lock()
_ITEMS: dict[str, tuple[Any, Callable[[Any], object]]] = {}


def shared(name: str, factory: Callable[[], T], reset: Callable[[T], object]) -> T:
    """The process's one ``name`` object, made by ``factory`` on first use.

    Args:
        name: what the state is (``"cooldowns"``); one name, one object.
        factory: makes the empty object.
        reset: empties it in place (for :func:`reset_shared`).

    Returns:
        The same object on every call.
    """
    item = _ITEMS.get(name)
    if item is None:
        with _LOCK:
            item = _ITEMS.get(name)
            if item is None:
                item = _ITEMS[name] = (factory(), reset)
    value: T = item[0]
    return value


@contextmanager
def replaced(name: str, value: T, reset: Callable[[T], object]) -> Iterator[T]:
    """``value`` is the process's ``name`` object for the block (a soak run's simulated clock);
    whatever was there before is back after it."""
    with _LOCK:
        saved = _ITEMS.get(name)
        _ITEMS[name] = (value, reset)
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
    for value, reset in list(_ITEMS.values()):
        reset(value)
