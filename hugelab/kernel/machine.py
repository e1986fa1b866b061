"""The running Linux kernel as a hugelab machine (``hugelab replay --kernel``).

:class:`KernelSession` makes it safe: it needs root and an idle pool,
refuses otherwise with one line saying why (changing nothing), and on the
way out, whatever happens (success, error, Ctrl-C, SIGTERM), it ends every
process it started and puts ``nr_hugepages`` and
``nr_overcommit_hugepages`` back as it found them.

:class:`KernelMachine` replays one trace inside a session: each trace
process is a real process (:mod:`hugelab.kernel.worker`), and after every
step the counters are read from ``/proc/meminfo``.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import select
import signal
import time
from pathlib import Path
from typing import Any, TextIO

from ..hstate import Counters
from ..trace import (
    MAIN,
    CloseFile,
    Exit,
    Fallocate,
    FileOp,
    Fork,
    Memfd,
    Mmap,
    Mount,
    Operation,
    Pool,
    Punch,
    Shmat,
    Shmget,
    Shmrm,
    Trace,
    Truncate,
    Umount,
    Unlink,
)
from . import sysfs
from .fsworker import start_fs_worker
from .worker import start_worker

#: v2 operations the trace's own worker does (not a trace process)
FS_OPS = (Mount, Umount, FileOp, Memfd, CloseFile, Unlink, Truncate, Fallocate, Punch, Shmget, Shmrm)

PR_SET_CHILD_SUBREAPER = 36
LOCK_FILE = Path("/run/lock/hugelab-kernel.lock") if Path("/run/lock").is_dir() else Path("/tmp/hugelab-kernel.lock")
#: the sysctls a session found, kept while it runs: if its controller is
#: SIGKILLed, the next session finds them here and puts them back
STATE_FILE = LOCK_FILE.with_suffix(".saved")
STEP_TIMEOUT = 60.0
#: where the first mapping of a trace goes: far below the heap and libraries
#: at 0x55.. and 0x7f.., and aligned for any huge page size up to 1 GiB
MAPPING_BASE = 0x100000000000
_libc = ctypes.CDLL(None, use_errno=True)


class KernelUnavailable(RuntimeError):
    """The real kernel cannot be used here; the message says why in one line."""


class KernelReplayError(RuntimeError):
    """Something went wrong while replaying on the kernel (not a trace outcome)."""


def why_unavailable() -> str | None:
    """None if a kernel replay could start now, else the reason in one line."""
    if not sysfs.NR_HUGEPAGES.exists():
        return "this kernel has no hugetlb support (/proc/sys/vm/nr_hugepages is missing)"
    if os.geteuid() != 0:
        return "replaying on the kernel needs root (it writes /proc/sys/vm/nr_hugepages)"
    counters = sysfs.read_counters()
    if counters.total != counters.free or counters.rsvd or counters.surp:
        return (f"huge pages are in use or reserved by someone else (Total/Free/Rsvd/Surp = {counters}); "
                "hugelab needs an idle pool")
    return None


def _exit_signal(pid: int) -> int | None:
    """The signal that ended ``pid`` (a zombie), from /proc/PID/stat's exit_code."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    exit_code = int(fields[49])  # field 52 of stat, counted from field 3
    return exit_code & 0x7F or None


class KernelSession:
    """Owns the pool and every process while kernel replays run (a context manager)."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self._lock: TextIO | None = None
        self._saved: tuple[int, int] | None = None
        self._old_sigterm: Any = None  # whatever signal.signal() handed back

    def __enter__(self) -> KernelSession:
        self._lock = lock = open(LOCK_FILE, "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise KernelUnavailable("another hugelab kernel replay is running on this machine") from None
        reason = why_unavailable()
        if reason:
            self._unlock()
            raise KernelUnavailable(reason)
        self._saved = (sysfs.read_sysctl(sysfs.NR_HUGEPAGES), sysfs.read_sysctl(sysfs.NR_OVERCOMMIT))
        with contextlib.suppress(OSError, ValueError):  # a killed session's sysctls come first
            nr, overcommit = (int(word) for word in STATE_FILE.read_text().split())
            self._saved = (nr, overcommit)
        STATE_FILE.write_text(f"{self._saved[0]} {self._saved[1]}\n")
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphaned workers come back to us
        try:
            self._old_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        except ValueError:  # not the main thread: Ctrl-C handling is the caller's
            self._old_sigterm = None
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.end_processes()
        finally:
            try:
                if self._saved is not None:
                    nr, overcommit = self._saved
                    sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, overcommit)
                    sysfs.write_sysctl(sysfs.NR_HUGEPAGES, nr)
                    STATE_FILE.unlink(missing_ok=True)
            finally:
                _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
                if self._old_sigterm is not None:
                    signal.signal(signal.SIGTERM, self._old_sigterm)
                self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def end_processes(self) -> None:
        """Kill every process this session started, and wait until each is gone."""
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        pending = list(self.pids)
        while pending and time.monotonic() < deadline:
            still = []
            for pid in pending:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                    if done == 0:
                        still.append(pid)
                except ChildProcessError:
                    # Not (yet) our child: its parent is dying; it comes back to
                    # us as subreaper, or is already gone.
                    if Path(f"/proc/{pid}").exists():
                        still.append(pid)
            pending = still
            if pending:
                time.sleep(0.005)
        self.pids.clear()

    def reset_pool(self) -> None:
        """An empty pool, as a trace expects at its start.

        A v2 replay's mounts and segments go with its namespaces, which the
        kernel tears down a moment after the last process: wait for it.
        """
        sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 0)
        sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0)
        counters = sysfs.read_counters()
        deadline = time.monotonic() + 5
        while counters != Counters(0, 0, 0, 0) and time.monotonic() < deadline:
            time.sleep(0.01)
            sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0)
            counters = sysfs.read_counters()
        if counters != Counters(0, 0, 0, 0):
            raise KernelReplayError(f"the pool did not empty (Total/Free/Rsvd/Surp = {counters}) "
                                    "after every process of the replay ended")


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


class KernelMachine:
    """Replays one trace on the running kernel, inside a :class:`KernelSession`."""

    def __init__(self, session: KernelSession, trace: Trace) -> None:
        self.session = session
        self.hpage = sysfs.hugepage_size()
        session.end_processes()
        session.reset_pool()
        names = [MAIN] + [op.child for op in trace if isinstance(op, Fork)]
        self._commands: dict[str, int] = {}
        self._answers: dict[str, int] = {}
        worker_ends: dict[str, tuple[int, int]] = {}
        for name in names:
            cmd_r, cmd_w = os.pipe()
            ans_r, ans_w = os.pipe()
            self._commands[name], self._answers[name] = cmd_w, ans_r
            worker_ends[name] = (cmd_r, ans_w)
        self._pidfds: dict[str, int] = {}
        self._pids: dict[str, int] = {}
        # One address range per mapping name, never reused, a guard page apart.
        self._address: dict[str, int] = {}
        next_address = MAPPING_BASE
        segment_pages = {op.segment: op.pages for op in trace if isinstance(op, Shmget)}
        for op in trace:
            if isinstance(op, Mmap | Shmat):
                self._address[op.name] = next_address
                pages = op.pages if isinstance(op, Mmap) else segment_pages[op.segment]
                next_address += (pages + 1) * self.hpage
        keep = {fd for pair in worker_ends.values() for fd in pair}
        self._fs: tuple[int, int] | None = None  # the trace's own worker (v2): command, answer
        if any(isinstance(op, FS_OPS + (Shmat,)) or (isinstance(op, Mmap) and op.file) for op in trace):
            pid = self._start_fs_worker(worker_ends, keep)
        else:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the worker
                start_worker(MAIN, worker_ends, keep, self.hpage)
        for fd in keep:
            os.close(fd)
        self._started(MAIN, pid)

    def _start_fs_worker(self, worker_ends: dict[str, tuple[int, int]], keep: set[int]) -> int:
        """Start the trace's own worker in private namespaces; it starts MAIN there. MAIN's pid."""
        cmd_r, cmd_w = os.pipe()
        ans_r, ans_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the trace's worker
            os.close(cmd_w)
            os.close(ans_r)
            start_fs_worker(cmd_r, ans_w, self.hpage, worker_ends, keep)
        os.close(cmd_r)
        os.close(ans_w)
        self.session.pids.append(pid)
        self._fs = (cmd_w, ans_r)
        self._fs_pid = pid
        self._fs_pidfd = os.pidfd_open(pid)
        answer = self._fs_call({"op": "spawn", "name": MAIN})
        if not answer.startswith("pid "):
            raise KernelReplayError(f"the trace's worker could not start: {answer}")
        return int(answer.split()[1])

    def _fs_call(self, command: dict) -> str:
        """Send one command to the trace's own worker and return its answer."""
        assert self._fs is not None
        os.write(self._fs[0], json.dumps(command).encode() + b"\n")
        answer = self._read_answer(self._fs[1], self._fs_pidfd, "the trace's worker")
        if answer is None:
            raise KernelReplayError("the trace's worker died (could it enter private mount and IPC namespaces?)")
        if answer.startswith("bug "):
            raise KernelReplayError(f"the trace's worker failed on {command['op']}: {answer[4:]}")
        return answer

    def _started(self, name: str, pid: int) -> None:
        self.session.pids.append(pid)
        self._pids[name] = pid
        self._pidfds[name] = os.pidfd_open(pid)

    def close(self) -> None:
        self.session.end_processes()
        fds = list(self._commands.values()) + list(self._answers.values()) + list(self._pidfds.values())
        if self._fs is not None:
            fds += [*self._fs, self._fs_pidfd]
            self._fs = None
        for fd in fds:
            os.close(fd)
        self._commands, self._answers, self._pidfds = {}, {}, {}

    def counters(self) -> Counters:
        return sysfs.read_counters()

    def statfs(self) -> dict[str, tuple[int, int]] | None:
        """statfs (size, free) of the trace's mounts made with size=, as the model reports it."""
        if self._fs is None:
            return None
        found = json.loads(self._fs_call({"op": "statfs"}).split(" ", 1)[1])
        return None if found is None else {name: (size, free) for name, (size, free) in found.items()}

    def apply(self, op: Operation) -> str | None:
        if isinstance(op, Pool):
            sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, op.overcommit)
            sysfs.write_sysctl(sysfs.NR_HUGEPAGES, op.pages)
            return None
        command = {"op": type(op).__name__.lower(), **{k: v for k, v in vars(op).items() if k not in ("line", "text")}}
        if isinstance(op, FS_OPS):
            done = self._fs_call(command)
            return None if done == "ok" else done.split()[1]
        if isinstance(op, Mmap | Shmat):
            command["addr"] = self._address[op.name]
        if isinstance(op, Mmap) and op.file:
            command["path"] = self._fs_call({"op": "path", "file": op.file}).split(" ", 1)[1]
        if isinstance(op, Shmat):
            command["shmid"] = int(self._fs_call({"op": "shmid", "segment": op.segment}).split()[1])
        proc = op.proc
        os.write(self._commands[proc], json.dumps(command).encode() + b"\n")
        answer, signum = self._wait(proc)
        if isinstance(op, Exit):
            return None
        if answer is None:
            return signal.Signals(signum).name if signum else "SIGKILL"
        if isinstance(op, Fork):  # the worker answered "pid N"
            self._started(op.child, int(answer.split()[1]))
            return None
        return None if answer == "ok" else answer.split()[1]

    def _wait(self, proc: str) -> tuple[str | None, int | None]:
        """The worker's answer, or (None, signal) once it has died."""
        answer = self._read_answer(self._answers[proc], self._pidfds[proc], f"process {proc}")
        return (answer, None) if answer is not None else (None, _exit_signal(self._pids[proc]))

    def _read_answer(self, answers: int, pidfd: int, who: str) -> str | None:
        """One answer line from ``answers``, or None once the process behind ``pidfd`` died."""
        poller = select.poll()
        poller.register(answers, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KernelReplayError(f"{who} did not answer within {STEP_TIMEOUT:.0f} s")
            ready = {fd for fd, _ in poller.poll(remaining * 1000)}
            if answers in ready:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = os.read(answers, 1)
                    if not chunk:  # every writer is gone: the worker died
                        break
                    data += chunk
                if data.endswith(b"\n"):
                    return data.decode().strip()
                poller.unregister(answers)
            if pidfd in ready:
                return None
