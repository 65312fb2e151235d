"""Model catalog snapshot files: the embedded ``data/catalog.yaml`` and ``--catalog FILE``.

A snapshot is what providers' ``list_models()`` returned on a given date, with limits and list
prices, so routing can be checked (and costed) without API keys. The file format is documented at
the top of ``data/catalog.yaml``. Loading validates everything up front: a bad file is one
:class:`CatalogError` naming the file and the field (``providers.openai.models[3].pricing.input``),
never a half-loaded catalog. Knows nothing of the kernel; the offline provider turns these
records into ``amplifier_core`` ``ModelInfo``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date as _date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import CatalogError, InputError, unknown_keys
from ..bounded_read import read_text
from ..safe_yaml import parse_yaml
from .globs import is_glob
from .prices import PRICES_ENV, Price, listed_price, parse_price

__all__ = [
    "EMBEDDED_CATALOG",
    "CatalogModel",
    "CatalogSnapshot",
    "load_catalog",
    "parse_catalog",
    "parse_models",
    "reject_unknown_keys",
]

EMBEDDED_CATALOG = "amplifier_module_model_router/data/catalog.yaml"
"""How the embedded snapshot is named in errors and reports."""

_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-([0-2]\d|3[01]))?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TOP_KEYS = frozenset({"date", "currency", "providers", "source"})  # source: provenance, free-form
_PROVIDER_KEYS = frozenset({"default_model", "models"})
_MODEL_KEYS = frozenset(
    {
        "id",
        "display_name",
        "context_window",
        "max_output_tokens",
        "capabilities",
        "pricing",
        "alias_of",
    }
)
@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One model id as a provider lists it (ModelInfo-shaped; ``pricing`` None = unknown)."""

    id: str
    display_name: str
    context_window: int
    max_output_tokens: int
    capabilities: tuple[str, ...] = ()
    pricing: Price | None = None
    alias_of: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    """A dated catalog: provider name -> its models, in the file's order."""

    date: str
    providers: Mapping[str, tuple[CatalogModel, ...]]
    default_models: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    """The file it came from; None for the embedded snapshot."""

    def models(self, provider: str) -> tuple[CatalogModel, ...]:
        """The provider's models; empty when the snapshot does not list it."""
        return self.providers.get(provider, ())

    def model(self, provider: str, model_id: str) -> CatalogModel | None:
        """The record for an exact id (case-insensitive, as provider APIs treat ids)."""
        wanted = model_id.lower()
        return next((m for m in self.models(provider) if m.id.lower() == wanted), None)

    def list_price(self, provider: str, model_id: str) -> Price | None:
        """What ``model_id`` on ``provider`` lists at, as cost tracking prices a call: this
        catalog's price, else the list-price table's in force; None when neither knows it."""
        return listed_price(self.model(provider, model_id), provider, model_id)

    def default_model(self, provider: str) -> str | None:
        """The provider's default model, else its first listed model, else None."""
        if provider in self.default_models:
            return self.default_models[provider]
        models = self.models(provider)
        return models[0].id if models else None

    @property
    def label(self) -> str:
        """Where the snapshot came from, for messages."""
        return self.source or EMBEDDED_CATALOG


def load_catalog(path: str | Path | None = None) -> CatalogSnapshot:
    """Load and validate a snapshot file; ``None`` loads the embedded one.

    Cached by path, modification time and size: offline providers call this once per mounted
    session, and a delegation tree mounts many.

    The embedded snapshot's prices are a copy of the embedded list-price table
    (``data/prices.yaml``); under another table (``$AMPLIFIER_MODEL_ROUTER_PRICES``, which
    ``--prices FILE`` sets) it carries none, so that table prices every model, as it would the
    real providers' catalogs, which carry no prices.
    """
    if path is None:
        return _load_embedded_unpriced() if os.environ.get(PRICES_ENV, "").strip() else _load_embedded()
    file = str(path)
    try:
        stat = Path(path).stat()
        resolved = str(Path(path).resolve())
    except (OSError, RuntimeError) as err:
        raise CatalogError(f"cannot read catalog: {getattr(err, 'strerror', None) or err}", file=file) from None
    return _load_file(file, resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1)
def _load_embedded() -> CatalogSnapshot:
    text = resources.files("amplifier_module_model_router").joinpath("data/catalog.yaml").read_text("utf-8")
    return parse_catalog(_parse_yaml(text, EMBEDDED_CATALOG), file=EMBEDDED_CATALOG, source=None)


@lru_cache(maxsize=1)
def _load_embedded_unpriced() -> CatalogSnapshot:
    priced = _load_embedded()
    providers = {name: tuple(replace(m, pricing=None) for m in models) for name, models in priced.providers.items()}
    return replace(priced, providers=MappingProxyType(providers))


@lru_cache(maxsize=32)
def _load_file(file: str, resolved: str, mtime_ns: int, size: int) -> CatalogSnapshot:
    try:  # bounded by bytes read, not by stat: /dev/zero and FIFOs report size 0
        text = read_text(resolved, display=file)
    except InputError as err:
        raise CatalogError(f"cannot read catalog: {err.reason}", file=file) from None
    return parse_catalog(_parse_yaml(text, file), file=file, source=file)


def _parse_yaml(text: str, file: str) -> Any:
    """Bounded like every other file we read: alias bombs, depth, duplicate keys, huge ints."""
    try:
        return parse_yaml(text, file=file)
    except InputError as err:  # catalog errors have always said "invalid YAML"
        reason = err.reason.replace("malformed YAML", "invalid YAML", 1)
        raise CatalogError(reason, file=file, line=err.line) from None


def parse_catalog(data: Any, *, file: str, source: str | None = None) -> CatalogSnapshot:
    """Validate a loaded document into a :class:`CatalogSnapshot` (errors name ``file``)."""
    if not isinstance(data, Mapping):
        raise CatalogError(f"a catalog must be a mapping, got {_kind(data)}", file=file)
    reject_unknown_keys(data, _TOP_KEYS, file=file, field=None)
    snapshot_date = _parse_date(data.get("date"), file)
    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise CatalogError("must be a 3-letter ISO 4217 code like USD", file=file, field="currency")
    providers_raw = data.get("providers")
    if not isinstance(providers_raw, Mapping) or not providers_raw:
        raise CatalogError("must map provider names to their models", file=file, field="providers")
    providers: dict[str, tuple[CatalogModel, ...]] = {}
    defaults: dict[str, str] = {}
    for name, section in providers_raw.items():
        where = f"providers.{name}"
        if not isinstance(name, str) or not name.strip():
            raise CatalogError(
                "provider names must be non-empty strings", file=file, field="providers"
            )
        if not isinstance(section, Mapping):
            raise CatalogError(f"expected a mapping, got {_kind(section)}", file=file, field=where)
        reject_unknown_keys(section, _PROVIDER_KEYS, file=file, field=where)
        models = parse_models(
            section.get("models"), file=file, field=f"{where}.models", currency=currency
        )
        providers[name] = models
        default = section.get("default_model")
        if default is not None:
            ids = {m.id for m in models}
            if not isinstance(default, str) or default not in ids:
                raise CatalogError(
                    f"{default!r} is not one of this provider's models",
                    file=file,
                    field=f"{where}.default_model",
                )
            defaults[name] = default
    return CatalogSnapshot(
        date=snapshot_date,
        providers=MappingProxyType(providers),
        default_models=MappingProxyType(defaults),
        source=source,
    )


def parse_models(
    items: Any, *, file: str | None, field: str, currency: str = "USD"
) -> tuple[CatalogModel, ...]:
    """Validate one provider's model list (also used for inline catalogs in provider config)."""
    if not isinstance(items, list) or not items:
        raise CatalogError("must be a non-empty list of models", file=file, field=field)
    models: list[CatalogModel] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        model = _parse_model(item, file=file, field=where, currency=currency)
        if model.id.lower() in seen:
            raise CatalogError(f"duplicate model id {model.id!r}", file=file, field=f"{where}.id")
        seen.add(model.id.lower())
        models.append(model)
    for index, model in enumerate(models):
        if model.alias_of is not None and model.alias_of.lower() not in seen:
            raise CatalogError(
                f"alias of {model.alias_of!r}, which this provider does not list",
                file=file,
                field=f"{field}[{index}].alias_of",
            )
    return tuple(models)


def _parse_model(item: Any, *, file: str | None, field: str, currency: str) -> CatalogModel:
    if not isinstance(item, Mapping):
        raise CatalogError(f"expected a mapping, got {_kind(item)}", file=file, field=field)
    reject_unknown_keys(item, _MODEL_KEYS, file=file, field=field)
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        raise CatalogError("missing model id", file=file, field=f"{field}.id")
    if is_glob(model_id) or any(ch.isspace() for ch in model_id):
        raise CatalogError(
            f"{model_id!r} is not a model id (no wildcards or spaces)",
            file=file,
            field=f"{field}.id",
        )
    display = item.get("display_name", model_id)
    if not isinstance(display, str) or not display.strip():
        raise CatalogError("must be a non-empty string", file=file, field=f"{field}.display_name")
    context = _positive_int(item.get("context_window"), file, f"{field}.context_window")
    max_out = _positive_int(item.get("max_output_tokens"), file, f"{field}.max_output_tokens")
    # No check of max_out against context: Copilot reports its default-tier prompt window as
    # the context and gpt-5-mini's 136k max output above its 128k (as its README explains).
    capabilities = item.get("capabilities", [])
    if not isinstance(capabilities, list) or not all(
        isinstance(c, str) and c.strip() for c in capabilities
    ):
        raise CatalogError("must be a list of strings", file=file, field=f"{field}.capabilities")
    alias_of = item.get("alias_of")
    if alias_of is not None and (not isinstance(alias_of, str) or not alias_of.strip()):
        raise CatalogError("must be a model id", file=file, field=f"{field}.alias_of")
    pricing = _parse_pricing(item.get("pricing"), file, f"{field}.pricing", currency)
    return CatalogModel(
        id=model_id.strip(),
        display_name=display.strip(),
        context_window=context,
        max_output_tokens=max_out,
        capabilities=tuple(capabilities),
        pricing=pricing,
        alias_of=alias_of.strip() if alias_of else None,
    )


def _parse_pricing(raw: Any, file: str | None, field: str, currency: str) -> Price | None:
    return None if raw is None else parse_price(raw, file=file, field=field, currency=currency)


def _parse_date(value: Any, file: str) -> str:
    if isinstance(value, _date):
        return value.isoformat()
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        raise CatalogError(
            f"must be a date like '2026-11' or '2026-11-01', got {value!r}", file=file, field="date"
        )
    return value.strip()


def _positive_int(value: Any, file: str | None, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CatalogError(f"must be a positive integer, got {value!r}", file=file, field=field)
    return value


def reject_unknown_keys(
    data: Mapping[Any, Any], allowed: frozenset[str], *, file: str | None, field: str | None
) -> None:
    """Raise :class:`CatalogError` listing any key of ``data`` outside ``allowed``."""
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise CatalogError(unknown_keys(unknown, allowed), file=file, field=field)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
