"""The script language the offline provider reads from a prompt, so a test can make it delegate.

A prompt is plain text, except for lines (leading spaces ignored) that start with a directive:

``DELEGATE <agent>[ PREFS <json list>][ ROLE <model_role>]: <instruction>``
    Answer with a call to the ``delegate`` tool for ``<agent>`` (plain ``git-ops``, namespaced
    ``model-router:git-ops`` or ``self``). ``PREFS`` is a JSON list of ``{"provider", "model"}``
    objects sent as the call's ``provider_preferences``; ``ROLE`` is sent as ``model_role``. The
    header ends at the first ``:`` followed by a space or the line's end (so an agent token may
    contain ``:``, and JSON after ``PREFS`` may too). The instruction is the rest of the line; if
    it starts with ``"`` it is one JSON string, so it can hold line breaks (``\\n``) and thereby
    further directives for the child: nesting needs no other syntax.
``CALL <tool>[ <json object>]``
    Answer with a call to any other tool with those arguments.

Several directive lines make one answer with several tool calls (run in parallel by the loop).
Once the tool results are in, the provider answers with text; so does it at once for a prompt
without directives. Text before a line ``[YOUR TASK]`` (the parent context tool-delegate may
prepend) is ignored. A malformed directive raises :class:`ScriptError` naming the line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TASK_MARKER", "Script", "ScriptCall", "ScriptError", "parse_script"]

TASK_MARKER = "[YOUR TASK]"
_DELEGATE = "DELEGATE"
_CALL = "CALL"
_JSON = json.JSONDecoder()


class ScriptError(ValueError):
    """A directive line that cannot be understood; the message names the line."""


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """One tool call the provider will answer with."""

    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed prompt: its tool calls in order and the remaining plain text."""

    calls: tuple[ScriptCall, ...]
    text: str


def parse_script(prompt: str) -> Script:
    """Split a prompt into directives and text (see the module docstring for the grammar)."""
    lines = prompt.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip() == TASK_MARKER:
            lines = lines[index + 1 :]
            break
    calls: list[ScriptCall] = []
    text: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        try:
            if _starts_with(line, _DELEGATE):
                calls.append(_parse_delegate(line[len(_DELEGATE) :].lstrip()))
            elif _starts_with(line, _CALL):
                calls.append(_parse_call(line[len(_CALL) :].lstrip()))
            elif line:
                text.append(line)
        except ScriptError as err:
            raise ScriptError(f"line {number}: {err} in {line!r}") from None
    return Script(calls=tuple(calls), text=" ".join(text))


def _starts_with(line: str, keyword: str) -> bool:
    return line == keyword or line.startswith(keyword + " ") or line.startswith(keyword + "\t")


def _parse_delegate(rest: str) -> ScriptCall:
    agent, remainder = _split_token(rest)
    if agent in ("", ":"):
        raise ScriptError("DELEGATE needs an agent")
    arguments: dict[str, Any] = {}
    instruction: str | None = None
    if agent.endswith(":"):
        agent, instruction = agent[:-1], remainder
    while instruction is None:
        remainder = remainder.lstrip()
        if remainder.startswith(":"):
            instruction = remainder[1:]
            break
        keyword, remainder = _split_token(remainder)
        if keyword == "PREFS":
            prefs, remainder = _take_json(remainder.lstrip(), "PREFS")
            if not isinstance(prefs, list):
                raise ScriptError("PREFS must be a JSON list")
            arguments["provider_preferences"] = prefs
        elif keyword == "ROLE":
            role, remainder = _split_token(remainder.lstrip())
            if role.endswith(":"):
                role, instruction = role[:-1], remainder
            if not role:
                raise ScriptError("ROLE needs a name")
            arguments["model_role"] = role
        else:
            raise ScriptError("expected PREFS, ROLE or ': <instruction>' after the agent")
    return ScriptCall(
        tool="delegate",
        arguments={
            "agent": agent,
            "instruction": _instruction(instruction),
            "context_depth": "none",
            **arguments,
        },
    )


def _split_token(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _instruction(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        value, tail = _take_json(raw, "instruction")
        if not isinstance(value, str) or tail.strip():
            raise ScriptError("a quoted instruction must be exactly one JSON string")
        raw = value
    if not raw.strip():
        raise ScriptError("empty instruction")
    return raw


def _parse_call(rest: str) -> ScriptCall:
    tool, _, after = rest.partition(" ")
    if not tool:
        raise ScriptError("CALL needs a tool name")
    arguments: Any = {}
    if after.strip():
        arguments, tail = _take_json(after.lstrip(), "arguments")
        if not isinstance(arguments, dict) or tail.strip():
            raise ScriptError("CALL arguments must be exactly one JSON object")
    return ScriptCall(tool=tool, arguments=arguments)


def _take_json(text: str, what: str) -> tuple[Any, str]:
    try:
        value, end = _JSON.raw_decode(text)
    except json.JSONDecodeError as err:
        raise ScriptError(f"bad JSON for {what}: {err.msg} at column {err.colno}") from None
    return value, text[end:]
