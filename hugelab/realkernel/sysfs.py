"""Reading the pool's counters and sysctls of the running kernel."""

from __future__ import annotations

from pathlib import Path

from ..model.hstate import Counters

MEMINFO = Path("/proc/meminfo")
NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
NR_OVERCOMMIT = Path("/proc/sys/vm/nr_overcommit_hugepages")
_FIELDS = {"HugePages_Total:": "total", "HugePages_Free:": "free",
           "HugePages_Rsvd:": "rsvd", "HugePages_Surp:": "surp"}


def read_counters(meminfo: Path = MEMINFO) -> Counters:
    """HugePages_Total/Free/Rsvd/Surp as /proc/meminfo prints them."""
    values: dict[str, int] = {}
    for line in meminfo.read_text().splitlines():
        words = line.split()
        if words and words[0] in _FIELDS:
            values[_FIELDS[words[0]]] = int(words[1])
    return Counters(**values)


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
