"""Provider preferences: one ``(provider, model glob, config)`` candidate of a fallback chain.

Duck-compatible with amplifier-foundation's ``ProviderPreference`` (``.provider``, ``.model``,
``.config``, ``to_dict``, ``from_dict``), so tool-delegate and app-cli's spawner accept ours and
we accept theirs. Knows nothing of the kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, unknown_keys
from .globs import GROUP_SEPARATOR, MAX_GROUP_MEMBERS, check_glob, group_members

# Keys a preference's ``config`` may never set, even in a bundle tier: a preference chooses a
# model; where a provider connects and with which identity belongs to its ``providers:`` entry.
# Compared case-insensitively, with ``-`` folded to ``_``, at any depth (inside lists too).
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
        # issue 13: names the provider modules and foundation's spawn_utils read
        "openai_base_url", "api_url", "server_url", "base_path", "api_key_env", "beta_headers",
        "use_default_credential", "managed_identity_client_id", "use_managed_identity",
        "extra_request_params", "client_id", "tenant_id", "deployment_name",
    }
)
_PROTECTED_SUFFIXES = (
    "_api_key", "_secret", "_token", "_key_env", "_url", "_uri", "_endpoint", "_headers",
    "_credential", "_credentials", "_client_id", "_tenant_id", "_deployment", "_proxy",
)
_PROTECTED_PREFIXES = ("use_managed_identity", "use_default_credential", "extra_request")

CALLER_CONFIG_KEYS: frozenset[str] = frozenset(
    {
        # sampling
        "temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty",
        "stop", "stop_sequences",
        # output length
        "max_tokens", "max_output_tokens",
        # reasoning and thinking (provider-openai, provider-anthropic, provider-gemini)
        "reasoning", "reasoning_effort", "reasoning_summary", "verbosity",
        "thinking", "extended_thinking", "enable_thinking", "thinking_budget_tokens",
        "thinking_budget",
    }
)
"""Model parameters an untrusted preference (a delegate call, a project settings file) may set
in ``config``; anything else is refused by name. Extended by ``caller_config_keys`` in the
trusted settings layers (org, user, mount)."""

_CALLER_VALUE_LIMITS = {"string": 1_000, "items": 32, "depth": 2}


def fold_key(key: str) -> str:
    """How config keys compare: case-insensitive, ``-`` as ``_``, spaces trimmed."""
    return key.strip().lower().replace("-", "_")


def is_protected_key(key: str) -> bool:
    """True for a config key that names a credential or an endpoint (case and ``-`` folded)."""
    folded = fold_key(key)
    return (
        folded in PROTECTED_CONFIG_KEYS
        or folded.endswith(_PROTECTED_SUFFIXES)
        or folded.startswith(_PROTECTED_PREFIXES)
    )


def _find_protected(config: Any, path: str) -> str | None:
    """The dotted path of the first protected key at any depth, through mappings and lists."""
    if isinstance(config, Mapping):
        for key, value in config.items():
            here = f"{path}.{key}"
            if isinstance(key, str) and is_protected_key(key):
                return here
            found = _find_protected(value, here)
            if found:
                return found
    elif isinstance(config, (list, tuple)):
        for index, item in enumerate(config):
            found = _find_protected(item, f"{path}[{index}]")
            if found:
                return found
    return None


def check_caller_config(
    config: Mapping[str, Any], allowed: frozenset[str] = CALLER_CONFIG_KEYS, *, path: str = "config"
) -> None:
    """Refuse, by name, any key of an untrusted preference's ``config`` not in ``allowed``.

    Values must be plain: a scalar (strings up to 1,000 characters), or a list or a mapping of
    them, two levels at most (``thinking: {type: enabled, budget_tokens: 4000}``); nested keys
    are checked against the credential and endpoint names too.

    Raises:
        InputError: with ``field`` set to the offending key's path.
    """
    folded_allowed = {fold_key(k) for k in allowed}
    for key, value in config.items():
        here = f"{path}.{key}"
        if not isinstance(key, str) or fold_key(key) not in folded_allowed:
            raise InputError(
                f"not a model parameter a caller may set; allowed: {', '.join(sorted(allowed))} "
                "(more through caller_config_keys in your routing settings)",
                field=here,
            )
        _check_plain(value, here, 1)


def _check_plain(value: Any, path: str, depth: int) -> None:
    limits = _CALLER_VALUE_LIMITS
    if value is None or isinstance(value, (bool, int, float)):
        return
    if isinstance(value, str):
        if len(value) > limits["string"]:
            raise InputError(f"a string over {limits['string']} characters", field=path)
        return
    if depth > limits["depth"] or not isinstance(value, (list, tuple, Mapping)):
        raise InputError("must be a number, a string, or a short list or mapping of them", field=path)
    if len(value) > limits["items"]:
        raise InputError(f"more than {limits['items']} items", field=path)
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}"
            if not isinstance(key, str) or is_protected_key(key):
                raise InputError("credentials and endpoints cannot be set through a preference", field=here)
            _check_plain(item, here, depth + 1)
    else:
        for index, item in enumerate(value):
            _check_plain(item, f"{path}[{index}]", depth + 1)


def _group_text(value: Any) -> Any:
    """A YAML list of patterns -> the group's one-string spelling; anything else unchanged."""
    if not isinstance(value, (list, tuple)):
        return value
    if not value:
        raise InputError("'model' group must not be empty", field="model")
    if len(value) > MAX_GROUP_MEMBERS:
        raise InputError(f"'model' group has {len(value)} members; at most {MAX_GROUP_MEMBERS}", field="model")
    for index, member in enumerate(value):
        if not isinstance(member, str) or not member.strip():
            raise InputError("must be a non-empty string", field=f"model[{index}]")
        if "|" in member:
            raise InputError("a group member cannot itself be a group", field=f"model[{index}]")
    return GROUP_SEPARATOR.join(member.strip() for member in value)


@dataclass(frozen=True, slots=True)
class ProviderPreference:
    """One candidate: a provider (by name, module id or instance id) and a model, glob or group.

    A group (``model: [gpt-?.?-codex*, gpt-?.?-terra*]``) is kept as one string joined by
    ``" | "`` so every consumer of ``.model`` still sees a string, and a stock session that
    does not know groups finds no model for it and moves on.
    """

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
        if isinstance(data.get("model"), (list, tuple)):
            data = {**data, "model": _group_text(data["model"])}
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
            raise InputError(unknown_keys(unknown, ("provider", "model", "config")))
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
        if "|" in model:  # normalise the spelling, so equal groups compare equal
            model = GROUP_SEPARATOR.join(group_members(model))
        return cls(provider=data["provider"].strip(), model=model, config=dict(config))

    @property
    def members(self) -> tuple[str, ...]:
        """The patterns of a group, or the one model/glob."""
        return group_members(self.model)

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
