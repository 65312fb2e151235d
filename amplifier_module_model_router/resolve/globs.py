"""Model-name globs: fnmatch semantics, case-insensitive, and strict about syntax.

``fnmatch`` silently treats an unclosed ``[`` as a literal character; a typo in a tier would
then match nothing and fall through the whole chain unnoticed. We reject it instead.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

from ..errors import InputError

_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """True when ``pattern`` has wildcard syntax and so must never reach a provider."""
    return any(ch in _GLOB_CHARS for ch in pattern)


def check_glob(pattern: str) -> None:
    """Raise :class:`InputError` when ``pattern`` is not a well-formed glob."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1  # a leading ']' is a literal member of the class
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                raise InputError(f"glob {pattern!r} has an unclosed '[' at position {i}")
            body = pattern[i + 1 : j].lstrip("!^")
            if not body:
                raise InputError(f"glob {pattern!r} has an empty character class")
            i = j
        i += 1


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compiled case-insensitive matcher for a checked glob (cached: tiers reuse few globs)."""
    check_glob(pattern)
    return re.compile(fnmatch.translate(pattern.lower()), re.IGNORECASE)


def glob_matches(pattern: str, model_id: str) -> bool:
    """Case-insensitive fnmatch of one model id."""
    return compile_glob(pattern).match(model_id.lower()) is not None
