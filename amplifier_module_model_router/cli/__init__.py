"""``amplifier-model-router``: the command line (commands, rendering, the verify scenario)."""

from .commands import main

__all__ = ["main"]
