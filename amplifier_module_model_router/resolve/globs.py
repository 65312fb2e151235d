"""Model-name globs: fnmatch semantics, case-insensitive, and strict about syntax.

``fnmatch`` silently treats an unclosed ``[`` as a literal character; a typo in a tier would
then match nothing and fall through the whole chain unnoticed. We reject it instead.

A candidate group (``gpt-?.?-codex* | gpt-?.?-terra*``, written in YAML as a list) is several
patterns for one provider; it matches what any member matches and, like a glob, never reaches a
provider. The resolver picks the newest across members (see :mod:`.resolver`).
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

from ..errors import InputError

_GLOB_CHARS = frozenset("*?[|")
GROUP_SEPARATOR = " | "
"""How a candidate group is spelled as one string (model ids never hold ``|``)."""
MAX_GROUP_MEMBERS = 8


def group_members(pattern: str) -> tuple[str, ...]:
    """``"a* | b*"`` -> ``("a*", "b*")``; a plain pattern is a group of one."""
    if "|" not in pattern:
        return (pattern,)
    return tuple(member.strip() for member in pattern.split("|"))


def is_glob(pattern: str) -> bool:
    """True when ``pattern`` has wildcard syntax and so must never reach a provider."""
    return any(ch in _GLOB_CHARS for ch in pattern)


def class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the character class opened at ``pattern[start]`` (a ``[``);
    -1 when it is unclosed. fnmatch's rule: a leading ``!`` or ``^`` negates, and a ``]`` right
    after the opening (or the negation) is a member, not the end."""
    j, n = start + 1, len(pattern)
    if j < n and pattern[j] in "!^":
        j += 1
    if j < n and pattern[j] == "]":
        j += 1
    return pattern.find("]", j)


def check_glob(pattern: str) -> None:
    """Raise :class:`InputError` when ``pattern`` is not a well-formed glob or group."""
    members = group_members(pattern)
    if len(members) > 1:
        if len(members) > MAX_GROUP_MEMBERS:
            raise InputError(f"group {pattern!r} has {len(members)} members; at most {MAX_GROUP_MEMBERS}")
        for member in members:
            if not member:
                raise InputError(f"group {pattern!r} has an empty member")
            check_glob(member)
        return
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "[":
            end = class_end(pattern, i)
            if end == -1:
                raise InputError(f"glob {pattern!r} has an unclosed '[' at position {i}")
            if not pattern[i + 1 : end].lstrip("!^"):
                raise InputError(f"glob {pattern!r} has an empty character class")
            i = end
        i += 1


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compiled case-insensitive matcher for a checked glob (cached: tiers reuse few globs)."""
    check_glob(pattern)
    alternatives = "|".join(fnmatch.translate(m.lower()) for m in group_members(pattern))
    return re.compile(f"(?:{alternatives})", re.IGNORECASE)


def glob_matches(pattern: str, model_id: str) -> bool:
    """Case-insensitive fnmatch of one model id."""
    return compile_glob(pattern).match(model_id.lower()) is not None
