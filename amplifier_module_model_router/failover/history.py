"""Cross-vendor history cleaning: what one vendor's turns must not carry to another vendor.

Reasoning state is vendor-bound. Anthropic rejects thinking blocks it did not sign; OpenAI's
Responses API chains ``previous_response_id`` and replays encrypted reasoning items (stored by
provider-openai as a ``ThinkingBlock`` whose ``content`` is ``[encrypted_content, rs_id]`` and
as ``openai:*`` keys in the assistant message's metadata); Gemini echoes ``thought_signature``
bytes that it keeps as ``signature`` on thinking, text and tool-call blocks; provider-anthropic
keeps an exact wire snapshot under ``metadata["anthropic"]``. Sent to another vendor these are
rejected, misread, or leak raw reasoning into the prompt (Copilot flattens thinking to text).

So before a request goes to a candidate, every *assistant* message produced by a different
vendor loses, in a copy (the session's context is never touched):

- ``thinking``, ``redacted_thinking`` and ``reasoning`` content blocks;
- ``signature`` extras on its text and tool-call blocks and on its ``tool_calls`` entries;
- the legacy ``thinking_block`` / ``reasoning_content`` message extras;
- vendor-namespaced metadata (``openai:*``, ``anthropic``, ``gemini:*``, ...) and generic
  chaining keys (``previous_response_id``, ``response_id``, ``reasoning_items``, ...).

A message left with no content and no tool calls (a reasoning-only turn) is dropped, as
provider-anthropic itself does for unsigned reasoning-only turns. Messages of the same vendor
are kept untouched, so a same-vendor failover keeps its reasoning continuity.

Who produced a message: the ``metadata["model_router"]["vendor"]`` tag the failover provider
stamps on every response it returns (the standard loops copy response metadata onto the
stored assistant message); failing that, the vendor namespaces in its metadata or the OpenAI
reasoning-block shape; failing that, unknown, and the message is kept as it is (the request
would have carried it to that provider without us, too).

Vendor = provider family: ``anthropic``, ``openai``, ``gemini`` (also ``google``),
``github-copilot``. Hosted resellers are vendors of their own: Copilot-hosted Claude returns a
Copilot ``reasoning_opaque`` token as its signature, which the Anthropic API does not accept,
and Azure OpenAI / the ChatGPT backend hold response ids the OpenAI API cannot resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amplifier_core.message_models import ChatRequest, Message

__all__ = [
    "ROUTER_METADATA_KEY",
    "clean_for_vendor",
    "producer_vendor",
    "vendor_of",
]

ROUTER_METADATA_KEY = "model_router"
"""Response/message metadata key holding ``{"provider", "model", "vendor"}`` of the answer."""

_THINKING_TYPES = frozenset({"thinking", "redacted_thinking", "reasoning"})
_SIGNED_TYPES = frozenset({"text", "tool_call"})
_MESSAGE_EXTRAS = ("thinking_block", "reasoning_content")
_CHAINING_KEYS = frozenset(
    {"previous_response_id", "response_id", "reasoning_items", "raw_response", "thought_signature"}
)

# Longest first: "openai-chatgpt" and "azure-openai" must not fall into "openai".
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("github-copilot", "github-copilot"),
    ("openai-chatgpt", "openai-chatgpt"),
    ("azure-openai", "azure-openai"),
    ("anthropic", "anthropic"),
    ("copilot", "github-copilot"),
    ("gemini", "gemini"),
    ("google", "gemini"),
    ("openai", "openai"),
)
_NAMESPACES = frozenset(prefix for prefix, _ in _FAMILIES) | {family for _, family in _FAMILIES}


def _normalise(name: str) -> str:
    return name.strip().casefold().removeprefix("provider-")


def _family(name: str) -> str | None:
    """The known family ``name`` belongs to (``anthropic-eu`` -> ``anthropic``), else None."""
    text = _normalise(name)
    for prefix, family in _FAMILIES:
        if text == prefix or text.startswith((prefix + "-", prefix + "_")):
            return family
    return None


def vendor_of(name: str, provider: Any = None) -> str:
    """The vendor (family) of a mounted provider, for history compatibility.

    Looks at the provider's own identity first (``get_info().id``, then ``.name``), then the
    mount ``name``; an unrecognised provider is a vendor of its own (its normalised name), so
    nothing foreign ever reaches it. Cleaning too much only costs reasoning continuity.
    """
    hints: list[str] = []
    if provider is not None:
        try:
            info_id = getattr(provider.get_info(), "id", None)
        except Exception:  # a provider's metadata must never break routing
            info_id = None
        if isinstance(info_id, str) and info_id:
            hints.append(info_id)
        own = getattr(provider, "name", None)
        if isinstance(own, str) and own:
            hints.append(own)
    hints.append(name)
    for hint in hints:
        family = _family(hint)
        if family is not None:
            return family
    return _normalise(name)


def _block_type(block: Any) -> str | None:
    return block.get("type") if isinstance(block, Mapping) else getattr(block, "type", None)


def _is_openai_reasoning(block: Any) -> bool:
    """provider-openai's reasoning shape: ThinkingBlock.content == [encrypted, rs_id]."""
    if _block_type(block) == "reasoning":
        return True
    content = block.get("content") if isinstance(block, Mapping) else getattr(block, "content", None)
    return _block_type(block) == "thinking" and isinstance(content, list) and len(content) >= 2


def producer_vendor(message: Message) -> str | None:
    """The vendor that produced an assistant ``message``, or None when it cannot be told."""
    metadata = message.metadata or {}
    tag = metadata.get(ROUTER_METADATA_KEY)
    if isinstance(tag, Mapping) and isinstance(tag.get("vendor"), str):
        return tag["vendor"]
    for key in metadata:
        text = str(key)
        if ":" in text or text.casefold() in _NAMESPACES:
            family = _family(text.split(":", 1)[0])
            if family is not None:
                return family
    if isinstance(message.content, list) and any(_is_openai_reasoning(b) for b in message.content):
        return "openai"
    return None


def _foreign_metadata_key(key: Any) -> bool:
    text = str(key)
    if text in _CHAINING_KEYS:
        return True
    namespace = text.split(":", 1)[0] if ":" in text else text
    return namespace.casefold() in _NAMESPACES


def _strip_signature(entry: Any) -> Any:
    if isinstance(entry, Mapping) and "signature" in entry:
        return {k: v for k, v in entry.items() if k != "signature"}
    return entry


def _needs_cleaning(message: Message) -> bool:
    """True when ``message`` carries anything vendor-bound (blocks, signatures, metadata)."""
    extra = message.model_extra or {}
    if any(key in extra for key in _MESSAGE_EXTRAS):
        return True
    if any(isinstance(tc, Mapping) and "signature" in tc for tc in extra.get("tool_calls") or []):
        return True
    if message.metadata and any(_foreign_metadata_key(k) for k in message.metadata):
        return True
    if isinstance(message.content, list):
        for block in message.content:
            kind = _block_type(block)
            if kind in _THINKING_TYPES:
                return True
            if kind in _SIGNED_TYPES and "signature" in (getattr(block, "model_extra", None) or {}):
                return True
    return False


def _cleaned(message: Message) -> Message | None:
    """A copy of ``message`` without vendor-bound state; None when nothing is left of it."""
    data = message.model_dump()
    for key in _MESSAGE_EXTRAS:
        data.pop(key, None)
    if isinstance(data.get("tool_calls"), list):
        data["tool_calls"] = [_strip_signature(tc) for tc in data["tool_calls"]]
    if data.get("metadata"):
        kept = {k: v for k, v in data["metadata"].items() if not _foreign_metadata_key(k)}
        data["metadata"] = kept or None
    if isinstance(data.get("content"), list):
        data["content"] = [
            _strip_signature(block) for block in data["content"] if block.get("type") not in _THINKING_TYPES
        ]
        if not data["content"] and not data.get("tool_calls"):
            return None
    return Message.model_validate(data)


def clean_for_vendor(request: ChatRequest, vendor: str) -> ChatRequest:
    """``request`` ready for a provider of ``vendor``: other vendors' turns cleaned (see module doc).

    Returns ``request`` itself when nothing needs to change, else a copy; never mutates it.
    """
    out: list[Message] = []
    changed = False
    for message in request.messages:
        if message.role == "assistant":
            producer = producer_vendor(message)
            if producer is not None and producer != vendor and _needs_cleaning(message):
                changed = True
                cleaned = _cleaned(message)
                if cleaned is not None:
                    out.append(cleaned)
                continue
        out.append(message)
    return request.model_copy(update={"messages": out}) if changed else request
