"""Reading the pool's counters and sysctls of the running kernel."""

from __future__ import annotations

import re
from pathlib import Path

from ..model.hstate import Counters

MEMINFO = Path("/proc/meminfo")
NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
NR_OVERCOMMIT = Path("/proc/sys/vm/nr_overcommit_hugepages")
_COUNTERS = re.compile(r"^HugePages_(Total|Free|Rsvd|Surp):\s+(\d+)", re.M)


def read_counters(meminfo: Path = MEMINFO) -> Counters:
    """HugePages_Total/Free/Rsvd/Surp as /proc/meminfo prints them."""
    # one regular expression over the text rather than a split of its ~55 lines: read after every step
    return Counters(**{name.lower(): int(value) for name, value in _COUNTERS.findall(meminfo.read_text())})


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
