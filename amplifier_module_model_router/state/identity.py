"""Which provider *account* a mounted provider is, without exposing its credential.

Rate limits and quotas belong to an account, not to a process or a mount name: two processes
on one API key must share a cooldown, and two keys mounted under the same name (``anthropic``
for work and for a side project) must not. The identity is the mount name (readable in
messages) and a keyed hash of what tells accounts apart: the provider's class, its endpoint,
its credential and account fields (organization, project, ...), or, when a provider shows
none of those, the mount's instance id.

The hash is HMAC-SHA256 under a fixed key, truncated to 64 bits: it cannot be turned back into
the key, and a store (a shared Redis) never holds anything a credential could be read from.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from ..duck import attr_or_key

__all__ = ["provider_identity"]

_KEY = b"amplifier-model-router/provider-identity/v1"
_CREDENTIAL_FIELDS = ("api_key", "_api_key", "auth_token", "token", "_token", "access_token")
_ACCOUNT_FIELDS = ("organization", "organization_id", "org_id", "project", "project_id", "account", "account_id", "tenant_id")
_CLIENT_ATTRS = ("client", "_client")


def _secret_text(value: Any) -> str | None:
    """A str, or a pydantic ``SecretStr``-like value, else None (never ``repr`` an object)."""
    if isinstance(value, str):
        return value.strip() or None
    reveal = getattr(value, "get_secret_value", None)
    if callable(reveal):
        try:
            text = reveal()
        except Exception:
            return None
        return text.strip() or None if isinstance(text, str) else None
    return None


def _field(source: Any, name: str) -> str | None:
    return _secret_text(attr_or_key(source, name))


def _sources(provider: Any, config: Mapping[str, Any] | None) -> list[Any]:
    sources: list[Any] = [provider]
    for attr in _CLIENT_ATTRS:
        try:
            client = getattr(provider, attr, None)
        except Exception:
            client = None
        if client is not None:
            sources.append(client)
    try:
        own = getattr(provider, "config", None)
    except Exception:
        own = None
    sources.extend(c for c in (own, config) if isinstance(c, Mapping))
    return sources


def _first(sources: list[Any], names: tuple[str, ...]) -> str | None:
    for source in sources:
        for name in names:
            if (value := _field(source, name)) is not None:
                return value
    return None


def provider_identity(
    name: str,
    provider: Any,
    *,
    endpoint: str | None = None,
    instance_id: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> str:
    """``anthropic#3f9c0a5e21b4d8c7``: the account behind a mounted provider.

    Args:
        name: the mount name (kept in clear: it is what messages show).
        provider: the mounted provider object; its credential and account fields are read
            from the object, its ``client`` and its ``config``.
        endpoint: the provider's endpoint, credentials already stripped.
        instance_id: the mount's instance id, used when the provider shows no credential.
        config: the mount plan's config for this provider.

    Returns:
        The identity: equal for the same account on any process or machine, different for
        two accounts mounted under one name.
    """
    sources = _sources(provider, config)
    credential = _first(sources, _CREDENTIAL_FIELDS)
    account = "|".join(f"{f}={v}" for f in _ACCOUNT_FIELDS if (v := _first(sources, (f,))) is not None)
    cls = type(provider)
    parts = [f"{cls.__module__}.{cls.__qualname__}", endpoint or "", account]
    parts.append(f"key={credential}" if credential is not None else f"instance={instance_id or ''}")
    digest = hmac.new(_KEY, "\n".join(parts).encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:16]
    return f"{name.strip().casefold()}#{digest}"
