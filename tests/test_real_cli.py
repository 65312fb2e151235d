"""Opt-in: the bundle in the real Amplifier CLI, every documented form (scripts/real_cli_e2e.py).

Skipped unless ``MODEL_ROUTER_E2E_MIRRORS`` names a folder of local copies of the CLI's
repositories (``owner+name/repo`` or ``owner/name`` git directories: amplifier-app-cli,
amplifier-foundation, provider-anthropic, loop-streaming, context-simple, hooks-logging, modes,
skills, wayfinder). ``MODEL_ROUTER_E2E_WORK`` keeps the built CLI between runs. It builds the
CLI in a virtual environment (PyPI must be reachable for its dependencies), runs a stub of the
Anthropic API on 127.0.0.1 and takes a few minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIRRORS = os.environ.get("MODEL_ROUTER_E2E_MIRRORS", "")

pytestmark = pytest.mark.skipif(
    not MIRRORS or not Path(MIRRORS).is_dir() or shutil.which("git") is None,
    reason="set MODEL_ROUTER_E2E_MIRRORS to local copies of the Amplifier CLI's repositories",
)


def test_every_documented_form_routes_in_the_real_cli(tmp_path: Path) -> None:
    work = os.environ.get("MODEL_ROUTER_E2E_WORK") or str(tmp_path / "e2e")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "real_cli_e2e.py"), "--mirrors", MIRRORS,
         "--work", work],
        capture_output=True, text=True, timeout=3600, cwd=tmp_path, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "7/7 forms pass" in result.stdout
