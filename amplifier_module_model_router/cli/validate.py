"""``validate``: load a bundle the way a session would and list every problem found.

The loader stops at the first problem (nothing half-loaded); a user fixing a bundle wants the
whole list at once. So the loader's own checks are run agent by agent
(:func:`.bundle.loader.bundle_errors`: derived bundles' agents and overlays included), and when
an include itself cannot be read, every agent file the bundle lists in its own folder is also
parsed on its own. A bundle that loads is also checked for what would fail the module's mount
(unknown or malformed module options) and for what a session would refuse in the settings keys
its module config carries (a bad ``price_ceiling``, an unknown tier): the same checks as a
settings file, named by the bundle's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bundle.files import display_path, read_agent_file, read_bundle_file
from ..bundle.loader import bundle_errors, load_bundle
from ..bundle.model import Bundle
from ..errors import InputError
from ..settings.effective import effective_routing
from ..settings.options import RouterConfig
from ..settings.discover import module_config_layer

__all__ = ["Validation", "unread_lines", "validate_bundle", "validation_json"]


@dataclass(frozen=True, slots=True)
class Validation:
    bundle: Bundle | None
    errors: tuple[InputError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def checked_nothing(self) -> bool:
        """No error, but no agent or tier either: all of it sits in includes not read offline,
        so "ok" would vouch for a bundle nobody looked at."""
        b = self.bundle
        return self.ok and b is not None and bool(b.unread) and not b.agents and not b.tiers

    def summary(self) -> str:
        if self.bundle is not None and self.checked_nothing:
            includes = _counted(len(self.bundle.unread), "include")
            return f"nothing checked: no agent or tier here; {includes} not read (below)"
        if self.bundle is not None and self.ok:
            agents, tiers = len(self.bundle.agents), len(self.bundle.tiers)
            unread = len(self.bundle.unread)
            tail = f"; {_counted(unread, 'include')} not read (below)" if unread else ""
            return f"ok: {_counted(agents, 'agent')}, {_counted(tiers, 'tier')}{tail}"
        return _counted(len(self.errors), "error")


def unread_lines(bundle: Bundle) -> list[str]:
    """One line per include the loader did not read: what it is, who includes it, why.

    What such an include brings (foundation's session and tools, another bundle's agents) is
    not checked here; the Amplifier CLI fetches it when it loads the bundle.
    """
    return [
        f"not read: {u.source} ({display_path(u.file)}: {u.field}): {u.reason}"
        for u in bundle.unread
    ]


def validation_json(result: Validation, path: Path) -> dict[str, Any]:
    """``validate --json``: the verdict, the counts, and each error with its location parts."""
    bundle = result.bundle
    return {
        "bundle": str(path),
        "ok": result.ok,
        "checked_nothing": result.checked_nothing,
        "summary": result.summary(),
        "name": bundle.name if bundle is not None else None,
        "agents": len(bundle.agents) if bundle is not None else None,
        "tiers": sorted(bundle.tiers) if bundle is not None else None,
        "not_read": unread_lines(bundle) if bundle is not None else [],
        "errors": [
            {
                "message": str(error),
                "file": error.file,
                "line": error.line,
                "agent": error.agent,
                "field": error.field,
                "reason": error.reason,
            }
            for error in result.errors
        ],
    }


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def validate_bundle(path: str | Path) -> Validation:
    """Every problem of the bundle at ``path`` (a ``.md`` file or its folder)."""
    bundle: Bundle | None = None
    errors, composed = bundle_errors(path)
    if not composed:
        errors += _agent_file_errors(Path(path))
    elif not errors:
        bundle = load_bundle(path)
        source = f"{display_path(bundle.path)}: hooks[model-router]"
        try:
            config = RouterConfig.from_mount(dict(bundle.module_config), source=source)
            layer = module_config_layer(config.settings, source=source)  # the session's mount layer
            if layer is not None:
                effective_routing(bundle.tiers, [layer])
        except InputError as err:
            errors.append(err)
    unique: dict[str, InputError] = {}
    for error in errors:  # the loader's error and a file's own may be the same one
        unique.setdefault(str(error), error)
    return Validation(bundle, tuple(unique.values()))


def _agent_file_errors(path: Path) -> list[InputError]:
    """Errors of the agent files the root bundle lists from its own folder, each on its own."""
    root = path / "bundle.md" if path.is_dir() else path
    try:
        parsed = read_bundle_file(root.resolve())
    except InputError:
        return []  # the root itself is broken: the loader's error already says so
    found: list[InputError] = []
    refs = [*parsed.agent_refs, *parsed.overlays]
    for ref in dict.fromkeys(refs):
        namespace, _, name = ref.rpartition(":")
        if namespace not in ("", parsed.name):
            continue  # an included bundle's agent: its own folder, its own validate run
        agent_file = parsed.path.parent / "agents" / f"{name}.md"
        if not agent_file.is_file():
            continue
        try:
            spec = read_agent_file(agent_file)
        except InputError as err:
            found.append(err)
            continue
        if spec.tier is not None and not parsed.includes and spec.tier not in parsed.tiers:
            known = ", ".join(parsed.tiers) or "none defined"
            found.append(
                InputError(
                    f"unknown tier {spec.tier!r} (tiers: {known})",
                    file=display_path(agent_file),
                    agent=spec.name,
                    field="meta.model_tier",
                )
            )
    return found
