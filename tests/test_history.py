"""Cross-vendor history cleaning, with the shapes the real providers store."""

from __future__ import annotations

import copy

import pytest
from amplifier_core.message_models import (
    ChatRequest,
    Message,
    ReasoningBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from amplifier_core.models import ProviderInfo

from amplifier_module_model_router.failover.history import (
    ROUTER_METADATA_KEY,
    clean_for_vendor,
    producer_vendor,
    vendor_of,
)


def tagged(vendor: str, **extra) -> dict:
    return {ROUTER_METADATA_KEY: {"provider": vendor, "model": "m", "vendor": vendor}, **extra}


def anthropic_turn() -> Message:
    """provider-anthropic: signed thinking, redacted thinking, its wire snapshot in metadata."""
    return Message(
        role="assistant",
        content=[
            ThinkingBlock(thinking="let me think", signature="anthropic-sig"),
            RedactedThinkingBlock(data="opaque"),
            TextBlock(text="Reading the file."),
            ToolCallBlock(id="toolu_1", name="read_file", input={"path": "a.py"}),
        ],
        tool_calls=[{"id": "toolu_1", "tool": "read_file", "arguments": {"path": "a.py"}}],
        metadata={"anthropic": {"wire_content": [{"type": "thinking", "signature": "anthropic-sig"}]}},
    )


def openai_turn(with_tag: bool = True) -> Message:
    """provider-openai: reasoning as ThinkingBlock(content=[encrypted, rs_id]) + openai:* metadata."""
    metadata = {"openai:response_id": "resp_1", "openai:reasoning_items": ["rs_1"]}
    if with_tag:
        metadata = tagged("openai", **metadata)
    return Message(
        role="assistant",
        content=[
            ThinkingBlock(thinking="summary", content=["encrypted-state", "rs_1"]),
            ReasoningBlock(content=["x"], summary=[]),
            TextBlock(text="Done."),
        ],
        metadata=metadata,
    )


def request_of(*assistant: Message) -> ChatRequest:
    messages: list[Message] = [Message(role="system", content="be brief")]
    for i, turn in enumerate(assistant):
        messages.append(Message(role="user", content=f"question {i}"))
        messages.append(turn)
    messages.append(Message(role="user", content="next"))
    return ChatRequest(messages=messages)


def block_types(message: Message) -> list[str]:
    return [block.type for block in message.content] if isinstance(message.content, list) else []


def test_anthropic_thinking_is_dropped_for_openai_and_kept_for_anthropic():
    turn = anthropic_turn()
    turn.metadata = tagged("anthropic", **turn.metadata)
    request = request_of(turn)
    before = copy.deepcopy(request.model_dump())

    for_openai = clean_for_vendor(request, "openai")
    cleaned = for_openai.messages[2]
    assert block_types(cleaned) == ["text", "tool_call"]
    assert "anthropic" not in cleaned.metadata
    assert cleaned.metadata[ROUTER_METADATA_KEY]["vendor"] == "anthropic"
    assert cleaned.model_extra["tool_calls"] == turn.model_extra["tool_calls"]

    assert clean_for_vendor(request, "anthropic") is request
    assert request.model_dump() == before, "the caller's request (the session context) is never mutated"


def test_openai_reasoning_and_chaining_ids_are_dropped_for_anthropic_and_kept_for_openai():
    request = request_of(openai_turn())
    cleaned = clean_for_vendor(request, "anthropic").messages[2]
    assert block_types(cleaned) == ["text"]
    assert not any(str(key).startswith("openai:") for key in cleaned.metadata)
    assert clean_for_vendor(request, "openai") is request


def test_untagged_openai_history_is_recognised_by_its_shape_and_namespace():
    untagged = openai_turn(with_tag=False)
    assert producer_vendor(untagged) == "openai"
    shape_only = Message(role="assistant", content=[ThinkingBlock(thinking="t", content=["enc", "rs_9"])])
    assert producer_vendor(shape_only) == "openai"
    cleaned = clean_for_vendor(request_of(untagged), "gemini").messages[2]
    assert block_types(cleaned) == ["text"] and cleaned.metadata is None


def test_copilot_hosted_claude_signatures_never_reach_anthropic():
    """Copilot returns its own reasoning_opaque as the signature: Anthropic would reject it."""
    turn = Message(
        role="assistant",
        content=[ThinkingBlock(thinking="hmm", signature="copilot-opaque"), TextBlock(text="ok")],
        metadata=tagged("github-copilot"),
    )
    cleaned = clean_for_vendor(request_of(turn), "anthropic").messages[2]
    assert block_types(cleaned) == ["text"]


def test_gemini_thought_signatures_are_stripped_from_text_and_tool_calls():
    turn = Message(
        role="assistant",
        content=[
            TextBlock(text="calling", signature=b"sig-text"),
            ToolCallBlock(id="c1", name="grep", input={}, signature=b"sig-call"),
        ],
        tool_calls=[{"id": "c1", "tool": "grep", "arguments": {}, "signature": b"sig-call"}],
        metadata=tagged("gemini"),
    )
    request = request_of(turn)
    cleaned = clean_for_vendor(request, "openai").messages[2]
    dumped = cleaned.model_dump()
    assert all("signature" not in block for block in dumped["content"])
    assert dumped["tool_calls"] == [{"id": "c1", "tool": "grep", "arguments": {}}]
    assert clean_for_vendor(request, "gemini") is request


def test_a_reasoning_only_foreign_turn_is_dropped_entirely():
    turn = Message(role="assistant", content=[ThinkingBlock(thinking="only thoughts", signature="s")],
                   metadata=tagged("anthropic"))
    request = request_of(turn)
    cleaned = clean_for_vendor(request, "openai")
    assert [m.role for m in cleaned.messages] == ["system", "user", "user"]


def test_legacy_thinking_block_extra_is_removed_for_another_vendor():
    turn = Message(role="assistant", content="answer", thinking_block={"type": "thinking", "thinking": "t"},
                   metadata=tagged("anthropic"))
    cleaned = clean_for_vendor(request_of(turn), "openai").messages[2]
    assert "thinking_block" not in (cleaned.model_extra or {})
    assert cleaned.content == "answer"


def test_unknown_provenance_is_left_alone():
    turn = Message(role="assistant", content=[ThinkingBlock(thinking="t", signature="who-knows"), TextBlock(text="x")])
    assert producer_vendor(turn) is None
    request = request_of(turn)
    assert clean_for_vendor(request, "openai") is request


def test_vendor_neutral_metadata_survives_cleaning():
    turn = openai_turn()
    turn.metadata = {**turn.metadata, "ephemeral": False, "previous_response_id": "resp_0"}
    cleaned = clean_for_vendor(request_of(turn), "anthropic").messages[2]
    assert cleaned.metadata["ephemeral"] is False
    assert "previous_response_id" not in cleaned.metadata


def test_only_foreign_turns_change_in_a_mixed_history():
    anthropic = anthropic_turn()
    anthropic.metadata = tagged("anthropic", **anthropic.metadata)
    request = request_of(anthropic, openai_turn())
    for_anthropic = clean_for_vendor(request, "anthropic")
    assert for_anthropic.messages[2] is request.messages[2], "own turn passes through as-is"
    assert block_types(for_anthropic.messages[4]) == ["text"]
    assert [m.role for m in for_anthropic.messages] == [m.role for m in request.messages]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("anthropic", "anthropic"),
        ("provider-anthropic", "anthropic"),
        ("anthropic-eu", "anthropic"),
        ("openai", "openai"),
        ("openai_work", "openai"),
        ("openai-chatgpt", "openai-chatgpt"),
        ("azure-openai", "azure-openai"),
        ("google", "gemini"),
        ("gemini", "gemini"),
        ("github-copilot", "github-copilot"),
        ("copilot", "github-copilot"),
        ("Ollama", "ollama"),
        ("anthropicish", "anthropicish"),
    ],
)
def test_vendor_of_mount_names(name, expected):
    assert vendor_of(name) == expected


def test_vendor_of_prefers_the_providers_own_identity():
    class Copilot:
        name = "github-copilot"

        def get_info(self) -> ProviderInfo:
            return ProviderInfo(id="github-copilot", display_name="GitHub Copilot")

    class Broken:
        def get_info(self):
            raise RuntimeError("no info")

    assert vendor_of("claude-via-work", Copilot()) == "github-copilot"
    assert vendor_of("anthropic", Broken()) == "anthropic"
