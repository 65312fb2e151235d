"""``amplifier-model-router``: every command through click's runner and through a real process.

What is checked is behaviour a user sees: table rows (agent, tier, model, mark), the summary
line, exit codes, one-line errors. Expected models are never written down here: they are read
from the catalog snapshot (the newest id of the tier's family on the provider that should
answer), so the tests hold when the snapshot is refreshed. The conftest isolates HOME,
AMPLIFIER_HOME, the org variable and the working folder, so no developer setting leaks in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from amplifier_module_model_router.bundle.files import display_path
from amplifier_module_model_router.bundle.loader import load_bundle
from amplifier_module_model_router.cli import main
from amplifier_module_model_router.offline import RECORDER
from amplifier_module_model_router.resolve.globs import glob_matches
from amplifier_module_model_router.resolve.snapshot import load_catalog
from amplifier_module_model_router.resolve.versions import newest_match

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bundle.md"
DERIVED = ROOT / "bundles" / "amplifier-dev.md"
FOUNDATION = "git+https://github.com/microsoft/amplifier-foundation@main"
SUMMARY = re.compile(r"^(\d+)/(\d+) correct · (\d+) errors? · (?:(\d+) failovers? · )?(.+)$", re.M)
CATALOG = load_catalog()
SCRIPT = Path(sys.executable).parent / "amplifier-model-router"


# -- running the CLI ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def rows(self) -> dict[str, list[str]]:
        """Rows of the first table keyed by their first cell (agent), cells split on 2+ spaces.

        Stops at ``verify``'s summary line: the cost table below it has agent rows too.
        """
        found: dict[str, list[str]] = {}
        summary = SUMMARY.search(self.out)
        for line in self.out[: summary.start() if summary else None].splitlines():
            cells = re.split(r"\s{2,}", line.strip())
            if (
                cells
                and (cells[0] == "self" or ":" in cells[0] and " " not in cells[0])
                and len(cells) >= 3
            ):
                found[cells[0]] = cells
        return found

    def summary(self) -> re.Match[str]:
        match = SUMMARY.search(self.out)
        assert match, self.out
        return match


def in_process(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def in_subprocess(*args: str) -> Result:
    command = (
        [str(SCRIPT)]
        if SCRIPT.exists()
        else [sys.executable, "-m", "amplifier_module_model_router.cli"]
    )
    done = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=dict(os.environ), timeout=60
    )
    return Result(done.returncode, done.stdout, done.stderr)


RUNNERS = [pytest.param(in_process, id="clirunner"), pytest.param(in_subprocess, id="subprocess")]
Runner = Callable[..., Result]


# -- what the catalog says each agent should get ------------------------------------------------


def tier_of(agent: str, bundle_path: Path = BUNDLE) -> str:
    return load_bundle(bundle_path).agents[agent.rsplit(":", 1)[-1]].tier or "-"


def first_match(tier: str, skip: set[str], bundle_path: Path = BUNDLE) -> str:
    """The first candidate of ``tier`` on a provider not in ``skip``, as the catalog resolves it."""
    for pref in load_bundle(bundle_path).tiers[tier]:
        if pref.provider in skip:
            continue
        ids = [m.id for m in CATALOG.models(pref.provider)]
        model = newest_match(pref.model, ids)
        if model is not None:
            return f"{pref.provider}/{model}"
    raise AssertionError(f"nothing in {tier} outside {skip}")


def assert_routed(
    result: Result, *, skip: set[str], session: str, bundle_path: Path = BUNDLE
) -> None:
    """Every agent of the bundle has a row with its tier, its expected model and a check mark."""
    rows = result.rows()
    bundle = load_bundle(bundle_path)
    assert set(rows) == {spec.key for spec in bundle.agents.values()} | {"self"}
    for spec in bundle.agents.values():
        agent, tier, used, _price, check = rows[spec.key][:5]
        assert tier == spec.tier
        assert used == first_match(spec.tier, skip, bundle_path), agent
        assert check.startswith("✓"), check
    assert rows["self"][1:3] == ["-", session]
    total = len(bundle.agents) + 1
    assert result.summary().group(0) == f"{total}/{total} correct · 0 errors · all globs resolved"
    assert result.code == 0


def session_default(provider: str) -> str:
    return f"{provider}/{CATALOG.default_model(provider)}"


# -- verify: the scenarios of the issue ---------------------------------------------------------


@pytest.mark.parametrize("run", RUNNERS)
def test_verify_all_up_every_agent_on_its_tier_family(run: Runner) -> None:
    result = run("verify", str(BUNDLE))
    assert_routed(result, skip=set(), session=session_default("anthropic"))
    rows = result.rows()
    assert all(
        rows[a][2].startswith("anthropic/claude-haiku-") for a in rows if rows[a][1] == "budget"
    )
    assert all(
        rows[a][2].startswith("anthropic/claude-opus-") for a in rows if rows[a][1] == "frontier"
    )


@pytest.mark.parametrize("run", RUNNERS)
def test_verify_down_anthropic(run: Runner) -> None:
    result = run("verify", str(BUNDLE), "--down", "anthropic")
    assert_routed(result, skip={"anthropic"}, session=session_default("openai"))
    assert "anthropic (down)" in result.out


@pytest.mark.parametrize("run", RUNNERS)
def test_verify_failing_anthropic_routes_around_but_parent_keeps_it(run: Runner) -> None:
    result = run("verify", str(BUNDLE), "--failing", "anthropic")
    # list_models() fails, so no glob resolves on anthropic; its complete() still works, so
    # the parent (and self) stay on anthropic.
    assert_routed(result, skip={"anthropic"}, session=session_default("anthropic"))


@pytest.mark.parametrize("run", RUNNERS)
def test_verify_down_anthropic_and_openai(run: Runner) -> None:
    result = run("verify", str(BUNDLE), "--down", "anthropic", "--down", "openai")
    assert_routed(result, skip={"anthropic", "openai"}, session=session_default("gemini"))
    assert all(cells[2].startswith("gemini/") for cells in result.rows().values())


@pytest.mark.parametrize("run", RUNNERS)
def test_verify_derived_bundle(run: Runner) -> None:
    result = run("verify", str(DERIVED))
    assert_routed(result, skip=set(), session=session_default("anthropic"), bundle_path=DERIVED)
    assert "model-router-amplifier-dev:module-contract-reviewer" in result.rows()


@pytest.mark.parametrize("run", RUNNERS)
def test_verify_flaky_anthropic_every_agent_finishes_on_its_next_candidate(run: Runner) -> None:
    result = run("verify", str(BUNDLE), "--flaky", "anthropic")
    rows = result.rows()
    for agent, (_, tier, used, _price, check, *_) in rows.items():
        assert not used.startswith("anthropic/"), agent
        assert check.startswith("✓"), check
        if agent != "self":
            assert used == first_match(tier, {"anthropic"})
    match = result.summary()
    assert match.group(1) == match.group(2) == "17" and match.group(3) == "0"
    failovers = int(match.group(4))
    assert failovers >= 1
    failed_over = [
        re.search(r"failover: RateLimitError on ([^;]+)", check) for *_, check in rows.values()
    ]
    listed = [m for found in failed_over if found for m in found.group(1).split(", ")]
    assert failovers == len(listed) and all(m.startswith("anthropic/") for m in listed)
    assert match.group(5) == "all globs resolved"
    assert result.code == 0


def test_verify_default_bundle_is_the_shipped_one_when_cwd_has_none() -> None:
    result = in_process("verify")
    assert_routed(result, skip=set(), session=session_default("anthropic"))
    assert "(" + str(BUNDLE) + ")" in result.out


def test_verify_reports_what_the_childs_provider_received() -> None:
    data = json.loads(in_process("verify", str(BUNDLE), "--down", "openai", "--json").out)
    assert data["summary"]["ok"] and data["summary"]["line"].startswith("17/17 correct")
    for agent in data["agents"]:
        answered = [
            c for c in RECORDER.completions(session_id=agent["sub_session_id"]) if c.error is None
        ]
        assert answered and agent["used"] == {
            "provider": answered[-1].provider,
            "model": answered[-1].model,
        }
        assert agent["used"] == agent["expected"]


def test_verify_session_model_shows_downgrades_and_upgrades() -> None:
    result = in_process("verify", str(BUNDLE), "--session-model", "anthropic/claude-opus-4-8")
    rows = result.rows()
    assert rows["self"][2] == "anthropic/claude-opus-4-8" and rows["self"][3] == "same"
    assert all(
        cells[3].endswith("cheaper") for cells in rows.values() if cells[1] in ("budget", "strong")
    )
    assert result.code == 0


def test_verify_honours_settings_only_when_asked(isolated_settings: Path) -> None:
    settings = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    settings.parent.mkdir()
    settings.write_text("model_router:\n  agents:\n    git-ops: frontier\n", encoding="utf-8")
    assert in_process("verify", str(BUNDLE)).rows()["model-router:git-ops"][1] == "budget"
    honoured = in_process("verify", str(BUNDLE), "--settings")
    assert honoured.rows()["model-router:git-ops"][1:3] == [
        "frontier",
        first_match("frontier", set()),
    ]
    assert honoured.code == 0


def test_self_named_in_settings_is_routed_in_show_explain_and_verify(
    isolated_settings: Path,
) -> None:
    """``agents: {self: budget}`` routes self-delegation; show, explain and verify agree."""
    settings = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    settings.parent.mkdir()
    settings.write_text("model_router:\n  agents:\n    self: budget\n", encoding="utf-8")
    budget = first_match("budget", set())
    assert in_process("show", str(BUNDLE)).rows()["self"][1:3] == ["budget", budget]
    explained = in_process("explain", "self", "--bundle", str(BUNDLE)).out
    assert f"tier decided by: user ({settings}): agents.self" in explained
    assert f"-> self gets {budget}" in explained
    verified = in_process("verify", str(BUNDLE), "--settings")
    assert verified.rows()["self"][1:4] == ["budget", budget, "3.0x cheaper"]
    assert verified.code == 0, verified.out


def test_verify_counts_a_strict_refusal_as_expected_not_as_an_error(
    isolated_settings: Path,
) -> None:
    """``strict: true`` and a chain that resolves nothing: the spawn is refused, as the
    expectation says; verify marks it correct and exits 3 (not everything answered)."""
    settings = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    settings.parent.mkdir()
    settings.write_text(
        "model_router:\n  strict: true\n  tiers:\n    budget:\n"
        '      - {provider: anthropic, model: "claude-haiku-*"}\n',
        encoding="utf-8",
    )
    result = in_process("verify", str(BUNDLE), "--settings", "--down", "anthropic")
    rows = result.rows()
    budget = [a for a in rows if a != "self" and tier_of(a) == "budget"]
    assert len(budget) == 5
    for agent in budget:
        assert rows[agent][2] == "-" and rows[agent][4].startswith("✓ refused (strict)"), rows[agent]
    summary = result.summary()
    assert (summary.group(1), summary.group(2), summary.group(3)) == ("17", "17", "0"), result.out
    assert "5 unresolved" in summary.group(5)
    assert result.code == 3, result.out
    data = json.loads(
        in_process("verify", str(BUNDLE), "--settings", "--down", "anthropic", "--json").out
    )
    refused = [a for a in data["agents"] if a["expected_outcome"] == "refused"]
    assert len(refused) == 5 and all(a["correct"] and a["error"] for a in refused)
    assert data["summary"]["errors"] == 0


def test_verify_flags_a_model_other_than_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    from amplifier_module_model_router.cli import expect as cli_routes

    real = cli_routes.Planner._expected

    def off_by_one(self, resolution):  # expect the first fallback instead of the chosen model
        outcome, expected = real(self, resolution)
        fallbacks = resolution.fallbacks
        return outcome, (fallbacks[0].provider, fallbacks[0].model) if fallbacks else expected

    monkeypatch.setattr(cli_routes.Planner, "_expected", off_by_one)
    result = in_process("verify", str(BUNDLE))
    assert result.code == 1
    row = result.rows()["model-router:git-ops"]
    assert row[4] == f"✗ expected {first_match('budget', {'anthropic'})}"
    assert (
        result.summary().group(1) == "1" and result.summary().group(2) == "17"
    )  # only self is right


def test_verify_notices_the_module_failing_to_mount(monkeypatch: pytest.MonkeyPatch) -> None:
    from amplifier_module_model_router.session import mount as module

    async def broken(coordinator, config=None):
        raise RuntimeError("simulated mount failure")

    monkeypatch.setattr(module, "mount", broken)
    result = in_process("verify", str(BUNDLE))
    assert result.code == 1
    assert "module failed to load: hook model-router: simulated mount failure" in result.out
    assert int(result.summary().group(3)) >= 1


def test_verify_without_failover_a_flaky_provider_is_an_error(tmp_path: Path) -> None:
    behavior = ROOT / "behaviors" / "model-router.yaml"
    text = behavior.read_text(encoding="utf-8").replace(
        "    config:\n      tiers:", "    config:\n      failover: false\n      tiers:", 1
    )
    (tmp_path / "behaviors").mkdir()
    (tmp_path / "behaviors" / "model-router.yaml").write_text(text, encoding="utf-8")
    bundle = tmp_path / "bundle.md"  # the root's namespace include finds this copy's behavior
    bundle.write_text(BUNDLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "agents").symlink_to(ROOT / "agents")
    result = in_process("verify", str(bundle), "--flaky", "anthropic")
    assert result.code == 1
    assert result.rows()["model-router:zen-architect"][4].startswith("✗ Agent delegation failed")
    assert int(result.summary().group(3)) == 16  # every routed agent; self runs on openai


# -- bad input: one line on stderr, exit 2 ------------------------------------------------------


def write_bad_bundle(folder: Path) -> Path:
    """A bundle whose agent files hold two independent mistakes."""
    (folder / "agents").mkdir(parents=True)
    (folder / "bundle.md").write_text(
        "---\nbundle: {name: broken, version: 0.1.0}\n"
        "hooks:\n  - module: model-router\n    config:\n      tiers:\n"
        "        budget: [{provider: anthropic, model: 'claude-haiku-*'}]\n"
        "agents:\n  include: [broken:good, broken:typo-tier, broken:no-model]\n---\n",
        encoding="utf-8",
    )
    agent = "---\nmeta:\n  name: {name}\n  description: x\n{extra}---\nDo the job.\n"
    files = {
        "good": agent.format(name="good", extra="  model_tier: budget\n"),
        "typo-tier": agent.format(name="typo-tier", extra="  model_tier: budgett\n"),
        "no-model": agent.format(
            name="no-model", extra="provider_preferences:\n  - {provider: openai}\n"
        ),
    }
    for name, text in files.items():
        (folder / "agents" / f"{name}.md").write_text(text, encoding="utf-8")
    return folder / "bundle.md"


@pytest.mark.parametrize("run", RUNNERS)
def test_verify_bad_bundle_is_one_line_naming_file_agent_field(run: Runner, tmp_path: Path) -> None:
    bundle = write_bad_bundle(tmp_path / "broken")
    result = run("verify", str(bundle))
    assert result.code == 2 and result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err
    # the loader stops at the first problem (validate lists them all): either one, fully located
    assert (
        "agents/typo-tier.md: agent 'typo-tier': meta.model_tier: unknown tier 'budgett'"
        in lines[0]
        or "agents/no-model.md: agent 'no-model': provider_preferences[0]: missing 'model'"
        in lines[0]
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (("verify", "missing/bundle.md"), ["missing/bundle.md", "not found"]),
        (("verify", str(BUNDLE), "--down", "anthropc"), ["down", "unknown provider 'anthropc'"]),
        (
            ("verify", str(BUNDLE), "--catalog", "nowhere.yaml"),
            ["nowhere.yaml", "cannot read catalog"],
        ),
        (("explain", "no-such-agent", "--bundle", str(BUNDLE)), ["unknown agent 'no-such-agent'"]),
        (("show", str(BUNDLE), "--session-model", "openai"), ["expected PROVIDER/MODEL"]),
        (
            (
                "verify",
                str(BUNDLE),
                "--flaky",
                "anthropic",
                "--session-model",
                "anthropic/claude-opus-4-8",
            ),
            ["flaky", "--session-model"],
        ),
    ],
)
def test_bad_input_is_one_clear_line(
    args: tuple[str, ...], words: list[str], tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.yaml"  # a glob where an id belongs: refused, never routed
    catalog.write_text(
        "date: 2026-11\nproviders: {anthropic: {models: [{id: 'claude-*'}]}}\n", encoding="utf-8"
    )
    result = in_process(*(arg.format(glob_catalog=catalog) for arg in args))
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    assert all(word in result.err for word in words), result.err


# -- validate -----------------------------------------------------------------------------------


def test_show_and_verify_name_the_includes_they_did_not_read() -> None:
    """foundation (a git include of bundle.md) is fetched by the CLI, never by us: said so."""
    shown = json.loads(in_process("show", str(BUNDLE), "--json").out)
    assert [u["source"] for u in shown["bundle"]["unread"]] == [FOUNDATION]
    verified = in_process("verify", str(DERIVED))
    assert f"not read: {FOUNDATION} ({display_path(DERIVED)}: includes[0].bundle)" in verified.out


@pytest.mark.parametrize("run", RUNNERS)
def test_validate_shipped_and_derived_bundles(run: Runner) -> None:
    for path in (BUNDLE, DERIVED):
        bundle = load_bundle(path)
        result = run("validate", str(path))
        assert result.code == 0
        first, *rest = result.out.strip().splitlines()
        counts = f"{len(bundle.agents)} agents, {len(bundle.tiers)} tiers"
        assert first == f"ok: {counts}; 1 include not read (below)"
        # foundation is named, never silently counted as read
        assert rest == [
            f"not read: {FOUNDATION} ({display_path(path)}: includes[0].bundle): remote source: "
            "the Amplifier CLI fetches it; not read offline"
        ]


@pytest.mark.parametrize("run", RUNNERS)
def test_validate_lists_every_error_and_exits_1(run: Runner, tmp_path: Path) -> None:
    bundle = write_bad_bundle(tmp_path / "broken")
    result = run("validate", str(bundle))
    assert result.code == 1
    errors = [line for line in result.out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, result.out
    assert any(
        "agents/typo-tier.md" in e and "agent 'typo-tier'" in e and "meta.model_tier" in e
        for e in errors
    )
    assert any(
        "agents/no-model.md" in e and "agent 'no-model'" in e and "provider_preferences[0]" in e
        for e in errors
    )
    assert result.out.strip().endswith("2 errors")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ("price_ceiling: {frontir: 20}", "price_ceiling"),
        ("default_tier: nope", "default_tier"),
        ("agents: {good: strnog}", "agents"),
    ],
)
def test_validate_refuses_the_settings_a_session_would_refuse_in_the_module_config(
    tmp_path: Path, settings: str, field: str
) -> None:
    """Settings keys in the module config are the session's mount layer: validate said "ok" to a
    bundle whose sessions then refused them."""
    folder = tmp_path / "b"
    (folder / "agents").mkdir(parents=True)
    (folder / "bundle.md").write_text(
        "---\nbundle: {name: b, version: 0.1.0}\n"
        "hooks:\n  - module: model-router\n    config:\n      " + settings + "\n      tiers:\n"
        "        budget: [{provider: anthropic, model: 'claude-haiku-*'}]\n"
        "        frontier: [{provider: anthropic, model: 'claude-opus-*'}]\n"
        "agents:\n  include: [b:good]\n---\n",
        encoding="utf-8",
    )
    (folder / "agents" / "good.md").write_text(
        "---\nmeta:\n  name: good\n  description: x\n  model_tier: budget\n---\nDo the job.\n", encoding="utf-8"
    )
    result = in_process("validate", str(folder / "bundle.md"))
    assert result.code == 1, result.out
    (error,) = [line for line in result.out.splitlines() if line.startswith("error: ")]
    assert "bundle.md: hooks[model-router]" in error and field in error, error


# -- explain ------------------------------------------------------------------------------------


@pytest.mark.parametrize("run", RUNNERS)
def test_explain_walks_the_chain_and_ends_with_the_model(run: Runner) -> None:
    result = run("explain", "git-ops", "--bundle", str(BUNDLE), "--down", "anthropic")
    assert result.code == 0
    chain = load_bundle(BUNDLE).tiers["budget"]
    candidates = [
        re.split(r"\s{2,}", line.strip())
        for line in result.out.splitlines()
        if re.match(r"^\d+\s", line)
    ]
    assert [c[1] for c in candidates] == [f"{p.provider}/{p.model}" for p in chain]
    assert candidates[0][2:] == ["skipped", "provider 'anthropic' is not mounted"]
    chosen = [c for c in candidates if c[2] == "chosen"]
    assert len(chosen) == 1 and chosen[0][1].startswith("openai/")
    expected = first_match("budget", {"anthropic"})
    assert f"-> model-router:git-ops gets {expected}" in result.out
    assert "tier decided by: bundle: the agent's model_tier" in result.out


def test_explain_says_how_many_models_matched_and_why_one_won() -> None:
    result = in_process("explain", "model-router:zen-architect", "--bundle", str(BUNDLE))
    opus = [m.id for m in CATALOG.models("anthropic") if glob_matches("claude-opus-*", m.id)]
    newest = newest_match("claude-opus-*", opus)
    text = " ".join(result.out.split())  # the reason column may wrap
    assert f"anthropic/claude-opus-* chosen matched {len(opus)} models" in text
    assert f"picked {newest}: the newest version" in text
    assert f"-> model-router:zen-architect gets anthropic/{newest}" in result.out


def test_explain_compares_the_list_price_with_the_session_models_in_words() -> None:
    def verdict(agent: str) -> str:
        result = in_process("explain", agent, "--bundle", str(BUNDLE))
        assert result.code == 0, result.err
        return next(line for line in result.out.splitlines() if line.startswith("-> "))

    assert verdict("git-ops").endswith("· list price 3.0x cheaper than the session model")  # Haiku vs Sonnet
    assert verdict("explorer").endswith("· list price same as the session model's")  # Sonnet 5 vs 4.5


def test_explain_failing_provider_says_the_lookup_failed() -> None:
    result = in_process("explain", "explorer", "--bundle", str(BUNDLE), "--failing", "anthropic")
    row = next(line for line in result.out.splitlines() if "anthropic/claude-sonnet-*" in line)
    assert "skipped" in row and "catalog lookup of 'anthropic' failed" in row


def test_explain_self_and_json() -> None:
    result = in_process(
        "explain", "self", "--bundle", str(BUNDLE), "--session-model", "openai/gpt-5.5"
    )
    assert "-> self gets the session model openai/gpt-5.5 (inherits)" in result.out
    data = json.loads(in_process("explain", "git-ops", "--bundle", str(BUNDLE), "--json").out)
    assert data["tier"] == "budget" and data["candidates"][0]["outcome"] == "chosen"
    assert data["model"]["model"] in data["candidates"][0]["matches"]


# -- show and settings --------------------------------------------------------------------------


@pytest.mark.parametrize("run", RUNNERS)
def test_show_is_the_table_verify_checks(run: Runner) -> None:
    result = run("show", str(BUNDLE), "--down", "anthropic")
    assert result.code == 0
    rows = result.rows()
    for spec in load_bundle(BUNDLE).agents.values():
        agent, tier, model, fallback, _price, set_by = rows[spec.key][:6]
        assert (tier, model, set_by) == (spec.tier, first_match(spec.tier, {"anthropic"}), "bundle")
        assert fallback not in ("-", model)


def test_show_and_explain_say_which_settings_layer_decided(isolated_settings: Path) -> None:
    user = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    user.parent.mkdir()
    user.write_text("model_router:\n  agents:\n    git-ops: strong\n", encoding="utf-8")
    project = isolated_settings / ".amplifier" / "settings.yaml"
    project.parent.mkdir()
    project.write_text("model_router:\n  provider_order: [gemini]\n", encoding="utf-8")

    shown = in_process("show", str(BUNDLE)).rows()["model-router:git-ops"]
    assert shown[1:3] == ["strong", first_match("strong", {"anthropic", "openai"})]
    assert shown[5] == "tier: user: agents.git-ops; chain: bundle; reordered by project"
    explained = in_process("explain", "git-ops", "--bundle", str(BUNDLE)).out
    assert f"tier decided by: user ({user}): agents.git-ops" in explained
    assert f"chain of tier strong: bundle; reordered by project ({project})" in explained
    plain = in_process("show", str(BUNDLE), "--no-settings").rows()["model-router:git-ops"]
    assert plain[1] == "budget"


@pytest.mark.parametrize("run", RUNNERS)
def test_settings_prints_each_value_with_its_source(run: Runner, isolated_settings: Path) -> None:
    user = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    user.parent.mkdir()
    user.write_text(
        "model_router:\n  disabled_providers: [github-copilot]\n  default_tier: budget\n",
        encoding="utf-8",
    )
    result = run("settings", "--bundle", str(BUNDLE))
    assert result.code == 0
    rows = {
        cells[0]: cells
        for cells in (re.split(r"\s{2,}", line.strip()) for line in result.out.splitlines())
        if cells
    }
    assert rows["disabled_providers"][1:] == ["github-copilot", f"user ({user})"]
    assert rows["default_tier"][1:] == ["budget", f"user ({user})"]
    assert rows["strict"][1:] == ["false", "default"]
    assert rows["tiers.frontier"][1:] == [
        "anthropic/claude-opus-*",
        f"bundle; github-copilot disabled by user ({user})",
    ]


def test_settings_bad_layer_is_one_line_with_file_and_key(isolated_settings: Path) -> None:
    project = isolated_settings / ".amplifier" / "settings.yaml"
    project.parent.mkdir()
    project.write_text("model_router:\n  provider_oder: [openai]\n", encoding="utf-8")
    for args in (
        ("settings", "--bundle", str(BUNDLE)),
        ("show", str(BUNDLE)),
        ("verify", str(BUNDLE), "--settings"),
    ):
        result = in_process(*args)
        assert result.code == 2 and len(result.err.strip().splitlines()) == 1
        assert str(project) in result.err and "provider_oder" in result.err


def test_help_lists_every_command() -> None:
    result = in_process("--help")
    assert result.code == 0
    for command in ("verify", "explain", "show", "validate", "settings"):
        assert re.search(rf"^\s+{command}\s", result.out, re.M), command


# -- report -------------------------------------------------------------------------------------


def record_run(folder: Path, *args: str) -> dict:
    """Run ``verify --json`` and write its root session's events.jsonl as hooks-logging would."""
    data = json.loads(in_process("verify", str(BUNDLE), "--json", *args).out)
    cost = data["cost"]
    file = folder / "sessions" / cost["session_id"] / "events.jsonl"
    file.parent.mkdir(parents=True)
    schema = {"name": "amplifier.log", "ver": "1.0.0"}
    lines = [
        {
            "ts": "2026-11-27T10:00:00+00:00",
            "lvl": "INFO",
            "schema": schema,
            "event": "session:start",
            "session_id": cost["session_id"],
            "data": {"parent_id": None},
        },
        {
            "ts": "2026-11-27T10:00:01+00:00",
            "lvl": "INFO",
            "schema": schema,
            "event": "model_router:cost",
            "session_id": cost["session_id"],
            "data": {k: v for k, v in cost.items() if k != "session_id"},
        },
    ]
    file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return cost


def test_verify_prints_the_cost_per_agent_of_its_run() -> None:
    result = in_process("verify", str(BUNDLE))
    after = result.out[result.summary().end() :]
    assert "Cost per agent in this run" in after and "Routing saved" in after
    for spec in load_bundle(BUNDLE).agents.values():
        assert spec.key in after


@pytest.mark.parametrize("run", RUNNERS)
def test_report_reads_a_recorded_events_file(run: Runner, tmp_path: Path) -> None:
    cost = record_run(tmp_path)
    file = next(tmp_path.rglob("events.jsonl"))
    result = run("report", str(file))
    assert result.code == 0
    rows = result.rows()
    for agent in cost["agents"]:
        if agent["agent"] == "(root)":
            continue
        model = agent["models"][0]
        cells = rows[agent["agent"]]
        assert cells[2:4] == [f"{model['provider']}/{model['model']}", str(agent["calls"])]
        assert cells[1] == agent["tier"] or agent["tier"] is None  # a tierless cell is a dash
    assert "Routing saved" in result.out
    data = json.loads(in_process("report", str(file), "--json").out)
    assert len(data["sessions"]) == 1
    assert {a["agent"]: a["cost_usd"] for a in data["sessions"][0]["agents"]} == {
        a["agent"]: a["cost_usd"] for a in cost["agents"]
    }
    assert data["sessions"][0]["totals"]["savings_ratio"] == cost["totals"]["savings_ratio"]


def test_report_on_a_folder_combines_sessions(tmp_path: Path) -> None:
    first = record_run(tmp_path)
    second = record_run(tmp_path, "--down", "anthropic")
    data = json.loads(in_process("report", str(tmp_path), "--json").out)
    assert {s["session_id"] for s in data["sessions"]} == {
        first["session_id"],
        second["session_id"],
    }
    calls = {a["agent"]: a["calls"] for a in data["combined"]["agents"]}
    assert calls["model-router:git-ops"] == 2
    text = in_process("report", str(tmp_path)).out
    assert first["session_id"] in text and second["session_id"] in text


def test_report_bad_path_is_one_line(tmp_path: Path) -> None:
    result = in_process("report", str(tmp_path / "nothing-here"))
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and "nothing-here" in result.err


def test_report_without_a_path_reads_this_folders_sessions_where_app_cli_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, work = tmp_path / "home", tmp_path / "work" / "my:app"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    missing = in_process("report")
    assert missing.code == 2 and missing.out == ""
    slug = str(work.resolve()).replace("/", "-").replace(":", "")
    folder = home / ".amplifier" / "projects" / slug
    assert str(folder / "sessions") in missing.err and len(missing.err.strip().splitlines()) == 1
    cost = record_run(folder)  # writes folder/sessions/<id>/events.jsonl
    data = json.loads(in_process("report", "--json").out)
    assert [s["session_id"] for s in data["sessions"]] == [cost["session_id"]]


def test_verify_default_bundle_is_the_one_in_the_working_folder(isolated_settings: Path) -> None:
    (isolated_settings / "bundle.md").write_text(
        f"---\nbundle: {{name: mine, version: 1.0.0}}\nincludes:\n  - {BUNDLE.as_uri()}\n---\n",
        encoding="utf-8",
    )
    result = in_process("verify")
    assert "bundle mine 1.0.0 (bundle.md)" in result.out
    assert_routed(result, skip=set(), session=session_default("anthropic"))


def test_explain_an_agent_of_another_bundle_routed_by_a_settings_pattern() -> None:
    user = Path(os.environ["HOME"]) / ".amplifier" / "settings.yaml"
    user.parent.mkdir()
    user.write_text(
        'model_router:\n  agent_patterns:\n    "recipes:*": frontier\n', encoding="utf-8"
    )
    result = in_process("explain", "recipes:author", "--bundle", str(BUNDLE))
    assert result.code == 0
    assert f"tier decided by: user ({user}): agent_patterns.recipes:*" in result.out
    assert f"-> recipes:author gets {first_match('frontier', set())}" in result.out
