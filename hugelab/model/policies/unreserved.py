"""``unreserved``: Linux 2.6.26 and before. MAP_PRIVATE reserves nothing.

Reproduces: mainline up to v2.6.26, where ``hugetlbfs_file_mmap`` reserved
only for shared mappings (and ignored MAP_NORESERVE, which hugetlb honoured
from 2.6.27 on).

What a user sees: ``mmap(MAP_PRIVATE)`` of more huge pages than the pool
holds succeeds; the program dies with SIGBUS (2.6.26 said VM_FAULT_OOM)
long after, at the first fault that finds no page. HugePages_Rsvd moves
only for shared mappings. Copy-on-write after fork is an ordinary
allocation that may fail for the parent too.
"""

from __future__ import annotations

from ..hstate import HState
from ..subpool import get_pages, put_pages
from ..vma import VMA
from .base import FEATURES, Close, Policy


class Unreserved(Policy):
    name = "unreserved"
    reproduces = "Linux 2.6.26 and before (private mappings reserve nothing)"
    user_sees = "mmap always succeeds; a fault long after can find no page and the process dies"
    honours_noreserve = False
    owner_cow_guarantee = False

    missing = frozenset(FEATURES)
    over_size_error = "ENOSPC"

    def reserve_private(self, hstate: HState, vma: VMA) -> str | None:
        return None  # nothing to reserve, nothing to fail

    def close(self, hstate: HState, proc: str, vma: VMA) -> Close | None:
        return None

    def unused_reservation(self, vma: VMA) -> int:
        return 0  # nothing was reserved (and a piece may be far too long to visit)

    def alloc_huge_page(self, hstate: HState, vma: VMA, idx: int, avoid_reserve: bool) -> bool:
        """2.6.26's ``alloc_huge_page``: only shared mappings have reservations to use."""
        spool = vma.file.spool
        if vma.shared and vma.file.resv_map.region_count(idx, idx + 1):
            # A shared mapping reserved this offset at mmap: take that page.
            if not hstate.dequeue_huge_page(has_reserve=True):
                return False
            hstate.resv_huge_pages -= 1
            return True
        # Private, or a shared offset with no reservation (past a truncate):
        # charge the mount's quota, then only pages nobody reserved
        # (free > resv), else a surplus page.
        if get_pages(spool, 1) is None:
            return False
        if not (hstate.dequeue_huge_page(has_reserve=False) or hstate.alloc_surplus_huge_page()):
            put_pages(spool, 1)
            return False
        if vma.shared:
            vma.file.resv_map.region_add(idx, idx + 1)
        return True


POLICY = Unreserved()
