"""The wheel ships the bundle: setup.py's build hook copies it into the package, loadable there.
And the installed distribution registers nothing in the user's Amplifier but the router.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from amplifier_module_model_router.bundle.loader import load_bundle

ROOT = Path(__file__).resolve().parent.parent


def load_setup_module():
    spec = importlib.util.spec_from_file_location("model_router_setup", ROOT / "setup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # guarded: importing does not run setup()
    return module


def test_the_copied_bundle_loads_like_the_source_one(tmp_path: Path) -> None:
    setup = load_setup_module()
    target = tmp_path / "amplifier_module_model_router" / "bundle"
    setup.copy_bundle(ROOT, target)

    shipped = load_bundle(target / "bundle.md")
    source = load_bundle(ROOT / "bundle.md")
    assert set(shipped.agents) == set(source.agents) and len(shipped.agents) == 16
    assert shipped.tiers == source.tiers
    # its namespace include finds the copied root above it, as foundation would
    derived = load_bundle(target / "bundles" / "amplifier-dev.md")
    assert set(source.agents) < set(derived.agents)
    assert derived.includes == (target / "behaviors" / "model-router.yaml",)


def test_the_sdist_manifest_carries_every_bundle_file() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text()
    setup = load_setup_module()
    for part in setup.BUNDLE_PARTS:
        assert part in manifest, part


def test_the_installed_distribution_registers_only_the_router_module() -> None:
    """app-cli takes every ``provider-*`` entry point for an installed provider; the offline
    modules verify and the tests use must never appear in the user's module namespace."""
    dist = importlib.metadata.distribution("amplifier-bundle-model-router")
    modules = {ep.name for ep in dist.entry_points if ep.group == "amplifier.modules"}
    assert modules == {"model-router"}
    (router,) = dist.entry_points.select(group="amplifier.modules", name="model-router")
    assert router.value == "amplifier_module_model_router:mount"


def test_offline_sessions_still_find_the_simulated_modules_by_id() -> None:
    """They are importable ``amplifier_module_<id>`` packages, re-exporting the real mount."""
    from amplifier_module_model_router.offline import provider
    from amplifier_module_model_router.offline.modules import MODULE_IDS, make_importable

    make_importable()
    for module_id in MODULE_IDS:
        shim = importlib.import_module(f"amplifier_module_{module_id.replace('-', '_')}")
        assert callable(shim.mount)
    sim = importlib.import_module("amplifier_module_provider_model_router_sim")
    assert sim.mount is provider.mount
