"""Huge pages, the files behind mappings, and VMAs (kernel: ``vm_area_struct``).

Offsets are in huge pages from the start of the mmap, whatever splits
happened since (kernel: ``vma_hugecache_offset``). A VMA covers the
half-open window ``[start, end)`` of its mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .resv_map import ResvMap
from .resv_map_fast import resv_map_alloc
from .subpool import HugepageSubpool

#: What a VMA keeps in ``vm_private_data``: nothing (a shared VMA, a forked
#: child's private VMA, a MAP_NORESERVE one, or any VMA before a1e78772),
#: the remaining reservation count (a1e78772 .. 84afd99b), or the resv_map
#: that every piece of the owner's private mapping shares (84afd99b on).
VmPrivateData = ResvMap | int | None


@dataclass(eq=False, slots=True)
class Page:
    """One huge page (kernel: a hugetlb folio).

    ``mapcount`` counts page-table entries pointing at it; a shared
    mapping's page is also held by its file's page cache.
    ``restore_reserve`` makes the page give a reservation back when freed.
    """

    anon: bool
    mapcount: int = 0
    in_page_cache: bool = False
    restore_reserve: bool = False
    #: the mount's subpool the page is charged to (kernel: hugetlb_folio_subpool)
    spool: HugepageSubpool | None = None

    def unused(self) -> bool:
        return self.mapcount == 0 and not self.in_page_cache


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
    resv_map: ResvMap = field(default_factory=resv_map_alloc)
    page_cache: dict[int, Page] = field(default_factory=dict)
    vmas: int = 0
    #: offsets whose reservation a fault used, noted for the "truth" of the
    #: arithmetic panel only (the pre-fix kernel kept no such record)
    consumed: set[int] = field(default_factory=set)
    #: the file's mount's subpool (None: a mount without size= or min_size=)
    spool: HugepageSubpool | None = None
    #: i_size in huge pages: a fault at or beyond it is SIGBUS
    i_size: int = 0
    #: holds by the trace (``file``/``memfd`` until ``close``)
    opened: int = 0
    #: True while the file has a name (``file`` until ``unlink``)
    linked: bool = False
    #: System V segment (S_PRIVATE): its mmaps reserve nothing, shmget did
    s_private: bool = False
    evicted: bool = False
    #: the mount it lives on (a ``hugetlbfs.Superblock``; None: the kernel's own)
    sb: Any = None


@dataclass(eq=False, slots=True)
class VMA:
    """One virtual memory area: the window ``[start, end)`` of ``file``.

    Offsets are the file's (kernel: ``vma_hugecache_offset``, which counts
    ``vm_pgoff``): a mapping made at file offset K starts at ``start == K``.
    ``name`` is the trace's name for the mapping, ``shared`` and
    ``noreserve`` its MAP_SHARED and MAP_NORESERVE (VM_MAYSHARE, VM_NORESERVE).
    ``ptes`` maps offsets to the pages this process has mapped there.
    A fork hands the child the parent's very dict and marks both
    ``ptes_shared``: whoever changes it first takes its own copy
    (:meth:`own_ptes`), so forking a process with many pages mapped costs
    no memory until one side changes them (the kernel copies the entries;
    the copy here is postponed, the mapcounts are not).
    ``private_data`` is what the policy keeps per VMA (kernel:
    ``vm_private_data``, see :data:`VmPrivateData`). A VMA's reservation
    map, shared or private, is found by :func:`hugelab.model.reservation.vma_resv_map`.
    ``owner`` and ``unmapped`` are the HPAGE_RESV_OWNER and
    HPAGE_RESV_UNMAPPED flags the kernel keeps beside it.
    """

    file: HugetlbFile
    start: int
    end: int
    prot: str = "rw"
    private_data: VmPrivateData = None
    owner: bool = False
    unmapped: bool = False
    ptes: dict[int, Page] = field(default_factory=dict)
    name: str = ""
    shared: bool = False
    noreserve: bool = False
    ptes_shared: bool = False

    def own_ptes(self) -> dict[int, Page]:
        """``ptes``, copied first if a fork shares it: call before changing it."""
        if self.ptes_shared:
            self.ptes = dict(self.ptes)
            self.ptes_shared = False
        return self.ptes

    def __len__(self) -> int:
        return self.end - self.start

    def split_at(self, offset: int) -> VMA:
        """Cut at ``offset``: this VMA keeps ``[start, offset)``, the new one gets the rest (kernel: ``__split_vma``).

        Like the kernel's ``vm_area_dup`` the new VMA copies ``private_data``
        and the flags; the policy's ``open`` hook then decides what the copy
        means (a second reference to the same map, or a duplicated count).
        """
        upper = VMA(
            self.file, offset, self.end, self.prot, self.private_data, self.owner, self.unmapped,
            {i: p for i, p in self.ptes.items() if i >= offset}, self.name, self.shared, self.noreserve,
        )
        self.ptes = {i: p for i, p in self.ptes.items() if i < offset}
        self.ptes_shared = False  # both halves have new dicts
        self.end = offset
        self.file.vmas += 1
        return upper
