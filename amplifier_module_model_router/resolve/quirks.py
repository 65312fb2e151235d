"""Provider listings that hide versions, and the documented setting that shows them.

Newest-wins can only pick among what ``list_models()`` returns. provider-anthropic's default
(``filtered: true``) keeps ONE id per family (haiku, sonnet, opus, fable), chosen by a plain
string sort: given ``claude-opus-4-9`` and ``claude-opus-4-10`` it returns only 4-9, so
``claude-opus-*`` resolves to 4-9, silently. ``filtered: false`` returns the whole list.

We never reach into a provider to undo this; we read the provider's entry in the mount plan
(the config the user wrote) and tell the user which documented setting to change. Knows nothing
of the kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .providers import canonical_name

__all__ = ["KNOWN_QUIRKS", "ListingQuirk", "QuirkRule", "listing_quirks", "quirk_notes"]


@dataclass(frozen=True, slots=True)
class QuirkRule:
    """A provider module whose listing hides models unless ``setting`` is ``shows``."""

    module: str
    setting: str
    default: Any
    shows: Any
    summary: str


@dataclass(frozen=True, slots=True)
class ListingQuirk:
    """One mounted provider whose listing hides models, and the fix."""

    provider: str
    module: str
    setting: str
    summary: str

    @property
    def fix(self) -> str:
        return f"set `{self.setting}: false` in the {self.provider} provider's config"

    def message(self) -> str:
        return f"{self.provider}: {self.summary}; {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return {
            "provider": self.provider,
            "module": f"provider-{self.module}",
            "setting": self.setting,
            "quirk": self.summary,
            "fix": self.fix,
        }


KNOWN_QUIRKS: tuple[QuirkRule, ...] = (
    QuirkRule(
        module="anthropic",
        setting="filtered",
        default=True,
        shows=False,
        summary=(
            "provider-anthropic lists one model per family by default (filtered: true, picked by "
            "string sort), so a glob sees only that one: claude-opus-4-9 hides claude-opus-4-10"
        ),
    ),
)

_FALSE = {"false", "no", "off", "0"}


def _as_bool(value: Any) -> bool:
    """Config booleans as the providers parse them (YAML bools, or strings from a CLI)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE
    return bool(value)


def listing_quirks(plan_providers: Any) -> tuple[ListingQuirk, ...]:
    """The quirks of the providers a mount plan mounts (its ``providers`` list), in plan order."""
    if not isinstance(plan_providers, Sequence) or isinstance(plan_providers, (str, bytes)):
        return ()
    found: list[ListingQuirk] = []
    for spec in plan_providers[:64]:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("module"), str):
            continue
        module = canonical_name(spec["module"])
        config: Mapping[str, Any] = spec["config"] if isinstance(spec.get("config"), Mapping) else {}
        for rule in KNOWN_QUIRKS:
            if module != rule.module:
                continue
            if _as_bool(config.get(rule.setting, rule.default)) == rule.shows:
                continue
            name = spec.get("instance_id") or spec.get("id") or config.get("name") or module
            found.append(ListingQuirk(str(name), module, rule.setting, rule.summary))
    return tuple(found)


def quirk_notes(
    provider_names: Sequence[str], configured: Sequence[Mapping[str, Any]] | None = None
) -> tuple[str, ...]:
    """What ``verify``/``explain``/``settings`` say for chains that use a quirky provider.

    ``configured`` is the provider entries the user's Amplifier settings give (``config.providers``,
    :func:`..settings.app_providers.amplifier_providers`), None when the CLI does not read them.
    A provider configured there is judged by its entry: no note when its listing shows every
    model, the definite fix when not. Otherwise the CLI cannot see its config, so the note states
    the default and the fix.
    """
    wanted = {canonical_name(n) for n in provider_names if isinstance(n, str)}
    entries = [e for e in configured or () if isinstance(e, Mapping) and isinstance(e.get("module"), str)]
    seen = {canonical_name(e["module"]) for e in entries}
    found = listing_quirks(entries)
    notes: list[str] = []
    for rule in KNOWN_QUIRKS:
        if rule.module not in wanted:
            continue
        if rule.module in seen:
            notes += [f"{q.message()} (in your Amplifier settings' config.providers)" for q in found if q.module == rule.module]
        else:
            notes.append(f"{rule.summary}; if your {rule.module} provider's config lacks `{rule.setting}: false`, add it")
    return tuple(notes)
