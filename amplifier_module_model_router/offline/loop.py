"""An orchestrator with loop-basic's shape, so offline sessions behave like standard ones.

What it keeps from amplifier-foundation's loop-basic, because routing depends on it:

- One provider per ``execute()``: the lowest ``provider.priority`` attribute, else
  ``provider.config["priority"]``, default 100; ties go to the alphabetically first mount name.
  Nothing re-reads the choice mid-run.
- ``complete(request, **kwargs)`` with only ``extended_thinking`` in kwargs (no ``model=``), so
  the provider answers on its ``default_model`` unless the request says otherwise.
- The same events with the same payload keys: ``prompt:submit``, ``provider:request``,
  ``provider:response``, ``provider:error`` (then the error is re-raised, never retried),
  ``tool:pre`` / ``tool:post`` / ``tool:error`` with a shared ``parallel_group_id``,
  ``prompt:complete`` and ``orchestrator:complete`` (``turn_count``, ``status``). The kernel
  hands hooks JSON copies, so object values such as ``usage`` arrive as strings, as they do
  from loop-basic; ``llm:response`` (from the provider) carries usage as a dict.
- Tool calls of one response run concurrently; results join the context in call order. A
  ``tool:pre`` hook can deny a call; it cannot rewrite its input. An ephemeral injection from a
  ``provider:request`` hook goes with that one request only.

Unlike loop-basic, a tool result reaches the model as ``ToolResult.get_serialized_output()``
unless a ``tool:post`` hook answered ``modify``, and ``max_iterations`` defaults to 50 so a
scripting mistake ends instead of looping.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from amplifier_core.events import (
    ORCHESTRATOR_COMPLETE,
    PROMPT_COMPLETE,
    PROMPT_SUBMIT,
    PROVIDER_ERROR,
    PROVIDER_REQUEST,
    PROVIDER_RESPONSE,
    TOOL_ERROR,
    TOOL_POST,
    TOOL_PRE,
)
from amplifier_core.llm_errors import LLMError
from amplifier_core.message_models import ChatRequest, ChatResponse, Message, ToolSpec

__all__ = ["ORCHESTRATOR_NAME", "OfflineLoop", "mount", "select_provider"]

__amplifier_module_type__ = "orchestrator"

ORCHESTRATOR_NAME = "model-router-loop"


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    await coordinator.mount("orchestrator", OfflineLoop(config or {}))


def select_provider(providers: dict[str, Any]) -> tuple[str, Any]:
    """``(mount name, provider)`` the standard loops would pick (see the module docstring)."""
    if not providers:
        raise RuntimeError("No provider available")

    def priority(item: tuple[str, Any]) -> tuple[Any, str]:
        name, provider = item
        if hasattr(provider, "priority"):
            return provider.priority, name
        config = getattr(provider, "config", None)
        return (config.get("priority", 100) if isinstance(config, dict) else 100), name

    return min(providers.items(), key=priority)


class OfflineLoop:
    """The agent loop: ask the provider, run its tool calls, repeat until it answers in text."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.max_iterations = int(config.get("max_iterations", 50))
        self.extended_thinking = bool(config.get("extended_thinking", False))

    async def execute(
        self,
        prompt: str,
        context: Any,
        providers: dict[str, Any],
        tools: dict[str, Any],
        hooks: Any,
        coordinator: Any = None,
        **_: Any,
    ) -> str:
        submitted = await _gate(hooks, coordinator, PROMPT_SUBMIT, {"prompt": prompt})
        if submitted.action == "deny":
            return f"Operation denied: {submitted.reason}"
        await context.add_message({"role": "user", "content": prompt})
        name, provider = select_provider(providers)
        iteration, final, status = 0, "", "incomplete"
        while iteration < self.max_iterations:
            if coordinator is not None and coordinator.cancellation.is_cancelled:
                status = "cancelled"
                break
            request_event = {"provider": name, "iteration": iteration}
            gate = await _gate(hooks, coordinator, PROVIDER_REQUEST, request_event)
            if gate.action == "deny":
                return f"Operation denied: {gate.reason}"
            ephemeral = _ephemeral_injection(gate)
            response = await self._complete(name, provider, context, tools, hooks, ephemeral)
            calls = provider.parse_tool_calls(response)
            await hooks.emit(
                PROVIDER_RESPONSE,
                {
                    "provider": name,
                    "usage": response.usage,
                    "tool_calls": bool(calls),
                },
            )
            if calls:
                await context.add_message(_assistant_message(response, calls))
                group = str(uuid.uuid4())
                results = await asyncio.gather(
                    *(self._run_tool(call, tools, hooks, coordinator, group) for call in calls)
                )
                for call_id, content in results:
                    await context.add_message(
                        {"role": "tool", "tool_call_id": call_id, "content": content}
                    )
                iteration += 1
                continue
            final = _text(response)
            await context.add_message(_assistant_message(response, None))
            status = "success" if final else "incomplete"
            break
        await hooks.emit(PROMPT_COMPLETE, {"response_preview": final[:200], "length": len(final)})
        await hooks.emit(
            ORCHESTRATOR_COMPLETE,
            {
                "orchestrator": ORCHESTRATOR_NAME,
                "turn_count": iteration,
                "status": status,
            },
        )
        return final

    async def _complete(
        self,
        name: str,
        provider: Any,
        context: Any,
        tools: dict[str, Any],
        hooks: Any,
        ephemeral: list[dict[str, Any]],
    ) -> ChatResponse:
        messages = await context.get_messages_for_request(provider=provider) + ephemeral
        specs = [
            ToolSpec(
                name=t.name,
                description=t.description,
                parameters=getattr(t, "input_schema", None) or {},
            )
            for t in tools.values()
        ]
        request = ChatRequest(
            messages=[Message(**m) for m in messages],
            tools=specs or None,
            reasoning_effort=self.config.get("reasoning_effort"),
        )
        kwargs = {"extended_thinking": True} if self.extended_thinking else {}
        try:
            return await provider.complete(request, **kwargs)
        except LLMError as err:
            await hooks.emit(
                PROVIDER_ERROR,
                {
                    "provider": name,
                    "error": {"type": type(err).__name__, "msg": str(err)},
                    "retryable": err.retryable,
                    "status_code": err.status_code,
                },
            )
            raise
        except Exception as err:
            await hooks.emit(
                PROVIDER_ERROR,
                {
                    "provider": name,
                    "error": {"type": type(err).__name__, "msg": str(err)},
                },
            )
            raise

    async def _run_tool(
        self, call: Any, tools: dict[str, Any], hooks: Any, coordinator: Any, group: str
    ) -> tuple[str, str]:
        """Run one call; every failure becomes the result text, never an exception."""
        tool = tools.get(call.name)
        if coordinator is not None:
            coordinator.cancellation.register_tool_start(call.id, call.name)
        try:
            pre = {"tool_name": call.name, "tool_input": call.arguments, "parallel_group_id": group}
            gate = await _gate(hooks, coordinator, TOOL_PRE, pre, source=call.name)
            if gate.action == "deny":
                return call.id, f"Denied by hook: {gate.reason}"
            if tool is None:
                message = f"Error: Tool '{call.name}' not found"
                await self._tool_error(hooks, call.name, "RuntimeError", message, group)
                return call.id, message
            try:
                result = await tool.execute(call.arguments)
            except Exception as err:
                await self._tool_error(hooks, call.name, type(err).__name__, str(err), group)
                return call.id, f"Error executing tool: {err}"
            post = await hooks.emit(
                TOOL_POST,
                {
                    "tool_name": call.name,
                    "tool_input": call.arguments,
                    "result": result,
                    "parallel_group_id": group,
                },
            )
            if coordinator is not None:
                post = await coordinator.process_hook_result(post, "tool:post", call.name)
            if post.action == "modify" and post.data and post.data.get("result") is not None:
                return call.id, str(post.data["result"])
            return call.id, result.get_serialized_output()
        finally:
            if coordinator is not None:
                coordinator.cancellation.register_tool_complete(call.id)

    @staticmethod
    async def _tool_error(hooks: Any, name: str, kind: str, message: str, group: str) -> None:
        await hooks.emit(
            TOOL_ERROR,
            {
                "tool_name": name,
                "error": {"type": kind, "msg": message},
                "parallel_group_id": group,
            },
        )


async def _gate(
    hooks: Any, coordinator: Any, event: str, data: dict[str, Any], source: str = "orchestrator"
) -> Any:
    """Emit ``event`` and let the coordinator apply the hooks' verdict (deny, inject, ask)."""
    result = await hooks.emit(event, data)
    if coordinator is not None:
        result = await coordinator.process_hook_result(result, event, source)
    return result


def _ephemeral_injection(result: Any) -> list[dict[str, Any]]:
    """A ``provider:request`` hook's ephemeral injection: sent with this request, never stored."""
    if result.action == "inject_context" and result.ephemeral and result.context_injection:
        return [{"role": result.context_injection_role, "content": result.context_injection}]
    return []


def _assistant_message(response: ChatResponse, calls: list[Any] | None) -> dict[str, Any]:
    """The assistant turn as loop-basic stores it (blocks, ``tool_calls``, provider metadata)."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": [block.model_dump() for block in response.content],
    }
    if calls:
        message["tool_calls"] = [
            {"id": c.id, "tool": c.name, "arguments": c.arguments or {}} for c in calls
        ]
    if response.metadata:
        message["metadata"] = response.metadata
    return message


def _text(response: ChatResponse) -> str:
    return "\n\n".join(b.text for b in response.content if b.type == "text")
