"""Read files we do not control without letting them hang us or fill memory.

Settings files, agent and bundle files, catalogs and ``events.jsonl`` may come from a cloned
repository, and git keeps symlinks: ``settings.yaml -> /dev/zero`` is one commit away. ``stat``
cannot bound such a read (a device or a FIFO reports size 0, a FIFO blocks ``open`` until a
writer comes), so every reader goes through here: the file is opened without blocking, refused
unless the *opened* descriptor is a regular file, and read only up to a byte budget.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import InputError

__all__ = ["MAX_FILE_BYTES", "MAX_LINE_BYTES", "bounded_lines", "open_regular", "read_text"]

MAX_FILE_BYTES = 1_000_000
"""Largest YAML file (bundle, agent, settings, catalog) read; real ones are a few KB."""
MAX_LINE_BYTES = 1_000_000
"""Longest events.jsonl line parsed; a cost summary of a thousand agents fits in a third."""

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 65_536


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | Path, *, display: str | None = None) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything but a regular file.

    The check is on the opened descriptor (``fstat``), so a path swapped between a check and
    the open cannot slip a device in. ``O_NONBLOCK`` makes opening a FIFO return at once.

    Raises:
        InputError: naming ``display`` (default: the path) with the OS reason or the kind of
            file met (``a FIFO``, ``a character device``, ...).
    """
    where = display or str(path)
    try:
        fd = os.open(path, _FLAGS)
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror or err}", file=where) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"refused: {_kind(mode)}, not a regular file", file=where)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text(path: str | Path, *, display: str | None = None, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (counted while reading).

    Raises:
        InputError: not a regular file, unreadable, over ``limit`` or not UTF-8.
    """
    where = display or str(path)
    with open_regular(path, display=where) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as err:
            raise InputError(f"cannot read file: {err.strerror or err}", file=where) from None
    if len(data) > limit:
        raise InputError(f"file is over {limit} bytes, the limit", file=where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=where) from None


def bounded_lines(handle: BinaryIO, *, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes, bool]]:
    """``(number, line, whole)`` for each line; a line over ``limit`` bytes is never held whole.

    For such a line ``whole`` is False and ``line`` holds its first ``limit`` bytes (enough to
    say what it was); the rest is read in chunks and dropped.
    """
    number = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) <= limit or (len(line) == limit + 1 and line.endswith(b"\n")):
            yield number, line, True
            continue
        while True:  # drain the rest of the over-long line, a chunk at a time
            rest = handle.readline(_CHUNK)
            if not rest or rest.endswith(b"\n"):
                break
        yield number, line[:limit], False
