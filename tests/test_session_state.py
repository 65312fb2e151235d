"""The state store in real sessions and real processes: what is shared, and faults that change
nothing but a warning.

Cross-process tests start real processes (``offline/fleet.py``: a real AmplifierSession with
the model-router hook and offline providers, Anthropic answering 429 to every call).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from redis_kit import PrivateRedis, StalledServer, redis_binary, redis_url
from session_kit import delegate_lines, routed_plan, run

from amplifier_module_model_router.cli import main as cli_main
from amplifier_module_model_router.errors import SettingsError
from amplifier_module_model_router.offline import RECORDER
from amplifier_module_model_router.session.mount import build_router
from amplifier_module_model_router.settings import discover_layers, effective_routing
from amplifier_module_model_router.settings.options import RouterConfig

ROOT = Path(__file__).resolve().parent.parent
AGENTS = ("git-ops", "explorer", "zen-architect")


@pytest.fixture(autouse=True)
def state_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="amplifier_module_model_router.state")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "state store" in r.getMessage()]


def fleet(state: dict[str, Any], *, processes: int = 1, delegations: int = 3) -> list[dict[str, Any]]:
    """Run ``processes`` fleet workers at once (all start their session together)."""
    command = [
        sys.executable, "-m", "amplifier_module_model_router.offline.fleet", "--bundle", str(ROOT / "bundle.md"),
        "--state", json.dumps(state), "--delegations", str(delegations), "--batch", str(delegations),
        "--catalog-delay", "0.2", "--limited", "anthropic", "--start-at", repr(time.time() + 4.0),
    ]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _catalog_calls(results: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for result in results:
        for provider, calls in result["catalog_calls"].items():
            total[provider] = total.get(provider, 0) + calls
    return total


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
def test_processes_starting_together_fetch_each_catalog_once(backend: str, tmp_path: Path) -> None:
    # A generous store timeout: this is about single-flight, not about a starved machine
    # (an operation past its timeout makes a process route on its own, as designed).
    state: dict[str, Any] = {"backend": backend, "timeout": 5.0}
    if backend == "sqlite":
        state["path"] = str(tmp_path / "state.db")
    if backend == "redis":
        state |= {"url": redis_url(), "namespace": f"t-{uuid.uuid4().hex}"}
    results = fleet(state, processes=3)
    assert all(not r["failures"] and r["delegations"] == 3 for r in results)
    expected = 3 if backend == "memory" else 1  # memory: every process fetches its own
    assert _catalog_calls(results) == {p: expected for p in ("openai", "anthropic", "gemini", "github-copilot")}


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_process_started_later_knows_the_429s_and_catalogs_of_the_first(backend: str, tmp_path: Path) -> None:
    # A generous store timeout: this is about single-flight, not about a starved machine
    # (an operation past its timeout makes a process route on its own, as designed).
    state: dict[str, Any] = {"backend": backend, "timeout": 5.0}
    if backend == "sqlite":
        state["path"] = str(tmp_path / "state.db")
    if backend == "redis":
        state |= {"url": redis_url(), "namespace": f"t-{uuid.uuid4().hex}"}
    first = fleet(state)[0]
    assert first["limited_calls"], "the first process met the rate limit itself"
    second = fleet(state)[0]
    assert not second["failures"] and second["delegations"] == 3
    assert second["limited_calls"] == [], "no call of the second process reached the limited provider"
    assert sum(second["catalog_calls"].values()) == 0, "its catalogs came from the store"


def test_memory_processes_each_pay_for_the_rate_limit(tmp_path: Path) -> None:
    """The reference: without a shared store the second process learns the 429 again."""
    first, second = fleet({"backend": "memory"})[0], fleet({"backend": "memory"})[0]
    assert first["limited_calls"] and second["limited_calls"]
    assert sum(second["catalog_calls"].values()) == 4


# -- faults in a real session --------------------------------------------------------------------


def _plan(state: dict[str, Any]) -> dict[str, Any]:
    return routed_plan(hook_options={"state": state, "use_settings_files": False}, flaky=["anthropic"],
                       providers=["openai", "anthropic", "gemini", "github-copilot"])


async def _routes_every_agent(state: dict[str, Any]) -> Any:
    result = await run(_plan(state), delegate_lines(AGENTS))
    resolved = result.named("model_router:resolved")
    assert [e["outcome"] for e in resolved] == ["routed"] * len(AGENTS), resolved
    assert not result.named("delegate:error")
    assert all(models for models in (result.child_models(a) for a in AGENTS))
    return result


async def test_a_stalled_redis_neither_fails_nor_stalls_a_spawn(caplog: pytest.LogCaptureFixture) -> None:
    stalled = StalledServer()
    try:
        started = time.monotonic()
        result = await _routes_every_agent({"backend": "redis", "url": stalled.url, "timeout": 0.3})
        elapsed = time.monotonic() - started
        assert elapsed < 5.0, "one bounded wait, then local state"
        assert max(e["resolution_ms"] for e in result.named("model_router:resolved")) < 10_000  # < lookup timeout
        assert len(_warnings(caplog)) == 1
    finally:
        stalled.close()


async def test_redis_killed_between_sessions_then_back(caplog: pytest.LogCaptureFixture) -> None:
    server = PrivateRedis(redis_binary())
    server.start()
    state = {"backend": "redis", "url": server.url, "timeout": 0.3}
    try:
        await _routes_every_agent(state)
        server.kill()
        await _routes_every_agent(state)  # routing on local state
        assert len(_warnings(caplog)) == 1
        server.start()
        time.sleep(0.2)
        await _routes_every_agent(state)
    finally:
        server.close()


async def test_a_corrupt_sqlite_file_routes_on_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(os.urandom(8192))
    await _routes_every_agent({"backend": "sqlite", "path": str(path)})
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and str(path) in warnings[0]


async def test_sqlite_is_the_default_once_the_amplifier_home_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "amp-home"
    home.mkdir()
    monkeypatch.setenv("AMPLIFIER_HOME", str(home))
    monkeypatch.delenv("AMPLIFIER_MODEL_ROUTER_STATE")
    plan = routed_plan(flaky=["anthropic"], providers=["openai", "anthropic", "gemini", "github-copilot"])
    await run(plan, delegate_lines(AGENTS))
    db = home / "cache" / "model-router" / "state.db"
    assert db.exists() and stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert not (Path.home() / ".amplifier" / "cache" / "model-router").exists() or Path.home() == home


async def test_a_read_only_amplifier_home_routes_on_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "ro-home"
    home.mkdir()
    os.chmod(home, 0o555)
    if os.access(home, os.W_OK):  # root ignores permission bits: sysfs refuses everyone
        home = Path("/sys/model-router-test-home")
    state = {"backend": "sqlite", "path": str(home / "cache" / "model-router" / "state.db")}
    try:
        await _routes_every_agent(state)
        assert len(_warnings(caplog)) == 1
    finally:
        os.chmod(tmp_path / "ro-home", 0o755)


def test_verify_keeps_memory_even_where_sqlite_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOME"]) / ".amplifier"
    home.mkdir()
    monkeypatch.delenv("AMPLIFIER_MODEL_ROUTER_STATE")
    result = CliRunner().invoke(cli_main, ["verify", str(ROOT / "bundle.md"), "--settings"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not (home / "cache").exists(), "verify wrote shared state"


# -- settings --------------------------------------------------------------------------------


def _routing(values: dict[str, Any], tmp_path: Path) -> Any:
    org = tmp_path / "org.yaml"
    org.write_text(yaml.safe_dump(values), encoding="utf-8")
    return effective_routing({}, discover_layers(cwd=tmp_path, env={"AMPLIFIER_MODEL_ROUTER_ORG_SETTINGS": str(org)},
                                                 home=tmp_path / "nohome"))


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"backend": "postgres"}, "state.backend: must be one of memory, sqlite, redis"),
        ({"backend": "redis"}, "state.backend: backend 'redis' needs state.url"),
        ({"backend": "redis", "url": "http://cache:6379"}, "state.url: must be a Redis URL"),
        ({"timeout": -1}, "state.timeout: must be a number of seconds from 0.001 to 10"),
        ({"timeout": float("nan")}, "state.timeout: must be a number"),
        ({"refresh": True}, "state.refresh: must be a number"),
        ({"namespace": "has space"}, "state.namespace: must be 1-64 letters"),
        ({"bakend": "sqlite"}, "state.bakend: unknown key 'bakend'"),
        ("sqlite", "state: must be a mapping"),
    ],
)
def test_bad_state_settings_name_file_line_and_key(state: Any, message: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        _routing({"state": state}, tmp_path)
    text = str(caught.value)
    assert message in text and "org.yaml:" in text, text


@pytest.mark.parametrize("name", ["settings.yaml", "settings.local.yaml"])
def test_a_project_cannot_choose_where_routing_state_goes(name: str, tmp_path: Path) -> None:
    project = tmp_path / ".amplifier" / name
    project.parent.mkdir()
    project.write_text(yaml.safe_dump({"model_router": {"state": {"backend": "redis", "url": "redis://evil:6379"}}}))
    with pytest.raises(SettingsError) as caught:
        discover_layers(cwd=tmp_path, env={}, home=tmp_path / "nohome")
    assert f"{project}:2: model_router.state: may be set only in the org or user settings" in str(caught.value)


async def test_a_state_path_never_re_permissions_or_opens_a_non_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from amplifier_module_model_router.state import StateSettings, open_store

    existing = tmp_path / "shared.txt"
    existing.write_text("not ours")
    os.chmod(existing, 0o644)
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for path in (existing, fifo):
        store = await open_store(StateSettings(backend="sqlite", path=str(path)), amplifier_home=None)
        assert store.backend == "memory"
        await store.close()
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644 and existing.read_text() == "not ours"
    assert "not a regular file" in " ".join(_warnings(caplog))


def test_state_sub_keys_merge_per_key_with_their_source(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(yaml.safe_dump({"state": {"backend": "redis", "url": "redis://:pw@cache:6379/0"}}), encoding="utf-8")
    user = tmp_path / "home" / ".amplifier" / "settings.yaml"
    user.parent.mkdir(parents=True)
    user.write_text(yaml.safe_dump({"model_router": {"state": {"timeout": 1.5}}}), encoding="utf-8")
    layers = discover_layers(cwd=tmp_path, env={"AMPLIFIER_MODEL_ROUTER_ORG_SETTINGS": str(org)}, home=tmp_path / "home")
    routing = effective_routing({}, layers)
    settings, sources = routing.state_settings(tmp_path / "home" / ".amplifier")
    assert (settings.backend, settings.url, settings.timeout) == ("redis", "redis://:pw@cache:6379/0", 1.5)
    assert sources["state.backend"] == f"org ({org})" and sources["state.timeout"] == f"user ({user})"
    rows = {key: (value, source) for key, value, source in routing.state_values(tmp_path / "home" / ".amplifier")}
    assert rows["state.url"] == ("redis://cache:6379/0", f"org ({org})"), "the password is never shown"


def test_settings_command_shows_the_backend_and_why(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOME"]) / ".amplifier"
    home.mkdir()
    monkeypatch.delenv("AMPLIFIER_MODEL_ROUTER_STATE")
    result = CliRunner().invoke(cli_main, ["settings", "--bundle", str(ROOT / "bundle.md"), "--json"])
    rows = {row["key"]: row for row in json.loads(result.stdout)["settings"]}
    assert rows["state.backend"]["value"] == "sqlite"
    assert rows["state.backend"]["source"] == f"default ({home} exists)"
    assert rows["state.path"]["value"] == str(home / "cache" / "model-router" / "state.db")


def test_a_bad_environment_default_is_reported_and_routing_stays_per_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amplifier_module_model_router")
    monkeypatch.setenv("AMPLIFIER_MODEL_ROUTER_STATE", "redis")
    router = build_router(RouterConfig.from_mount({}))
    assert router.state_settings is not None and router.state_settings.backend == "memory"
    assert "AMPLIFIER_MODEL_ROUTER_STATE must be memory or sqlite" in caplog.text
