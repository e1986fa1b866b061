"""Another Linux kernel as a hugelab machine: a throw-away QEMU guest.

:class:`Guest` boots a kernel image (:mod:`hugelab.realkernel.images`) in QEMU
with TCG (one vCPU, 1 GiB, no disk, no network), on an initramfs that holds
this machine's python3 and hugelab (:mod:`hugelab.realkernel.initramfs`). Inside,
:mod:`hugelab.realkernel.guest_agent` replays each trace with the same code as
``--kernel`` on the host, so the records are the same kind. One boot serves
many traces; leaving the ``with`` block powers the guest off (and kills QEMU
if it does not stop), and nothing of the guest outlives it.

Why TCG: this machine's ``/dev/kvm`` is a paravirtualised KVM on which stock
kernels do not boot. ``-cpu qemu64`` is about twice as fast as ``-cpu max``
under TCG and gives the same counters.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..limits import GUEST_MAX_ANSWER_BYTES
from ..model.hstate import Counters
from ..replay import Step
from ..trace.language import Trace
from . import guest_records as records
from . import initramfs, snapshots
from .images import KernelImage
from .machine import KernelLeaked, KernelReplayError, KernelUnavailable

QEMU = "qemu-system-x86_64"
BOOT_TIMEOUT = 180.0
#: a guest step costs ~10 ms; a trace of the longest kind is well inside this
TRACE_TIMEOUT = 600.0
#: a restored guest answers within a second or two; past this the snapshot is given up
RESTORE_TIMEOUT = 60.0
SAVE_TIMEOUT = 120.0
MEMORY_MIB = 1024
#: no_timer_check: skip the early IO-APIC timer check, which needs timer interrupts on time: a cold
#: 6.12 boot once stopped at 0.044 s, where that check runs, with a kernel stack trace (TCG, load
#: average 12 on 2 cores); virtual machines commonly skip it
KERNEL_ARGS = "console=ttyS0 panic=-1 rdinit=/init quiet mitigations=off no_timer_check"


def upstream_version(uname_version: str) -> str:
    """``6.1.192`` for Debian's ``#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-01-20)``; '' if it does not say."""
    m = re.search(r"Debian (\d+\.\d+\.\d+)", uname_version)
    return m.group(1) if m else ""


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def why_no_guest() -> str | None:
    """None if a guest can boot here, else the reason in one line."""
    if not shutil.which(QEMU):
        return f"{QEMU} is missing (apt-get install qemu-system-x86 busybox-static)"
    if not shutil.which("busybox"):
        return "static busybox is missing (apt-get install busybox-static)"
    return None


class Guest:
    """A booted guest kernel, replaying traces on request (a context manager)."""

    def __init__(self, image: KernelImage, extra: dict[str, Path] | None = None) -> None:
        self.image = image
        self.extra = dict(extra or {})
        self.release = ""  # what the guest's uname says, once booted
        self.upstream = ""  # the upstream release behind it, when uname -v says (Debian's ABI names hide it)
        self.boot_seconds = 0.0
        self.restored = False  # started from a snapshot (see hugelab.realkernel.snapshots), not booted
        self._spent = False  # the pool leaked: the next request needs another guest
        self._qemu: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._buffer = b""
        self._old_sigterm: Any = None  # a signal handler, or SIG_DFL/SIG_IGN

    def __enter__(self) -> Guest:
        reason = why_no_guest()
        if reason:
            raise KernelUnavailable(reason)
        self._tmp = tempfile.TemporaryDirectory(prefix="hugelab-guest-")
        if threading.current_thread() is threading.main_thread():
            # SIGTERM unwinds like Ctrl-C, so that __exit__ stops QEMU (it runs in its own session)
            self._old_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._boot(Path(self._tmp.name))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _machine(self) -> list[str]:
        """QEMU's command line, less the files of this one run (the snapshot's key is made of it)."""
        return [QEMU, "-accel", "tcg", "-cpu", "qemu64", "-smp", "1", "-m", str(MEMORY_MIB),
                "-display", "none", "-no-reboot", "-nodefaults", "-chardev", "stdio,id=agent,signal=off",
                "-kernel", str(self.image.path), "-append", KERNEL_ARGS]

    def _start(self, initrd: Path, more: list[str]) -> None:
        self._buffer = b""
        self._qemu = subprocess.Popen(self._machine() + ["-initrd", str(initrd), "-serial", f"file:{self._console}",
                                                         "-serial", "chardev:agent", *more],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      start_new_session=True)

    def _boot(self, tmp: Path) -> None:
        """Restore the saved guest if there is one for this kernel and code, else boot and save it."""
        start = time.monotonic()
        self._console = tmp / "console.log"
        name = snapshots.key(self.image, self._machine()) if snapshots.enabled() and not self.extra else None
        if name:
            state, cpio = snapshots.paths(name)
            if state.is_file() and cpio.is_file():
                qmp = tmp / "qmp-restore"
                try:
                    self._start(cpio, ["-incoming", f"exec:cat {shlex.quote(str(state))}",
                                       "-qmp", f"unix:{qmp},server=on,wait=off"])
                    self._wait_running(qmp)  # bytes sent while QEMU still loads the machine are lost
                    self._send({"hello": True})
                    self._hello(self._receive(RESTORE_TIMEOUT, "restore"), start)
                    self.restored = True
                    snapshots.used(name)
                    return
                except (OSError, ValueError, KernelReplayError) as e:  # a snapshot that does not come back goes
                    print(f"hugelab: the saved {self.image.release} guest did not come back ({e}); booting it",
                          file=sys.stderr)
                    self._kill()
                    snapshots.forget(name)
        try:
            initrd = initramfs.build(tmp / "initrd.cpio", self.extra)
        except initramfs.InitramfsError as e:
            raise KernelUnavailable(str(e)) from None
        qmp = tmp / "qmp"
        self._start(initrd, ["-qmp", f"unix:{qmp},server=on,wait=off"] if name else [])
        self._hello(self._receive(BOOT_TIMEOUT, "boot"), start)
        if name:
            try:
                self._save(name, qmp, initrd)
            except (OSError, ValueError, KernelReplayError) as e:  # the guest serves anyway, unsaved
                print(f"hugelab: the {self.image.release} guest could not be saved for next time: {e}",
                      file=sys.stderr)
                if self._qemu is None or self._qemu.poll() is not None:
                    raise KernelReplayError(f"the {self.image.release} guest stopped while being saved") from None
            self.boot_seconds = time.monotonic() - start

    def _wait_running(self, qmp: Path) -> None:
        """Until QEMU has loaded the saved machine and runs it."""
        deadline = time.monotonic() + RESTORE_TIMEOUT
        monitor = Monitor(qmp, RESTORE_TIMEOUT)
        try:
            while (status := monitor.call("query-status").get("status")) != "running":
                if status not in ("inmigrate", "prelaunch") or time.monotonic() > deadline:
                    raise KernelReplayError(f"QEMU is {status} instead of running the saved guest")
                time.sleep(0.01)
        finally:
            monitor.close()

    def _save(self, name: str, qmp: Path, initrd: Path) -> None:
        """Save the running guest as snapshot ``name`` (QEMU migrates it into a file), then go on with it."""
        state, cpio = snapshots.paths(name)
        state.parent.mkdir(parents=True, exist_ok=True)
        part = state.with_name(f"{state.name}.{os.getpid()}.{threading.get_ident()}.part")
        monitor = Monitor(qmp)
        try:
            monitor.call("migrate-set-parameters", {"max-bandwidth": 1 << 40})  # not QEMU's 32 MiB/s default
            monitor.call("migrate", {"uri": f"exec:cat > {shlex.quote(str(part))}"})
            deadline = time.monotonic() + SAVE_TIMEOUT
            status = ""
            while status != "completed":
                status = monitor.call("query-migrate").get("status", "")
                if status in ("failed", "cancelled") or time.monotonic() > deadline:
                    raise KernelReplayError(f"saving it {status or 'took too long'}")
                time.sleep(0.02)
            monitor.call("cont")  # the saved guest goes on serving this command
        finally:
            monitor.close()
        self._send({"hello": True})
        self._receive(RESTORE_TIMEOUT, "after saving")
        shutil.copyfile(initrd, part.with_suffix(".cpio"))
        part.with_suffix(".cpio").replace(cpio)
        part.replace(state)
        snapshots.prune()

    def _hello(self, hello: dict, start: float) -> None:
        self.release = records.text(hello, "hello", self.image.release, 200)
        self.upstream = upstream_version(records.text(hello, "version", self.image.release, 500, default=""))
        self.hpage = records.whole(hello, "hpage", self.image.release)
        self.guest_uptime = records.seconds(hello, "uptime", self.image.release)  # of boot_seconds, inside the guest
        self.boot_seconds = time.monotonic() - start

    def _kill(self) -> None:
        """End QEMU at once (a restore that failed)."""
        qemu, self._qemu = self._qemu, None
        if qemu is not None:
            if qemu.poll() is None:
                os.killpg(qemu.pid, 9)
            qemu.wait()
            for stream in (qemu.stdin, qemu.stdout, qemu.stderr):
                if stream:
                    with contextlib.suppress(OSError):  # a request still buffered for a QEMU that is gone
                        stream.close()

    def __exit__(self, *exc) -> None:
        qemu = self._qemu
        if qemu is not None:
            try:
                if qemu.poll() is None:
                    try:
                        self._send({"quit": True})
                        self._receive(10, "power-off", qemu)
                    except (KernelReplayError, OSError):
                        pass
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        qemu.wait(10)
            finally:
                if qemu.poll() is None:
                    os.killpg(qemu.pid, 9)  # its own session: QEMU and nothing else
                    qemu.wait()
                for stream in (qemu.stdin, qemu.stdout, qemu.stderr):
                    if stream:
                        with contextlib.suppress(OSError):  # a request still buffered for a QEMU that is gone
                            stream.close()
                self._qemu = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None

    # -- the serial line ----------------------------------------------------
    def _send(self, message: dict) -> None:
        if self._qemu is None or self._qemu.stdin is None:
            raise KernelReplayError("the guest is not running")
        self._qemu.stdin.write(json.dumps(message).encode() + b"\n")
        self._qemu.stdin.flush()

    def _receive(self, timeout: float, what: str, qemu: subprocess.Popen | None = None) -> dict:
        """The guest's next answer: one JSON object on one line, at most GUEST_MAX_ANSWER_BYTES.

        The guest is a machine hugelab does not control: a line that never ends is cut off at the
        limit (never buffered without bound), and only a JSON object counts as an answer.
        """
        qemu = qemu or self._qemu
        assert qemu is not None and qemu.stdout is not None
        deadline = time.monotonic() + timeout
        fd = qemu.stdout.fileno()
        parts, size = [self._buffer], len(self._buffer)
        end = self._buffer.find(b"\n")
        while end < 0:  # each chunk is searched once: a long answer costs its length, not its square
            if size > GUEST_MAX_ANSWER_BYTES:
                raise KernelReplayError(f"the {self.image.release} guest sent more than {GUEST_MAX_ANSWER_BYTES:,} "
                                        f"bytes without ending its answer ({what})")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KernelReplayError(f"the {self.image.release} guest gave no answer within "
                                        f"{timeout:.0f} s ({what}){self._last_console_line()}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise KernelReplayError(f"the {self.image.release} guest stopped ({what})"
                                            f"{self._last_console_line()}")
                at = chunk.find(b"\n")
                if at >= 0:
                    end = size + at
                parts.append(chunk)
                size += len(chunk)
        data = b"".join(parts)
        line, self._buffer = data[:end], data[end + 1:]
        if len(line) > GUEST_MAX_ANSWER_BYTES:
            raise KernelReplayError(f"the {self.image.release} guest sent an answer of {len(line):,} bytes, more "
                                    f"than {GUEST_MAX_ANSWER_BYTES:,} ({what})")
        try:
            answer = json.loads(line)
        except (ValueError, RecursionError):
            answer = None
        if not isinstance(answer, dict):
            raise KernelReplayError(f"the {self.image.release} guest said {line[:80]!r} ({what})")
        return answer

    def _last_console_line(self) -> str:
        try:
            lines = [x for x in self._console.read_text(errors="replace").replace("\r", "").splitlines() if x.strip()]
        except OSError:
            lines = []
        if self._qemu is not None and self._qemu.poll() is not None and self._qemu.stderr is not None:
            lines += self._qemu.stderr.read().decode(errors="replace").splitlines()
        return f": {lines[-1].strip()}" if lines else ""

    # -- requests -----------------------------------------------------------
    def replay(self, trace: Trace) -> list[Step]:
        """Replay ``trace`` in the guest (the pool starts empty); one step per operation.

        A trace after which the pool is not bare raises :class:`KernelLeaked` with the records;
        the guest is spent then, and the next request starts another (a second or two from its
        snapshot), so that a command can go on after a leak.
        """
        self._fresh()
        self._send({"trace": trace.text})
        answer = self._receive(TRACE_TIMEOUT, "replay")
        if "error" in answer:
            raise KernelReplayError(f"in the {self.release} guest: {records.error(answer, self.release)}")
        steps = records.steps(answer, len(trace.ops), self.release)
        if "leak" in answer:
            self._spent = True
            counters = answer.get("leaked")
            if not isinstance(counters, dict) or set(counters) != set(records.COUNTERS):
                raise KernelReplayError(f"the {self.release} guest said the pool leaked without saying how")
            leak = KernelLeaked(f"in the {self.release} guest: {records.text(answer, 'leak', self.release, 500)}",
                                Counters(*(records.whole(counters, c, self.release) for c in records.COUNTERS)))
            leak.steps = steps
            raise leak
        return steps

    def leaking_step(self, trace: Trace) -> int | None:
        """In a fresh guest, the first N whose first N lines of ``trace`` leak on their own (None: none do)."""
        self._spent = True  # a fresh one for this, and spent after it
        self._fresh()
        self._send({"leaking_step": trace.text})
        answer = self._receive(TRACE_TIMEOUT, "finding the step that leaks")
        self._spent = True
        if "error" in answer:
            raise KernelReplayError(f"in the {self.release} guest: {records.error(answer, self.release)}")
        step = answer.get("step")
        if step is not None and not (isinstance(step, int) and 1 <= step <= len(trace.ops)):
            raise KernelReplayError(f"the {self.release} guest named step {step!r} of {len(trace.ops)}")
        return step

    def _fresh(self) -> None:
        """A guest that leaked is spent: power it off and start another in its place."""
        if not self._spent:
            return
        self._spent = False
        old_sigterm, self._old_sigterm = self._old_sigterm, None
        self.__exit__(None, None, None)
        self._old_sigterm = old_sigterm
        self._tmp = tempfile.TemporaryDirectory(prefix="hugelab-guest-")
        try:
            self._boot(Path(self._tmp.name))
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def run(self, argv: list[str], timeout: float = 120) -> tuple[int, str]:
        """Run a program of the initramfs (see ``extra``) with the pool idle; its status and output."""
        self._send({"run": argv, "timeout": timeout})
        answer = self._receive(timeout + 30, "run")
        if "error" in answer:
            raise KernelReplayError(f"in the {self.release} guest: {records.error(answer, self.release)}")
        return records.whole(answer, "rc", self.release, signed=True), records.text(answer, "out", self.release)


class Monitor:
    """QEMU's machine protocol (QMP) on a unix socket: just what saving a guest needs."""

    def __init__(self, path: Path, wait: float = 30) -> None:
        """Connect, waiting up to ``wait`` s for QEMU to make and listen on its socket (it starts as we ask)."""
        deadline = time.monotonic() + wait
        while True:
            self._socket = socket.socket(socket.AF_UNIX)
            self._socket.settimeout(30)
            try:
                self._socket.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):  # not made yet, or made and not yet listening
                self._socket.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self._file = self._socket.makefile("rw")
        self._line()  # QEMU's greeting
        self.call("qmp_capabilities")

    def _line(self) -> dict:
        line = self._file.readline()
        if not line:
            raise KernelReplayError("QEMU closed its monitor")
        return json.loads(line)

    def call(self, command: str, arguments: dict | None = None) -> dict:
        self._file.write(json.dumps({"execute": command, **({"arguments": arguments} if arguments else {})}) + "\n")
        self._file.flush()
        while True:
            answer = self._line()  # events (STOP, RESUME...) come between
            if "error" in answer:
                raise KernelReplayError(f"QEMU refused {command}: {answer['error'].get('desc', answer['error'])}")
            if "return" in answer:
                return answer["return"] if isinstance(answer["return"], dict) else {}

    def close(self) -> None:
        self._file.close()
        self._socket.close()
