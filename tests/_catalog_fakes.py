"""Fake providers for catalog and resolver tests: only ``list_models()`` matters to them."""

from __future__ import annotations

import asyncio
from typing import Any

from amplifier_core.llm_errors import ProviderUnavailableError

from amplifier_module_model_router.resolve.snapshot import load_catalog


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


def _shipped(provider: str) -> list[str]:
    """Model ids of the catalog snapshot shipped in the package (data/catalog.yaml): the one
    catalog source the simulator, the benchmarks and these tests share."""
    return [model.id for model in load_catalog().providers[provider]]


ANTHROPIC = _shipped("anthropic")
OPENAI = _shipped("openai")
GEMINI = _shipped("gemini")
COPILOT = _shipped("github-copilot")
