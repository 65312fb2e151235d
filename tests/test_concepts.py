"""Each concept written once: the error kinds, the unknown-key message, the merge's copy rule,
the settings schema, the process-wide registry, sub-session ids, the price and its cost formula."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from amplifier_core.models import ModelInfo, Pricing

import amplifier_module_model_router as package
from amplifier_module_model_router.errors import (
    BundleError,
    CatalogError,
    InputError,
    ModelRouterError,
    RoutingError,
    SettingsError,
    UsageError,
    reraised_as,
    unknown_keys,
)
from amplifier_module_model_router.cost.ledger import CallUsage, call_cost
from amplifier_module_model_router.cost.summary import Tokens
from amplifier_module_model_router.merge import deep_merge
from amplifier_module_model_router.resolve.catalog import parse_models
from amplifier_module_model_router.resolve.prices import Price, load_prices, parse_price, price_of
from amplifier_module_model_router.resolve.snapshot import load_catalog
from amplifier_module_model_router.session_ids import agent_of, sub_session_id
from amplifier_module_model_router.settings.options import SETTINGS_KEYS, RouterConfig
from amplifier_module_model_router.settings.schema import KEYS, SETTINGS, SettingsLayer, parse_layer
from amplifier_module_model_router.shared import close_shared, replaced, reset_shared, shared, shared_names


def test_every_error_has_one_base_and_input_errors_keep_their_location() -> None:
    for kind in (BundleError, SettingsError, CatalogError, UsageError):
        assert issubclass(kind, InputError) and issubclass(kind, ValueError)
        err = kind("missing 'model'", file="agents/x.md", line=3, agent="x", field="tiers.fast[0]")
        assert str(err) == "agents/x.md:3: agent 'x': tiers.fast[0]: missing 'model'"
        assert isinstance(err, ModelRouterError)
    assert issubclass(RoutingError, ModelRouterError)
    assert package.BundleError is BundleError and package.ModelRouterError is ModelRouterError


def test_a_kindless_error_takes_the_kind_of_the_folder_that_read_it() -> None:
    with pytest.raises(SettingsError) as caught, reraised_as(SettingsError):
        raise InputError("malformed YAML", file="settings.yaml", line=2)
    assert (caught.value.file, caught.value.line) == ("settings.yaml", 2)
    with pytest.raises(CatalogError), reraised_as(SettingsError):
        raise CatalogError("bad", file="catalog.yaml")  # a kind of its own is kept
    located = InputError("missing 'model'", field="[0]").located(
        file="bundle.md", field_prefix="tiers.fast", kind=BundleError
    )
    assert type(located) is BundleError and str(located) == "bundle.md: tiers.fast[0]: missing 'model'"


def test_one_unknown_key_message() -> None:
    assert unknown_keys(["stirct"], ["strict", "tiers"]) == (
        "unknown key 'stirct' (did you mean 'strict'?); known: strict, tiers"
    )
    assert unknown_keys(["a", "b"], ["tiers"]) == "unknown keys 'a', 'b'; known: tiers"
    layer = SettingsLayer("user", "settings.yaml", {"stirct": True})
    with pytest.raises(SettingsError, match=r"unknown key 'stirct' \(did you mean 'strict'\?\)"):
        parse_layer(layer)
    with pytest.raises(SettingsError, match=r"unknown key 'cache_tll' \(did you mean 'cache_ttl'\?\)"):
        RouterConfig.from_mount({"cache_tll": 5})


def test_the_settings_keys_are_the_schema_fields() -> None:
    assert KEYS == tuple(SETTINGS) and SETTINGS_KEYS == frozenset(KEYS)
    for key in SETTINGS.values():
        assert callable(key.metadata["parse"]) and key.metadata["merge"]


def test_the_merge_copies_only_the_dicts_on_the_overlays_paths() -> None:
    shared_list = [1, 2]
    base = {"session": {"orchestrator": {"module": "loop"}, "context": {"module": "ctx"}}, "tools": shared_list}
    overlay = {"session": {"orchestrator": {"config": {"max": 3}}}, "tools": ["x"]}
    merged = deep_merge(base, overlay)
    assert merged == {
        "session": {"orchestrator": {"module": "loop", "config": {"max": 3}}, "context": {"module": "ctx"}},
        "tools": ["x"],
    }
    assert merged["session"] is not base["session"]
    assert merged["session"]["orchestrator"] is not base["session"]["orchestrator"]
    assert merged["session"]["context"] is base["session"]["context"]  # off the overlay's paths
    assert base["session"]["orchestrator"] == {"module": "loop"} and base["tools"] is shared_list


def test_sub_session_ids_carry_their_lineage_and_their_agent() -> None:
    parent = sub_session_id("explorer", None)
    child = sub_session_id("model-router:git-ops", parent)
    assert child.startswith(parent.split("-")[1].split("_")[0] + "-")
    assert agent_of(child) == "model-router-git-ops" and agent_of("no-agent-here") is None


class _Box:
    def __init__(self) -> None:
        self.items: list[int] = []


def test_one_registry_for_process_wide_state_and_one_reset() -> None:
    box = shared("test box", _Box, lambda b: b.items.clear())
    assert shared("test box", _Box, lambda b: b.items.clear()) is box
    box.items.append(1)
    reset_shared()
    assert box.items == [] and shared("test box", _Box, lambda b: None) is box
    other = _Box()
    with replaced("test box", other, lambda b: b.items.clear()):
        assert shared("test box", _Box, lambda b: None) is other
    assert shared("test box", _Box, lambda b: None) is box


class _Resource:
    def __init__(self) -> None:
        self.open = True
        self.items: list[int] = []

    async def aclose(self) -> None:
        self.open = False


async def test_close_shared_closes_what_needs_an_await_then_resets_everything() -> None:
    """State stores (sqlite threads, Redis clients) live in the registry too: closing one needs
    an ``await``, so it names its close; one close that fails leaves the others to run."""

    async def broken(_: object) -> None:
        raise OSError("cannot close")

    box = shared("test box", _Box, lambda b: b.items.clear())
    failing = shared("test failing resource", _Resource, lambda r: r.items.clear(), aclose=broken)
    resource = shared("test resource", _Resource, lambda r: r.items.clear(), aclose=_Resource.aclose)
    for item in (box, failing, resource):
        item.items.append(1)
    await close_shared()
    assert not resource.open and failing.open  # the failing close did not stop the next one
    assert box.items == failing.items == resource.items == []


async def test_the_state_stores_are_in_the_registry_and_close_with_it(tmp_path: Path) -> None:
    from amplifier_module_model_router.failover.cooldown import shared_cooldowns
    from amplifier_module_model_router.resolve.catalog import shared_cache
    from amplifier_module_model_router.state import CooldownSync, StateSettings, shared_store

    settings = StateSettings(backend="sqlite", path=str(tmp_path / "state.db"))
    store = await shared_store(settings, amplifier_home=None)
    assert store.backend == "sqlite" and "state stores" in shared_names()
    assert await shared_store(settings, amplifier_home=None) is store
    cache, cooldowns = shared_cache(), shared_cooldowns()
    cache.store = store
    cooldowns.attach(CooldownSync(cooldowns, store))
    await close_shared()
    assert cache.store is None and cooldowns.listener is None  # nothing reads a closed store
    reopened = await shared_store(settings, amplifier_home=None)
    assert reopened is not store  # the closed one was forgotten with the close
    await close_shared()


def test_no_module_keeps_mutable_state_outside_the_registry() -> None:
    """A module-level name that the module mutates (``X[k] = v``, ``X.add(...)``, ``global X``)
    is process-wide state a test reset cannot reach; it belongs in :func:`shared`."""
    mutators = {"append", "add", "update", "setdefault", "pop", "popitem", "clear", "extend", "insert", "remove", "discard"}
    outside: list[str] = []
    for path, tree in _package_modules():
        assigned: dict[str, int] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "shared":
                continue  # in the registry
            assigned.update({t.id: node.lineno for t in targets if isinstance(t, ast.Name)})
        mutated: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                mutated.update(node.names)
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = [node.target] if isinstance(node, ast.AugAssign) else node.targets
                mutated.update(
                    t.value.id for t in targets
                    if isinstance(t, (ast.Subscript, ast.Attribute)) and isinstance(t.value, ast.Name)
                )
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in mutators and isinstance(node.func.value, ast.Name):
                    mutated.add(node.func.value.id)
        where = path.relative_to(PACKAGE).as_posix()
        outside += [f"{where}: {name} (line {assigned[name]})" for name in sorted(assigned.keys() & mutated)]
    assert [entry.split(" (line")[0] for entry in outside] == ["shared.py: _ITEMS"], outside  # the registry itself


PACKAGE = Path(package.__file__).parent
PRICES_MODULE = PACKAGE / "resolve" / "prices.py"


def _package_modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(PACKAGE.rglob("*.py"))]


def test_one_price_type_one_conversion_and_one_cost_formula() -> None:
    """Whatever states a price (the kernel's ``Pricing``, a dict, a catalog file, the price
    table, a catalog record) comes out as one exact type, and only it turns tokens into money."""
    kernel = ModelInfo(
        id="m", display_name="m", context_window=1000, max_output_tokens=100,
        pricing=Pricing(input_per_million=3.0, output_per_million=15.0, cache_read_per_million=0.3),
    )
    (record,), _ = parse_models([kernel])
    as_dict = price_of({"id": "m", "pricing": {"input_per_million": "3", "output_per_million": 15, "cached_input": 0.3}})
    from_file = parse_price({"input": 3, "output": 15, "cached_input": 0.3}, file="prices.yaml", field="prices.m")
    expected = Price(Decimal(3), Decimal(15), Decimal("0.3"))
    assert price_of(kernel) == record.pricing == as_dict == from_file == expected
    sonnet = load_catalog().model("anthropic", "claude-sonnet-4-6")
    assert sonnet is not None and type(sonnet.pricing) is Price
    assert type(load_prices().lookup("claude-sonnet-4-6")) is Price
    for price in (price_of(kernel), record.pricing, as_dict, from_file):
        assert type(price) is Price and all(
            isinstance(v, Decimal) for v in (price.input_per_million, price.output_per_million)
        )
    tokens = Tokens(input=1_000, output=100, cache_read=400)
    # 600 fresh x $3 + 400 cache reads x $0.30 + 100 out x $15, per million: exact, no float
    assert expected.cost(tokens) == Decimal("0.00342") == call_cost(CallUsage(tokens), expected)
    assert price_of(expected) is expected and price_of(None) is None


def test_no_other_module_defines_a_price_or_divides_by_a_million() -> None:
    """A class with per-million fields, or tokens divided by a million, anywhere but
    ``resolve/prices.py`` is a second price type or a second cost formula."""
    price_classes: list[str] = []
    per_million_math: list[str] = []
    for path, tree in _package_modules():
        where = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                if node.name.endswith(("Price", "Pricing")):
                    price_classes.append(f"{where}:{node.name}")
                    continue
                fields = [
                    n.target.id for n in node.body
                    if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
                ]
                if any(f.endswith(("_per_million", "_per_mtok")) for f in fields):
                    price_classes.append(f"{where}:{node.name}")
            if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Mult)):
                for side in (node.left, node.right):
                    named = isinstance(side, ast.Name) and ("MTOK" in side.id or "MILLION" in side.id)
                    if named or (isinstance(side, ast.Constant) and side.value in (1_000_000, 1e6, 1e-6)):
                        per_million_math.append(f"{where}:{node.lineno}")
    assert price_classes == ["resolve/prices.py:Price"]
    cost = next(
        n for n in ast.walk(ast.parse(PRICES_MODULE.read_text(encoding="utf-8")))
        if isinstance(n, ast.FunctionDef) and n.name == "cost"
    )
    assert [where for where in per_million_math if not where.startswith("resolve/prices.py:")] == []
    lines = [int(where.rsplit(":", 1)[1]) for where in per_million_math]
    assert len(lines) == 1 and cost.lineno <= lines[0] <= (cost.end_lineno or 0)  # Price.cost only
