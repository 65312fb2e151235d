"""An in-memory context manager with context-simple's shape, for offline sessions.

Keeps every message in order and hands them all to each request: offline conversations are a
few turns long, so there is no compaction policy to simulate.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["SimpleContext", "mount"]

__amplifier_module_type__ = "context"


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    """Mount a fresh context for this session."""
    await coordinator.mount("context", SimpleContext())


class SimpleContext:
    """The ``ContextManager`` protocol over a plain list of message dicts."""

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []

    async def add_message(self, message: dict[str, Any]) -> None:
        self._messages.append(copy.deepcopy(message))

    async def get_messages_for_request(
        self, token_budget: int | None = None, provider: Any | None = None
    ) -> list[dict[str, Any]]:
        """All messages, copied so a caller's edits never reach the stored history."""
        return copy.deepcopy(self._messages)

    async def get_messages(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._messages)

    async def set_messages(self, messages: list[dict[str, Any]]) -> None:
        self._messages = copy.deepcopy(list(messages))

    async def clear(self) -> None:
        self._messages.clear()
