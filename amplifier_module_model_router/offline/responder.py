"""Decide the offline model's next answer from the conversation so far.

The conversation is read the way a model reads it: the latest user message is the task (parsed
with :mod:`.script`); if the assistant has not acted on it yet, the task's directives become
tool calls; once their results are in, the answer is text that quotes each result (indented
under a ``- <agent>:`` line), so a parent's final answer carries its children's (and their
children's) answers.
"""

from __future__ import annotations

import ast
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from amplifier_core.message_models import Message, ToolCall

from .script import parse_script

__all__ = ["Reply", "message_text", "next_reply"]

_SUMMARY_WORDS = 12


@dataclass(frozen=True, slots=True)
class Reply:
    """Either tool calls (``calls`` non-empty) or final ``text``."""

    text: str
    calls: tuple[ToolCall, ...] = ()


def next_reply(messages: Sequence[Message], offered_tools: Sequence[str], *, label: str) -> Reply:
    """The answer for ``messages``; ``label`` (``provider/model``) prefixes every text answer.

    Raises :class:`~.script.ScriptError` when the task holds a malformed directive.
    """
    task_index = _last_index(messages, "user")
    task = message_text(messages[task_index]) if task_index is not None else ""
    script = parse_script(task)
    summary = _summary(script.text, len(script.calls))
    after = messages[task_index + 1 :] if task_index is not None else messages
    if not any(m.role == "assistant" for m in after):
        wanted = [c for c in script.calls if c.tool in offered_tools]
        if wanted:
            return Reply(
                text="",
                calls=tuple(
                    ToolCall(id=f"call_{uuid.uuid4().hex[:16]}", name=c.tool, arguments=c.arguments)
                    for c in wanted
                ),
            )
        missing = sorted({c.tool for c in script.calls} - set(offered_tools))
        note = f" (not offered: {', '.join(missing)})" if missing else ""
        return Reply(text=f"[{label}] done: {summary}{note}")
    lines = [f"[{label}] done: {summary}"]
    calls = _calls_by_id(after)
    for message in after:
        if message.role != "tool":
            continue
        name, arguments = calls.get(message.tool_call_id or "", ("tool", {}))
        who = arguments.get("agent", name) if name == "delegate" else name
        lines.append(f"- {who}: " + _result_text(message).replace("\n", "\n  "))
    return Reply(text="\n".join(lines))


def message_text(message: Message) -> str:
    """The readable text of a message (text blocks joined; other blocks skipped)."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [getattr(block, "text", None) for block in content]
    return "\n".join(p for p in parts if isinstance(p, str))


def _last_index(messages: Sequence[Message], role: str) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == role:
            return index
    return None


def _summary(text: str, call_count: int) -> str:
    words = text.split()
    if not words:
        return f"{call_count} tool call(s)" if call_count else "(empty task)"
    head = " ".join(words[:_SUMMARY_WORDS])
    return head + (" ..." if len(words) > _SUMMARY_WORDS else "")


def _calls_by_id(messages: Sequence[Message]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Tool calls the assistant made, from ``tool_calls`` (loop-basic) or tool_call blocks."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for message in messages:
        if message.role != "assistant":
            continue
        for call in getattr(message, "tool_calls", None) or []:
            if isinstance(call, dict) and call.get("id"):
                found[call["id"]] = (
                    call.get("tool") or call.get("name") or "tool",
                    call.get("arguments") or {},
                )
        if not isinstance(message.content, str):
            for block in message.content:
                if getattr(block, "type", None) == "tool_call":
                    found.setdefault(block.id, (block.name, block.input))
    return found


def _result_text(message: Message) -> str:
    """A tool result as the model would quote it: a delegate's ``response``, else the content.

    JSON is what ``get_serialized_output()`` gives; a Python repr is what loop-basic forwards
    under the Rust kernel (it reads back the stringified ``tool:post`` payload), so read both.
    """
    raw = message_text(message)
    try:
        data = json.loads(raw)
    except ValueError:
        try:
            data = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return raw
    if isinstance(data, dict) and "response" in data:
        return str(data["response"])
    return raw
