"""THE deep merge: bundle composition, child mount plans and offline plans all use this one.

Copy rule, the same for every caller: the result and every dict on the overlay's paths are new;
every other value (from either side) is shared, not copied. A caller that hands the result to
code that may change those values copies them itself (the loader deep-copies what it returns;
the offline plan copies its overlay), so a spawn copies nothing it does not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["deep_merge"]


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base`` in a new dict: mappings merge recursively; lists and scalars in
    the overlay replace the base's (never concatenated).

    Args:
        base: the weaker mapping; never changed.
        overlay: the stronger mapping; never changed.

    Returns:
        A new dict; see the module's copy rule for what it shares.
    """
    merged = dict(base)
    for key, value in overlay.items():
        old = merged.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged
