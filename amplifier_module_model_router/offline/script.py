"""The offline model: it reads directives from the task and answers them, so a test can delegate.

A prompt is plain text, except for lines (leading spaces ignored) that start with a directive:

``DELEGATE <agent>[ PREFS <json list>][ ROLE <model_role>]: <instruction>``
    A call to the ``delegate`` tool for ``<agent>`` (``git-ops``, ``model-router:git-ops`` or
    ``self``), with ``provider_preferences`` and ``model_role`` when given. The header ends at
    the first ``:`` followed by a space or the line's end, so the agent and the JSON may hold
    ``:``. An instruction starting with ``"`` is one JSON string, so it can hold line breaks
    (``\\n``) and thereby the child's own directives: nesting needs no other syntax.
``CALL <tool>[ <json object>]``
    A call to any other tool.

Directive lines of one task make one answer with several tool calls. Once their results are in,
the answer is text quoting each result under a ``- <agent>:`` line, so a parent's answer carries
its children's. A malformed directive raises :class:`ScriptError` naming the line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from amplifier_core.message_models import Message, ToolCall

__all__ = ["ScriptError", "message_text", "next_reply", "parse_script"]

_JSON = json.JSONDecoder()
_SUMMARY_WORDS = 12


class ScriptError(ValueError):
    """A directive line that cannot be understood; the message names the line."""


def parse_script(prompt: str) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """``([(tool, arguments), ...], the remaining text)`` of a prompt."""
    calls: list[tuple[str, dict[str, Any]]] = []
    text: list[str] = []
    for number, raw in enumerate(prompt.splitlines(), start=1):
        keyword, rest = _token(raw)
        try:
            if keyword == "DELEGATE":
                calls.append(("delegate", _delegate(rest)))
            elif keyword == "CALL":
                tool, rest = _token(rest)
                if not tool:
                    raise ScriptError("CALL needs a tool name")
                calls.append((tool, _json(rest, dict, "CALL arguments") if rest else {}))
            elif raw.strip():
                text.append(raw.strip())
        except ScriptError as err:
            raise ScriptError(f"line {number}: {err} in {raw.strip()!r}") from None
    return calls, " ".join(text)


def next_reply(
    messages: Sequence[Message], offered: Sequence[str], *, label: str
) -> tuple[str, list[ToolCall]]:
    """``(text, tool calls)`` answering the latest task; ``label`` prefixes every text."""
    start = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    calls, text = parse_script(message_text(messages[start]) if start >= 0 else "")
    words = text.split()
    summary = " ".join(words[:_SUMMARY_WORDS]) + (" ..." if len(words) > _SUMMARY_WORDS else "")
    lines = [f"[{label}] done: {summary or f'{len(calls)} tool call(s)'}"]
    after = messages[start + 1 :]
    if not any(m.role == "assistant" for m in after):
        wanted = [(t, a) for t, a in calls if t in offered]
        if wanted:
            made = [ToolCall(id=f"call_{uuid.uuid4().hex[:16]}", name=t, arguments=a)
                    for t, a in wanted]  # fmt: skip
            return "", made
        missing = sorted({t for t, _ in calls} - set(offered))
        return lines[0] + (f" (not offered: {', '.join(missing)})" if missing else ""), []
    asked = {
        b.id: b.input.get("agent", b.name) if b.name == "delegate" else b.name
        for m in after
        if m.role == "assistant" and not isinstance(m.content, str)
        for b in m.content
        if b.type == "tool_call"
    }
    for m in after:
        if m.role == "tool":
            who = asked.get(m.tool_call_id or "", "tool")
            lines.append(f"- {who}: " + _answer(message_text(m)).replace("\n", "\n  "))
    return "\n".join(lines), []


def message_text(message: Message) -> str:
    """The readable text of a message (text blocks joined)."""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(t for b in message.content if isinstance(t := getattr(b, "text", None), str))


def _answer(raw: str) -> str:
    """A tool result as the model quotes it: a delegate's ``response``, else the result."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    return str(data["response"]) if isinstance(data, dict) and "response" in data else raw


def _token(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    return (parts[0], parts[1] if len(parts) > 1 else "") if parts else ("", "")


def _delegate(rest: str) -> dict[str, Any]:
    agent, rest = _token(rest)
    if agent in ("", ":"):
        raise ScriptError("DELEGATE needs an agent")
    arguments: dict[str, Any] = {"agent": agent.removesuffix(":")}
    instruction = rest if agent.endswith(":") else None
    while instruction is None:
        rest = rest.lstrip()
        keyword, tail = _token(rest)
        if rest.startswith(":"):
            instruction = rest[1:]
        elif keyword == "PREFS":
            arguments["provider_preferences"], rest = _json_head(tail, "PREFS", list)
        elif keyword == "ROLE":
            role, rest = _token(tail)
            if role.endswith(":"):
                role, instruction = role[:-1], rest
            if not role:
                raise ScriptError("ROLE needs a name")
            arguments["model_role"] = role
        else:
            raise ScriptError("expected PREFS, ROLE or ': <instruction>' after the agent")
    instruction = instruction.strip()
    if instruction.startswith('"'):
        instruction = _json(instruction, str, "a quoted instruction")
    if not instruction.strip():
        raise ScriptError("empty instruction")
    return {**arguments, "instruction": instruction, "context_depth": "none"}


def _json(text: str, kind: type, what: str) -> Any:
    value, tail = _json_head(text, what, kind)
    if tail.strip():
        raise ScriptError(f"{what} must be exactly one JSON {kind.__name__}")
    return value


def _json_head(text: str, what: str, kind: type) -> tuple[Any, str]:
    try:
        value, end = _JSON.raw_decode(text.strip())
    except json.JSONDecodeError as err:
        raise ScriptError(f"bad JSON for {what}: {err.msg} at column {err.colno}") from None
    if not isinstance(value, kind):
        raise ScriptError(f"{what} must be a JSON {kind.__name__}")
    return value, text.strip()[end:]
