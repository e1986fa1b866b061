"""The reservation map (kernel: ``struct resv_map``), as the kernel keeps it: a list of regions.

A resv_map is a set of huge-page offsets kept as a sorted list of regions
``[from, to)`` (half-open, in huge pages): no two overlap, and no two touch
(touching regions are merged into one). What an entry *means* depends on
who owns the map, and this is the trap of the whole subject:

* a **private** mapping's map (hung off the VMA since 84afd99b) records
  offsets whose reservation was **consumed** (the page was instantiated);
* a **shared** mapping's map (hung off the inode) records offsets that are
  **reserved**, now or in the past.

The calls keep the kernel's names and meanings (``mm/hugetlb.c``; semantics
only, no kernel code is copied), each walking the list from its head as the
kernel's ``list_for_each_entry`` loops over ``resv_map->regions`` do:

* ``region_chg(f, t)``   pages of ``[f, t)`` not yet in the map; the map is
  unchanged, one add is marked in progress.
* ``region_add(f, t)``   add ``[f, t)``; returns the pages newly added.
* ``region_abort(f, t)`` give up an add announced by ``region_chg``.
* ``region_del(f, t)``   remove ``[f, t)``; returns the pages removed.
* ``region_count(f, t)`` pages of ``[f, t)`` that are in the map.

Each call walks the list, so its cost grows with the number of regions,
as the kernel's does. Random traces make maps of up to 100,000 regions,
so the model keeps its maps in :class:`~hugelab.model.resv_map_fast.FastResvMap`:
the same calls, the same answers (``tests/test_resv_map.py`` checks them
against this list), over a structure that finds an offset in logarithmic
time. This module is the one to read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FileRegion:
    """One entry of the list (kernel: ``struct file_region``): offsets ``[from_, to)``."""

    from_: int
    to: int


class ResvMap:
    """A set of huge-page offsets as a sorted list of regions ``[from, to)``, plus a kref."""

    def __init__(self) -> None:
        self.refs = 1  # kref: one per VMA piece that points at this map
        self.adds_in_progress = 0  # kernel: resv_map->adds_in_progress
        #: kernel: resv_map->regions, sorted by offset; no two overlap or touch
        self.entries: list[FileRegion] = []

    def region_count(self, f: int, t: int) -> int:
        """Pages of ``[f, t)`` that are in the map (kernel: ``region_count``)."""
        count = 0
        for rg in self.entries:
            if rg.to <= f:  # wholly before the window
                continue
            if rg.from_ >= t:  # wholly after it, and so is every later entry
                break
            count += min(rg.to, t) - max(rg.from_, f)
        return count

    def region_chg(self, f: int, t: int) -> int:
        """Pages of ``[f, t)`` not yet in the map, which an add would need (kernel: ``region_chg``).

        The map is unchanged; one add is marked in progress, for the
        ``region_add`` or ``region_abort`` that must follow.
        """
        self.adds_in_progress += 1
        return (t - f) - self.region_count(f, t)

    def region_add(self, f: int, t: int) -> int:
        """Add ``[f, t)``; return the pages that were not in the map (kernel: ``region_add``).

        Every entry that overlaps or touches ``[f, t)`` is merged into one
        entry covering them all (kernel: ``add_reservation_in_range``, then
        ``coalesce_file_region``). Ends the add that ``region_chg`` announced.
        """
        if self.adds_in_progress:
            self.adds_in_progress -= 1
        if t <= f:
            return 0
        added = (t - f) - self.region_count(f, t)
        entries = self.entries
        first = 0  # the first entry that reaches f: entries before it stay
        while first < len(entries) and entries[first].to < f:
            first += 1
        last = first  # merge every entry from there that starts at or before t
        while last < len(entries) and entries[last].from_ <= t:
            f = min(f, entries[last].from_)
            t = max(t, entries[last].to)
            last += 1
        entries[first:last] = [FileRegion(f, t)]
        return added

    def region_abort(self, f: int, t: int) -> None:
        """Give up an add announced by ``region_chg`` (kernel: ``region_abort``)."""
        if self.adds_in_progress:
            self.adds_in_progress -= 1

    def region_del(self, f: int, t: int) -> int:
        """Remove ``[f, t)`` from the map; return the pages removed (kernel: ``region_del``).

        An entry that straddles an edge of the window keeps its part outside
        it: deleting the middle of an entry splits it in two.
        """
        if t <= f:
            return 0
        removed = 0
        kept: list[FileRegion] = []
        for rg in self.entries:
            if rg.to <= f or rg.from_ >= t:  # outside the window: untouched
                kept.append(rg)
                continue
            removed += min(rg.to, t) - max(rg.from_, f)
            if rg.from_ < f:  # the part below the window stays
                kept.append(FileRegion(rg.from_, f))
            if rg.to > t:  # the part above it stays
                kept.append(FileRegion(t, rg.to))
        self.entries = kept
        return removed

    # -- for pictures and tests ----------------------------------------------
    def regions(self) -> list[tuple[int, int]]:
        """The regions ``[from, to)`` in order."""
        return [(rg.from_, rg.to) for rg in self.entries]

    def offsets(self) -> set[int]:
        """Every offset in the map."""
        return {i for f, t in self.regions() for i in range(f, t)}

    def __len__(self) -> int:
        """Number of pages in the map."""
        return sum(t - f for f, t in self.regions())

    def __repr__(self) -> str:
        inner = ", ".join(f"[{f}, {t})" for f, t in self.regions())
        return f"ResvMap({inner})"  # the model's FastResvMap too: the same map
