"""Another Linux kernel as a hugelab machine: a throw-away QEMU guest.

:class:`Guest` boots a kernel image (:mod:`hugelab.realkernel.images`) in QEMU
with TCG (one vCPU, 1 GiB, no disk, no network), on an initramfs that holds
this machine's python3 and hugelab (:mod:`hugelab.realkernel.initramfs`). Inside,
:mod:`hugelab.realkernel.guest_agent` replays each trace with the same code as
``--kernel`` on the host, so the records are the same kind. One boot serves
many traces; leaving the ``with`` block powers the guest off (and kills QEMU
if it does not stop), and nothing of the guest outlives it. A trace after
which the guest's pool is not bare once every process ended (a kernel that
leaks or wraps a reservation) spends the guest: its records come back with
:attr:`Guest.left`, and the next trace boots a fresh guest first.

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
import shutil
import signal
import subprocess
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
from . import initramfs
from .images import KernelImage
from .machine import KernelReplayError, KernelUnavailable

QEMU = "qemu-system-x86_64"
BOOT_TIMEOUT = 180.0
#: a guest step costs ~10 ms; a trace of the longest kind is well inside this
TRACE_TIMEOUT = 600.0
MEMORY_MIB = 1024
KERNEL_ARGS = "console=ttyS0 panic=-1 rdinit=/init quiet mitigations=off"


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
        self._qemu: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._buffer = b""
        self._old_sigterm: Any = None  # a signal handler, or SIG_DFL/SIG_IGN
        #: what the pool kept after the last trace, once every process ended (None: bare)
        self.left: Counters | None = None
        #: fresh boots after a trace spent the guest
        self.reboots = 0

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

    def _boot(self, tmp: Path) -> None:
        start = time.monotonic()
        try:
            initrd = initramfs.build(tmp / "initrd.cpio", self.extra)
        except initramfs.InitramfsError as e:
            raise KernelUnavailable(str(e)) from None
        self._console = tmp / "console.log"
        command = [QEMU, "-accel", "tcg", "-cpu", "qemu64", "-smp", "1", "-m", str(MEMORY_MIB),
                   "-display", "none", "-no-reboot", "-nodefaults",
                   "-chardev", "stdio,id=agent,signal=off",
                   "-serial", f"file:{self._console}", "-serial", "chardev:agent",
                   "-kernel", str(self.image.path), "-initrd", str(initrd), "-append", KERNEL_ARGS]
        self._qemu = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True)
        hello = self._receive(BOOT_TIMEOUT, "boot")
        self.release = records.text(hello, "hello", self.image.release, 200)
        self.upstream = upstream_version(records.text(hello, "version", self.image.release, 500, default=""))
        self.hpage = records.whole(hello, "hpage", self.image.release)
        self.guest_uptime = records.seconds(hello, "uptime", self.image.release)  # of boot_seconds, inside the guest
        self.boot_seconds = time.monotonic() - start

    def __exit__(self, *exc) -> None:
        try:
            self._power_off()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None
            if self._old_sigterm is not None:
                signal.signal(signal.SIGTERM, self._old_sigterm)
                self._old_sigterm = None

    def _reboot(self) -> None:
        """A fresh guest of the same kernel (the last trace left its pool in use for good)."""
        assert self._tmp is not None
        self._power_off()
        self._buffer = b""
        self._boot(Path(self._tmp.name))
        self.reboots += 1

    def _power_off(self) -> None:
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
                        stream.close()
                self._qemu = None

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

        :attr:`left` says afterwards what the pool kept once every process ended (None: bare).
        """
        if self.left is not None:
            self._reboot()
        self.left = None
        self._send({"trace": trace.text})
        answer = self._receive(TRACE_TIMEOUT, "replay")
        if "error" in answer:
            raise KernelReplayError(f"in the {self.release} guest: {records.error(answer, self.release)}")
        if "left" in answer:
            self.left = records.counters(answer, "left", self.release)
        return records.steps(answer, len(trace.ops), self.release)

    def run(self, argv: list[str], timeout: float = 120) -> tuple[int, str]:
        """Run a program of the initramfs (see ``extra``) with the pool idle; its status and output."""
        if self.left is not None:
            self._reboot()
            self.left = None
        self._send({"run": argv, "timeout": timeout})
        answer = self._receive(timeout + 30, "run")
        if "error" in answer:
            raise KernelReplayError(f"in the {self.release} guest: {records.error(answer, self.release)}")
        return records.whole(answer, "rc", self.release, signed=True), records.text(answer, "out", self.release)
