"""Fake providers for catalog and resolver tests: only ``list_models()`` matters to them."""

from __future__ import annotations

import asyncio
from typing import Any

from amplifier_core.llm_errors import ProviderUnavailableError


class FakeProvider:
    """A provider whose catalog, latency and failure mode a test controls.

    ``fail`` is raised from ``list_models()``; :func:`unreachable` builds the kernel's own error
    for it, as a real provider raises it. ``calls`` counts ``list_models()`` invocations; ``gate`` (when set) holds every call until
    the test opens it, which is how tests prove calls overlap without timing anything.
    """

    def __init__(
        self,
        models: Any = (),
        *,
        fail: BaseException | None = None,
        hang: bool = False,
        gate: asyncio.Event | None = None,
        base_url: str | None = None,
        priority: Any = None,
        complete: bool = False,
    ) -> None:
        self.models = models
        self.fail = fail
        self.hang = hang
        self.gate = gate
        self.calls = 0
        if base_url is not None:
            self.base_url = base_url
        if priority is not None:
            self.priority = priority
        if complete:  # the provider vouches that its list is every model it serves
            self.catalog_complete = True

    async def list_models(self) -> Any:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.hang:
            await asyncio.Event().wait()
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return list(self.models) if isinstance(self.models, (list, tuple)) else self.models


def unreachable(message: str, provider: str = "github-copilot") -> ProviderUnavailableError:
    """amplifier-core's ProviderUnavailableError, as a real provider raises it (a 503)."""
    return ProviderUnavailableError(message, provider=provider, status_code=503, retryable=True)


class OtherProvider(FakeProvider):
    """A different provider class (its catalogs must never be confused with FakeProvider's)."""


ANTHROPIC = [
    "claude-opus-4-20250514",
    "claude-opus-4-1-20250805",
    "claude-opus-4-5-20251101",
    "claude-opus-4-6",
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-6",
    "claude-haiku-4-5-20251001",
    "claude-3-5-haiku-20241022",
]
OPENAI = [
    "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-5.2", "gpt-5.2-pro", "gpt-5.3-codex",
    "gpt-5.4", "gpt-5.4-2026-03-05", "gpt-5.4-mini", "gpt-5.4-mini-2026-03-17", "gpt-5.4-nano",
    "gpt-5.4-pro", "gpt-5.5", "gpt-5.5-pro", "gpt-5.6", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna",
]
GEMINI = [
    "gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3-flash-preview",
    "gemini-3.1-pro-preview", "gemini-3.1-flash-lite-preview", "gemini-pro-latest", "gemini-flash-latest",
]
COPILOT = [
    "claude-haiku-4.5", "claude-sonnet-4.5", "claude-sonnet-4.6", "claude-opus-4.6", "claude-opus-4.8",
    "gpt-5.3-codex", "gpt-5.4-mini", "gpt-5.5",
]
