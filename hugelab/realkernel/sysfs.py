"""Reading the pool's counters and sysctls of the running kernel."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..model.hstate import Counters

MEMINFO = Path("/proc/meminfo")
NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
NR_OVERCOMMIT = Path("/proc/sys/vm/nr_overcommit_hugepages")
_COUNTERS = re.compile(r"^HugePages_(Total|Free|Rsvd|Surp):\s+(\d+)", re.M)


#: /proc/meminfo held open by the process that reads it (by pid: a forked child opens its own)
_held: tuple[int, int] | None = None


def _meminfo_text() -> str:
    """/proc/meminfo afresh: a read at offset 0 of the same descriptor makes the kernel print it anew.

    Read after every step; open, stat, read and close each time cost a TCG guest about a tenth of a step.
    """
    global _held
    if _held is None or _held[0] != os.getpid():
        _held = (os.getpid(), os.open(MEMINFO, os.O_RDONLY | os.O_CLOEXEC))
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(_held[1], 65536, offset)
        if not chunk:
            return b"".join(chunks).decode()
        chunks.append(chunk)
        offset += len(chunk)


def read_counters(meminfo: Path = MEMINFO) -> Counters:
    """HugePages_Total/Free/Rsvd/Surp as /proc/meminfo prints them."""
    text = _meminfo_text() if meminfo == MEMINFO else meminfo.read_text()
    # one regular expression over the text rather than a split of its ~55 lines
    return Counters(**{name.lower(): int(value) for name, value in _COUNTERS.findall(text)})


def read_sysctl(path: Path) -> int:
    return int(path.read_text().split()[0])


def write_sysctl(path: Path, value: int) -> None:
    path.write_text(f"{value}\n")


def hugepage_size() -> int:
    """The default huge page size in bytes (Hugepagesize in /proc/meminfo)."""
    for line in MEMINFO.read_text().splitlines():
        if line.startswith("Hugepagesize:"):
            return int(line.split()[1]) * 1024
    raise OSError("this kernel shows no Hugepagesize in /proc/meminfo (no hugetlb support)")
