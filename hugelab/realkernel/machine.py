"""The running Linux kernel as a hugelab machine (``hugelab replay --kernel``).

:class:`KernelSession` makes it safe. It needs root, the pool lock
(:mod:`hugelab.realkernel.lock`) and an idle pool, and refuses otherwise with one
line saying why, changing nothing. On the way out, whatever happens
(success, an error, any catchable signal, several in a burst), it ends every
process it started, puts ``nr_hugepages`` and ``nr_overcommit_hugepages``
back as it found them, and reads them back to check; what it says about
the pool is what it read.

:class:`KernelMachine` replays one trace inside a session: each trace
process is a real process (:mod:`hugelab.realkernel.worker`), and after every
step the counters are read from ``/proc/meminfo``. A trace past the real
kernel's limits (:mod:`hugelab.realkernel.guard`) is refused before anything is
written; after the replay the pool must be bare again.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .. import interrupts
from ..interrupts import Interrupted
from ..model.hstate import Counters
from ..trace.language import (
    MAIN,
    OPERATIONS,
    ROW_OF,
    CloseFile,
    Exit,
    Fallocate,
    FileOp,
    Fork,
    Mmap,
    Mount,
    Operation,
    Punch,
    Shmat,
    Trace,
    Truncate,
    Umount,
    Unlink,
)
from . import sysfs
from .fsworker import start_fs_worker
from .guard import KernelLimitError, check_trace, mapping_addresses
from .lock import Journal, LockError, PoolLock
from .worker import start_worker

#: v2 operations the trace's own worker does (not a trace process)
#: the operations the files worker carries out (their rows say ``kernel="files"``)
FS_OPS = tuple(row.form for row in OPERATIONS.values() if row.kernel == "files")

PR_SET_CHILD_SUBREAPER = 36
STEP_TIMEOUT = 60.0
_libc = ctypes.CDLL(None, use_errno=True)

class KernelUnavailable(RuntimeError):
    """The real kernel cannot be used here; the message says why in one line."""


class KernelReplayError(RuntimeError):
    """Something went wrong while replaying on the kernel (not a trace outcome)."""


class KernelLeaked(KernelReplayError):
    """Every process of a replay ended and the pool is not bare: the kernel leaked.

    ``counters`` are what the pool showed; ``steps`` the replay's records up to
    the end (filled in by :func:`hugelab.realkernel.replay_on`), so that the
    table can still be shown; ``step``, when known, the first step whose prefix
    of the trace leaks on its own (found in a throw-away guest).
    """

    def __init__(self, message: str, counters: Counters) -> None:
        super().__init__(message)
        self.counters = counters
        self.steps: list = []
        self.step: int | None = None


class KernelInterrupted(Interrupted):
    """A signal stopped a kernel session; ``outcome`` says, truthfully, what was put back."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.outcome = "the pool was not checked"


def why_unavailable() -> str | None:
    """None if a kernel replay could start now, else the reason in one line."""
    reason = _why_not_privileged()
    if reason:
        return reason
    counters = sysfs.read_counters()
    if counters.total != counters.free or counters.rsvd or counters.surp:
        return (f"huge pages are in use or reserved by someone else (Total/Free/Rsvd/Surp = {counters}); "
                "hugelab needs an idle pool")
    return None


def _why_not_privileged() -> str | None:
    if not sysfs.NR_HUGEPAGES.exists():
        return "this kernel has no hugetlb support (/proc/sys/vm/nr_hugepages is missing)"
    if os.geteuid() != 0:
        return "replaying on the kernel needs root (it writes /proc/sys/vm/nr_hugepages)"
    return None


def check_limits(trace: Trace) -> None:
    """KernelUnavailable if ``trace`` goes past this machine's limits (reads /proc only)."""
    if not sysfs.NR_HUGEPAGES.exists():
        raise KernelUnavailable(_why_not_privileged())
    try:
        check_trace(trace, sysfs.hugepage_size())
    except (KernelLimitError, OSError) as e:
        raise KernelUnavailable(str(e)) from None


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

    def __init__(self, lock: PoolLock | None = None) -> None:
        self.pids: list[int] = []
        self.lock = lock or PoolLock()
        self._saved: tuple[int, int] | None = None
        self._handlers: dict[int, Any] = {}  # whatever signal.signal() handed back
        #: every signal received, in order (only the first one interrupts)
        self.signals: list[int] = []

    # -- entering --------------------------------------------------------------
    def __enter__(self) -> KernelSession:
        reason = _why_not_privileged()
        if reason:
            raise KernelUnavailable(reason)
        self._catch_signals()
        try:
            try:
                self.lock.acquire()
            except LockError as e:
                raise KernelUnavailable(str(e)) from None
            found = (sysfs.read_sysctl(sysfs.NR_HUGEPAGES), sys_overcommit())
            baseline = self._baseline(found)
            reason = why_unavailable()
            if reason:
                raise KernelUnavailable(reason)
            self._saved = baseline
            self.lock.write_journal(Journal(os.getpid(), baseline, found))
            _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphaned workers come back to us
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _baseline(self, found: tuple[int, int]) -> tuple[int, int]:
        """What to put back at the end: what we found, unless a killed run's journal says otherwise.

        A session killed (SIGKILL) before it could put the pool back left its
        journal: what it found comes first. The sysctls as they are now are
        its leftovers (or changed since); never a baseline. We say so.
        """
        stale = self.lock.stale
        if stale is None or found == stale.baseline:
            return found
        print(f"hugelab: a kernel replay (pid {stale.pid}) was killed before it put the pool back; "
              f"nr_hugepages and nr_overcommit_hugepages are {found[0]} and {found[1]} now, and will be put "
              f"back to {stale.baseline[0]} and {stale.baseline[1]} as that run found them", file=sys.stderr)
        return stale.baseline

    def _catch_signals(self) -> None:
        for signum in interrupts.CAUGHT:
            try:
                self._handlers[signum] = signal.signal(signum, self._on_signal)
            except ValueError:  # not the main thread: signals are the caller's to handle
                break
            except OSError:
                continue

    def _on_signal(self, signum: int, frame) -> None:
        self.signals.append(signum)
        interrupts.received.append(signum)
        # Only the first signal interrupts, and never the cleanup: a burst of
        # Ctrl-Cs must not cut the restore short.
        if len(self.signals) > 1 or _inside(frame, CLEANUP_CODES):
            return
        raise KernelInterrupted(signum)

    # -- leaving ------------------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> None:
        outcome = None
        problem = None
        try:
            try:
                self.end_processes()
            except Exception as e:  # the sysctls must still be put back
                problem = f"could not end every process: {e}"
            if self._saved is not None:
                outcome, failed = self._restore()
                problem = problem or failed
        finally:
            _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
            if problem is None and self._saved is not None:
                self.lock.clear_journal()
            self.lock.release()
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)
            self._handlers = {}
        if isinstance(exc, KernelInterrupted):
            exc.outcome = problem or outcome or "nothing had been changed"
            return None
        if problem and exc is None:
            raise KernelReplayError(problem)
        if self.signals and exc is None:  # a signal came while we were putting things back
            interrupted = KernelInterrupted(self.signals[0])
            interrupted.outcome = outcome or "nothing had been changed"
            raise interrupted
        if problem and exc is not None:
            print(f"hugelab: {problem}", file=sys.stderr)
        return None

    def _restore(self) -> tuple[str | None, str | None]:
        """Put the sysctls back, read them back; (what was done, what went wrong)."""
        assert self._saved is not None
        nr, overcommit = self._saved
        try:
            sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, overcommit)
            sysfs.write_sysctl(sysfs.NR_HUGEPAGES, nr)
        except OSError as e:
            return None, f"could not put the pool back (writing a sysctl: {e.strerror}); it may be left changed"
        now = (sysfs.read_sysctl(sysfs.NR_HUGEPAGES), sys_overcommit())
        counters = sysfs.read_counters()
        if now != (nr, overcommit) or counters != Counters(nr, nr, 0, 0):
            return None, (f"the pool was NOT put back: nr_hugepages/nr_overcommit_hugepages read {now[0]}/{now[1]} "
                          f"(expected {nr}/{overcommit}), Total/Free/Rsvd/Surp = {counters}")
        return (f"every process ended; nr_hugepages={nr} and nr_overcommit_hugepages={overcommit} "
                f"were put back and read back (Total/Free/Rsvd/Surp = {counters})"), None

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
                _wait_exit(pending[0], deadline)
        if pending:
            raise KernelReplayError(f"processes {pending} did not end within 10 s of SIGKILL")
        self.pids.clear()

    # -- the pool -------------------------------------------------------------------
    def set_pool(self, pages: int, overcommit: int, line: int | None = None) -> None:
        """Write both sysctls (journalled first); KernelReplayError if the kernel refuses."""
        assert self._saved is not None, "set_pool outside a session"
        self.lock.write_journal(Journal(os.getpid(), self._saved, (pages, overcommit)))
        where = f"line {line}: " if line else ""
        for path, value in ((sysfs.NR_OVERCOMMIT, overcommit), (sysfs.NR_HUGEPAGES, pages)):
            try:
                sysfs.write_sysctl(path, value)
            except OSError as e:
                raise KernelReplayError(f"{where}the kernel refused {path.name}={value}: {e.strerror}") from None

    def reset_pool(self) -> None:
        """An empty pool, as a trace expects at its start."""
        self.set_pool(0, 0)
        counters = wait_bare(lambda: sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0))
        if counters != Counters(0, 0, 0, 0):
            raise KernelReplayError(f"the pool did not empty (Total/Free/Rsvd/Surp = {counters}) "
                                    "after every process of the replay ended")


def _wait_exit(pid: int, deadline: float) -> None:
    """Until ``pid`` has ended (or a short while): woken by its pidfd, not by a fixed sleep.

    In a TCG guest a fixed 5 ms sleep after every trace's SIGKILLs was a good part of a short trace.
    """
    try:
        fd = os.pidfd_open(pid)
    except OSError:  # gone already
        return
    try:
        select.select([fd], [], [], max(0.0, min(0.05, deadline - time.monotonic())))
    finally:
        os.close(fd)


def wait_bare(between=None, seconds: float = 5) -> Counters:
    """The counters once the pool is bare (Rsvd, Surp 0, nothing in use), or after ``seconds``.

    A v2 replay's mounts and segments go with its namespaces, which the
    kernel tears down a moment after the last process: wait for it.
    ``between`` runs before each new look.
    """
    counters = sysfs.read_counters()
    deadline = time.monotonic() + seconds
    while (counters.rsvd or counters.surp or counters.total != counters.free) and time.monotonic() < deadline:
        time.sleep(0.01)
        if between is not None:
            between()
        counters = sysfs.read_counters()
    return counters


def sys_overcommit() -> int:
    return sysfs.read_sysctl(sysfs.NR_OVERCOMMIT)


def _inside(frame, codes: set) -> bool:
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


#: code of the functions that lead to or are the cleanup: a signal there only is recorded
CLEANUP_CODES = {KernelSession.__exit__.__code__}


class StatfsKeeper:
    """The statfs of a replay's size= mounts, re-read after a step only where it may have changed.

    A mount's statfs changes only when pages or reservations of its files
    come or go: through a line on one of its files, a line on a mapping of
    one, a process's exit, fork or death (every mapping it has), or the
    mount's own ``mount`` and ``umount``. After each step this notes those
    mounts (a superset: never one too few), so a step costs as many statfs
    calls as it touches mounts, not as many as exist;
    ``tests/test_statfs.py`` checks on random traces, against the model,
    that the notes never miss a change.
    """

    def __init__(self) -> None:
        #: True once a mount with size= was made: records carry statfs from then on
        self.sized_made = False
        #: the size= mounts made (whether still mounted or not)
        self.sized: set[str] = set()
        #: the mount of each file made on a size= mount, and of each mapping of such a file
        self.file_mount: dict[str, str] = {}
        self.mapping_mount: dict[str, str] = {}
        #: the mappings each process knows (its own and those it inherited)
        self.known: dict[str, set[str]] = {MAIN: set()}
        #: the last answer (shared by records until a mount changes), and what to re-read
        self.answer: dict[str, tuple[int, int]] = {}
        self.stale: set[str] = set()

    def after(self, op: Operation, error: str | None) -> None:
        """Note what step ``op`` (outcome ``error``) may have changed."""
        if isinstance(op, Mount):
            if error is None and op.size is not None:
                self.sized_made = True
                self.sized.add(op.mount)
            self.stale.add(op.mount)
        elif isinstance(op, Umount):
            self.stale.add(op.mount)
        elif isinstance(op, FileOp):
            if op.mount is not None and op.mount in self.sized:
                self.file_mount[op.file] = op.mount
        elif isinstance(op, CloseFile | Unlink | Truncate | Fallocate | Punch):
            self._touch(self.file_mount.get(op.file))
        elif isinstance(op, Fork):
            self.known[op.child] = set(self.known.get(op.proc, ()))
            self._touch_all(op.proc)
        elif isinstance(op, Exit):
            self._touch_all(op.proc)
        else:
            proc, name = getattr(op, "proc", None), getattr(op, "name", None)
            if isinstance(op, Mmap | Shmat) and proc is not None and name is not None:
                self.known.setdefault(proc, set()).add(name)
                mount = self.file_mount.get(op.file) if isinstance(op, Mmap) and op.file else None
                if mount is not None:
                    self.mapping_mount[name] = mount
            if name is not None:
                self._touch(self.mapping_mount.get(name))
            if error is not None and error.startswith("SIG") and proc is not None:  # it died: its mappings went
                self._touch_all(proc)
        self.stale &= self.sized

    def _touch(self, mount: str | None) -> None:
        if mount is not None:
            self.stale.add(mount)

    def _touch_all(self, proc: str) -> None:
        for name in self.known.get(proc, ()):
            self._touch(self.mapping_mount.get(name))

    def update(self, found: dict[str, tuple[int, int]]) -> None:
        """The fresh statfs of the stale mounts still mounted (absent: unmounted)."""
        answer = dict(self.answer)
        for name in sorted(self.stale):
            if name in found:
                answer[name] = found[name]
            else:
                answer.pop(name, None)
        self.answer = answer
        self.stale.clear()


class KernelMachine:
    """Replays one trace on the running kernel, inside a :class:`KernelSession`.

    ``label`` names the trace in messages (a file name, a seed); ``check``
    holds it to :func:`check_limits` first.
    """

    def __init__(self, session: KernelSession, trace: Trace, label: str = "the trace", check: bool = True) -> None:
        self.session = session
        self.label = label
        self.hpage = sysfs.hugepage_size()
        if check:  # this machine's limits, before anything is written (a throw-away guest has its own)
            check_limits(trace)
        self._commands: dict[str, int] = {}
        self._answers: dict[str, int] = {}
        self._pidfds: dict[str, int] = {}
        self._pids: dict[str, int] = {}
        self._fs: tuple[int, int] | None = None  # the trace's own worker (v2): command, answer
        self._statfs = StatfsKeeper()
        session.end_processes()
        session.reset_pool()
        names = [MAIN] + [op.child for op in trace if isinstance(op, Fork)]
        worker_ends: dict[str, tuple[int, int]] = {}
        try:
            for name in names:
                cmd_r, cmd_w = os.pipe()
                self._commands[name] = cmd_w
                worker_ends[name] = (cmd_r, -1)
                ans_r, ans_w = os.pipe()
                self._answers[name] = ans_r
                worker_ends[name] = (cmd_r, ans_w)
        except OSError as e:
            for fd in [fd for pair in worker_ends.values() for fd in pair if fd >= 0]:
                os.close(fd)
            self.close()
            raise KernelReplayError(f"cannot start {len(names)} processes: {e.strerror}") from None
        # One address range per mapping name, never reused, a guard page apart.
        self._address = mapping_addresses(trace, self.hpage)
        keep = {fd for pair in worker_ends.values() for fd in pair}
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
            start_fs_worker(cmd_r, ans_w, self.hpage, worker_ends, keep, self.session.lock.directory)
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
        """End every process; then the pool must be bare (KernelReplayError naming the trace if not)."""
        self.session.end_processes()
        fds = list(self._commands.values()) + list(self._answers.values()) + list(self._pidfds.values())
        if self._fs is not None:
            fds += [*self._fs, self._fs_pidfd]
            self._fs = None
        for fd in fds:
            os.close(fd)
        self._commands, self._answers, self._pidfds = {}, {}, {}
        counters = wait_bare()
        if counters.rsvd or counters.surp or counters.total != counters.free:
            raise KernelLeaked(
                f"after {self.label} every process ended but the pool is not bare (Total/Free/Rsvd/Surp = "
                f"{counters}): the kernel leaked; stop replaying on this machine and report {self.label}", counters)

    def counters(self) -> Counters:
        return sysfs.read_counters()

    def statfs(self) -> dict[str, tuple[int, int]] | None:
        """statfs (size, free) of the trace's mounts made with size=, as the model reports it; None before
        the first. Only the mounts the last step may have changed are asked (:class:`StatfsKeeper`)."""
        keeper = self._statfs
        if self._fs is None or not keeper.sized_made:
            return None
        if keeper.stale:
            found = json.loads(self._fs_call({"op": "statfs", "mounts": sorted(keeper.stale)}).split(" ", 1)[1])
            keeper.update({name: (size, free) for name, (size, free) in found.items()})
        return keeper.answer

    def apply(self, op: Operation) -> str | None:
        error = self._apply(op)
        self._statfs.after(op, error)
        return error

    def _apply(self, op: Operation) -> str | None:
        row = ROW_OF[type(op)]
        if row.kernel == "session":  # the pool: sysctls the session sets and puts back
            self.session.set_pool(op.pages, op.overcommit, op.line)  # type: ignore[union-attr]
            return None
        command = {"op": row.op, **{k: v for k, v in vars(op).items() if k not in ("line", "text")}}
        if row.kernel == "files":
            done = self._fs_call(command)
            return None if done == "ok" else done.split()[1]
        if isinstance(op, Mmap | Shmat):
            command["addr"] = self._address[op.name]
        if isinstance(op, Mmap) and op.file:
            command["path"] = self._fs_call({"op": "path", "file": op.file}).split(" ", 1)[1]
        if isinstance(op, Shmat):
            command["shmid"] = int(self._fs_call({"op": "shmid", "segment": op.segment}).split()[1])
        proc: str = op.proc  # type: ignore[union-attr]  # kernel="process": a process does it
        os.write(self._commands[proc], json.dumps(command).encode() + b"\n")
        answer, signum = self._wait(proc)
        if isinstance(op, Exit):
            return None
        if answer is None:
            return signal.Signals(signum).name if signum else "SIGKILL"
        if isinstance(op, Fork):
            if not answer.startswith("pid "):  # a trace cannot fail a fork: this machine ran out of something
                raise KernelReplayError(f"line {op.line}: fork failed on this machine: {answer.split()[-1]}")
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
                # An answer is one short write (atomic on a pipe) and the next command goes only after
                # it, so one read gets the whole line; a partial one is finished here.
                data = os.read(answers, 4096)
                while data and not data.endswith(b"\n"):
                    chunk = os.read(answers, 4096)
                    if not chunk:  # every writer is gone: the worker died mid-answer
                        break
                    data += chunk
                if data.endswith(b"\n"):
                    return data.decode().strip()
                poller.unregister(answers)
            if pidfd in ready:
                return None
