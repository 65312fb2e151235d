"""``validate``: load a bundle the way a session would and list every problem found.

The loader stops at the first problem (nothing half-loaded); a user fixing a bundle wants the
whole list at once. So after a failed load every agent file the bundle lists in its own folder
is also parsed on its own and its errors are added. A bundle that loads is also checked for
what would fail the module's mount (unknown or malformed module options).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..bundle.files import display_path, read_agent_file, read_bundle_file
from ..bundle.loader import load_bundle
from ..bundle.model import Bundle
from ..errors import InputError
from ..settings.options import RouterConfig

__all__ = ["Validation", "unread_lines", "validate_bundle"]


@dataclass(frozen=True, slots=True)
class Validation:
    bundle: Bundle | None
    errors: tuple[InputError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
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


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def validate_bundle(path: str | Path) -> Validation:
    """Every problem of the bundle at ``path`` (a ``.md`` file or its folder)."""
    errors: list[InputError] = []
    bundle: Bundle | None = None
    try:
        bundle = load_bundle(path)
    except InputError as err:
        errors.append(err)
        errors += _agent_file_errors(Path(path))
    else:
        try:
            RouterConfig.from_mount(
                dict(bundle.module_config),
                source=f"{display_path(bundle.path)}: hooks[model-router]",
            )
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
