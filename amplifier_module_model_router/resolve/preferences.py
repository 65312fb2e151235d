"""Provider preferences: one ``(provider, model glob, config)`` candidate of a fallback chain.

Duck-compatible with amplifier-foundation's ``ProviderPreference`` (``.provider``, ``.model``,
``.config``, ``to_dict``, ``from_dict``), so tool-delegate and app-cli's spawner accept ours and
we accept theirs. Knows nothing of the kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .globs import check_glob

# Keys a preference's ``config`` may never set: a delegate call must not be able to redirect a
# provider to another endpoint or swap its credentials. Compared case-insensitively, with
# ``-`` folded to ``_``, at any depth of the config.
PROTECTED_CONFIG_KEYS: frozenset[str] = frozenset(
    {
        "api_key", "apikey", "api_keys", "key", "secret", "secret_key", "client_secret",
        "token", "access_token", "auth_token", "bearer_token", "refresh_token", "id_token",
        "session_token", "password", "passwd", "credentials", "credential", "auth",
        "authorization", "headers", "default_headers", "extra_headers", "cookie", "cookies",
        "base_url", "api_base", "api_base_url", "endpoint", "endpoint_url", "url", "uri",
        "host", "hostname", "port", "azure_endpoint", "azure_deployment", "azure_ad_token",
        "azure_ad_token_provider", "api_version", "organization", "org_id", "project",
        "project_id", "proxy", "proxies", "http_proxy", "https_proxy", "no_proxy",
        "verify_ssl", "verify", "ssl_verify", "ca_bundle", "ca_cert", "cert", "client_cert",
        "http_client", "transport", "region", "aws_access_key_id", "aws_secret_access_key",
        "aws_session_token", "aws_region", "aws_profile", "vertex_project", "vertex_location",
        "github_token", "copilot_token", "gh_token",
    }
)


def is_protected_key(key: str) -> bool:
    """True for a config key that names a credential or an endpoint (case and ``-`` folded)."""
    folded = key.strip().lower().replace("-", "_")
    return folded in PROTECTED_CONFIG_KEYS or folded.endswith(("_api_key", "_secret", "_token"))


def _find_protected(config: Mapping[str, Any], path: str) -> str | None:
    for key, value in config.items():
        if not isinstance(key, str):
            continue
        here = f"{path}.{key}"
        if is_protected_key(key):
            return here
        if isinstance(value, Mapping):
            found = _find_protected(value, here)
            if found:
                return found
    return None


@dataclass(frozen=True, slots=True)
class ProviderPreference:
    """One candidate: a provider (by name, module id or instance id) and a model or glob."""

    provider: str
    model: str
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_dict(cls, data: Any) -> "ProviderPreference":
        """Validate and build; raises :class:`InputError` naming the offending field."""
        if isinstance(data, ProviderPreference):
            return data
        if not isinstance(data, Mapping):
            if hasattr(data, "provider") and hasattr(data, "model"):
                data = {
                    "provider": data.provider,
                    "model": data.model,
                    "config": getattr(data, "config", None) or {},
                }
            else:
                raise InputError(
                    f"expected a mapping with 'provider' and 'model', got {type(data).__name__}"
                )
        for key in ("provider", "model"):
            if key not in data or data[key] is None:
                raise InputError(f"missing '{key}'")
            value = data[key]
            if not isinstance(value, str):
                raise InputError(f"'{key}' must be a string, got {type(value).__name__}", field=key)
            if not value.strip():
                raise InputError(f"'{key}' must not be empty", field=key)
        unknown = sorted(str(k) for k in data if k not in ("provider", "model", "config"))
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(map(repr, unknown))}")
        config = data.get("config") or {}
        if not isinstance(config, Mapping):
            raise InputError(f"'config' must be a mapping, got {type(config).__name__}", field="config")
        protected = _find_protected(config, "config")
        if protected:
            raise InputError(
                "credentials and endpoints cannot be set through a preference", field=protected
            )
        model = data["model"].strip()
        check_glob(model)
        return cls(provider=data["provider"].strip(), model=model, config=dict(config))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, as tool-delegate expects in ``coordinator.config['agents']``."""
        out: dict[str, Any] = {"provider": self.provider, "model": self.model}
        if self.config:
            out["config"] = dict(self.config)
        return out

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_preferences(items: Any, *, allow_empty: bool = False) -> tuple[ProviderPreference, ...]:
    """Validate an ordered chain. Errors carry the index: ``provider_preferences[2]: ...``."""
    if items is None or (isinstance(items, (str, bytes)) or not isinstance(items, Iterable)):
        raise InputError(
            f"must be a list of preferences, got {type(items).__name__}"
        )
    chain: list[ProviderPreference] = []
    for index, item in enumerate(items):
        try:
            chain.append(ProviderPreference.from_dict(item))
        except InputError as err:
            field_name = f"[{index}]" + (f".{err.field}" if err.field else "")
            raise InputError(err.reason, field=field_name) from None
    if not chain and not allow_empty:
        raise InputError("chain is empty: at least one preference is needed")
    return tuple(chain)
