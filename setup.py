"""Build hook: ship the bundle (bundle.md, behaviors/, agents/, context/, bundles/) inside the wheel.

The bundle lives at the repository root, where Amplifier expects a bundle repository to keep it;
package data cannot reach outside the package, so ``build_py`` copies it to
``amplifier_module_model_router/data/bundle/``, where ``amplifier-model-router verify`` finds it in a
non-editable install. Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLE_PARTS = ("bundle.md", "behaviors", "agents", "context", "bundles")


def copy_bundle(source: Path, target: Path) -> None:
    """Copy the bundle's files from ``source`` (the repo root) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for part in BUNDLE_PARTS:
        origin = source / part
        if origin.is_dir():
            shutil.copytree(origin, target / part, dirs_exist_ok=True)
        elif origin.is_file():
            shutil.copy2(origin, target / part)


class BuildWithBundle(build_py):
    def run(self) -> None:
        super().run()
        if not self.dry_run:
            copy_bundle(ROOT, Path(self.build_lib) / "amplifier_module_model_router" / "data" / "bundle")


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import copy_bundle
    setup(cmdclass={"build_py": BuildWithBundle})
