"""Reading what a provider hands back, in whichever shape it comes.

A provider's answers (``ModelInfo``, ``Pricing``, ``Usage``) may arrive as the kernel's objects,
as plain dicts, or as something else entirely; catalogs, prices and usage are all read through
:func:`attr_or_key`, so no shape and no misbehaving property can make a read raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["attr_or_key"]


def attr_or_key(source: Any, name: str) -> Any:
    """``source[name]`` for a mapping, else ``source.name``; None when missing or when reading
    it raises (a property that raises is just a missing value)."""
    if type(source) is dict:  # the common case, without the abstract-class check
        return source.get(name)
    try:
        return source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
    except Exception:
        return None
