#!/usr/bin/env python3
"""Record what the real provider modules' ``list_models()`` return, for the router's tests.

Our tiers must hold against the catalogs providers really hand out, not against lists we wrote
by hand. The provider modules need credentials and a network to list models, so this script runs
each module's own ``list_models()`` with only its SDK client replaced by a stub. The stub answers
with the raw model ids found in that provider's own repository (its rate table, the id lists of
its tests, its README), so every filter, rename and "one per family" rule the provider applies is
the provider's code, not ours.

Usage (in a throwaway virtual environment holding amplifier-core, pyyaml and the providers' SDKs:
``anthropic``, ``openai``, ``google-genai``, ``github-copilot-sdk``; never the project's deps)::

    python scripts/record_catalogs.py \\
        --source anthropic=PATH --source openai=PATH \\
        --source gemini=PATH --source github-copilot=PATH \\
        [--repo anthropic=OWNER/NAME ...] [--date YYYY-MM-DD] [--out tests/data/catalogs]

PATH is a checkout of the provider's repository or a bare git directory (its HEAD is
exported to a temporary folder first). Writes ``<provider>[-filtered|-unfiltered].yaml``: a
catalog file (the format of ``data/catalog.yaml``; providers put no pricing in ``ModelInfo``, so
none is recorded) with a ``source`` block naming the repository, commit and every file the ids
came from.

With ``--prices FILE`` it also writes the list-price table (``data/prices.yaml``) from the same
checkouts' rate tables (``_RATES`` in each provider's ``_cost.py``, read as data, never run).
``--rates NAME=FILE@OWNER/REPO@COMMIT`` adds a rate table read from elsewhere (a newer version of
the same file); its rows win over the checkout's.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import datetime as _dt
import importlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

MAX_SOURCE_BYTES = 2_000_000
"""A source file larger than this is refused (the files read here are a few hundred KB)."""


@dataclass(frozen=True)
class IdSource:
    """One place in a provider repository that names model ids.

    ``kind``: ``assigned`` (string literals inside the value assigned to ``name``, anywhere in a
    Python file: a rate table's keys, a test's stubbed list), ``backticks`` (ids written as
    inline code in Markdown), ``text`` (every id-shaped word of the file), ``table`` (first
    column of Markdown tables, with the Context and Max Output columns kept).
    """

    path: str
    kind: str
    name: str = ""
    what: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    """How to find one provider's raw ids and run its ``list_models()`` against them."""

    name: str
    repository: str
    package: str
    id_pattern: str
    sources: tuple[IdSource, ...]
    run: Callable[[Any, list["RawModel"], dict[str, Any]], Awaitable[list[Any]]]
    rates: str = ""
    variants: tuple[tuple[str, dict[str, Any]], ...] = (("", {}),)
    note: str = ""


@dataclass
class RawModel:
    """A model id as the vendor API would answer it, with the limits a source gave (if any)."""

    id: str
    context_window: int | None = None
    max_output_tokens: int | None = None
    capabilities: tuple[str, ...] = ()
    found_in: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- id extraction


def _read(root: Path, rel: str) -> str:
    path = root / rel
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise SystemExit(f"{rel}: larger than {MAX_SOURCE_BYTES} bytes; refusing to read it")
    return path.read_text(encoding="utf-8")


def _assigned_strings(text: str, name: str) -> list[str]:
    """String literals inside every value assigned to ``name`` (module, class or function level)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(text)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        for sub in ast.walk(node.value):  # type: ignore[arg-type]
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                found.append(sub.value)
    if not found:
        raise SystemExit(f"no string assigned to {name!r}: has the repository changed shape?")
    return found


_K = 1000


def _tokens(cell: str) -> int | None:
    """``200k`` -> 200000, ``128k*`` -> 128000, ``1M`` -> 1000000; anything else None."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKmM])?\s*(\\?\*)?\s*", cell)
    if not match:
        return None
    scale = {"k": _K, "m": _K * _K}.get((match.group(2) or "").lower(), 1)
    return int(float(match.group(1)) * scale)


def _table_rows(text: str, id_re: re.Pattern[str]) -> list[RawModel]:
    """Rows of Markdown tables whose first cell is an id in backticks."""
    rows: list[RawModel] = []
    header: list[str] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = [c.lower() for c in cells]
            continue
        match = re.fullmatch(r"`([^`]+)`", cells[0])
        if not match or not id_re.fullmatch(match.group(1)):
            continue
        col = {h: cells[i] for i, h in enumerate(header) if i < len(cells)}
        caps = tuple(c.strip() for c in col.get("capabilities", "").split(",") if c.strip())
        rows.append(
            RawModel(
                id=match.group(1),
                context_window=_tokens(col.get("context", "")),
                max_output_tokens=_tokens(col.get("max output", "")),
                capabilities=caps,
            )
        )
    return rows


def extract(root: Path, spec: ProviderSpec) -> tuple[list[RawModel], list[dict[str, Any]]]:
    """The raw ids of ``spec`` found under ``root``, in first-seen order, and where each came from."""
    id_re = re.compile(spec.id_pattern)
    models: dict[str, RawModel] = {}
    provenance: list[dict[str, Any]] = []
    for source in spec.sources:
        text = _read(root, source.path)
        if source.kind == "table":
            found = _table_rows(text, id_re)
        else:
            if source.kind == "assigned":
                words: Iterable[str] = _assigned_strings(text, source.name)
            elif source.kind == "backticks":
                words = re.findall(r"`([^`\s]+)`", text)
            elif source.kind == "text":
                words = re.findall(r"[A-Za-z0-9][A-Za-z0-9./:_-]*[A-Za-z0-9]", text)
            else:
                raise SystemExit(f"unknown source kind {source.kind!r}")
            found = [RawModel(id=w) for w in words if id_re.fullmatch(w)]
        ids_here: list[str] = []
        for raw in found:
            if raw.id not in ids_here:
                ids_here.append(raw.id)
            known = models.setdefault(raw.id, raw)
            if known is not raw:  # keep the first limits seen, fill gaps from later sources
                known.context_window = known.context_window or raw.context_window
                known.max_output_tokens = known.max_output_tokens or raw.max_output_tokens
                known.capabilities = known.capabilities or raw.capabilities
            known.found_in.append(source.path)
        if not ids_here:
            raise SystemExit(f"{spec.name}: {source.path}: no model id found ({source.what})")
        provenance.append(
            {"path": source.path, "what": source.what, "ids": sorted(ids_here)}
        )
    return list(models.values()), provenance


# --------------------------------------------------------------------------- SDK stubs


class _Page(SimpleNamespace):
    """What ``client.models.list()`` returns in the anthropic and openai SDKs: ``.data``."""


def _listing(entries: list[Any]) -> Callable[..., Awaitable[_Page]]:
    async def list_(*_args: Any, **_kwargs: Any) -> _Page:
        return _Page(data=list(entries))

    return list_


async def run_anthropic(module: Any, raw: list[RawModel], config: dict[str, Any]) -> list[Any]:
    provider = module.AnthropicProvider(api_key="recorded-offline", config=dict(config))
    entries = [SimpleNamespace(id=m.id, display_name=m.id, created_at="", type="model") for m in raw]
    provider._client = SimpleNamespace(models=SimpleNamespace(list=_listing(entries)))
    return await provider.list_models()


async def run_openai(module: Any, raw: list[RawModel], config: dict[str, Any]) -> list[Any]:
    entries = [SimpleNamespace(id=m.id, object="model", owned_by="openai") for m in raw]
    client = SimpleNamespace(models=SimpleNamespace(list=_listing(entries)))
    provider = module.OpenAIProvider(api_key="recorded-offline", config=dict(config), client=client)
    return await provider.list_models()


async def run_gemini(module: Any, raw: list[RawModel], config: dict[str, Any]) -> list[Any]:
    # The API names models "models/<id>"; the provider strips the prefix itself.
    entries = [SimpleNamespace(name=f"models/{m.id}", display_name=m.id) for m in raw]

    async def _aiter() -> Any:
        for entry in entries:
            yield entry

    async def list_(*_args: Any, **_kwargs: Any) -> Any:
        return _aiter()

    provider = module.GeminiProvider("recorded-offline", dict(config))
    provider._client = SimpleNamespace(aio=SimpleNamespace(models=SimpleNamespace(list=list_)))
    return await provider.list_models()


async def run_copilot(module: Any, raw: list[RawModel], config: dict[str, Any]) -> list[Any]:
    def sdk_model(m: RawModel) -> SimpleNamespace:
        # The SDK's shape: capabilities.limits (window, prompt budget), capabilities.supports.
        limits = None
        if m.context_window and m.max_output_tokens:
            limits = SimpleNamespace(
                max_context_window_tokens=m.context_window + m.max_output_tokens,
                max_prompt_tokens=m.context_window,
            )
        supports = SimpleNamespace(
            vision="vision" in m.capabilities, reasoning_effort="thinking" in m.capabilities
        )
        return SimpleNamespace(
            id=m.id, name=m.id, capabilities=SimpleNamespace(limits=limits, supports=supports)
        )

    class _Client:
        async def list_models(self) -> list[SimpleNamespace]:
            return [sdk_model(m) for m in raw]

    provider_mod = importlib.import_module(f"{module.__name__}.provider")
    provider = provider_mod.GitHubCopilotProvider(dict(config), None, client=_Client())
    return await provider.list_models()


_ANTHROPIC_ID = r"claude-[a-z0-9][a-z0-9.-]*[a-z0-9]"
_OPENAI_ID = r"(gpt-[0-9]([a-z0-9.-]*[a-z0-9])?|o[0-9][a-z0-9-]*deep-research(-\d{4}-\d{2}-\d{2})?)"
_GEMINI_ID = r"gemini-[0-9]([a-z0-9.-]*[a-z0-9])?"
_COPILOT_ID = r"(auto|[a-z]+-[a-z0-9.-]*[a-z0-9])"

SPECS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            name="anthropic",
            repository="microsoft/amplifier-module-provider-anthropic",
            package="amplifier_module_provider_anthropic",
            rates="amplifier_module_provider_anthropic/_cost.py",
            id_pattern=_ANTHROPIC_ID,
            sources=(
                IdSource("amplifier_module_provider_anthropic/_cost.py", "assigned", "_RATES",
                         "rate table keys"),
                IdSource("tests/test_list_models_families.py", "assigned", "_API_MODELS",
                         "the Models API list the family test stubs"),
                IdSource("README.md", "backticks", what="ids the README names"),
            ),
            run=run_anthropic,
            variants=(("filtered", {"filtered": True}), ("unfiltered", {"filtered": False})),
            note="filtered (the default) keeps one id per family, picked by string sort",
        ),
        ProviderSpec(
            name="openai",
            repository="microsoft/amplifier-module-provider-openai",
            package="amplifier_module_provider_openai",
            rates="amplifier_module_provider_openai/_cost.py",
            id_pattern=_OPENAI_ID,
            sources=(
                IdSource("amplifier_module_provider_openai/_cost.py", "text",
                         what="rate table, the ids its notes name (snapshots, unpriced models)"),
                IdSource("amplifier_module_provider_openai/__init__.py", "assigned",
                         "display_names", "display-name registry"),
                IdSource("amplifier_module_provider_openai/_constants.py", "assigned",
                         "DEEP_RESEARCH_MODELS", "deep-research ids"),
                IdSource("tests/fixtures/responses/gpt-5-5-basic.json", "text",
                         what="a recorded Responses API answer (the snapshot id it echoes)"),
                IdSource("README.md", "backticks", what="ids the README names"),
            ),
            run=run_openai,
            variants=(("filtered", {"filtered": True}), ("unfiltered", {"filtered": False})),
            note="filtered (the default) drops -YYYY-MM-DD snapshots",
        ),
        ProviderSpec(
            name="gemini",
            repository="microsoft/amplifier-module-provider-gemini",
            package="amplifier_module_provider_gemini",
            rates="amplifier_module_provider_gemini/_cost.py",
            id_pattern=_GEMINI_ID,
            sources=(
                IdSource("amplifier_module_provider_gemini/_cost.py", "text",
                         what="rate table, with the live unpriced image models its notes name"),
                IdSource("README.md", "backticks", what="ids the README names"),
            ),
            run=run_gemini,
            note="keeps names containing 'gemini', strips 'models/', skips exp/001/002",
        ),
        ProviderSpec(
            name="github-copilot",
            repository="microsoft/amplifier-module-provider-github-copilot",
            package="amplifier_module_provider_github_copilot",
            id_pattern=_COPILOT_ID,
            sources=(
                IdSource("README.md", "table",
                         what="Supported Models tables (the SDK's public set), with limits"),
            ),
            run=run_copilot,
            note="returns the SDK's list unfiltered",
        ),
    )
}


# --------------------------------------------------------------------------- list prices

_RATE_FIELDS = {
    "input_per_m": "input",
    "output_per_m": "output",
    "cache_read_per_m": "cached_input",
    "cache_write_per_m": "cache_write",
}


def read_rates(text: str) -> tuple[dict[str, dict[str, float]], str]:
    """``_RATES`` of a provider's ``_cost.py`` as plain numbers, and its verification date.

    Only the base (short prompt) rates are kept; tiered extras (``high_*`` above a prompt size)
    are left out, so the table states the price class, not every bill.
    """
    rows: dict[str, dict[str, float]] = {}
    for key, value in zip(*_rates_literal(text), strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            continue
        row: dict[str, float] = {}
        for field_key, field_value in zip(value.keys, value.values, strict=True):
            name = getattr(field_key, "value", None)
            if name in _RATE_FIELDS:
                row[_RATE_FIELDS[name]] = float(_decimal_text(field_value))
        if "input" in row and "output" in row:
            rows[key.value] = row
    verified = re.search(r"Verification date:\s*(\d{4}-\d{2}-\d{2})", text)
    return rows, verified.group(1) if verified else ""


def _rates_literal(text: str) -> tuple[list[ast.expr], list[ast.Dict]]:
    for node in ast.walk(ast.parse(text)):
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id == "_RATES" and isinstance(value, ast.Dict):
            return list(value.keys), [v for v in value.values if isinstance(v, ast.Dict)]
    raise SystemExit("no _RATES dict literal found: has the rate table changed shape?")


def _decimal_text(node: ast.expr) -> str:
    """``Decimal("3.00")`` or ``3.0`` -> ``"3.00"``."""
    if isinstance(node, ast.Call) and node.args:
        node = node.args[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
        return str(node.value).replace("_", "")
    raise SystemExit(f"unreadable rate at line {getattr(node, 'lineno', '?')}")


_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")


def price_key(model_id: str) -> str:
    """The spelling under which dated, undated and dotted ids meet (mirrors the router's rule)."""
    key = model_id.strip().lower().removeprefix("models/")
    return _DATE_SUFFIX.sub("", key).replace(".", "-")


def write_prices(tables: list[tuple[str, dict[str, Any], dict[str, dict[str, float]]]],
                 day: str, target: Path) -> None:
    """One table for every vendor; an undated spelling is kept over its dated twins."""
    prices: dict[str, dict[str, float]] = {}
    spelled: dict[str, str] = {}
    sources: list[dict[str, Any]] = []
    for vendor, origin, rows in tables:
        sources.append({"vendor": vendor, **origin, "rows": len(rows)})
        for model_id in sorted(rows, key=lambda m: (_DATE_SUFFIX.search(m) is not None, m)):
            key = price_key(model_id)
            if key in spelled and prices[spelled[key]] == rows[model_id]:
                continue  # a dated twin at the same price adds nothing
            if key in spelled and _DATE_SUFFIX.search(model_id) is None:
                del prices[spelled[key]]  # a later table re-prices the undated id
            spelled.setdefault(key, model_id)
            if _DATE_SUFFIX.search(model_id) is None:
                spelled[key] = model_id
            prices[model_id] = rows[model_id]
    document = {
        "date": day,
        "currency": "USD",
        "basis": "list price per million tokens, standard tier, short prompts",
        # Copilot bills premium requests, not tokens: a call there has no token cost.
        "billed_by_request": ["github-copilot"],
        "sources": sources,
        "prices": {m: prices[m] for m in sorted(prices)},
    }
    header = (
        "# List prices per million tokens, from the providers' own rate tables (see sources).\n"
        "# Generated by scripts/record_catalogs.py --prices; re-record instead of editing.\n"
        "# Keys meet every spelling of a model: case, a trailing date stamp (-20251001,\n"
        "# -2026-03-05) and dots versus hyphens (claude-haiku-4.5 = claude-haiku-4-5) are ignored;\n"
        "# an exact dated key wins over its undated one.\n"
    )
    target.write_text(header + yaml.safe_dump(document, sort_keys=False, width=100,
                                              default_flow_style=None),
                      encoding="utf-8")


# --------------------------------------------------------------------------- checkout, git


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def _checkout(path: Path, scratch: Path, name: str) -> tuple[Path, str, str]:
    """A folder with the repository's files, its commit and commit date."""
    bare = _git(path, "rev-parse", "--is-bare-repository") == "true"
    commit = _git(path, "rev-parse", "HEAD")
    committed = _git(path, "log", "-1", "--format=%cs", "HEAD")
    if not bare:
        return path, commit, committed
    target = scratch / name
    target.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=path, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target, commit, committed


# --------------------------------------------------------------------------- recording


def _model_record(info: Any) -> dict[str, Any]:
    get = info.get if isinstance(info, dict) else (lambda k, d=None: getattr(info, k, d))
    record: dict[str, Any] = {"id": get("id")}
    display = get("display_name")
    if display and display != record["id"]:
        record["display_name"] = display
    for key in ("context_window", "max_output_tokens"):
        if isinstance(get(key), int) and get(key) > 0:
            record[key] = get(key)
    caps = list(get("capabilities") or [])
    if caps:
        record["capabilities"] = caps
    return record


def _import_provider(root: Path, spec: ProviderSpec) -> Any:
    sys.path.insert(0, str(root))
    try:
        for mod in [m for m in sys.modules if m.split(".")[0] == spec.package]:
            del sys.modules[mod]
        return importlib.import_module(spec.package)
    finally:
        sys.path.remove(str(root))


def record(spec: ProviderSpec, path: Path, repository: str, scratch: Path, day: str,
           out: Path, rate_tables: list[Any]) -> list[Path]:
    root, commit, committed = _checkout(path, scratch, spec.name)
    if spec.rates:
        rows, verified = read_rates(_read(root, spec.rates))
        origin = {"repository": repository, "commit": commit, "path": spec.rates,
                  "verified": verified}
        rate_tables.append((spec.name, origin, rows))
    raw, provenance = extract(root, spec)
    module = _import_provider(root, spec)
    written: list[Path] = []
    for variant, config in spec.variants:
        models = asyncio.run(spec.run(module, raw, config))
        document = {
            "date": day,
            "source": {
                "repository": repository,
                "commit": commit,
                "committed": committed,
                "list_models": f"{spec.package}: list_models()",
                "config": config,
                "behaviour": spec.note,
                "sdk_client": "stubbed; it answered the raw ids below",
                "ids_from": provenance,
                "raw_ids": [m.id for m in raw],
                "recorded_by": "scripts/record_catalogs.py",
            },
            "providers": {spec.name: {"models": [_model_record(m) for m in models]}},
        }
        target = out / (f"{spec.name}-{variant}.yaml" if variant else f"{spec.name}.yaml")
        header = (
            f"# {spec.name}: what {spec.package}.list_models() returned"
            f"{' with ' + str(config) if config else ''}, recorded offline.\n"
            "# Generated by scripts/record_catalogs.py; re-record instead of editing.\n"
        )
        target.write_text(
            header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100),
            encoding="utf-8",
        )
        written.append(target)
    return written


EMBEDDED_SOURCES = (
    ("anthropic", "anthropic-unfiltered", "claude-sonnet-4-5"),
    ("openai", "openai-filtered", "gpt-5.5"),
    ("gemini", "gemini", "gemini-2.5-flash"),
    ("github-copilot", "github-copilot", "claude-opus-4.5"),
)
"""The embedded snapshot: each provider's recorded list (Anthropic as `filtered: false` shows
it, the setting we tell users to set), the provider's own default model."""


def compose_embedded(recorded: Path, prices_file: Path, target: Path) -> None:
    """``data/catalog.yaml`` from the recorded catalogs, priced from the list-price table."""
    table = yaml.safe_load(prices_file.read_text(encoding="utf-8"))
    rows = {_spelling(k): v for k, v in table["prices"].items()}
    billed = set(table.get("billed_by_request", []))
    header_end = "\ndate:"
    old = target.read_text(encoding="utf-8")
    header = old[: old.index(header_end) + 1]
    header = re.sub(
        r"# Ids follow.*?(?=\n\n|\Z)",
        "# Generated by scripts/record_catalogs.py --embedded from tests/data/catalogs (what the real\n"
        "# provider modules' list_models() return; Anthropic as `filtered: false` lists it, OpenAI\n"
        "# with its default filter), priced from data/prices.yaml (the providers' rate tables; a\n"
        "# model without a row there has no price). GitHub Copilot bills premium requests, not\n"
        "# tokens, so its models carry no pricing.",
        header,
        flags=re.S,
    )
    providers: dict[str, Any] = {}
    dates: list[str] = []
    for provider, name, default in EMBEDDED_SOURCES:
        document = yaml.safe_load((recorded / f"{name}.yaml").read_text(encoding="utf-8"))
        dates.append(document["date"])
        models = []
        for model in document["providers"][provider]["models"]:
            model = dict(model)
            row = None if provider in billed else _price_row(rows, model["id"])
            if row is not None:
                model["pricing"] = dict(row)
            models.append(model)
        providers[provider] = {"default_model": default, "models": models}
    document = {"date": max(dates), "currency": "USD", "providers": providers}
    target.write_text(
        header + "\n" + yaml.safe_dump(document, sort_keys=False, width=100, default_flow_style=None),
        encoding="utf-8",
    )


def _spelling(model_id: str) -> str:
    return model_id.strip().lower().removeprefix("models/").replace(".", "-")


def _price_row(rows: dict[str, Any], model_id: str) -> Any:
    return rows.get(_spelling(model_id)) or rows.get(_DATE_SUFFIX.sub("", _spelling(model_id)))


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or name not in SPECS:
            raise SystemExit(f"{flag} {value!r}: expected NAME=VALUE with NAME in {sorted(SPECS)}")
        pairs[name] = rest
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--repo", action="append", default=[], metavar="NAME=OWNER/NAME")
    parser.add_argument("--date", default=_dt.date.today().isoformat())
    parser.add_argument("--out", type=Path, default=Path("tests/data/catalogs"))
    parser.add_argument("--prices", type=Path, help="also write the list-price table here")
    parser.add_argument("--embedded", type=Path,
                        help="compose this catalog file (data/catalog.yaml) from --out and --prices")
    parser.add_argument("--rates", action="append", default=[],
                        metavar="NAME=FILE@OWNER/REPO@COMMIT[@PATH]")
    args = parser.parse_args(argv)
    sources = _pairs(args.source, "--source")
    repos = _pairs(args.repo, "--repo")
    if not sources and not args.embedded:
        parser.error("give at least one --source NAME=PATH")
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="record-catalogs-cache-"))
    rate_tables: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="record-catalogs-") as scratch:
        for name, path in sources.items():
            spec = SPECS[name]
            for target in record(spec, Path(path), repos.get(name, spec.repository),
                                 Path(scratch), args.date, args.out, rate_tables):
                print(f"wrote {target}")
    for name, value in _pairs(args.rates, "--rates").items():
        file, repository, commit, *rest = value.split("@")
        rows, verified = read_rates(Path(file).read_text(encoding="utf-8"))
        path = rest[0] if rest else SPECS[name].rates
        rate_tables.append((name, {"repository": repository, "commit": commit, "path": path,
                                   "verified": verified}, rows))
    if args.prices:
        write_prices(rate_tables, args.date, args.prices)
        print(f"wrote {args.prices}")
    if args.embedded:
        prices = args.prices or Path("amplifier_module_model_router/data/prices.yaml")
        compose_embedded(args.out, prices, args.embedded)
        print(f"wrote {args.embedded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
