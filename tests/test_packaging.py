"""The wheel ships the bundle: setup.py's build hook copies it into the package, loadable there."""

from __future__ import annotations

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
    derived = load_bundle(target / "bundles" / "amplifier-dev.md")  # its ../bundle.md include holds
    assert set(source.agents) < set(derived.agents)


def test_the_sdist_manifest_carries_every_bundle_file() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text()
    setup = load_setup_module()
    for part in setup.BUNDLE_PARTS:
        assert part in manifest, part
