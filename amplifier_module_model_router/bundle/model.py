"""Typed values the loader produces: a composed bundle and its agents.

Immutable on purpose: the loader caches parsed files and hands the same agent values to every
caller, so nothing downstream may change them in place. Knows nothing of the kernel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..resolve.preferences import ProviderPreference

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A tier, bundle or namespace name: a word of letters, digits, '-', '_' or '.' (one rule for
bundle files and settings layers, so a tier defined in settings could move into a bundle)."""

NAME_RULE = "must be a word of letters, digits, '-', '_' or '.'"

TIER_NAMES: tuple[str, ...] = ("budget", "strong", "strong-code", "frontier")
"""The four tiers this bundle ships, cheapest first. Derived bundles may add others."""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent as routing sees it.

    ``preferences`` is the *effective* chain: the tier's chain when the agent has a tier (so a
    derived bundle that redefines a tier moves every agent on it), else the file's own list.
    ``own_preferences`` is what the agent file itself carries: the portable fallback a stock
    Amplifier session uses when this module is not mounted.
    """

    name: str
    tier: str | None
    description: str
    instruction: str
    preferences: tuple[ProviderPreference, ...]
    source: Path
    meta: Mapping[str, Any]
    ref: str = ""
    """The key amplifier-foundation gives this agent in ``config["agents"]`` (``ns:name``)."""
    own_preferences: tuple[ProviderPreference, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=_empty)
    """Top-level mount-plan keys of the agent file that foundation keeps (tools, session, ...)."""

    @property
    def key(self) -> str:
        """The ``config["agents"]`` key: ``ref`` when known, else the plain name."""
        return self.ref or self.name


@dataclass(frozen=True, slots=True)
class UnreadInclude:
    """An include this offline loader does not read, and why: a git or other remote source,
    a registry name (``foundation``), or a namespace path into a bundle that is not among the
    files read (``foundation:behaviors/x``). The Amplifier CLI fetches or looks these up; what
    they add (foundation's session, tools, agents) is not part of the composed :class:`Bundle`.
    """

    source: str
    """The include as written."""
    file: Path
    """The bundle file that includes it."""
    field: str
    """Where in that file (``includes[0]``)."""
    reason: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """A bundle with its includes composed in (later wins), ready for routing.

    ``module_config`` is the ``config`` of the ``model-router`` hooks entry after composition,
    with ``tiers`` as plain dicts, so it can be handed to ``mount()`` unchanged.
    ``includes`` lists every bundle file composed in, in composition order, excluding ``path``;
    ``unread`` lists the includes the loader could not read offline (remote, registry).
    """

    name: str
    version: str
    description: str
    path: Path
    tiers: Mapping[str, tuple[ProviderPreference, ...]]
    agents: Mapping[str, AgentSpec]
    module_config: Mapping[str, Any]
    instruction: str
    includes: tuple[Path, ...]
    unread: tuple[UnreadInclude, ...] = ()

    def agents_on(self, tier: str) -> tuple[AgentSpec, ...]:
        """Agents routed through ``tier``, in bundle order."""
        return tuple(a for a in self.agents.values() if a.tier == tier)
