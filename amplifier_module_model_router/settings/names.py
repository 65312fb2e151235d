"""How names written in settings compare: providers, agents, agent patterns.

Kept apart so the rules are stated once and tested once.
"""

from __future__ import annotations

from ..resolve.globs import class_end
from ..resolve.providers import canonical_name

BASE = "base"
"""In a tier list: the chain that tier has in the layers below, spliced in at that position."""

INHERIT = "inherit"
"""As a tier: no tier at all, the agent runs on its parent's model."""

RESERVED_TIER_NAMES = frozenset({BASE, INHERIT})

BUNDLE_NAMESPACE = "model-router"
"""Our bundle's namespace: ``model-router:git-ops`` and ``git-ops`` are the same agent."""


KNOWN_PROVIDERS = (
    "anthropic",
    "openai",
    "azure-openai",
    "gemini",
    "github-copilot",
    "ollama",
    "vllm",
)
"""Amplifier's provider modules (``provider-<name>``): names a settings file may use even when
no tier names them yet. Anything else that no tier names is probably a typo."""


def provider_key(name: str) -> str:
    """Compare providers the way the resolver matches them: case-insensitive, with or
    without the ``provider-`` module prefix, and ``gemini`` == ``google``.

    Instance ids (``anthropic-2``) are compared as written: without the mounted providers
    a settings file cannot know which module an instance belongs to.
    """
    return canonical_name(name)  # the resolver's own rule, so settings and resolution agree


def fold_agent(name: str, namespace: str = BUNDLE_NAMESPACE) -> str:
    """Drop our own bundle namespace; other namespaces are part of the agent's name."""
    name = name.strip()
    prefix = f"{namespace}:"
    return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else name


def bare_agent(name: str) -> str:
    """``recipes:author`` -> ``author``: a plain settings key matches any namespace."""
    return name.rsplit(":", 1)[-1]


def pattern_specificity(pattern: str) -> int:
    """Literal characters in a glob: ``recipes:*`` (8) is more specific than ``*`` (0).

    A ``[...]`` class and ``?`` stand for one unknown character and count nothing.
    """
    count, i, n = 0, 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "[":
            end = class_end(pattern, i)
            i = end + 1 if end != -1 else n
            continue
        if ch not in "*?":
            count += 1
        i += 1
    return count
