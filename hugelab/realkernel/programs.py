"""``hugelab run PROGRAM --kernel K``: a C reproducer (or any static program) run in a QEMU guest.

``export-c`` writes programs for kernel engineers; this runs one where it
cannot hurt: in a throw-away guest booting kernel K (one at a time, for
several kernels), with the pool idle before it starts. A ``.c`` file is
built first, statically (``cc -O2 -static``), with ``-I`` the folder of
hugelab's own ``kselftest.h`` so that an ``export-c --kselftest`` test builds
outside the kernel's tree. The program's output is printed as it gave it;
one line on standard error says which kernel ran it and how it ended. The
status is the program's (the first that failed, over several kernels).

It never runs on this machine's kernel: a reproducer may leak reservations
until reboot (a ``min_size`` trace on Linux 6.15+), so on the host run it
yourself, knowingly.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from .kselftest_c import KSELFTEST_H

#: inside the guest's initramfs
GUEST_PATH = "/program"


class ProgramError(RuntimeError):
    """The program cannot be built or run as asked; the message says why in one line."""


def build(source: Path, folder: Path) -> Path:
    """``source`` built statically into ``folder`` (a C file), or ``source`` itself (a program)."""
    if not source.is_file():
        raise ProgramError(f"no program {source}")
    if source.suffix != ".c":
        return source
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise ProgramError("building a C program needs a C compiler (apt-get install gcc)")
    binary = folder / source.stem
    done = subprocess.run([compiler, "-O2", "-Wall", "-static", "-I", str(KSELFTEST_H.parent), "-o", str(binary),
                           str(source)], capture_output=True, text=True, check=False)
    if done.returncode:
        first = next((line for line in done.stderr.splitlines() if "error" in line), done.stderr.strip()[:200])
        raise ProgramError(f"cc could not build {source}: {first}")
    return binary


def run_program(source: Path, specs: list[str], args: list[str], out: TextIO, timeout: float = 120,
                err: TextIO = sys.stderr) -> int:
    """Run ``source`` (built if C) with ``args`` in a guest of each kernel of ``specs``, one guest at a time."""
    from .guest import Guest
    from .machine import KernelUnavailable
    from .targets import is_host, open_kernel

    for spec in specs:
        if is_host(spec):
            raise KernelUnavailable(f"hugelab run boots guests only ({spec} is this machine's kernel): a reproducer "
                                    "can leak reservations until reboot; run it here yourself, knowingly")
    status = 0
    with tempfile.TemporaryDirectory(prefix="hugelab-run-") as tmp:
        binary = build(source, Path(tmp))
        for spec in specs:
            kernel = open_kernel(spec)
            assert isinstance(kernel, Guest)
            kernel.extra[GUEST_PATH] = binary
            with kernel as guest:
                rc, text = guest.run([GUEST_PATH, *args], timeout)
            out.write(text)
            out.flush()
            print(f"hugelab: {source.name} on Linux {guest.release} (QEMU guest): exit {rc}", file=err)
            status = status or rc
    return status
