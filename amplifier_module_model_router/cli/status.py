"""The exit statuses of ``amplifier-model-router``: one table, the same in every command."""

from __future__ import annotations

import enum

__all__ = ["ExitStatus"]


class ExitStatus(enum.IntEnum):
    """What every command's exit status means (README's table is checked against this)."""

    OK = 0
    """Done, and every check passed."""
    PROBLEM = 1
    """A check failed: ``verify`` found a wrong model, an error or a glob sent to a provider;
    ``validate`` found errors."""
    BAD_INPUT = 2
    """Bad input or usage (missing bundle or events path, unknown agent or provider, unreadable
    catalog, bad settings file): one ``error:`` line on stderr, nothing on stdout."""
    INCOMPLETE = 3
    """Nothing wrong, but not everything answered: ``verify`` passed with agents whose chain
    resolved nothing (they inherit the session model); ``validate`` found no agent or tier outside
    includes it could not read offline; ``report`` found no cost event."""
    BROKEN_PIPE = 141
    """The reader closed stdout early (``| head``): the shell's status for SIGPIPE, quietly."""
