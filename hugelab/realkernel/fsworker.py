"""The trace's own process on the real kernel: mounts, files, memfds and segments (trace v2).

File and segment operations are done "by the trace itself", not by a trace
process, so a separate worker does them and holds what the trace holds
(open descriptors). It first enters private mount and IPC namespaces
(``unshare(CLONE_NEWNS | CLONE_NEWIPC)``) and mounts a private tmpfs to
make its hugetlbfs mounts in; the trace's processes are started *from it*
(``spawn``), so they share those namespaces. When the last of these
processes goes (a normal end, an error, or a SIGKILLed controller: their
command pipes then read end-of-file), the kernel itself unmounts
everything and destroys every segment: nothing is left mounted on the host
and ``ipcs -m`` shows nothing.

Commands are JSON lines as for :mod:`hugelab.realkernel.worker`; answers are
``ok``, ``err ENAME``, ``pid N``, ``path P``, ``id N`` or ``statfs {json}``.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from .worker import start_worker

CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
MFD_HUGETLB = 0x0004
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 0x01, 0x02
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
SHM_HUGETLB, SHM_NORESERVE = 0o4000, 0o10000
DEFAULT_MOUNT = ".trace"  # the mount made for 'file F' without 'on M'

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
_libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
_libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


class CallFailed(Exception):
    """A call failed with errno; ``str()`` is the errno's name."""


def _check(result: int) -> int:
    if result < 0:
        raise CallFailed(errno.errorcode.get(ctypes.get_errno(), "EIO"))
    return result


def enter_private_namespaces(root: Path) -> None:
    """unshare mount + IPC namespaces, keep mounts from propagating, mount our tmpfs on ``root``.

    ``root`` is the session lock's directory: root's alone (mode 0700, so nobody can plant a link
    there), there for as long as the session holds the lock, and covered by the tmpfs only in our
    private namespace. Nothing is made on the host, so nothing is left behind, even by a run
    killed with SIGKILL (a directory made in /tmp was: issue 22).
    """
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC))
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None))
    _check(_libc.mount(b"hugelab", str(root).encode(), b"tmpfs", 0, b"mode=0700"))


class FsWorker:
    def __init__(self, commands: int, answers: int, hpage: int, workers: dict, keep: set[int], root: Path) -> None:
        self.root = root  # our private tmpfs: the mounts' directories go in it
        self.commands = open(commands, "rb", closefd=False)  # noqa: SIM115  (buffered: see Worker._become)
        self.answers = answers
        self.hpage = hpage
        self.workers, self.keep = workers, keep  # for 'spawn': the trace processes' pipe ends
        self.mounts: dict[str, Path] = {}
        self.sized: set[str] = set()  # mounts made with size=, while mounted
        self.files: dict[str, dict] = {}  # name -> {"path": Path | None, "fd": int | None}
        self.segments: dict[str, int] = {}

    def run(self) -> NoReturn:
        while True:
            line = self.commands.readline()
            if not line.endswith(b"\n"):  # the controller is gone: so are we (and, with us, the namespaces)
                os._exit(0)
            cmd = json.loads(line)
            try:
                answer = self.execute(cmd)
            except CallFailed as failed:
                answer = f"err {failed}"
            except OSError as failed:
                answer = "err " + errno.errorcode.get(failed.errno or 0, "EIO")
            except Exception as bug:  # say it, rather than die without a word
                answer = f"bug {type(bug).__name__}: {bug}"
            os.write(self.answers, answer.encode() + b"\n")

    def _fd(self, name: str) -> tuple[int, bool]:
        """A descriptor for file ``name``: the trace's own, or one opened by name (to close)."""
        info = self.files[name]
        if info["fd"] is not None:
            return info["fd"], False
        return os.open(info["path"], os.O_RDWR), True

    def _mount(self, name: str, options: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        _check(_libc.mount(b"none", str(path).encode(), b"hugetlbfs", 0, options.encode() or None))
        self.mounts[name] = path
        return path

    def execute(self, cmd: dict) -> str:
        handler = COMMANDS.get(cmd["op"])
        return "err EINVAL" if handler is None else handler(self, cmd)

    # -- the harness's own commands
    def spawn(self, cmd: dict) -> str:
        """Start a trace process inside our namespaces."""
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the trace process
            start_worker(cmd["name"], self.workers, self.keep, self.hpage)
        for fd in self.keep:  # the trace processes hold their own ends now
            os.close(fd)
        self.keep = set()
        return f"pid {pid}"

    def statfs(self, cmd: dict) -> str:
        """Of the named size= mounts still mounted (asked: those a step may have changed)."""
        found = {}
        for name in sorted(self.sized.intersection(cmd["mounts"])):
            st = os.statvfs(self.mounts[name])
            found[name] = [st.f_blocks, st.f_bfree]
        return "statfs " + json.dumps(found)

    def path(self, cmd: dict) -> str:
        """How a trace process opens the file for an mmap."""
        info = self.files[cmd["file"]]
        fd = info["fd"]
        return "path " + (f"/proc/{os.getpid()}/fd/{fd}" if fd is not None else str(info["path"]))

    def shmid(self, cmd: dict) -> str:
        return f"id {self.segments[cmd['segment']]}"

    # -- the trace's operations
    def mount(self, cmd: dict) -> str:
        options = ",".join(f"{key}={cmd[key] * self.hpage}" for key in ("size", "min_size") if cmd[key] is not None)
        self._mount(cmd["mount"], options)
        if cmd["size"] is not None:
            self.sized.add(cmd["mount"])
        return "ok"

    def umount(self, cmd: dict) -> str:
        _check(_libc.umount2(str(self.mounts[cmd["mount"]]).encode(), 0))
        self.sized.discard(cmd["mount"])
        return "ok"

    def file(self, cmd: dict) -> str:
        mount = cmd["mount"]
        if mount is None:
            mount = DEFAULT_MOUNT
            if mount not in self.mounts:
                self._mount(mount, "")
        path = self.mounts[mount] / cmd["file"]
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        self.files[cmd["file"]] = {"path": path, "fd": fd}
        return "ok"

    def memfd(self, cmd: dict) -> str:
        self.files[cmd["file"]] = {"path": None, "fd": os.memfd_create(cmd["file"], MFD_HUGETLB)}
        return "ok"

    def close(self, cmd: dict) -> str:
        info = self.files[cmd["file"]]
        if info["fd"] is None:
            return "err EBADF"
        os.close(info["fd"])
        info["fd"] = None
        return "ok"

    def unlink(self, cmd: dict) -> str:
        info = self.files[cmd["file"]]
        if info["path"] is None:
            return "err ENOENT"  # unlinked already
        os.unlink(info["path"])
        info["path"] = None
        return "ok"

    def truncate(self, cmd: dict) -> str:
        return self._on_file(cmd, lambda fd: os.ftruncate(fd, cmd["pages"] * self.hpage))

    def fallocate(self, cmd: dict) -> str:
        return self._on_file(cmd, lambda fd: _check(_libc.fallocate(
            fd, 0, cmd["start"] * self.hpage, cmd["count"] * self.hpage)))

    def punch(self, cmd: dict) -> str:
        return self._on_file(cmd, lambda fd: _check(_libc.fallocate(
            fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, cmd["start"] * self.hpage, cmd["count"] * self.hpage)))

    def _on_file(self, cmd: dict, call: Callable[[int], object]) -> str:
        fd, opened = self._fd(cmd["file"])
        try:
            call(fd)
        finally:
            if opened:
                os.close(fd)
        return "ok"

    def shmget(self, cmd: dict) -> str:
        flags = IPC_CREAT | SHM_HUGETLB | 0o600 | (SHM_NORESERVE if cmd["noreserve"] else 0)
        self.segments[cmd["segment"]] = _check(_libc.shmget(IPC_PRIVATE, cmd["pages"] * self.hpage, flags))
        return "ok"

    def shmrm(self, cmd: dict) -> str:
        _check(_libc.shmctl(self.segments[cmd["segment"]], IPC_RMID, None))
        return "ok"


#: what the files worker does for each command: the trace operations whose row says
#: ``kernel="files"`` (``tests/test_operations.py`` checks every one is here), and the harness's own
COMMANDS: dict[str, Callable[[FsWorker, dict], str]] = {
    "spawn": FsWorker.spawn, "statfs": FsWorker.statfs, "path": FsWorker.path, "shmid": FsWorker.shmid,
    "mount": FsWorker.mount, "umount": FsWorker.umount, "file": FsWorker.file, "memfd": FsWorker.memfd,
    "close": FsWorker.close, "unlink": FsWorker.unlink, "truncate": FsWorker.truncate,
    "fallocate": FsWorker.fallocate, "punch": FsWorker.punch, "shmget": FsWorker.shmget, "shmrm": FsWorker.shmrm,
}

def start_fs_worker(commands: int, answers: int, hpage: int, workers: dict, keep: set[int], root: Path) -> None:
    """Body of the freshly forked trace worker: namespaces first, then serve forever."""
    try:
        import faulthandler
        import resource
        import signal

        low = 3
        for fd in sorted(keep | {commands, answers}) + [resource.getrlimit(resource.RLIMIT_NOFILE)[0]]:
            os.closerange(low, fd)
            low = fd + 1
        faulthandler.disable()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        enter_private_namespaces(root)
        FsWorker(commands, answers, hpage, workers, keep, root).run()
    finally:
        os._exit(0)
