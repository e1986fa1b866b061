"""A process and its address space (kernel: ``task_struct`` + ``mm_struct``).

Each process knows its mappings by the names the trace gave them; a name
may cover several VMAs once splits have happened, kept sorted by offset.

``map_count`` counts the process's VMAs, and the kernel caps it at
``vm.max_map_count`` (:data:`hugelab.limits.MAX_MAP_COUNT`) with three
slightly different rules, mirrored here as the kernel states them (mm/mmap.c
and mm/vma.c, Linux 6.18); hugetlb VMAs never merge (VM_DONTEXPAND is in
VM_SPECIAL), so every mmap and every split makes one more:

* :func:`mmap_may_add_vma`: ``do_mmap`` refuses only when the count is
  already *above* the limit, so an mmap at the limit still succeeds and
  leaves the process one past it (the kernel cannot know yet whether the
  new range will merge: a patch making it ``>=`` was NAKed in October 2025,
  and the series' later version documents the leniency instead);
* :func:`split_may_add_vma`: ``split_vma`` (mprotect's splits) refuses at
  the limit;
* :func:`munmap_may_split`: ``vms_gather_munmap_vmas`` refuses only a munmap
  that cuts a hole strictly inside one VMA at the limit; every other split
  a munmap makes is allowed (``__split_vma``), since the munmap then removes
  at least one VMA.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from ..limits import MAX_MAP_COUNT
from .vma import VMA


@dataclass(eq=False, slots=True)
class Process:
    name: str
    vmas: dict[str, list[VMA]] = field(default_factory=dict)  # mapping name -> pieces by start
    #: how many VMAs the process has (kernel: ``mm->map_count``)
    map_count: int = 0

    def add_vma(self, name: str, vma: VMA) -> None:
        pieces = self.vmas.setdefault(name, [])
        bisect.insort(pieces, vma, key=lambda v: v.start)
        self.map_count += 1

    def pieces(self, name: str) -> list[VMA]:
        return self.vmas.get(name, [])

    def vma_at(self, name: str, idx: int) -> VMA | None:
        """The VMA of ``name`` that covers offset ``idx``, if any (kernel: ``find_vma``, exact)."""
        pieces = self.pieces(name)
        i = bisect.bisect_right(pieces, idx, key=lambda v: v.start) - 1
        if i >= 0 and pieces[i].start <= idx < pieces[i].end:
            return pieces[i]
        return None

    def inside(self, name: str, start: int, end: int) -> list[VMA]:
        """The VMAs of ``name`` wholly inside ``[start, end)``, in order (found by bisection)."""
        pieces = self.pieces(name)
        lo = bisect.bisect_left(pieces, start, key=lambda v: v.start)
        hi = bisect.bisect_left(pieces, end, key=lambda v: v.start, lo=lo)
        return [v for v in pieces[lo:hi] if v.end <= end]

    def all_vmas(self) -> list[tuple[str, VMA]]:
        return [(name, vma) for name, pieces in self.vmas.items() for vma in pieces]

    def remove(self, name: str, vma: VMA) -> None:
        self.vmas[name].remove(vma)
        self.map_count -= 1


def mmap_may_add_vma(mm: Process) -> bool:
    """May an mmap (or shmat) add a VMA? (kernel: ``do_mmap``'s "Too many mappings?")

    Only a count already past the limit refuses: at exactly the limit the
    mmap succeeds, and the process ends one past it.
    """
    return mm.map_count <= MAX_MAP_COUNT


def split_may_add_vma(mm: Process) -> bool:
    """May a split add a VMA? (kernel: ``split_vma``, which mprotect's ``vma_modify`` calls)."""
    return mm.map_count < MAX_MAP_COUNT


def munmap_may_split(mm: Process, vma: VMA, start: int, end: int) -> bool:
    """May a munmap of ``[start, end)``, whose first VMA is ``vma``, split what it must?

    kernel: ``vms_gather_munmap_vmas``. Only a range strictly inside ``vma``
    (the munmap would leave two VMAs where there was one) is refused, at the
    limit; the splits at either edge otherwise go through ``__split_vma``,
    which skips the check, as the munmap removes at least one VMA.
    """
    return not (vma.start < start and end < vma.end) or mm.map_count < MAX_MAP_COUNT
