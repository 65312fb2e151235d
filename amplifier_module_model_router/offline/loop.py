"""An orchestrator with loop-basic's shape, as far as routing and cost tracking read it.

amplifier-core ships no orchestrator (loop-basic lives in amplifier-foundation, not on PyPI),
so offline sessions run this one. What it keeps from loop-basic, because routing depends on it:

- One provider per ``execute()``: the lowest ``priority`` (attribute, else ``config``, default
  100; ties: the first mount name), never re-read mid-run; ``complete(request)`` with no
  ``model=``, so the provider answers on its ``default_model``.
- ``prompt:submit`` / ``prompt:complete`` / ``orchestrator:complete`` (``turn_count``,
  ``status``) on the paths that finish a turn, ``execution:start`` / ``execution:end`` around
  the whole turn (the end on every exit, an error or a cancellation included, with ``status``
  ``completed``, ``cancelled`` or ``error``, as loop-basic and loop-streaming emit it), which
  the cost hooks use to tell a running loop from a finished one, and ``provider:error``
  before a provider error is re-raised (never retried).
- Tool calls of one response run concurrently and are registered with the coordinator's
  cancellation (the cost hooks count tools in flight); results join the context in call order.

Hook verdicts (deny, context injection) and the ``tool:*`` events are not simulated: nothing in
routing answers or reads them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from amplifier_core.message_models import ChatRequest, ChatResponse, Message, ToolSpec

__all__ = ["OfflineLoop", "mount"]

__amplifier_module_type__ = "orchestrator"


async def mount(coordinator: Any, config: dict[str, Any] | None = None) -> None:
    await coordinator.mount("orchestrator", OfflineLoop(config or {}))


def _priority(item: tuple[str, Any]) -> tuple[Any, str]:
    name, provider = item
    if hasattr(provider, "priority"):
        return provider.priority, name
    config = getattr(provider, "config", None)
    return (config.get("priority", 100) if isinstance(config, dict) else 100), name


class OfflineLoop:
    """Ask the provider, run its tool calls, repeat until it answers in text."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_iterations = int(config.get("max_iterations", 50))  # a script mistake ends

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
        await hooks.emit("prompt:submit", {"prompt": prompt})
        await hooks.emit("execution:start", {"prompt": prompt})
        final, status = "", "error"
        try:
            final, status = await self._turn(prompt, context, providers, tools, hooks, coordinator)
            return final
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        finally:  # every exit, as loop-basic's and loop-streaming's
            ended = "completed" if status in ("success", "incomplete") else status
            await hooks.emit("execution:end", {"response": final, "status": ended})

    async def _turn(
        self,
        prompt: str,
        context: Any,
        providers: dict[str, Any],
        tools: dict[str, Any],
        hooks: Any,
        coordinator: Any,
    ) -> tuple[str, str]:
        """One turn: ``(answer, orchestrator:complete status)``; provider errors propagate."""
        await context.add_message({"role": "user", "content": prompt})
        if not providers:
            raise RuntimeError("No provider available")
        name, provider = min(providers.items(), key=_priority)
        specs = [
            ToolSpec(name=t.name, description=t.description, parameters=t.input_schema)
            for t in tools.values()
        ] or None
        turn, final, status = 0, "", "incomplete"
        while turn < self.max_iterations:
            if coordinator is not None and coordinator.cancellation.is_cancelled:
                status = "cancelled"
                break
            messages = await context.get_messages_for_request(provider=provider)
            request = ChatRequest(messages=[Message(**m) for m in messages], tools=specs)
            try:
                response: ChatResponse = await provider.complete(request)
            except Exception as err:
                error = {"type": type(err).__name__, "msg": str(err)}
                await hooks.emit("provider:error", {"provider": name, "error": error})
                raise
            calls = provider.parse_tool_calls(response)
            await context.add_message(_assistant(response))
            if not calls:
                final = "\n\n".join(b.text for b in response.content if b.type == "text")
                status = "success" if final else "incomplete"
                break
            results = await asyncio.gather(*(_run(c, tools, coordinator) for c in calls))
            for call, content in zip(calls, results, strict=True):
                await context.add_message(
                    {"role": "tool", "tool_call_id": call.id, "content": content}
                )
            turn += 1
        await hooks.emit("prompt:complete", {"response_preview": final[:200]})
        await hooks.emit("orchestrator:complete", {"turn_count": turn, "status": status})
        return final, status


async def _run(call: Any, tools: dict[str, Any], coordinator: Any) -> str:
    """One tool call; every failure becomes the result text, never an exception."""
    tool = tools.get(call.name)
    if tool is None:
        return f"Error: Tool '{call.name}' not found"
    if coordinator is not None:
        coordinator.cancellation.register_tool_start(call.id, call.name)
    try:
        result = await tool.execute(call.arguments)
        return str(result.get_serialized_output())
    except Exception as err:
        return f"Error executing tool: {err}"
    finally:
        if coordinator is not None:
            coordinator.cancellation.register_tool_complete(call.id)


def _assistant(response: ChatResponse) -> dict[str, Any]:
    """The assistant turn with its content blocks and provider metadata, as loop-basic keeps it."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": [block.model_dump() for block in response.content],
    }
    if response.metadata:
        message["metadata"] = response.metadata
    return message
