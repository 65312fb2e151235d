"""The one error type users see, with the location that lets them act on it."""

from __future__ import annotations


class BundleError(ValueError):
    """Bad bundle, agent file, settings layer, catalog or preference.

    The message always starts with where the problem is, so a user can jump to it:
    ``agents/git-ops.md: agent 'git-ops': provider_preferences[2]: missing 'model'``.
    ``file``, ``agent`` and ``field`` stay available for programs.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        agent: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.agent = agent
        self.field = field
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.agent:
            parts.append(f"agent '{self.agent}'")
        if self.field:
            parts.append(self.field)
        parts.append(self.reason)
        return ": ".join(parts)

    def located(
        self,
        *,
        file: str | None = None,
        agent: str | None = None,
        field_prefix: str | None = None,
    ) -> "BundleError":
        """Return a copy with missing location parts filled in (outer context)."""
        field = self.field
        if field_prefix:
            field = f"{field_prefix}{field}" if field and field.startswith("[") else (
                f"{field_prefix}.{field}" if field else field_prefix
            )
        return BundleError(
            self.reason,
            file=self.file or file,
            agent=self.agent or agent,
            field=field,
            line=self.line,
        )
