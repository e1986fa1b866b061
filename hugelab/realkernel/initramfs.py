"""The root file system of a QEMU guest: an initramfs (a newc cpio archive) made on the fly.

It carries everything the guest runs, so the guest kernel needs no disk, no
modules and no 9p: static busybox (for ``/init``'s mounts and the power-off),
this machine's ``python3`` with the shared libraries ``ldd`` lists, the part
of the standard library that the guest agent imports (found by importing it
here and listing ``sys.modules``), and hugelab's own modules. Files keep
their host paths, so the interpreter finds its standard library exactly as
on the host, and their modification times, so the cached ``.pyc`` files stay
valid.

The archive format is the kernel's ``newc`` (Documentation/driver-api/
early-userspace/buffer-format.rst): a 110-byte ASCII header per entry, name
and data each padded to 4 bytes, ending with ``TRAILER!!!``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from .images import ImageUnavailable, cache_folder, own_file

BUSYBOX_APPLETS = ("sh", "mount", "mkdir", "poweroff", "cat")
#: where hugelab's package goes inside the guest (put first on sys.path by /init)
GUEST_ROOT = "/hugelab"
AGENT = "hugelab.realkernel.guest_agent"

INIT = """#!/bin/sh
# hugelab guest: mount what the replayer reads, run the agent on the second
# serial port (ttyS1), then power off whatever happened.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /run/lock
{python} -E -S -c "import sys; sys.path.insert(0, '{root}'); from {agent} import main; main('/dev/ttyS1')" 2>/dev/ttyS0
poweroff -f
"""


class InitramfsError(RuntimeError):
    """The guest's root file system cannot be made here (one line says why)."""


class Archive:
    """A newc cpio archive written entry by entry."""

    def __init__(self, out) -> None:
        self.out = out
        self.ino = 1
        self.names: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", mtime: int = 0) -> None:
        name = name.lstrip("/")
        if name in self.names:
            return
        self.names.add(name)
        encoded = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, mtime, len(data), 0, 0, 0, 0, len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.ino += 1
        self.out.write(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self.out.write(data + b"\0" * (-len(data) % 4))

    def directory(self, path: str) -> None:
        parts = [p for p in path.strip("/").split("/") if p]
        for i in range(1, len(parts) + 1):
            self._entry("/".join(parts[:i]), stat.S_IFDIR | 0o755)

    def file(self, path: str, data: bytes, mode: int = 0o644, mtime: int = 0) -> None:
        self.directory(os.path.dirname(path))
        self._entry(path, stat.S_IFREG | mode, data, mtime)

    def copy(self, path: str, source: str | Path | None = None, mode: int | None = None) -> None:
        """The host file ``source`` (default: ``path`` itself) at ``path``, symlinks followed; with
        ``source``'s permission bits unless ``mode`` says otherwise."""
        real = Path(source or path).resolve()
        info = real.stat()
        self.file(path, real.read_bytes(), stat.S_IMODE(info.st_mode) if mode is None else mode, int(info.st_mtime))

    def symlink(self, path: str, target: str) -> None:
        self.directory(os.path.dirname(path))
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def close(self) -> None:
        self._entry("TRAILER!!!", 0)


def shared_libraries(binary: str) -> list[str]:
    """The libraries (loader included) ``ldd`` says ``binary`` loads, by the paths it names."""
    result = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False)
    found = []
    for line in result.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            found.append(m.group(1))
    return found


def agent_modules() -> list[str]:
    """Source files of every module the guest agent imports (stdlib and hugelab), from a clean run."""
    root = str(Path(__file__).resolve().parents[2])
    code = (f"import sys, json; sys.path.insert(0, {root!r}); import {AGENT} as a; a.preload(); "
            "files = {getattr(m, '__file__', None) or '' for m in list(sys.modules.values())}; "
            "print(json.dumps(sorted(files - {''})))")
    result = subprocess.run([sys.executable, "-E", "-S", "-c", code], capture_output=True, text=True, check=False)
    if result.returncode:
        raise InitramfsError(f"cannot list the guest agent's modules: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout)


def _lean(path: str) -> Path:
    """``path`` without its debug sections when it is big and ``strip`` is here (libpython: 23 -> 6.5 MB).

    The guest reads every byte of the initramfs at boot; debug sections are never used there.
    Stripped copies are cached next to the kernel images (``lean/``), keyed by the file's size and
    time; they go into every guest, so the folder and each copy must be ours and writable by us
    only (:func:`hugelab.realkernel.images.cache_folder`), or the build is refused.
    """
    info = os.stat(path)
    if info.st_size < (1 << 20) or not shutil.which("strip"):
        return Path(path)
    try:
        folder = cache_folder("lean")
        assert folder is not None
        with folder:
            name = f"{os.path.basename(path)}-{info.st_size}-{info.st_mtime_ns}"
            lean = own_file(folder, name)
            if lean is not None:
                return lean
            # A name of its own for every call: two guests started at once (threads of one process,
            # so one pid) once wrote the same part file and the slower rename found it gone.
            fd, part_name = tempfile.mkstemp(prefix=name + ".", dir=folder.path)  # O_EXCL, in our folder
            os.close(fd)
            part = Path(part_name)
            done = subprocess.run(["strip", "--strip-debug", "-o", str(part), path], capture_output=True, check=False)
            if done.returncode:
                part.unlink(missing_ok=True)
                return Path(path)
            os.chmod(part, stat.S_IMODE(info.st_mode) & 0o755)  # the original's bits (x), writable by us only
            part.replace(folder.path / name)
            return own_file(folder, name) or Path(path)
    except ImageUnavailable as e:
        raise InitramfsError(str(e)) from None


def _mode_of(path: str) -> int:
    """The permission bits of the file ``path`` names (links followed)."""
    return stat.S_IMODE(os.stat(path).st_mode)


def build(dest: Path, extra: dict[str, Path] | None = None) -> Path:
    """Write the guest's initramfs to ``dest``; ``extra`` maps guest paths to host files."""
    busybox = shutil.which("busybox")
    if not busybox:
        raise InitramfsError("a guest needs static busybox (apt-get install busybox-static)")
    if shared_libraries(busybox):
        raise InitramfsError(f"{busybox} is not statically linked (apt-get install busybox-static)")
    python = str(Path(sys.executable).resolve())
    root = Path(__file__).resolve().parents[2]
    modules = agent_modules()
    binaries = [python] + [m for m in modules if m.endswith(".so")]
    libraries = sorted({lib for b in binaries for lib in shared_libraries(b)})
    stdlib = Path(os.__file__).parent
    with open(dest, "wb") as out:
        archive = Archive(out)
        for folder in ("proc", "sys", "dev", "tmp", "run/lock", "bin"):
            archive.directory(folder)
        archive.copy("/bin/busybox", busybox)
        for applet in BUSYBOX_APPLETS:
            archive.symlink(f"/bin/{applet}", "busybox")  # relative: an absolute one would name a host path
        archive.file("/init", INIT.format(python=python, root=GUEST_ROOT, agent=AGENT).encode(), 0o755)
        # a stripped copy goes in with the original's permission bits: python must stay executable
        archive.copy(python, _lean(python), _mode_of(python))
        for lib in libraries:
            archive.copy(lib, _lean(str(Path(lib).resolve())), _mode_of(lib))
        sources = set(modules) | {str(p) for p in (stdlib / "encodings").glob("*.py")}
        for source in sorted(sources):
            path = Path(source)
            inside = (GUEST_ROOT + "/" + str(path.relative_to(root))) if path.is_relative_to(root) else source
            archive.copy(inside, path)
            if source.endswith(".py"):
                cached = importlib.util.cache_from_source(source)
                if os.path.exists(cached):
                    archive.copy(os.path.join(os.path.dirname(inside), "__pycache__", os.path.basename(cached)),
                                 cached)
        for inside, host in (extra or {}).items():
            archive.copy(inside, host)
        archive.close()
    return dest
