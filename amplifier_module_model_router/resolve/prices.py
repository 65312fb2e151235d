"""What a model costs: the one price type, the one cost formula, and the list-price table.

:class:`Price` is a list price per million tokens in exact ``Decimal`` (money is never a float
here), with the field names of the kernel's ``amplifier_core.models.Pricing``; :meth:`Price.cost`
is the only place tokens become money. :func:`price_of` is the only conversion into it, from
whatever a provider's ``ModelInfo`` or a catalog gives (a ``Pricing`` object, a dict, floats,
ints or decimal strings).

None of the four provider modules puts a price in the ``ModelInfo`` its ``list_models()``
returns, so without a table nothing before a call knows what a candidate costs, and a call
without ``Usage.cost_usd`` costs "unknown". The embedded table is recorded from the providers'
own rate tables (scripts/record_catalogs.py), dated, and replaced whole by the file named in
``AMPLIFIER_MODEL_ROUTER_PRICES`` (same format). A price the provider's catalog does give always
wins over the table.

One key meets every spelling of a model: case, a ``models/`` prefix, a trailing date stamp and
dots versus hyphens are ignored (``claude-haiku-4.5`` = ``claude-haiku-4-5-20251001`` =
``claude-haiku-4-5``); an exact dated key wins over its undated one. Knows nothing of the kernel.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from ..bounded_read import read_text
from ..duck import attr_or_key
from ..errors import CatalogError, InputError, reraised_as, unknown_keys
from ..safe_yaml import parse_yaml
from .providers import canonical_name

__all__ = [
    "CEILING_BASIS",
    "EMBEDDED_PRICES",
    "PRICES_ENV",
    "Price",
    "PriceCeiling",
    "PriceTable",
    "TokenCounts",
    "amount",
    "list_price",
    "load_prices",
    "parse_price",
    "price_key",
    "price_of",
    "prices_in_force",
    "tier_ceiling",
]

EMBEDDED_PRICES = "amplifier_module_model_router/data/prices.yaml"
PRICES_ENV = "AMPLIFIER_MODEL_ROUTER_PRICES"
BILLED_BY_REQUEST = ("github-copilot",)
"""Providers that bill requests, not tokens, when a price table does not say
(``billed_by_request:``): a file's token rows never price Copilot's models by mistake; an
explicit ``billed_by_request: []`` prices every provider by its rows."""
_MAX_ROWS = 5000
_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
_FILE_KEYS = {
    "input": "input_per_million",
    "output": "output_per_million",
    "cached_input": "cache_read_per_million",
    "cache_write": "cache_write_per_million",
}
"""A price in a file (the price table's rows, a catalog snapshot's ``pricing``) -> its fields."""
_MTOK = Decimal(1_000_000)


def amount(value: Any) -> Decimal | None:
    """A finite, non-negative amount from a Decimal, int, decimal string or float; else None.

    A float goes through its shortest repr (``0.3`` is ``Decimal("0.3")``, not the binary
    fraction), so a provider's float price is the decimal price it meant.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = str(value)
    if not isinstance(value, (Decimal, int, str)):
        return None
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() and result >= 0 else None


class TokenCounts(Protocol):
    """What a price is applied to (``cost.summary.Tokens``): the gross input split into fresh
    input and cache reads, cache writes billed on top, and output."""

    @property
    def fresh_input(self) -> int: ...

    @property
    def cache_read(self) -> int: ...

    @property
    def cache_write(self) -> int: ...

    @property
    def output(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Price:
    """A list price per million tokens, exact; field names are ``amplifier_core``'s ``Pricing``.

    Cache reads and writes without a price of their own cost as input.
    """

    input_per_million: Decimal
    output_per_million: Decimal
    cache_read_per_million: Decimal | None = None
    cache_write_per_million: Decimal | None = None
    currency: str = "USD"

    def cost(self, tokens: TokenCounts) -> Decimal:
        """What ``tokens`` cost at this price (in its currency): the one cost formula."""
        cache_read = self.input_per_million if self.cache_read_per_million is None else self.cache_read_per_million
        cache_write = self.input_per_million if self.cache_write_per_million is None else self.cache_write_per_million
        total = (
            self.input_per_million * tokens.fresh_input
            + cache_read * tokens.cache_read
            + cache_write * tokens.cache_write
            + self.output_per_million * tokens.output
        )
        return total / _MTOK

    @property
    def in_plus_out(self) -> Decimal:
        """Input + output per million tokens: how a tier's price class and its ceiling compare
        models (cache prices left out: they depend on the conversation)."""
        return self.input_per_million + self.output_per_million

    def to_dict(self) -> dict[str, str]:
        """Decimal strings under the kernel's field names (what a stored catalog keeps)."""
        fields = {
            "input_per_million": self.input_per_million,
            "output_per_million": self.output_per_million,
            "cache_read_per_million": self.cache_read_per_million,
            "cache_write_per_million": self.cache_write_per_million,
        }
        return {k: str(v) for k, v in fields.items() if v is not None} | {"currency": self.currency}


def _first_amount(source: Any, *names: str) -> Decimal | None:
    for name in names:
        value = amount(attr_or_key(source, name))
        if value is not None:
            return value
    return None


def price_of(source: Any) -> Price | None:
    """The USD list price ``source`` states, None when it states none: the one conversion.

    Args:
        source: a model (``ModelInfo``, a catalog record or snapshot model, a dict) whose
            ``pricing`` is read, else the pricing itself (the kernel's ``Pricing``, a
            :class:`Price`, a dict with the kernel's or a price file's keys, or flat
            ``input_per_mtok``/``output_per_mtok``); amounts as floats, ints, Decimals or
            decimal strings. Junk is no price, never an error.

    Returns:
        The price, or None without both an input and an output price, or when it is in another
        currency than USD (we do not convert).
    """
    if source is None:
        return None
    pricing = attr_or_key(source, "pricing")
    if pricing is None:
        pricing = source
    currency = attr_or_key(pricing, "currency")
    if isinstance(currency, str) and currency.strip().upper() != "USD":
        return None
    if isinstance(pricing, Price):
        return pricing
    # Each field by every name a source gives it: the kernel's ``Pricing`` (and ours), a price
    # or catalog file's keys, the flat per-Mtok keys that older stored catalogs kept.
    input_price = _first_amount(pricing, "input_per_million", "input_per_mtok", "input")
    output_price = _first_amount(pricing, "output_per_million", "output_per_mtok", "output")
    if input_price is None or output_price is None:
        return None
    return Price(
        input_price,
        output_price,
        _first_amount(pricing, "cache_read_per_million", "cached_input", "cache_read"),
        _first_amount(pricing, "cache_write_per_million", "cache_write"),
    )


def _spelling(model_id: str) -> str:
    return model_id.strip().lower().removeprefix("models/").replace(".", "-")


def price_key(model_id: str) -> str:
    """The spelling under which dated, undated and dotted ids of one model meet."""
    return _DATE_SUFFIX.sub("", _spelling(model_id))


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Prices by normalised id; ``billed_by_request`` providers get none (they bill requests)."""

    date: str
    currency: str
    rows: Mapping[str, Price]
    billed_by_request: frozenset[str]
    source: str

    def lookup(self, model_id: str) -> Price | None:
        """The list price of ``model_id`` in any spelling, None when the table lacks it."""
        if not isinstance(model_id, str) or not model_id.strip():
            return None
        exact = self.rows.get(_spelling(model_id))
        return exact if exact is not None else self.rows.get(price_key(model_id))

    def price(self, provider: str | None, model_id: str) -> Price | None:
        """What a call on ``provider`` costs per Mtok: None for request-billed providers."""
        if provider and canonical_name(provider) in self.billed_by_request:
            return None
        return self.lookup(model_id)

    def bills_by_request(self, names: Iterable[str]) -> bool:
        """Whether a provider known by any of ``names`` (canonical) bills requests, not tokens."""
        return any(name in self.billed_by_request for name in names)


def parse_price(raw: Any, *, file: str | None, field: str, currency: str = "USD") -> Price:
    """A price as files write it (``{input: 3, output: 15, cached_input: 0.3}``), validated:
    the price table's rows and a catalog snapshot's ``pricing`` (errors name file and field)."""
    if not isinstance(raw, Mapping):
        kind = "nothing" if raw is None else type(raw).__name__
        raise CatalogError(f"expected a mapping, got {kind}", file=file, field=field)
    unknown = sorted(str(k) for k in raw if k not in _FILE_KEYS)
    if unknown:
        raise CatalogError(unknown_keys(unknown, _FILE_KEYS), file=file, field=field)
    values: dict[str, Decimal] = {}
    for key, target in _FILE_KEYS.items():
        value = raw.get(key)
        if value is None:
            if key in ("input", "output"):
                raise CatalogError(f"missing '{key}' (per million tokens)", file=file, field=field)
            continue
        price = amount(value) if isinstance(value, (int, float)) else None  # numbers, not strings
        if price is None:
            raise CatalogError(f"must be a non-negative number, got {value!r}", file=file, field=f"{field}.{key}")
        values[target] = price
    return Price(
        values["input_per_million"],
        values["output_per_million"],
        values.get("cache_read_per_million"),
        values.get("cache_write_per_million"),
        currency,
    )


def parse_prices(data: Any, *, file: str) -> PriceTable:
    """Validate a loaded prices document (errors name ``file`` and the field)."""
    if not isinstance(data, Mapping):
        raise CatalogError("a price table must be a mapping", file=file)
    rows_raw = data.get("prices")
    if not isinstance(rows_raw, Mapping) or not rows_raw:
        raise CatalogError("must map model ids to prices", file=file, field="prices")
    if len(rows_raw) > _MAX_ROWS:
        raise CatalogError(f"more than {_MAX_ROWS} rows", file=file, field="prices")
    currency = data.get("currency", "USD")
    if currency != "USD":
        raise CatalogError("only USD prices are supported", file=file, field="currency")
    rows: dict[str, Price] = {}
    for model_id, row in rows_raw.items():
        where = f"prices.{model_id}"
        if not isinstance(model_id, str) or not model_id.strip() or not isinstance(row, Mapping):
            raise CatalogError("expected `<model id>: {input: .., output: ..}`", file=file, field=where)
        rows[_spelling(model_id)] = parse_price(row, file=file, field=where)
    billed = data.get("billed_by_request", list(BILLED_BY_REQUEST))
    if not isinstance(billed, list) or not all(isinstance(p, str) for p in billed):
        raise CatalogError("must be a list of provider names", file=file, field="billed_by_request")
    return PriceTable(
        date=str(data.get("date", "")),
        currency="USD",
        rows=MappingProxyType(rows),
        billed_by_request=frozenset(canonical_name(p) for p in billed),
        source=file,
    )


@lru_cache(maxsize=1)
def _embedded() -> PriceTable:
    text = resources.files("amplifier_module_model_router").joinpath("data/prices.yaml").read_text("utf-8")
    return parse_prices(parse_yaml(text, file=EMBEDDED_PRICES), file=EMBEDDED_PRICES)


@lru_cache(maxsize=8)
def _from_file(path: str, mtime_ns: int) -> PriceTable:
    try:
        text = read_text(path)
    except InputError as err:
        raise CatalogError(f"cannot read price table: {err.reason}", file=path) from None
    with reraised_as(CatalogError):
        return parse_prices(parse_yaml(text, file=path), file=path)


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The table at ``path``, else the file ``$AMPLIFIER_MODEL_ROUTER_PRICES`` names, else the
    embedded one."""
    chosen = str(path) if path is not None else os.environ.get(PRICES_ENV, "").strip()
    if not chosen:
        return _embedded()
    try:
        mtime = Path(chosen).stat().st_mtime_ns
    except OSError as err:
        raise CatalogError(f"cannot read price table: {err.strerror or err}", file=chosen) from None
    return _from_file(chosen, mtime)


@contextmanager
def prices_in_force(path: str | Path | None) -> Iterator[PriceTable]:
    """The table at ``path`` in force for the block, exactly as if ``$AMPLIFIER_MODEL_ROUTER_PRICES``
    named it (``None``: whatever is in force already). Read and validated on entry, so a bad file
    is one :class:`CatalogError` before anything runs; the variable is restored after."""
    table = load_prices(path)
    if path is None:
        yield table
        return
    saved = os.environ.get(PRICES_ENV)
    os.environ[PRICES_ENV] = str(path)
    try:
        yield table
    finally:
        if saved is None:
            os.environ.pop(PRICES_ENV, None)
        else:
            os.environ[PRICES_ENV] = saved


def list_price(provider: str | None, model_id: str) -> Price | None:
    """The table's price for a call on ``provider``; None when unknown or the table is unreadable.

    For the hot paths (cost tracking, rendering) that must never fail over a bad override file.
    """
    try:
        return load_prices().price(provider, model_id)
    except InputError:
        return None


def listed_price(record: Any, provider: str | None, model: str | None) -> Price | None:
    """What a call on ``model`` costs per token, as the cost ledger prices it: the catalog
    record's price (``record``: the provider's catalog entry for ``model``, found by the
    caller's catalog, or None), else the list-price table's, else None: unknown, never zero
    (none of the real providers prices its ``ModelInfo``)."""
    if not model:
        return None
    price = price_of(record) if record is not None else None
    return price if price is not None else list_price(provider, model)


CEILING_BASIS = "list price per million tokens, input + output"
"""What a tier's ``price_ceiling`` is compared with (the README's tier table shows both halves)."""


@dataclass(frozen=True, slots=True)
class PriceCeiling:
    """A tier's ``price_ceiling``: the most a candidate's list price may be (:data:`CEILING_BASIS`).

    The price is the catalog's when the provider gives one, else the table's. A candidate with
    no known price, or on a provider that bills requests (GitHub Copilot), is not held to it: a
    ceiling cannot judge what it cannot price, and dropping every such candidate would empty
    tiers on providers that never list prices. ``table`` is None when the price table could not
    be read: catalog prices only.
    """

    tier: str
    limit: float
    table: PriceTable | None

    @property
    def key(self) -> tuple[str, float, int]:
        """What a memoised resolution under this ceiling depends on (the table by identity)."""
        return (self.tier, self.limit, id(self.table))

    def judge(
        self, provider: str, names: Iterable[str], model: str, listed: Price | None
    ) -> tuple[bool, str]:
        """``(within, note)`` for ``model`` on ``provider`` (known by canonical ``names``);
        ``listed`` is the catalog's own price. ``within`` False: the candidate is skipped."""
        ceiling = f"the {self.tier} ceiling of ${self.limit:.2f}"
        pricing, source = listed, "catalog"
        if pricing is None and self.table is not None:
            if self.table.bills_by_request(names):
                return True, f"{provider!r} bills per request, not per token: not held to {ceiling}"
            pricing, source = self.table.lookup(model), f"price table {self.table.date}".rstrip()
        if pricing is None:
            return True, f"no list price known for {model}: not held to {ceiling}"
        price = pricing.in_plus_out
        if price > Decimal(str(self.limit)):  # the decimal the setting wrote, not its binary float
            return False, f"{model} lists at ${price:.2f} per Mtok in + out ({source}), above {ceiling}"
        return True, f"${price:.2f} per Mtok in + out ({source}), within {ceiling}"


def tier_ceiling(tier: str | None, limit: float | None) -> PriceCeiling | None:
    """The ceiling for ``tier`` (None when it has none), with the price table in force.

    A table that cannot be read never fails a spawn: the ceiling then judges catalog prices only.
    """
    if tier is None or limit is None:
        return None
    try:
        table: PriceTable | None = load_prices()
    except InputError:
        table = None
    return PriceCeiling(tier, limit, table)
