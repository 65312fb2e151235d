"""How the kernel finds the offline modules, without registering them in the user's install.

The package's ``amplifier.modules`` entry points name ``model-router`` only: every entry point
there is a module of the user's Amplifier (app-cli lists each ``provider-*`` one as an installed
provider). The offline modules are found the other way the kernel's loader supports, an
importable ``amplifier_module_<id>`` package: this folder holds one thin package per module,
re-exporting its ``mount``, and :func:`make_importable` puts the folder on ``sys.path``. Only
offline sessions call it (:func:`..plan.offline_mount_plan`, the tests), so a CLI session of the
user's never sees these modules.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["MODULE_IDS", "make_importable"]

FOLDER = Path(__file__).resolve().parent
MODULE_IDS = (
    "model-router-loop",
    "model-router-context",
    "provider-model-router-sim",
    "tool-model-router-delegate",
)


def make_importable() -> None:
    """Let the kernel import the offline modules by id (idempotent; appended, shadows nothing)."""
    folder = str(FOLDER)
    if folder not in sys.path:
        sys.path.append(folder)
