"""Build the mount plan of an offline session: the dict ``AmplifierSession(config)`` takes.

One call gives the offline loop and context, one offline provider per name (each with its
catalog section, default model and faults), the ``delegate`` tool, the caller's hooks and
agents. The session's own provider is priority 1 and the others follow in the order given, so
priority 0 (and below) stays free for a spawner to promote a child's chosen provider.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..merge import deep_merge
from ..resolve.snapshot import CatalogSnapshot, load_catalog
from .modules import make_importable

__all__ = [
    "CONTEXT_MODULE",
    "DEFAULT_PROVIDERS",
    "DELEGATE_MODULE",
    "LOOP_MODULE",
    "PROVIDER_MODULE",
    "offline_mount_plan",
]

LOOP_MODULE = "model-router-loop"
CONTEXT_MODULE = "model-router-context"
PROVIDER_MODULE = "provider-model-router-sim"
DELEGATE_MODULE = "tool-model-router-delegate"
DEFAULT_PROVIDERS = ("anthropic", "openai", "gemini", "github-copilot")

FAILING = {
    "mode": "raise",
    "error": "ProviderUnavailableError",
    "message": "model catalog unavailable (simulated outage)",
}
FLAKY = {"type": "RateLimitError", "retry_after": 30.0}


def offline_mount_plan(
    agents: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    providers: Sequence[str] = DEFAULT_PROVIDERS,
    session_model: str | None = None,
    down: Iterable[str] = (),
    failing: Iterable[str] = (),
    flaky: Iterable[str] = (),
    catalog: CatalogSnapshot | str | Path | None = None,
    hooks: Sequence[Mapping[str, Any]] = (),
    provider_config: Mapping[str, Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The session config for an offline run.

    - ``providers``: names to mount, in priority order; each must be a section of the catalog.
    - ``session_model``: ``"provider/model"`` the session itself runs on (that provider gets
      priority 1 and that default model); default: the first mounted provider's catalog default.
    - ``down``: not mounted. ``failing``: ``list_models()`` raises ProviderUnavailableError.
      ``flaky``: every ``complete()`` raises RateLimitError (retry_after 30 s).
    - ``catalog``: a snapshot file, or a snapshot :func:`load_catalog` read (default: the
      embedded one); providers in child sessions read it again from that file.
    - ``hooks``: mount-plan hook entries, passed through (e.g. the model-router module).
    - ``provider_config``: extra config per provider name (faults, ``report_cost``...), merged
      over what the helper sets.
    - ``extra``: deep-merged over the finished plan (e.g. ``{"session": {"metadata": ...}}``).

    Unknown provider names, a session model the catalog lacks, or a session provider that is
    down raise :class:`UsageError`; nothing is half-built.
    """
    make_importable()  # the offline modules are importable packages, not entry points
    snapshot = catalog if isinstance(catalog, CatalogSnapshot) else load_catalog(catalog)
    if snapshot.source is None and snapshot is not load_catalog():
        raise UsageError("a catalog must be the embedded one or a file", field="catalog")
    names = list(dict.fromkeys(providers))
    _check_names(names, snapshot, "providers", known=snapshot.providers)
    down_set, failing_set, flaky_set = set(down), set(failing), set(flaky)
    for field, chosen in (
        ("down", down_set),
        ("failing", failing_set),
        ("flaky", flaky_set),
        ("provider_config", set(provider_config or {})),
    ):
        _check_names(sorted(chosen), snapshot, field, known=names)
    mounted = [n for n in names if n not in down_set]
    if not mounted:
        raise UsageError("every provider is down; nothing would answer", field="down")
    session_provider, session_default = _session_model(session_model, mounted, down_set, snapshot)
    order = [session_provider] + [n for n in mounted if n != session_provider]
    entries = []
    for priority, name in enumerate(order, start=1):
        config: dict[str, Any] = {
            "name": name,
            "priority": priority,
            "default_model": session_default
            if name == session_provider
            else snapshot.default_model(name),
        }
        if snapshot.source is not None:
            config["catalog_file"] = snapshot.source  # children mount it again from the file
        if name in failing_set:
            config["list_models"] = dict(FAILING)
        if name in flaky_set:
            config["complete_error"] = dict(FLAKY)
        config.update(copy.deepcopy(dict((provider_config or {}).get(name, {}))))
        entries.append(
            {"module": PROVIDER_MODULE, "instance_id": name, "id": name, "config": config}
        )
    plan: dict[str, Any] = {
        "session": {
            "orchestrator": {"module": LOOP_MODULE, "config": {}},
            "context": {"module": CONTEXT_MODULE, "config": {}},
        },
        "providers": entries,
        "tools": [{"module": DELEGATE_MODULE, "config": {}}],
        "hooks": [copy.deepcopy(dict(h)) for h in hooks],
        "agents": copy.deepcopy({k: dict(v) for k, v in (agents or {}).items()}),
    }
    return deep_merge(plan, copy.deepcopy(dict(extra or {})))  # the plan owns what it holds


def _session_model(
    spec: str | None, mounted: list[str], down: set[str], snapshot: CatalogSnapshot
) -> tuple[str, str]:
    if spec is None:
        first = mounted[0]
        return first, snapshot.default_model(first) or ""
    provider, sep, model = spec.partition("/")
    if not sep or not provider or not model:
        raise UsageError(f"expected PROVIDER/MODEL, got {spec!r}", field="session_model")
    if provider in down:
        raise UsageError(f"provider {provider!r} is down", field="session_model")
    if provider not in mounted:
        raise UsageError(
            f"provider {provider!r} is not mounted; mounted: {', '.join(mounted)}",
            field="session_model",
        )
    record = snapshot.model(provider, model)
    if record is None:
        raise UsageError(
            f"catalog {snapshot.label} ({snapshot.date}) has no {provider} model {model!r}",
            field="session_model",
        )
    return provider, record.id


def _check_names(
    names: Iterable[str], snapshot: CatalogSnapshot, field: str, *, known: Iterable[str]
) -> None:
    allowed = list(known)
    for name in names:
        if name not in allowed:
            raise UsageError(
                f"unknown provider {name!r}; known: {', '.join(allowed)}",
                file=snapshot.label if field == "providers" else None,
                field=field,
            )


