"""The lock that lets one kernel replay at a time own the pool, and its journal.

The lock lives in a directory only root can write (``/run/hugelab``, mode
0700), so no other user can plant a link there or hold the lock. It is
taken only after the caller checked it is root, and opened without
following links (``O_NOFOLLOW``, relative to the directory opened with
``O_NOFOLLOW`` too); the directory and the file must be root's and
writable by root only, or the lock refuses to be taken.

The lock file is also a journal: while a session runs it holds the
session's pid and the sysctls it found (``pid nr_hugepages
nr_overcommit_hugepages``); a session that ends normally empties it. A
journal found non-empty by the next session is the word of a run that was
killed before it could put the pool back.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from dataclasses import dataclass
from pathlib import Path

LOCK_DIR = Path("/run/hugelab") if Path("/run").is_dir() else Path("/var/lib/hugelab")
LOCK_NAME = "kernel.lock"


class LockError(RuntimeError):
    """The lock cannot be taken; the message says why in one line."""


@dataclass(frozen=True)
class Journal:
    """What a running session wrote: who it is, what it found, what it last wrote."""

    pid: int
    baseline: tuple[int, int]  # nr_hugepages, nr_overcommit_hugepages as found
    last: tuple[int, int]  # as last written

    def __str__(self) -> str:
        return f"{self.pid} {self.baseline[0]} {self.baseline[1]} {self.last[0]} {self.last[1]}\n"

    @classmethod
    def parse(cls, text: str) -> Journal | None:
        words = text.split()
        if len(words) != 5 or not all(w.isdigit() and len(w) < 25 for w in words):
            return None
        pid, nr, overcommit, last_nr, last_overcommit = (int(w) for w in words)
        return cls(pid, (nr, overcommit), (last_nr, last_overcommit))


def _check_root_only(info: os.stat_result, what: str, kind) -> None:
    if not kind(info.st_mode):
        raise LockError(f"{what} is not a {'directory' if kind is stat.S_ISDIR else 'regular file'}; "
                        "remove it (hugelab will recreate it)")
    if info.st_uid != 0 or info.st_mode & 0o022:
        raise LockError(f"{what} is owned by uid {info.st_uid} with mode {stat.filemode(info.st_mode)}: "
                        "it must be root's and writable by root only; remove it (hugelab will recreate it)")


def _holder(fd: int) -> str:
    """Who holds the lock, as far as its journal tells."""
    try:
        journal = Journal.parse(os.pread(fd, 100, 0).decode(errors="replace"))
    except OSError:
        journal = None
    if journal is None:
        return "another process"
    try:
        command = Path(f"/proc/{journal.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        owner = Path(f"/proc/{journal.pid}").stat().st_uid
    except OSError:
        return f"pid {journal.pid}"
    return f"pid {journal.pid} (uid {owner}: {command.strip()[:80]})"


class PoolLock:
    """The machine-wide lock over the huge page pool (root only)."""

    def __init__(self, directory: Path = LOCK_DIR) -> None:
        self.directory = directory
        self.fd: int | None = None
        #: the journal a killed session left, read when the lock was taken
        self.stale: Journal | None = None

    @property
    def path(self) -> Path:
        return self.directory / LOCK_NAME

    def acquire(self) -> None:
        """Take the lock without waiting; LockError if it is held or unsafe."""
        if os.geteuid() != 0:
            raise LockError("the pool lock is root's: replaying on the kernel needs root")
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.directory, 0o700)
        dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            _check_root_only(os.fstat(dir_fd), str(self.directory), stat.S_ISDIR)
            try:
                fd = os.open(LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                             0o600, dir_fd=dir_fd)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise LockError(f"{self.path} is a symbolic link; remove it") from None
                raise LockError(f"cannot open {self.path}: {e.strerror}") from None
        finally:
            os.close(dir_fd)
        try:
            _check_root_only(os.fstat(fd), str(self.path), stat.S_ISREG)
            if os.fstat(fd).st_nlink != 1:
                raise LockError(f"{self.path} has other hard links; remove it")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockError(f"another hugelab kernel replay is running on this machine: {_holder(fd)}") from None
            text = os.pread(fd, 100, 0).decode(errors="replace")
            self.stale = Journal.parse(text) if text else None
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def write_journal(self, journal: Journal) -> None:
        assert self.fd is not None
        data = str(journal).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def clear_journal(self) -> None:
        """The pool is as the session found it: nothing for the next one to be told."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = None
