"""Saved guests: a guest booted once is kept just after its agent said hello, and later ones start there.

Booting a kernel and starting Python under TCG takes 2.5-3 s at low load
and 10-30 s on a loaded 2-core machine; restoring a saved guest (QEMU's own
migration format, read back with ``-incoming``) takes about a second. A
snapshot is the machine's whole state (RAM included; about 140 MB for a
1 GiB guest, its zero pages left out) at the moment the agent waits for its
first request: the pool empty, nothing replayed yet. Every restore starts
from that same moment, so a restored guest is as fresh as a booted one.

A snapshot is named by everything that made it (:func:`key`): the kernel
image, QEMU, this machine's Python, busybox and every file of hugelab's
package, by path, size and time, and QEMU's command line. Change any of
them and the next guest boots afresh and is saved again. The initramfs it
booted from is kept beside it (QEMU wants the same ``-initrd`` to restore).
At most :data:`KEPT` snapshots stay (the least recently used go first).
``HUGELAB_GUEST_SNAPSHOTS=0`` turns them off (a benchmark of cold boots).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from .images import KernelImage, cache_dir

#: snapshots kept (about 160 MB each with its initramfs)
KEPT = 12
PACKAGE = Path(__file__).resolve().parents[1]


def enabled() -> bool:
    return os.environ.get("HUGELAB_GUEST_SNAPSHOTS", "1") != "0"


def folder() -> Path:
    return cache_dir().parent / "snapshots"


def _stamp(path: str | Path) -> list:
    info = os.stat(path)
    return [str(path), info.st_size, info.st_mtime_ns]


def key(image: KernelImage, command: list[str]) -> str:
    """The snapshot's name: a digest of every input of the guest it holds."""
    qemu = shutil.which(command[0]) or command[0]
    inputs = [_stamp(image.path), _stamp(qemu), _stamp(os.path.realpath(sys.executable)),
              _stamp(shutil.which("busybox") or "/bin/busybox"), command[1:]]
    inputs += [_stamp(p) for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:24]


def paths(name: str) -> tuple[Path, Path]:
    """The snapshot's state file and the initramfs it was booted from."""
    return folder() / f"{name}.state", folder() / f"{name}.cpio"


def used(name: str) -> None:
    """Mark a snapshot as just used (the pruning keeps the most recently used)."""
    for path in paths(name):
        with contextlib.suppress(OSError):
            os.utime(path)


def forget(name: str) -> None:
    for path in paths(name):
        path.unlink(missing_ok=True)


def prune() -> None:
    """Keep the :data:`KEPT` most recently used snapshots."""
    def last_used(state: Path) -> float:
        try:
            return state.stat().st_mtime
        except OSError:  # gone meanwhile (another command pruned it)
            return 0.0

    for state in sorted(folder().glob("*.state"), key=last_used, reverse=True)[KEPT:]:
        forget(state.stem)
