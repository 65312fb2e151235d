"""End-to-end check in the real Amplifier CLI, offline: every documented way to use the bundle.

What it does, in a work folder outside the repository:

1. A *farm* of git repositories laid out as ``<owner>/<name>``: a link to every local copy found
   in ``--mirrors`` (``owner+name/repo`` bare repositories, the layout ``fetch`` leaves, or
   ``owner/name``), a fork standing in for a microsoft repository that has no copy, one empty
   placeholder repository for every other GitHub repository the fetched repositories name, and a
   snapshot of this repository's working tree as ``model-router-e2e/amplifier-bundle-model-router``.
2. A virtual environment with ``uv``, amplifier-core 2.0.2 (PyPI), amplifier-foundation and
   amplifier-app-cli (cloned from the farm). This package is NOT installed: foundation installs
   it from the bundle's root ``pyproject.toml``, as it would for a user.
3. A stub of the Anthropic API (``stub_anthropic.py``) on 127.0.0.1, recording the model of
   every request.
4. For each form, a fresh ``HOME`` whose ``.gitconfig`` rewrites ``https://github.com/`` to the
   farm (the CLI's own git handler clones from it, nothing patched) and whose
   ``~/.amplifier/settings.yaml`` points provider-anthropic at the stub; then
   ``amplifier run --mode single`` from a working folder outside the repository, with a prompt
   that makes the parent delegate to ``model-router:git-ops`` and ``model-router:zen-architect``.
5. Checks per form: the HTTP request of each child session carried the expected model (git-ops:
   the budget model, zen-architect: the frontier model), the session's ``events.jsonl`` holds
   ``model_router:resolved`` events, and ``amplifier-model-router report`` over the run's
   sessions files each agent's calls under that model. The ``settings-typo`` form runs the root
   bundle with a typo in the user's settings (``model_router: {agents: {git-ops: strnog}}``)
   and checks that routing stays on, the CLI prints one line naming the file, line and key (no
   traceback), and ``model_router:settings_error`` is in ``events.jsonl``.

Run:  python scripts/real_cli_e2e.py --mirrors /work/.mirror [--work DIR] [--form NAME ...]
Exit status 0 when every form passes; the output lists each command and the models seen.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import stub_anthropic  # the stub lives beside this script

OWN = "model-router-e2e/amplifier-bundle-model-router"  # where the farm serves this repository
OWN_GIT = f"git+https://github.com/{OWN}@main"
NEEDED = (  # repositories the CLI clones for a session with the foundation bundle
    "microsoft/amplifier-foundation",
    "microsoft/amplifier-app-cli",
    "microsoft/amplifier-module-provider-anthropic",
    "microsoft/amplifier-module-loop-streaming",
    "microsoft/amplifier-module-context-simple",
    "microsoft/amplifier-module-hooks-logging",
    "microsoft/amplifier-bundle-modes",
    "microsoft/amplifier-bundle-skills",
    "microsoft/amplifier-bundle-wayfinder",
)
BUDGET, STRONG, FRONTIER = "claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-8"
EXPECTED = {"model-router:git-ops": BUDGET, "model-router:zen-architect": FRONTIER}
PROMPT = "E2E-DELEGATE: model-router:git-ops, model-router:zen-architect"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
GITHUB_REPO = re.compile(rb"github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")
RUN_TIMEOUT = 600
ANTHROPIC_SDK = "anthropic>=0.96,<1"
OWN_DIST = "amplifier-bundle-model-router"


def sh(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
       timeout: float = RUN_TIMEOUT, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=True, check=False,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {result.returncode}\n{result.stdout[-3000:]}"
                           f"\n{result.stderr[-3000:]}")
    return result


# --- the farm --------------------------------------------------------------------------------

def local_copies(mirrors: Path) -> dict[str, Path]:
    """``owner/name`` -> git directory, for each copy in ``mirrors``."""
    found: dict[str, Path] = {}
    for entry in sorted(mirrors.iterdir()) if mirrors.is_dir() else ():
        if "+" in entry.name and (entry / "repo").is_dir():
            owner, name = entry.name.split("+", 1)
            found[f"{owner}/{name}"] = entry / "repo"
        elif entry.is_dir() and "+" not in entry.name:
            for repo in sorted(entry.iterdir()):
                if repo.is_dir() and ((repo / "HEAD").exists() or (repo / ".git").exists()):
                    found[f"{entry.name}/{repo.name.removesuffix('.git')}"] = repo
    return found


def _link(farm: Path, slug: str, target: Path) -> None:
    for name in (slug, slug + ".git"):
        link = farm / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            link.symlink_to(target)


def _git_repo_from_files(files: dict[str, Path], into: Path, bare: Path) -> None:
    """Commit ``files`` (relative path -> source) on branch main and clone it bare."""
    into.mkdir(parents=True)
    for rel, source in files.items():
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, into / rel)
    git = ["git", "-C", str(into), "-c", "user.name=e2e", "-c", "user.email=e2e@localhost"]
    sh(git[:3] + ["init", "-q", "-b", "main"])
    sh(git + ["add", "-A"])
    sh(git + ["commit", "-q", "--allow-empty", "-m", "snapshot"])
    sh(["git", "clone", "-q", "--bare", str(into), str(bare)])


def named_repos(git_dir: Path) -> set[str]:
    """Every ``owner/name`` a repository's text files at main name on GitHub."""
    out = sh(["git", "--git-dir", str(git_dir), "grep", "-I", "-h", "-o", "-E",
              r"github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "main", "--",
              "*.md", "*.yaml", "*.yml", "*.py", "*.toml"], check=False).stdout
    names = set()
    for match in GITHUB_REPO.finditer(out.encode()):
        owner, name = match.group(1).decode(), match.group(2).decode()
        name = re.sub(r"(\.git)?[.,)]*$", "", name.split("@")[0])
        if owner not in ("repos", "orgs") and name:
            names.add(f"{owner}/{name}")
    return names


def build_farm(mirrors: Path, work: Path) -> tuple[Path, list[str]]:
    """Lay out the farm; returns its path and notes (forks used, placeholders made)."""
    farm = work / "farm"
    if farm.exists():
        shutil.rmtree(farm)
    farm.mkdir(parents=True)
    copies = local_copies(mirrors)
    notes = []
    for slug, git_dir in copies.items():
        _link(farm, slug, git_dir)
    for slug in NEEDED:
        if slug in copies:
            continue
        forks = [s for s in copies if s.split("/")[1] == slug.split("/")[1]]
        if not forks:
            raise SystemExit(f"no local copy of {slug} (nor a fork) in {mirrors}")
        _link(farm, slug, copies[forks[0]])
        notes.append(f"{slug}: fork {forks[0]}")
    own_files = {rel: REPO / rel for rel in sh(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard"]).stdout.split()
        if (REPO / rel).is_file()}
    _git_repo_from_files(own_files, work / "snapshot", work / "own.git")
    _link(farm, OWN, work / "own.git")
    placeholder = work / "placeholder.git"
    _git_repo_from_files({}, work / "placeholder", placeholder)
    named = set().union(*(named_repos(p) for p in copies.values()))
    missing = sorted(named - set(copies) - set(NEEDED) - {OWN})
    for slug in missing:
        _link(farm, slug, placeholder)
    notes.append(f"{len(missing)} placeholder repositories")
    return farm, notes


# --- the CLI ---------------------------------------------------------------------------------

def build_cli(work: Path, farm: Path) -> Path:
    """A venv with uv, amplifier-core 2.0.2, foundation and app-cli from the farm."""
    venv = work / "venv"
    amplifier = venv / "bin" / "amplifier"
    if amplifier.exists():
        return venv
    sh([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    # anthropic<1: provider-anthropic (mid-2026) passes `temperature`, which SDK 2.x refuses
    sh(pip + ["uv", "amplifier-core==2.0.2", ANTHROPIC_SDK], timeout=900)
    for slug in ("microsoft/amplifier-foundation", "microsoft/amplifier-app-cli"):
        src = work / "src" / slug.split("/")[1]
        if not src.exists():
            sh(["git", "clone", "-q", str(farm / slug), str(src)])
        sh(pip + [str(src)], timeout=900)
    return venv


# --- one run ---------------------------------------------------------------------------------

@dataclass
class Form:
    name: str
    what: str
    setup: list[list[str]] = field(default_factory=list)  # amplifier subcommands before the run
    run_args: list[str] = field(default_factory=list)  # extra `amplifier run` arguments
    files: dict[str, str] = field(default_factory=dict)  # files written in the working folder
    expected: dict[str, str] = field(default_factory=lambda: dict(EXPECTED))
    local: str | None = None  # the bundle file our own `show` reads for the same routing
    settings: str = ""  # appended to the run's ~/.amplifier/settings.yaml
    typo: tuple[str, str] | None = None  # (line text, key): a settings error the run must survive


def forms(repo: Path) -> list[Form]:
    behavior_git = f"{OWN_GIT}#subdirectory=behaviors/model-router.yaml"
    user_bundle = (
        "---\nbundle:\n  name: my-bundle\n  version: 1.0.0\n\nincludes:\n"
        "  - bundle: foundation\n"
        f"  - bundle: {behavior_git}\n---\n\nMy bundle.\n")
    derived = (
        "---\nbundle:\n  name: my-router\n  version: 1.0.0\n\nincludes:\n"
        f"  - bundle: file://{repo}/bundle.md\n\n"
        "hooks:\n  - module: model-router\n    config:\n      agents:\n"
        "        git-ops: frontier\n---\n\nModel router, git-ops on the frontier tier.\n")
    return [
        Form("root", "the root bundle alone",
             run_args=["--bundle", f"file://{repo}/bundle.md"], local=f"{repo}/bundle.md"),
        Form("bundle-add-use", "`bundle add` + `bundle use` (git source)",
             setup=[["bundle", "add", OWN_GIT], ["bundle", "use", "model-router"]]),
        Form("app", "`bundle add --app` of the behavior onto the user's bundle (foundation)",
             setup=[["bundle", "add", "--app", behavior_git]]),
        Form("user-bundle", "a user bundle including foundation and the behavior (git)",
             files={"my-bundle.md": user_bundle},
             run_args=["--bundle", "file://{work}/my-bundle.md"], local="{work}/my-bundle.md"),
        Form("amplifier-dev", "bundles/amplifier-dev.md (derived bundle of this repo)",
             run_args=["--bundle", f"file://{repo}/bundles/amplifier-dev.md"],
             local=f"{repo}/bundles/amplifier-dev.md"),
        Form("derived-retier", "a user's derived bundle re-tiering git-ops to frontier",
             files={"my-router.md": derived},
             run_args=["--bundle", "file://{work}/my-router.md"], local="{work}/my-router.md",
             expected={"model-router:git-ops": FRONTIER,
                       "model-router:zen-architect": FRONTIER}),
        Form("settings-typo", "the root bundle with a typo in the user's routing settings",
             run_args=["--bundle", f"file://{repo}/bundle.md"],
             settings="model_router:\n  agents:\n    git-ops: strnog\n",
             typo=("git-ops: strnog", "model_router.agents.git-ops")),
    ]


def write_home(home: Path, farm: Path, port: int, extra: str = "") -> Path:
    """A fresh HOME: git redirected to the farm, provider-anthropic pointed at the stub.

    Returns the path of ``~/.amplifier/settings.yaml`` (``extra`` appended to it).
    """
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text(
        f'[url "file://{farm}/"]\n\tinsteadOf = https://github.com/\n'
        "[user]\n\tname = e2e\n\temail = e2e@localhost\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    amp = home / ".amplifier"
    amp.mkdir()
    (amp / "settings.yaml").write_text(
        "config:\n  providers:\n    - module: provider-anthropic\n"
        "      source: git+https://github.com/microsoft/amplifier-module-provider-anthropic@main\n"
        "      config:\n        api_key: sk-ant-stub\n"
        f"        base_url: http://127.0.0.1:{port}\n"
        f"        default_model: {STRONG}\n        priority: 1\n" + extra)
    return amp / "settings.yaml"


def cli_env(venv: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMPLIFIER_", "ANTHROPIC_"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
               VIRTUAL_ENV=str(venv), AMPLIFIER_ALLOW_PARTIAL_BUNDLE="1",
               GIT_TERMINAL_PROMPT="0", NO_COLOR="1", TERM="dumb", COLUMNS="200")
    return env


def events_files(home: Path) -> list[Path]:
    return sorted((home / ".amplifier" / "projects").glob("*/sessions/*/events.jsonl"))


def events_named(home: Path, name: str) -> list[dict]:
    """The data of every ``name`` event in the run's events.jsonl files."""
    found = []
    for path in events_files(home):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if name not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("event") == name:
                    found.append(record.get("data") or {})
    return found


def resolved_events(home: Path) -> list[dict]:
    return events_named(home, "model_router:resolved")


def tracebacks(text: str) -> list[str]:
    """Each Python traceback in ``text``: its header, indented frames and the exception line.

    The placeholder repositories cause some of their own (a module foundation cannot load);
    a check looks at what a traceback goes through.
    """
    found, current = [], None
    for row in text.splitlines():
        if row.startswith("Traceback (most recent call last):"):
            current = [row]
        elif current is not None:
            current.append(row)
            if row and not row[0].isspace():
                found.append("\n".join(current))
                current = None
    return found


def check_typo(text: str, home: Path, settings: Path, typo: tuple[str, str], *,
               venv: Path, cwd: Path) -> tuple[list[str], list[str]]:
    """A settings typo the run must survive: (what was seen, problems).

    The CLI output holds exactly one line naming ``settings:<line>`` and the key (a traceback
    through model-router fails any form); the root session's ``events.jsonl`` holds
    ``model_router:settings_error`` with the same file, line and key; this package's
    ``settings`` command, run with the same HOME, names the same place. (Routing staying on is
    checked by every form's expected models and ``model_router:resolved`` events.)
    """
    seen, problems = [], []
    line_text, key = typo
    line = next(i for i, row in enumerate(settings.read_text().splitlines(), 1)
                if line_text in row)
    where = f"{settings}:{line}"
    said = [row.strip() for row in text.splitlines() if where in row and key in row]
    seen += [f"CLI said: {row}" for row in said]
    if len(said) != 1:
        problems.append(f"{len(said)} line(s) of CLI output name {where} and {key}, expected 1")
    if "Failed to load hook 'model-router'" in text:
        problems.append("the CLI reports that the model-router hook failed to load")
    found = [e for e in events_named(home, "model_router:settings_error")
             if str(e.get("file")) == str(settings) and e.get("line") == line
             and e.get("key") == key]
    root = [e for e in found if not e.get("parent_id")]
    seen.append(f"model_router:settings_error  {where}: {key}  in {len(found)} of "
                f"{len(events_files(home))} events.jsonl file(s), the root session's "
                f"{'included' if root else 'NOT included'}")
    if not root:
        problems.append(f"no model_router:settings_error for {where} ({key}) in the root "
                        "session's events.jsonl")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home)}
    ours = sh([str(venv / "bin" / "python"), "-m", "amplifier_module_model_router.cli",
               "settings", "--bundle", str(REPO / "bundle.md")], cwd=cwd, env=env, check=False)
    seen.append(f"amplifier-model-router settings -> exit {ours.returncode}: "
                f"{ours.stderr.strip()[:300]}")
    if ours.returncode != 2 or where not in ours.stderr or key not in ours.stderr:
        problems.append(f"`amplifier-model-router settings` does not name {where} and {key}")
    return seen, problems


def cli_complaints(text: str) -> list[str]:
    """What the CLI said went wrong with this bundle (not with the placeholder repositories).

    A placeholder's failures say "completed but result is invalid" or name a module that only
    a placeholder would have provided; anything naming model-router, or an include that failed
    for another reason (a file not found), counts.
    """
    found = []
    for panel in text.split("Include Failed")[1:]:
        body = " ".join(w for w in panel[:1200].split() if not set(w) <= set("─()")
                        and w != "skipping")
        if "result is invalid" not in body:
            found.append("Include Failed: " + body[:300])
    for line in text.splitlines():
        if "model-router" in line and re.search(r"fail|error|not found", line, re.IGNORECASE):
            found.append("CLI: " + line.strip()[:300])
    return list(dict.fromkeys(found))


def stub_catalog(path: Path) -> Path:
    """The stub's models as a catalog snapshot file for ``amplifier-model-router --catalog``."""
    rows = "".join(f"      - {{id: {m}, context_window: 200000, max_output_tokens: 64000}}\n"
                   for m in stub_anthropic.DEFAULT_MODELS)
    path.write_text(f'date: "2026-12-01"\nproviders:\n  anthropic:\n'
                    f"    default_model: {STRONG}\n    models:\n{rows}")
    return path


def our_view(bundle: str, *, venv: Path, catalog: Path, cwd: Path) -> tuple[dict, list[str]]:
    """What this package's ``show`` says of ``bundle`` with the stub's catalog: (models, unread).

    Run from the repository's source with the CLI's interpreter (which has every dependency).
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(cwd)}
    result = sh([str(venv / "bin" / "python"), "-m", "amplifier_module_model_router.cli", "show",
                 bundle, "--catalog", str(catalog), "--no-settings", "--json"],
                cwd=cwd, env=env, check=False)
    if result.returncode != 0:
        return {}, [f"show failed: {(result.stdout + result.stderr).strip()[-300:]}"]
    data = json.loads(result.stdout)
    models = {a["agent"]: (a.get("model") or {}).get("model") for a in data["agents"]}
    return models, [u["source"] for u in data["bundle"].get("unread", [])]


def our_report(home: Path, *, venv: Path,
               expected: dict[str, str]) -> tuple[list[str], list[str]]:
    """``amplifier-model-router report`` over the run's sessions: (lines seen, problems).

    The root session's ``model_router:cost`` must be there, with each expected agent's calls
    filed under the model its child's request carried.
    """
    projects = home / ".amplifier" / "projects"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home)}
    result = sh([str(venv / "bin" / "python"), "-m", "amplifier_module_model_router.cli",
                 "report", str(projects), "--json"], cwd=home, env=env, check=False)
    if result.returncode != 0:
        return [], [f"report exited {result.returncode}: "
                    f"{(result.stdout + result.stderr).strip()[-300:]}"]
    data = json.loads(result.stdout)
    sessions = data.get("sessions") or []
    seen, problems = [], []
    if len(sessions) != 1:
        problems.append(f"report found {len(sessions)} session(s), expected 1")
    for session in sessions[:1]:
        agents = {a["agent"]: a for a in session.get("agents", [])}
        for agent, model in expected.items():
            row = agents.get(agent)
            models = sorted(m["model"] for m in (row or {}).get("models", []))
            seen.append(f"report  {agent}: {', '.join(models) or 'absent'}"
                        f"  cost ${(row or {}).get('cost_usd')}")
            if models != [model]:
                problems.append(f"report files {agent} under {models or 'nothing'}, "
                                f"expected {model}")
    return seen, problems


@dataclass
class Outcome:
    form: Form
    commands: list[str]
    models: dict[str, list[str]]
    resolved: list[str]
    ours: list[str]
    ok: bool
    problems: list[str]
    tail: str
    seconds: float


def run_form(form: Form, *, venv: Path, farm: Path, work: Path, port: int,
             log: Path) -> Outcome:
    started = time.monotonic()
    base = work / "runs" / form.name
    if base.exists():
        shutil.rmtree(base)
    home, folder = base / "home", base / "work"
    settings = write_home(home, farm, port, form.settings)
    folder.mkdir(parents=True)
    for name, text in form.files.items():
        (folder / name).write_text(text)
    env = cli_env(venv, home)
    # every form starts from a CLI without this package: foundation must install it itself
    sh([str(venv / "bin" / "uv"), "pip", "uninstall", "--python", str(venv / "bin" / "python"),
        OWN_DIST], check=False)
    amplifier = str(venv / "bin" / "amplifier")
    commands, output, problems = [], [], []
    before = sum(1 for _ in log.open()) if log.exists() else 0
    for args in form.setup:
        commands.append("amplifier " + " ".join(args))
        result = sh([amplifier, *args], cwd=folder, env=env, check=False)
        output.append(result.stdout + result.stderr)
        if result.returncode != 0:
            problems.append(f"`amplifier {' '.join(args)}` exited {result.returncode}")
    run_args = [a.replace("{work}", str(folder)) for a in form.run_args]
    args = ["run", *run_args, "--mode", "single", PROMPT]
    commands.append("amplifier " + " ".join(args[:-1]) + f' "{PROMPT}"')
    try:
        result = sh([amplifier, *args], cwd=folder, env=env, check=False)
        output.append(result.stdout + result.stderr)
        if result.returncode != 0:
            problems.append(f"`amplifier run` exited {result.returncode}")
    except subprocess.TimeoutExpired:
        problems.append(f"`amplifier run` timed out after {RUN_TIMEOUT}s")
    requests = [json.loads(line) for line in log.open().read().splitlines()[before:]] \
        if log.exists() else []
    models: dict[str, list[str]] = {}
    for request in requests:
        models.setdefault(request["role"], []).append(request["model"])
    for agent, model in form.expected.items():
        seen = models.get(f"child:{agent}", [])
        if not seen:
            problems.append(f"no request from a {agent} child session")
        elif set(seen) != {model}:
            problems.append(f"{agent} child asked for {sorted(set(seen))}, expected {model}")
    resolved = resolved_events(home)
    resolved_text = [f"{e.get('agent')} -> {e.get('provider')}/{e.get('model')}"
                     f" ({e.get('tier')}, {e.get('source')})" for e in resolved]
    if not resolved:
        problems.append(f"no model_router:resolved event in {len(events_files(home))} "
                        "events.jsonl file(s)")
    ours, report_problems = our_report(home, venv=venv, expected=form.expected)
    problems += report_problems
    if form.local:
        local = form.local.replace("{work}", str(folder))
        view, unread = our_view(local, venv=venv, catalog=stub_catalog(base / "catalog.yaml"),
                                cwd=folder)
        ours.append("amplifier-model-router show " + local + " --catalog <stub> --no-settings")
        ours += [f"  not read: {u}" for u in unread]
        for agent, model in form.expected.items():
            if agent in view:
                ours.append(f"  {agent} -> {view[agent]}")
                if view[agent] != model:
                    problems.append(f"show says {agent} -> {view[agent]}, the CLI used {model}")
            elif not unread:
                problems.append(f"show knows no {agent} and names no unread include")
            else:
                ours.append(f"  {agent}: from an include not read offline")
    text = ANSI.sub("", "\n".join(output))
    (base / "output.log").write_text(text)
    complaints = cli_complaints(text)
    if form.typo:
        seen, typo_problems = check_typo(text, home, settings, form.typo, venv=venv,
                                         cwd=folder)
        ours += seen
        problems += typo_problems
        where = [s.removeprefix("CLI said: ") for s in seen if s.startswith("CLI said: ")]
        complaints = [c for c in complaints
                      if not any(w.startswith(c.removeprefix("CLI: ")) for w in where)]
    problems.extend(complaints)
    ours_tb = [t for t in tracebacks(text) if "model_router" in t or "model-router" in t]
    if ours_tb:
        problems.append(f"{len(ours_tb)} traceback(s) through model-router in the CLI output; "
                        f"the first ends: {ours_tb[0].splitlines()[-1][:200]}")
    return Outcome(form, commands, models, resolved_text, ours, not problems, problems,
                   "\n".join(text.strip().splitlines()[-25:]), time.monotonic() - started)


def check_provider_commands(venv: Path, home: Path) -> list[str]:
    """With this package installed by foundation, the CLI's provider commands show none of ours.

    app-cli takes every ``provider-*`` entry point for an installed provider; ``provider add``
    (its picker answered by end of input) used to open with ``No provider class found in module
    for 'provider-model-router-sim'``.
    """
    python = str(venv / "bin" / "python")
    code = (f"import importlib.metadata as m; d = m.distribution('{OWN_DIST}'); "
            "print(sorted(e.name for e in d.entry_points if e.group == 'amplifier.modules'))")
    ours = sh([python, "-c", code], check=False)
    print(f"\n== provider commands (HOME of the last form)\n   {OWN_DIST} entry points in "
          f"amplifier.modules: {ours.stdout.strip() or ours.stderr.strip()[-200:]}")
    problems = [] if ours.stdout.strip() == "['model-router']" else ["entry points: "
                                                                      + ours.stdout.strip()]
    env = cli_env(venv, home)
    for args in (["provider", "list"], ["provider", "add"]):
        result = sh([str(venv / "bin" / "amplifier"), *args], cwd=home, env=env, check=False,
                    timeout=300)
        text = ANSI.sub("", result.stdout + result.stderr)
        leaks = [line.strip() for line in text.splitlines() if "model-router" in line]
        print(f"   $ amplifier {' '.join(args)}  -> {len(leaks)} line(s) naming model-router")
        problems += [f"`amplifier {' '.join(args)}`: {line[:200]}" for line in leaks]
    for problem in problems:
        print(f"   ! {problem}")
    return problems


def report(outcome: Outcome, verbose: bool) -> None:
    mark = "PASS" if outcome.ok else "FAIL"
    print(f"\n== {outcome.form.name}: {outcome.form.what}  [{mark}, {outcome.seconds:.0f} s]")
    for command in outcome.commands:
        print(f"   $ {command}")
    for role in sorted(outcome.models):
        print(f"   {role:38} {', '.join(sorted(set(outcome.models[role])))}"
              f"  ({len(outcome.models[role])} request(s))")
    for line in outcome.resolved:
        print(f"   model_router:resolved  {line}")
    for line in outcome.ours:
        print(f"   {line}")
    for problem in outcome.problems:
        print(f"   ! {problem}")
    if verbose or not outcome.ok:
        print("   --- CLI output (last lines) ---")
        for line in outcome.tail.splitlines():
            print(f"   | {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True,
                        help="local copies of the repositories (owner+name/repo or owner/name)")
    parser.add_argument("--work", type=Path, default=None,
                        help="work folder (kept; reused venv); default: a temporary folder")
    parser.add_argument("--form", action="append", default=None, help="run only these forms")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="model-router-e2e-"))
    work = work.resolve()
    if REPO in work.parents or work == REPO:
        raise SystemExit("--work must be outside the repository")
    work.mkdir(parents=True, exist_ok=True)
    for stale in ("snapshot", "own.git", "placeholder", "placeholder.git"):
        shutil.rmtree(work / stale, ignore_errors=True)
    farm, notes = build_farm(args.mirrors.resolve(), work)
    print(f"farm {farm}: " + "; ".join(notes))
    venv = build_cli(work, farm)
    version = sh([str(venv / "bin" / "amplifier"), "--version"], check=False).stdout.strip()
    print(f"cli {venv}: {version}")
    log = work / "requests.jsonl"
    log.unlink(missing_ok=True)
    server = stub_anthropic.serve(0, log)
    port = server.server_address[1]
    catalog = ", ".join(stub_anthropic.DEFAULT_MODELS)
    print(f"stub Anthropic API on 127.0.0.1:{port}; catalog {catalog}")
    print(f"expected: git-ops -> {BUDGET} (budget), zen-architect -> {FRONTIER} (frontier); "
          f"parent on {STRONG}")
    selected = [f for f in forms(REPO) if not args.form or f.name in args.form]
    outcomes = []
    try:
        for form in selected:
            outcome = run_form(form, venv=venv, farm=farm, work=work, port=port, log=log)
            report(outcome, args.verbose)
            outcomes.append(outcome)
        leaks = check_provider_commands(venv, work / "runs" / selected[-1].name / "home")
    finally:
        server.shutdown()
    passed = sum(o.ok for o in outcomes)
    print(f"\n{passed}/{len(outcomes)} forms pass"
          f"{'' if not leaks else f'; provider commands: {len(leaks)} problem(s)'}")
    return 0 if passed == len(outcomes) and not leaks else 1


if __name__ == "__main__":
    sys.exit(main())
