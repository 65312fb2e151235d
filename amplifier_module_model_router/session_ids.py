"""Sub-session ids: made in one place (our spawner, the offline delegate tool), read in one.

The format is app-cli's lineage-carrying one, ``{parent span}-{child span}_{agent}``: a child's
id starts with its parent's own span, and the agent's name (folded to a slug) ends it.
"""

from __future__ import annotations

import re
import uuid

__all__ = ["agent_of", "sub_session_id"]

_SPAN = re.compile(r"^[0-9a-f]{16}-([0-9a-f]{16})_")


def sub_session_id(agent_name: str, parent_session_id: str | None) -> str:
    """A new id for a child of ``parent_session_id`` running ``agent_name``."""
    slug = re.sub(r"[^a-z0-9]+", "-", agent_name.lower()).strip("-") or "agent"
    match = _SPAN.match(parent_session_id or "")
    parent_span = match.group(1) if match else "0" * 16
    return f"{parent_span}-{uuid.uuid4().hex[:16]}_{slug}"


def agent_of(session_id: str | None) -> str | None:
    """The agent slug a sub-session id ends with (``..._git-ops`` -> ``git-ops``); None if none."""
    text = str(session_id or "")
    if "_" not in text:
        return None
    return text.rpartition("_")[2] or None
