"""``double-credit``: the pre-fix private reservations (a1e78772 .. 84afd99b).

Reproduces: Mel Gorman's a1e78772 ("hugetlb: reserve huge pages for
reliable MAP_PRIVATE hugetlbfs mappings until fork()") with 04f2cbe3 (the
owner's copy-on-write guarantee) and the VM_NORESERVE patch, as they stood
in -mm (2.6.26-rc5-mm3, where Jon Tollefson hit the bug) and in mainline
between a1e78772 and 84afd99b, inside the 2.6.27 merge window. No released
kernel shipped it.

The remaining reservation of a private mapping is a count kept in the VMA
(``vm_private_data``). A VMA split copies the whole VMA, count included,
and there is no ``open`` hook to fix it up: both pieces believe they hold
the whole remainder, and each close hands it back.

What a user sees: after munmap or mprotect of part of a private mapping,
HugePages_Rsvd drops too far, then below zero, printed as 2^64 - k
(18446744073709551610 for -6). Other mappings then get pages that back
live reservations, and a reserved fault later finds no page. Also of this
era: a shared mapping's fault is refused a reserved page when every free
page is reserved (``vma_has_private_reserves`` said 0 for shared VMAs;
fixed weeks later as ``vma_has_reserves``).
"""

from __future__ import annotations

from ..hstate import HState
from ..inode import hugetlb_reserve_pages
from ..subpool import get_pages, put_pages
from ..vma import VMA
from .base import FEATURES, Close, Policy


def remaining_count(vma: VMA) -> int:
    """The count an owner's private VMA keeps in ``vm_private_data`` (0 for any other VMA)."""
    count = vma.private_data
    return count if vma.owner and not vma.shared and isinstance(count, int) else 0


class DoubleCredit(Policy):
    name = "double-credit"
    reproduces = "a1e78772..84afd99b (-mm 2.6.26-rc*-mm, 2.6.27 merge window)"
    user_sees = "splitting a private mapping credits its unused reservation once per piece; Rsvd wraps"

    missing = frozenset(FEATURES)
    over_size_error = "ENOSPC"

    def reserve_private(self, hstate: HState, vma: VMA) -> str | None:
        pages = len(vma)
        why = hugetlb_reserve_pages(hstate, vma.file, vma.start, vma.end, shared=False,
                                    failure_puts_subpool=self.reserve_failure_puts_subpool)
        if why is not None:
            return self.reserve_error(why)
        vma.private_data = pages  # the remaining count, copied by every split
        vma.owner = True
        return None

    def close(self, hstate: HState, proc: str, vma: VMA) -> Close | None:
        """``hugetlb_vm_op_close`` as of a1e78772: give back the count this VMA holds, whole."""
        count = remaining_count(vma)
        if not count:
            return None
        hstate.hugetlb_acct_memory(-put_pages(vma.file.spool, count))
        return Close(proc, vma.name, vma.start, vma.end, self.unused_reservation(vma), count,
                     f"credit = count kept in this VMA (copied at every split) = {count}")

    def unused_reservation(self, vma: VMA) -> int:
        # Visits the offsets consumed, not the piece's length: a piece may be huge.
        if not vma.owner or vma.shared:
            return 0
        return len(vma) - sum(1 for idx in vma.file.consumed if vma.start <= idx < vma.end)

    def reserved_offset(self, vma: VMA, idx: int) -> bool:
        return vma.owner and not vma.shared and idx not in vma.file.consumed

    def describe_piece(self, vma: VMA) -> str:
        return f"count {vma.private_data}" if vma.owner and not vma.shared else ""

    def alloc_huge_page(self, hstate: HState, vma: VMA, idx: int, avoid_reserve: bool) -> bool:
        """``alloc_huge_page`` as of a1e78772: a page from the pool uses up one of the VMA's count."""
        count = remaining_count(vma)
        # vma_has_private_reserves(): only a private VMA with a count left.
        # A page no reservation covers is charged to the mount's quota.
        quota = not (count if not vma.shared else vma.file.resv_map.region_count(idx, idx + 1))
        if quota and get_pages(vma.file.spool, 1) is None:
            return False
        from_pool = hstate.dequeue_huge_page(has_reserve=bool(count), avoid_reserve=avoid_reserve)
        if not from_pool and not hstate.alloc_surplus_huge_page():
            if quota:
                put_pages(vma.file.spool, 1)
            return False
        if from_pool and not avoid_reserve and not vma.noreserve:
            if vma.shared:
                hstate.resv_huge_pages -= 1
            elif vma.owner:
                hstate.resv_huge_pages -= 1
                vma.private_data = count - 1
                # Not kept by this era's kernel: hugelab notes it to show the truth.
                vma.file.consumed.add(idx)
        if vma.shared:
            vma.file.resv_map.region_add(idx, idx + 1)
        return True


POLICY = DoubleCredit()
