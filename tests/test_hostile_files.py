"""Files that are not files: every reader refuses a device or a FIFO, and caps what it reads.

A cloned repository can carry ``.amplifier/settings.yaml -> /dev/zero`` (git keeps symlinks)
or a FIFO. ``stat`` says size 0 for both; reading ``/dev/zero`` whole ends in MemoryError and
opening a FIFO blocks until a writer comes (inside ``mount()``: the event loop stops). Each case
here must end with a clear error or a skip. A watchdog opens any FIFO for writing after a few
seconds, so a reader that blocks is released and the test fails on its result instead of hanging.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from session_kit import ROOT, routed_plan, session

from amplifier_module_model_router.bounded_read import MAX_LINE_BYTES, read_text
from amplifier_module_model_router.bundle.loader import load_bundle
from amplifier_module_model_router.cli.commands import main
from amplifier_module_model_router.cost.report import load_report
from amplifier_module_model_router.errors import BundleError, CatalogError, InputError
from amplifier_module_model_router.offline import offline_mount_plan

KINDS = ("dev-zero", "fifo")
RECORDED = next(
    f.parent for f in (ROOT / "tests/data/events/sessions").glob("*/events.jsonl")
    if '"model_router:cost"' in f.read_text(encoding="utf-8")
)
"""The recorded root session's folder (the one whose events file holds the cost event): found,
not named, so regenerating the fixture (new session ids) keeps this test pointed at it."""
REFUSED = {"dev-zero": "a character device", "fifo": "a FIFO"}


class _Watchdog:
    """Releases readers blocked on our FIFOs: after ``grace`` s, open each for writing."""

    def __init__(self, grace: float = 3.0) -> None:
        self.fifos: list[Path] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(grace,), daemon=True)
        self.thread.start()

    def _run(self, grace: float) -> None:
        if self.done.wait(grace):
            return
        while not self.done.wait(0.05):
            for fifo in self.fifos:
                try:  # succeeds only while a reader has it open: release it with EOF
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """``make(path, kind)``: ``path`` becomes a symlink to /dev/zero, or a FIFO."""
    watchdog = _Watchdog()

    def make(path: Path, kind: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "dev-zero":
            path.symlink_to("/dev/zero")
        else:
            os.mkfifo(path)
            watchdog.fifos.append(path)
        return path

    yield make
    watchdog.done.set()
    watchdog.thread.join()


def test_the_shared_reader_refuses_by_the_opened_file_not_by_stat(
    tmp_path: Path, hostile: Callable[[Path, str], Path]
) -> None:
    for kind in KINDS:
        path = hostile(tmp_path / f"{kind}.yaml", kind)
        with pytest.raises(InputError, match=REFUSED[kind]) as caught:
            read_text(path, display="shown.yaml")
        assert caught.value.file == "shown.yaml"
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 300_000)
    with pytest.raises(InputError, match="over 1000000 bytes"):
        read_text(big)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layer", ["project", "org"])
async def test_a_settings_file_that_is_not_a_file_is_refused_clearly_and_routing_stays_on(
    kind: str,
    layer: str,
    isolated_settings: Path,
    hostile: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if layer == "project":
        path = hostile(isolated_settings / ".amplifier" / "settings.yaml", kind)
    else:
        path = hostile(tmp_path / "org" / "routing.yaml", kind)
        monkeypatch.setenv("AMPLIFIER_MODEL_ROUTER_ORG_SETTINGS", str(path))
    watched = ("module:load_failed", "model_router:resolved", "model_router:settings_error")
    async with session(routed_plan(), events=watched) as (s, seen):
        await s.execute("DELEGATE model-router:git-ops: commit")
    assert [e for e, _ in seen if e == "module:load_failed"] == []
    errors = [d["message"] for e, d in seen if e == "model_router:settings_error"]
    assert errors, "the file must be refused visibly, not read"
    assert str(path) in errors[0] and REFUSED[kind] in errors[0]
    (resolved,) = [d for e, d in seen if e == "model_router:resolved"]
    assert resolved["tier"] == "budget"  # the bundle's routing, without the refused layer


@pytest.mark.parametrize("kind", KINDS)
def test_an_agent_file_that_is_not_a_file_is_a_bundle_error(
    kind: str, tmp_path: Path, hostile: Callable[[Path, str], Path]
) -> None:
    (tmp_path / "bundle.md").write_text(
        "---\nbundle: {name: hostile, version: 0.1.0}\nagents: {include: [evil]}\n---\nbody\n"
    )
    hostile(tmp_path / "agents" / "evil.md", kind)
    with pytest.raises(BundleError, match=REFUSED[kind]) as caught:
        load_bundle(tmp_path / "bundle.md")
    assert caught.value.file and caught.value.file.endswith("evil.md")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "bundle.md")])
    assert result.exit_code != 0 and REFUSED[kind] in result.output + result.stderr


@pytest.mark.parametrize("kind", KINDS)
async def test_a_catalog_that_is_not_a_file_is_refused_by_verify_and_by_a_session(
    kind: str, tmp_path: Path, hostile: Callable[[Path, str], Path]
) -> None:
    path = hostile(tmp_path / "catalog.yaml", kind)
    with pytest.raises(CatalogError, match=REFUSED[kind]):
        offline_mount_plan(catalog=path)
    # The offline provider module reads its catalog file at mount, inside a real session.
    plan = routed_plan()
    plan["providers"][0]["config"]["catalog_file"] = str(path)
    async with session(plan) as (_, seen):
        pass
    failures = [d["error"] for e, d in seen if e == "module:load_failed"]
    assert failures and REFUSED[kind] in failures[0]

    result = CliRunner().invoke(main, ["verify", str(ROOT / "bundle.md"), "--catalog", str(path)])
    assert result.exit_code == 2 and REFUSED[kind] in result.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_an_events_file_that_is_not_a_file_is_skipped_with_a_note(
    kind: str, tmp_path: Path, hostile: Callable[[Path, str], Path]
) -> None:
    sessions = tmp_path / "sessions"
    good = sessions / "a" / "events.jsonl"
    good.parent.mkdir(parents=True)
    good.write_text((RECORDED / "events.jsonl").read_text())
    bad = hostile(sessions / "b" / "events.jsonl", kind)
    report = load_report(sessions)
    assert report.summaries, "the good file is still reported"
    assert any(str(bad) in p and REFUSED[kind] in p for p in report.problems)
    alone = load_report(bad)
    assert not alone.summaries and REFUSED[kind] in alone.problems[0]


def test_an_over_long_events_line_is_skipped_not_read_whole(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    payload = {"event": "model_router:cost", "data": {"pad": "x" * (MAX_LINE_BYTES + 10)}}
    with events.open("w") as out:
        out.write(json.dumps(payload) + "\n")
        out.write('{"event": "llm:response", "data": "' + "y" * (MAX_LINE_BYTES * 2) + '"}\n')
        out.write('{"event": "model_router:cost", "data": "not json\n')
    report = load_report(events)
    assert f"{events}:1: line over {MAX_LINE_BYTES} bytes, skipped" in report.problems
    assert not any(":2:" in p for p in report.problems)  # another event's long line: no note
    assert any(f"{events}:3: not JSON" in p for p in report.problems)
