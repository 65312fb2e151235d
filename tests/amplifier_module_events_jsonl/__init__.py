"""Test hook module ``events-jsonl``: writes each session's ``events.jsonl`` as Amplifier does.

The offline sessions have no logging hook; this one writes the line shape of
amplifier-module-hooks-logging, so ``amplifier-model-router report`` is tested on the files a
real session leaves behind: one file per session at ``<folder>/<session id>/events.jsonl``, one
JSON object a line ``{"ts", "lvl", "schema", "event", <lifted keys>, "data": {...}}``, where a
few keys (``session_id``, ``status``, ``error``, ...) are lifted out of the event data.
Children inherit their parent's hooks, so each child writes its own file, as in app-cli.

Config: ``folder`` (required), ``additional_events`` (names beyond amplifier-core's
``ALL_EVENTS``, e.g. the router's ``model_router:*``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amplifier_core.events import ALL_EVENTS
from amplifier_core.models import HookResult

__amplifier_module_type__ = "hook"

SCHEMA = {"name": "amplifier.log", "ver": "1.0.0"}
# Restated from hooks-logging on purpose, not imported from cost_report: the writer is the
# test's independent account of the file format, so a wrong list in the reader cannot hide.
LIFTED = (
    "redaction",
    "status",
    "duration_ms",
    "module",
    "component",
    "error",
    "request_id",
    "span_id",
    "parent_span_id",
    "session_id",
)
PRIORITY = 100


def record_line(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """One events.jsonl record for ``event`` (hooks-logging's shape)."""
    rest = {k: v for k, v in data.items() if k != "timestamp"}
    record: dict[str, Any] = {
        "ts": data.get("timestamp") or datetime.now(UTC).isoformat(timespec="milliseconds"),
        "lvl": data.get("lvl", "INFO"),
        "schema": SCHEMA,
        "event": event,
    }
    lifted = {k: rest.pop(k) for k in LIFTED if k in rest}
    record.update(lifted)
    if rest:
        record["data"] = rest
    if record["lvl"] != "DEBUG" and (
        lifted.get("status") == "error" or lifted.get("error") or "error" in event
    ):
        record["lvl"] = "ERROR"
    return record


async def mount(coordinator: Any, config: dict[str, Any] | None = None):
    config = config or {}
    folder = Path(config["folder"])

    async def write(event: str, data: dict[str, Any]) -> HookResult:
        session_id = data.get("session_id")
        if session_id:
            path = folder / str(session_id) / "events.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(record_line(event, data), ensure_ascii=False, default=str)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return HookResult(action="continue")

    names = list(dict.fromkeys([*ALL_EVENTS, *config.get("additional_events", [])]))
    unregister = [
        coordinator.hooks.register(name, write, priority=PRIORITY, name="events-jsonl")
        for name in names
    ]

    def cleanup() -> None:
        for fn in unregister:
            fn()

    return cleanup
