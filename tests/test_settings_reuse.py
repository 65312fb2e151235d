"""A child session reuses what its parent parsed, and nothing stale: settings files by
(path, inode, size, mtime), the module config by content, the routing by the objects it was
made of, and each agent's tier decision per routing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from session_kit import BUNDLE, delegate_lines, routed_plan, run

from amplifier_module_model_router.bundle.loader import agent_configs
from amplifier_module_model_router.errors import SettingsError
from amplifier_module_model_router.session.mount import build_router
from amplifier_module_model_router.session.tiers import assign_tier_preferences
from amplifier_module_model_router.settings import reuse

TIERS = dict(BUNDLE.module_config)["tiers"]
HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


def write_settings(cwd: Path, values: dict, *, settled: bool = True, mtime_ns: int = HOUR_AGO_NS) -> Path:
    """The project's settings file; ``settled``: last written an hour ago (memoisable)."""
    folder = cwd / ".amplifier"
    folder.mkdir(exist_ok=True)
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump({"model_router": values}))
    if settled:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def mounted_routing():
    return build_router(reuse.router_config({"tiers": TIERS})).routing


def test_a_second_mount_reuses_the_parsed_config_layers_and_routing(isolated_settings: Path) -> None:
    write_settings(isolated_settings, {"agents": {"git-ops": "strong"}})
    first, second = mounted_routing(), mounted_routing()

    assert second is first
    assert second.agent_tiers["git-ops"] == "strong"
    assert reuse.router_config({"tiers": TIERS}) is reuse.router_config({"tiers": TIERS})


def test_an_edited_settings_file_is_read_again(isolated_settings: Path) -> None:
    path = write_settings(isolated_settings, {"agents": {"git-ops": "strong"}})
    assert mounted_routing().agent_tiers["git-ops"] == "strong"

    write_settings(isolated_settings, {"agents": {"git-ops": "budget"}}, mtime_ns=HOUR_AGO_NS + 10**9)
    assert mounted_routing().agent_tiers["git-ops"] == "budget"

    path.unlink()
    assert "git-ops" not in mounted_routing().agent_tiers


def test_a_file_written_just_now_is_read_every_time(isolated_settings: Path) -> None:
    """Same size, same mtime tick: only a read can tell, so a fresh file is never memoised."""
    path = write_settings(isolated_settings, {"agents": {"git-ops": "strong"}}, settled=False)
    assert mounted_routing().agent_tiers["git-ops"] == "strong"
    stamp = path.stat().st_mtime_ns

    write_settings(isolated_settings, {"agents": {"git-ops": "budget"}}, mtime_ns=stamp)  # same size
    assert mounted_routing().agent_tiers["git-ops"] == "budget"


def test_a_bad_settings_file_stays_left_out_and_named_on_every_mount(isolated_settings: Path) -> None:
    write_settings(isolated_settings, {"agents": {"git-ops": "strnog"}})
    routings = [mounted_routing(), mounted_routing()]

    for routing in routings:
        assert "git-ops" not in routing.agent_tiers
        assert len(routing.problems) == 1
        assert "strnog" in str(routing.problems[0])
        assert str(isolated_settings / ".amplifier" / "settings.yaml") in str(routing.problems[0])


def test_the_config_memo_tells_types_apart_and_keeps_its_own_copy() -> None:
    raw = {"tiers": TIERS, "strict": True, "default_tier": "budget"}
    config = reuse.router_config(raw)
    with pytest.raises(SettingsError, match="strict"):
        reuse.router_config({"tiers": TIERS, "strict": 1, "default_tier": "budget"})

    raw["default_tier"] = "strong"  # the caller's dict changes after the mount
    assert config.settings["default_tier"] == "budget"
    assert reuse.router_config(raw).settings["default_tier"] == "strong"


def test_a_childs_copy_of_the_agents_gets_the_same_chains_and_a_changed_agent_a_new_one(
    isolated_settings: Path,
) -> None:
    routing = mounted_routing()
    parent = agent_configs(BUNDLE)
    written = assign_tier_preferences(parent, routing)
    child = {name: dict(cfg) for name, cfg in parent.items()}  # as the child plan copies them
    child["model-router:git-ops"]["model_tier"] = "budget"
    child["model-router:file-ops"]["provider_preferences"] = [{"provider": "openai", "model": "gpt-5.5"}]

    again = assign_tier_preferences(child, routing)

    assert {k: v for k, v in again.items() if k != "model-router:git-ops"} == {
        k: v for k, v in written.items() if k != "model-router:git-ops"
    }
    assert again["model-router:git-ops"] == "budget"
    expected = {tier: [p.to_dict() for p in routing.tiers[tier]] for tier in routing.tiers}
    for name, tier in again.items():
        assert child[name]["provider_preferences"] == expected[tier], name
        assert child[name]["model_tier"] == tier


async def test_children_route_as_the_settings_say_across_an_edit(isolated_settings: Path) -> None:
    """Real sessions: the memoised routing reaches children, and the next session sees an edit."""
    write_settings(isolated_settings, {"agents": {"git-ops": "strong"}})
    first = await run(routed_plan(session_model="openai/gpt-5.5"), delegate_lines(["git-ops", "file-ops"]))
    write_settings(isolated_settings, {"agents": {"git-ops": "budget"}}, mtime_ns=HOUR_AGO_NS + 10**9)
    second = await run(routed_plan(session_model="openai/gpt-5.5"), delegate_lines(["git-ops"]))

    assert first.child_models("git-ops") == [("anthropic", "claude-sonnet-5")]
    assert second.child_models("git-ops") == [("anthropic", "claude-haiku-4-5")]
