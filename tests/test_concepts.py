"""Each concept written once: the error kinds, the unknown-key message, the merge's copy rule,
the settings schema, the process-wide registry, sub-session ids."""

from __future__ import annotations

import pytest

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
from amplifier_module_model_router.merge import deep_merge
from amplifier_module_model_router.session_ids import agent_of, sub_session_id
from amplifier_module_model_router.settings.options import SETTINGS_KEYS, RouterConfig
from amplifier_module_model_router.settings.schema import KEYS, SETTINGS, SettingsLayer, parse_layer
from amplifier_module_model_router.shared import replaced, reset_shared, shared


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
