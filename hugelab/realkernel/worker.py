"""A trace process on the real kernel: a forked child that makes the syscalls.

The controller sends one JSON command a line on the worker's command pipe;
the worker makes the call and answers on its own answer pipe with ``ok``,
``err ENAME`` or ``pid N`` (after a fork). A fault that kills it (SIGBUS,
SIGSEGV) simply kills it: the controller sees the death, not an answer.

Mappings are ``mmap(NULL, pages * HPAGE, PROT_READ|PROT_WRITE,
MAP_ANONYMOUS|MAP_HUGETLB|MAP_PRIVATE or MAP_SHARED [|MAP_NORESERVE])``,
or (v2) the same of a file the trace's own worker holds (``path``) at its
offset, or ``shmat`` of a segment;
each at an address of its own (see ``KernelMachine``); a touch is a one-byte
write (``memset``) or read (``string_at``) at the start of the huge page.
"""

from __future__ import annotations

import ctypes
import errno
import faulthandler
import json
import os
import resource
import signal
from collections.abc import Callable
from typing import NoReturn

PROT = {"none": 0, "r": 1, "rw": 3}
MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS = 0x01, 0x02, 0x20
MAP_NORESERVE, MAP_HUGETLB, MAP_FIXED_NOREPLACE = 0x4000, 0x40000, 0x100000
MADV_DONTNEED, MADV_REMOVE = 4, 9
PR_SET_DUMPABLE = 4

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
for _call in (_libc.munmap, _libc.mprotect, _libc.madvise):
    _call.restype = ctypes.c_int
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
MAP_FAILED = ctypes.c_void_p(-1).value


def _errno_name() -> str:
    return errno.errorcode.get(ctypes.get_errno(), "EIO")


class Worker:
    """The loop a worker process runs until it exits or is killed."""

    def __init__(self, name: str, pipes: dict[str, tuple[int, int]], hpage: int) -> None:
        self.pipes = pipes  # process name -> (command read end, answer write end)
        self.hpage = hpage
        self.base: dict[str, int] = {}  # mapping name -> address of page 0
        self._become(name)

    def _become(self, name: str) -> None:
        self.name = name
        # read for the worker's whole life; the pipe's descriptor is closed by its owner. Buffered:
        # one read a command, not one a byte (in a TCG guest a system call costs tens of us), and
        # nothing is read ahead, since the controller sends a command only after the last one's answer.
        self.commands = open(self.pipes[name][0], "rb", closefd=False)  # noqa: SIM115
        self.answers = self.pipes[name][1]

    def run(self) -> NoReturn:
        while True:
            line = self.commands.readline()
            if not line.endswith(b"\n"):  # the controller is gone: so are we
                os._exit(0)
            answer = self.execute(json.loads(line))
            os.write(self.answers, answer.encode() + b"\n")

    def _range(self, cmd: dict) -> tuple[int, int]:
        return self.base[cmd["name"]] + cmd["start"] * self.hpage, cmd["count"] * self.hpage

    def execute(self, cmd: dict) -> str:
        handler = COMMANDS.get(cmd["op"])
        return "err EINVAL" if handler is None else handler(self, cmd)

    def mmap(self, cmd: dict) -> str:
        flags = MAP_SHARED if cmd["shared"] else MAP_PRIVATE
        if cmd["noreserve"]:
            flags |= MAP_NORESERVE
        fd = -1
        if cmd.get("path"):  # v2: a file, opened for the mmap and closed right after
            try:
                fd = os.open(cmd["path"], os.O_RDWR)
            except OSError as e:
                return "err " + errno.errorcode.get(e.errno or 0, "EIO")
        else:
            flags |= MAP_ANONYMOUS | MAP_HUGETLB
        # Each mapping gets addresses no other mapping of the trace ever
        # uses, so a page unmapped stays unmapped (touching it is SIGSEGV,
        # as the trace means) instead of landing in a later mapping.
        addr = _libc.mmap(cmd["addr"], cmd["pages"] * self.hpage, PROT["rw"],
                          flags | MAP_FIXED_NOREPLACE, fd, cmd.get("offset", 0) * self.hpage)
        failed = "err " + _errno_name() if addr in (None, MAP_FAILED) else None
        if fd >= 0:
            os.close(fd)
        if failed:
            return failed
        self.base[cmd["name"]] = addr
        return "ok"

    def shmat(self, cmd: dict) -> str:
        addr = _libc.shmat(cmd["shmid"], cmd["addr"], 0)
        if addr in (None, MAP_FAILED):
            return "err " + _errno_name()
        self.base[cmd["name"]] = addr
        return "ok"

    def touch(self, cmd: dict) -> str:
        addr = self.base[cmd["name"]] + cmd["page"] * self.hpage
        if cmd["write"]:
            ctypes.memset(addr, 1, 1)
        else:
            ctypes.string_at(addr, 1)
        return "ok"

    def munmap(self, cmd: dict) -> str:
        return _result(_libc.munmap(*self._range(cmd)))

    def mprotect(self, cmd: dict) -> str:
        return _result(_libc.mprotect(*self._range(cmd), PROT[cmd["prot"]]))

    def madvise(self, cmd: dict) -> str:
        return _result(_libc.madvise(*self._range(cmd), MADV_REMOVE if cmd["advice"] == "remove" else MADV_DONTNEED))

    def fork(self, cmd: dict) -> str:
        try:
            pid = os.fork()
        except OSError as e:
            return "err " + errno.errorcode.get(e.errno or 0, "EIO")
        if pid == 0:
            self._become(cmd["child"])
            self.run()  # the child serves its own commands until it exits
        return f"pid {pid}"

    def exit(self, cmd: dict) -> NoReturn:
        os._exit(0)


def _result(status: int) -> str:
    return "ok" if status == 0 else "err " + _errno_name()


#: what a trace process's worker does for each command: the trace operations whose row says
#: ``kernel="process"`` (``tests/test_operations.py`` checks every one is here)
COMMANDS: dict[str, Callable[[Worker, dict], str]] = {
    "mmap": Worker.mmap, "shmat": Worker.shmat, "touch": Worker.touch, "munmap": Worker.munmap,
    "mprotect": Worker.mprotect, "madvise": Worker.madvise, "fork": Worker.fork, "exit": Worker.exit,
}

def start_worker(name: str, pipes: dict[str, tuple[int, int]], keep: set[int], hpage: int) -> None:
    """Body of a freshly forked worker: tidy the process, then serve forever."""
    try:
        # Keep only the worker-side pipe ends: then, if the controller dies,
        # every command pipe reads end-of-file and the workers go too.
        low = 3
        for fd in sorted(keep) + [resource.getrlimit(resource.RLIMIT_NOFILE)[0]]:
            os.closerange(low, fd)
            low = fd + 1
        faulthandler.disable()  # a SIGBUS must kill silently, as it would a C program
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller cleans up on Ctrl-C
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no core dump of huge pages
        Worker(name, pipes, hpage).run()
    finally:
        os._exit(0)
