"""A stub of the Anthropic Messages API on 127.0.0.1, for running the real Amplifier CLI offline.

It answers what provider-anthropic calls: ``GET /v1/models`` (the catalog the router resolves
globs against), ``POST /v1/messages`` (streamed as server-sent events when the request asks for
``stream``, plain JSON otherwise) and ``POST /v1/messages/count_tokens``. Every messages request
is appended to a JSON-lines log with the ``model`` it carried, so a test can check which model each
child session's HTTP request asked for.

The conversation is scripted by markers in the prompt text:

- ``E2E-DELEGATE: a, b`` in a request that offers the ``delegate`` tool: the model calls
  ``delegate`` for agent ``a`` (instruction ``E2E-CHILD: a``), then, once that result is back,
  for ``b``, then answers text.
- ``E2E-CHILD: a`` (a child session's instruction): the model answers text at once.

Run: python scripts/stub_anthropic.py --port 0 --log requests.jsonl   (prints ``PORT <n>``)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 8 * 1024 * 1024  # a request body larger than this is refused (413)

DEFAULT_MODELS = (
    "claude-haiku-4-5",
    "claude-sonnet-4-6",
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-8",
)

_CHILD = re.compile(r"E2E-CHILD:[ \t]*([\w:.-]+)")
_DELEGATE = re.compile(r"E2E-DELEGATE:[ \t]*([\w:., \t-]+)")


def _texts(value: Any) -> list[str]:
    """Every string inside a request's system prompt or messages, in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    return []


def _tool_results(messages: list[Any]) -> int:
    """How many tool results the conversation already holds."""
    count = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            count += sum(1 for block in content if isinstance(block, dict)
                         and block.get("type") == "tool_result")
    return count


def plan_reply(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Decide the scripted answer: ``("text", {"text"})`` or ``("tool_use", {"name", "input"})``.

    Returns:
        The kind of content block to answer with and its fields, plus the role (``child:<agent>``
        or ``parent``) recorded for the request.
    """
    messages = body.get("messages") or []
    user_text = "\n".join(_texts([m.get("content") for m in messages
                                  if isinstance(m, dict) and m.get("role") == "user"]))
    child = _CHILD.search(user_text)
    offers_delegate = any(isinstance(t, dict) and t.get("name") == "delegate"
                          for t in body.get("tools") or [])
    if child and not offers_delegate:
        return "text", {"text": f"done: {child.group(1)}", "role": f"child:{child.group(1)}"}
    wanted = _DELEGATE.search(user_text)
    if wanted and offers_delegate:
        agents = [a.strip() for a in wanted.group(1).split(",") if a.strip()]
        done = _tool_results(messages)
        if done < len(agents):
            agent = agents[done]
            return "tool_use", {"name": "delegate", "role": "parent",
                                "input": {"agent": agent, "instruction": f"E2E-CHILD: {agent}"}}
        return "text", {"text": "all delegations done", "role": "parent"}
    if child:
        return "text", {"text": f"done: {child.group(1)}", "role": f"child:{child.group(1)}"}
    return "text", {"text": "hello from the stub", "role": "parent"}


def _message(model: str, kind: str, fields: dict[str, Any], serial: int) -> dict[str, Any]:
    if kind == "tool_use":
        block = {"type": "tool_use", "id": f"toolu_{serial:04d}", "name": fields["name"],
                 "input": fields["input"]}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": fields["text"]}
        stop = "end_turn"
    return {"id": f"msg_{serial:04d}", "type": "message", "role": "assistant", "model": model,
            "content": [block], "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 120, "output_tokens": 12,
                      "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}}


def sse_events(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events that stream ``message`` the way the Messages API does."""
    block = message["content"][0]
    start = {**message, "content": [], "stop_reason": None,
             "usage": {**message["usage"], "output_tokens": 1}}
    if block["type"] == "tool_use":
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        opening = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    return [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": opening}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": message["stop_reason"],
                                     "stop_sequence": None},
                           "usage": {"output_tokens": message["usage"]["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]


class StubState:
    """The catalog served and the log of requests (shared by the handler threads)."""

    def __init__(self, models: tuple[str, ...], log: Path | None) -> None:
        self.models = models
        self.log = log
        self.lock = threading.Lock()
        self.serial = 0

    def record(self, entry: dict[str, Any]) -> int:
        with self.lock:
            self.serial += 1
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as out:
                    out.write(json.dumps({"n": self.serial, **entry}) + "\n")
            return self.serial


def make_handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet: the JSON log is the record
            return

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_stub")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.split("?")[0].rstrip("/") == "/v1/models":
                data = [{"type": "model", "id": m, "display_name": m,
                         "created_at": "2026-01-01T00:00:00Z"} for m in state.models]
                self._json(200, {"data": data, "has_more": False,
                                 "first_id": data[0]["id"], "last_id": data[-1]["id"]})
                return
            self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                        "message": self.path}})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._json(413, {"type": "error", "error": {"type": "request_too_large",
                                                            "message": "too large"}})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                            "message": "bad json"}})
                return
            path = self.path.split("?")[0].rstrip("/")
            if path == "/v1/messages/count_tokens":
                self._json(200, {"input_tokens": 120})
                return
            if path != "/v1/messages":
                self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                            "message": self.path}})
                return
            model = str(body.get("model", ""))
            kind, fields = plan_reply(body)
            serial = state.record({"model": model, "role": fields["role"], "reply": kind,
                                   "stream": bool(body.get("stream")),
                                   "tools": sorted(str(t.get("name")) for t in
                                                   body.get("tools") or [] if isinstance(t, dict))})
            message = _message(model, kind, fields, serial)
            if not body.get("stream"):
                self._json(200, message)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("request-id", "req_stub")
            self.send_header("connection", "close")
            self.end_headers()
            for event, data in sse_events(message):
                self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            self.close_connection = True

    return Handler


def serve(port: int, log: Path | None, models: tuple[str, ...] = DEFAULT_MODELS
          ) -> ThreadingHTTPServer:
    """Start the stub on 127.0.0.1:``port`` (0: any free port) in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(StubState(models, log)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path, default=None, help="JSON-lines request log")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    args = parser.parse_args(argv)
    server = serve(args.port, args.log, tuple(m for m in args.models.split(",") if m))
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
