"""Reading a trace's text from a file or standard input, within bounds.

Only regular files are read (a FIFO, ``/dev/zero`` or a terminal device is
refused without blocking on it), never more than
:data:`~hugelab.limits.MAX_TRACE_BYTES`; standard input is read up to the
same bound. The bytes must be UTF-8 (a byte order mark at the start is
allowed): invalid bytes are a one-line :class:`~hugelab.trace.language.TraceError`
naming the line.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from ..limits import MAX_TRACE_BYTES
from .language import TraceError


class SourceError(ValueError):
    """The trace cannot be read (missing, not a regular file, too large); one line."""


def decode(data: bytes) -> str:
    """``data`` as UTF-8 text, or :class:`TraceError` naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise TraceError(line, f"byte 0x{data[e.start]:02x} at column {column} is not UTF-8 "
                               "(a trace is UTF-8 text)") from None


def _read_bounded(stream: BinaryIO, what: str, limit: int = MAX_TRACE_BYTES) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise SourceError(f"{what} is larger than hugelab's limit of {limit:,} bytes")
    return data


def read_file(path: str, limit: int = MAX_TRACE_BYTES) -> str:
    """The text of the trace file at ``path`` (at most ``limit`` bytes: a trace's, unless a caller
    reads something smaller, such as an exercise sheet). Raises FileNotFoundError, SourceError or
    TraceError."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is
    # checked on the open file, so a path swapped after a check cannot fool it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb", closefd=True) as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise SourceError(f"{path!r} is {kind}: a trace is read from a regular file or standard input (-)")
        if info.st_size > limit:
            raise SourceError(f"{path!r} has {info.st_size:,} bytes; hugelab's limit is {limit:,}")
        return decode(_read_bounded(f, repr(path), limit))


def read_stdin(stream: BinaryIO) -> str:
    """The text on standard input (binary ``stream``), read to its end within the bound."""
    return decode(_read_bounded(stream, "standard input"))
