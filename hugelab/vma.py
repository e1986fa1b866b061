"""Huge pages, the files behind mappings, and VMAs (kernel: ``vm_area_struct``).

Offsets are in huge pages from the start of the mmap, whatever splits
happened since (kernel: ``vma_hugecache_offset``). A VMA covers the
half-open window ``[start, end)`` of its mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .resv_map import ResvMap


@dataclass(eq=False, slots=True)
class Page:
    """One huge page (kernel: a hugetlb folio).

    ``tables`` counts the page tables (:class:`PageTable`) holding it; how
    many VMAs map it (the kernel's mapcount) is the sum of those tables'
    sharers. A shared mapping's page is also held by its file's page cache.
    ``restore_reserve`` makes the page give a reservation back when freed.
    """

    anon: bool
    tables: int = 0
    in_page_cache: bool = False
    restore_reserve: bool = False

    def unused(self) -> bool:
        return self.tables == 0 and not self.in_page_cache


@dataclass(eq=False, slots=True)
class PageTable:
    """The page-table entries of a VMA: offset -> page, shared by forked VMAs until changed.

    A fork shares its parent's table (``sharers += 1``) instead of copying
    every entry; the first change through any sharer copies it
    (:meth:`VMA.own_ptes`). The counters cannot tell the difference: only
    whether a page is mapped once or more, and when its last user goes.
    """

    entries: dict[int, Page] = field(default_factory=dict)
    sharers: int = 1


@dataclass(eq=False, slots=True)
class HugetlbFile:
    """The file behind one mmap call (anonymous hugetlb mmaps get a private one).

    For MAP_SHARED its resv_map lives here (kernel: on the inode) and means
    *reserved*; ``page_cache`` holds the pages. ``vmas`` counts the VMAs,
    in every process, that still map the file: when it drops to zero the
    file is evicted and what it still reserves is given back.
    """

    name: str
    pages: int
    shared: bool
    noreserve: bool
    resv_map: ResvMap = field(default_factory=ResvMap)
    page_cache: dict[int, Page] = field(default_factory=dict)
    vmas: int = 0
    #: offsets whose reservation a fault used, noted for the "truth" of the
    #: arithmetic panel only (the pre-fix kernel kept no such record)
    consumed: set[int] = field(default_factory=set)


@dataclass(eq=False, slots=True)
class VMA:
    """One virtual memory area: the window ``[start, end)`` of ``file``.

    ``ptes`` maps offsets to the pages this process has mapped there (read
    it freely; change it only through :meth:`own_ptes`).
    ``private_data`` is what the policy keeps per VMA (kernel:
    ``vm_private_data``): a remaining count before 84afd99b, a shared
    ``ResvMap`` after. ``owner`` and ``unmapped`` are the HPAGE_RESV_OWNER
    and HPAGE_RESV_UNMAPPED flags kept beside it.
    """

    file: HugetlbFile
    start: int
    end: int
    prot: str = "rw"
    private_data: Any = None
    owner: bool = False
    unmapped: bool = False
    table: PageTable = field(default_factory=PageTable)

    @property
    def ptes(self) -> dict[int, Page]:
        return self.table.entries

    def own_ptes(self) -> dict[int, Page]:
        """This VMA's entries, to change: copied first if a fork still shares them."""
        table = self.table
        if table.sharers > 1:
            table.sharers -= 1
            self.table = PageTable(dict(table.entries))
            for page in self.table.entries.values():
                page.tables += 1
        return self.table.entries

    def maps_shared(self, page: Page) -> bool:
        """Is ``page`` mapped by some other VMA too (the kernel's mapcount > 1)?"""
        return self.table.sharers > 1 or page.tables > 1

    @property
    def shared(self) -> bool:
        return self.file.shared

    @property
    def noreserve(self) -> bool:
        return self.file.noreserve

    def __len__(self) -> int:
        return self.end - self.start

    def split_at(self, offset: int) -> "VMA":
        """Cut at ``offset``: this VMA keeps ``[start, offset)``, the new one gets the rest.

        Like the kernel's ``vm_area_dup`` the new VMA copies ``private_data``
        and the flags; the policy's ``open`` hook then decides what the copy
        means (a second reference to the same map, or a duplicated count).
        """
        entries = self.own_ptes()  # each page moves to exactly one of the two new tables
        upper = VMA(self.file, offset, self.end, self.prot, self.private_data, self.owner, self.unmapped,
                    PageTable({i: p for i, p in entries.items() if i >= offset}))
        self.table = PageTable({i: p for i, p in entries.items() if i < offset})
        self.end = offset
        self.file.vmas += 1
        return upper
