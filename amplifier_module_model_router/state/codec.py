"""Catalogs and reasons as the shared stores keep them: bounded JSON, read back defensively.

A store is shared by every process (and, with Redis, every machine) that points at it, so
what comes back is input like any other: sizes are bounded and junk is dropped, never raised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .base import MAX_CATALOG_BYTES, MAX_CATALOG_MODELS, MAX_REASON_CHARS, StoredCatalog

__all__ = ["decode_catalog", "encode_catalog", "short_reason"]

_SCALARS = (str, int, float, bool, type(None))


def short_reason(reason: Any) -> str:
    text = reason if isinstance(reason, str) else ""
    return text[:MAX_REASON_CHARS]


def _plain(value: Any, depth: int = 0) -> Any:
    """JSON-safe copy of model metadata: scalars, short lists and small dicts, depth 3."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, _SCALARS):
        return value
    if depth >= 3:
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, depth + 1) for v in list(value)[:50]]
    return None


def encode_catalog(catalog: StoredCatalog) -> str:
    """JSON for ``catalog`` (models truncated to the store's bound)."""
    body = {
        "models": [_plain(dict(m)) for m in catalog.models[:MAX_CATALOG_MODELS]],
        "error": catalog.error,
        "timed_out": bool(catalog.timed_out),
    }
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def decode_catalog(text: str | bytes | None, remaining: float) -> StoredCatalog | None:
    """The catalog in ``text``, or None when it is missing, too big or not ours."""
    if text is None or len(text) > MAX_CATALOG_BYTES or remaining <= 0:
        return None
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("models"), list):
        return None
    models = tuple(
        m for m in body["models"][:MAX_CATALOG_MODELS] if isinstance(m, dict) and isinstance(m.get("id"), str)
    )
    error = body.get("error")
    return StoredCatalog(
        models=models,
        error=error[:MAX_REASON_CHARS] if isinstance(error, str) else None,
        timed_out=body.get("timed_out") is True,
        remaining=float(remaining),
    )
