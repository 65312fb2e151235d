"""Record ``tests/data/events/sessions/``: the events.jsonl files of one real offline session.

    .venv/bin/python tests/data/events/regenerate.py

A root session on anthropic/claude-opus-4-8 (the shipped bundle, settings files off) delegates:

- ``model-router:git-ops`` (budget): Anthropic's Haiku answers 429 and OpenAI is not mounted (its
  recorded budget models have no list price), so the child fails over to Gemini, which reports
  no cost (priced from the catalog);
- ``model-router:explorer`` with call preferences for GitHub Copilot: no price anywhere, unknown;
- ``model-router:zen-architect`` (frontier), which delegates to ``model-router:bug-hunter``
  (strong-code), which delegates to ``model-router:file-ops`` (budget): nested delegations.

Anthropic reports ``cost_usd``; Gemini and Copilot do not. Every session writes its own
``<session id>/events.jsonl`` through the test hook ``events-jsonl`` (hooks-logging's format).
The test suite runs the same scenario and checks the recorded files still match it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent.parent
ROOT = TESTS.parent
FIXTURE = HERE / "sessions"

ROOT_MODEL = "anthropic/claude-opus-4-8"
PROVIDER_CONFIG: dict[str, dict[str, Any]] = {
    "anthropic": {
        "report_cost": True,
        "complete_error": {
            "type": "RateLimitError",
            "models": ["claude-haiku-*"],
            "retry_after": 60,
        },
    },
}
COPILOT = [{"provider": "github-copilot", "model": "claude-sonnet-*"}]


def _nested(*steps: tuple[str, str]) -> str:
    """A DELEGATE line whose instruction holds the next delegation (JSON-string nesting)."""
    line = ""
    for agent, task in reversed(steps):
        instruction = f"{task}\n{line}" if line else task
        line = f"DELEGATE {agent}: {json.dumps(instruction)}"
    return line


PROMPT = "\n".join(
    [
        "Ship the cost report.",
        "DELEGATE model-router:git-ops: commit the release notes",
        f"DELEGATE model-router:explorer PREFS {json.dumps(COPILOT)}: map the cost code paths",
        _nested(
            ("model-router:zen-architect", "review the ledger design"),
            ("model-router:bug-hunter", "find why nested costs roll up twice"),
            ("model-router:file-ops", "tidy the fixtures folder"),
        ),
    ]
)


def session_plan(folder: Path) -> dict[str, Any]:
    """The offline mount plan: shipped bundle, router (no settings files), events writer."""
    from amplifier_module_model_router import events
    from amplifier_module_model_router.bundle.loader import agent_configs, load_bundle
    from amplifier_module_model_router.offline import offline_mount_plan

    bundle = load_bundle(ROOT / "bundle.md")
    router = {
        "module": "model-router",
        "config": {**bundle.module_config, "use_settings_files": False},
    }
    writer = {
        "module": "events-jsonl",
        "config": {
            "folder": str(folder),
            "additional_events": [
                *events.ALL_EVENTS,
                "delegate:agent_spawned",
                "delegate:agent_completed",
            ],
        },
    }
    return offline_mount_plan(
        agent_configs(bundle),
        session_model=ROOT_MODEL,
        down=["openai"],
        hooks=[router, writer],
        provider_config=PROVIDER_CONFIG,
    )


async def record_sessions(folder: Path) -> str:
    """Run the scenario, writing every session's events.jsonl under ``folder``; the root id."""
    from amplifier_core import AmplifierSession

    session = AmplifierSession(session_plan(folder))
    try:
        await session.initialize()
        await session.execute(PROMPT)
    finally:
        await session.cleanup()
    return session.session_id


def main() -> None:
    sys.path.insert(0, str(TESTS))  # the events-jsonl test hook module lives there
    shutil.rmtree(FIXTURE, ignore_errors=True)
    root = asyncio.run(record_sessions(FIXTURE))
    files = sorted(FIXTURE.rglob("events.jsonl"))
    print(f"recorded root session {root}: {len(files)} events.jsonl files in {FIXTURE}")


if __name__ == "__main__":
    main()
