"""A process and its address space (kernel: ``task_struct`` + ``mm_struct``).

Each process knows its mappings by the names the trace gave them; a name
may cover several VMAs once splits have happened, kept sorted by offset.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from .vma import VMA


@dataclass(eq=False, slots=True)
class Process:
    name: str
    vmas: dict[str, list[VMA]] = field(default_factory=dict)  # mapping name -> pieces by start

    def add_vma(self, name: str, vma: VMA) -> None:
        pieces = self.vmas.setdefault(name, [])
        bisect.insort(pieces, vma, key=lambda v: v.start)

    def pieces(self, name: str) -> list[VMA]:
        return self.vmas.get(name, [])

    def vma_at(self, name: str, idx: int) -> VMA | None:
        """The VMA of ``name`` that covers offset ``idx``, if any (kernel: ``find_vma``, exact)."""
        pieces = self.pieces(name)
        i = bisect.bisect_right(pieces, idx, key=lambda v: v.start) - 1
        if i >= 0 and pieces[i].start <= idx < pieces[i].end:
            return pieces[i]
        return None

    def all_vmas(self) -> list[tuple[str, VMA]]:
        return [(name, vma) for name, pieces in self.vmas.items() for vma in pieces]

    def remove(self, name: str, vma: VMA) -> None:
        self.vmas[name].remove(vma)
