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

from .base import Close, Policy


class DoubleCredit(Policy):
    name = "double-credit"
    reproduces = "a1e78772..84afd99b (-mm 2.6.26-rc*-mm, 2.6.27 merge window)"
    user_sees = "splitting a private mapping credits its unused reservation once per piece; Rsvd wraps"

    def reserve_private(self, k, vma) -> bool:
        pages = len(vma)
        if not k.hstate.hugetlb_acct_memory(pages):
            return False
        vma.private_data = pages  # the remaining count, copied by every split
        vma.owner = True
        return True

    def close(self, k, proc, vma) -> Close | None:
        count = vma.private_data if vma.owner else 0
        if not count:
            return None
        k.hstate.hugetlb_acct_memory(-count)
        return Close(proc, vma.file.name, vma.start, vma.end, self.unused_reservation(vma), count,
                     f"credit = count kept in this VMA (copied at every split) = {count}")

    def unused_reservation(self, vma) -> int:
        if not vma.owner or vma.shared:
            return 0
        consumed = vma.file.consumed  # walk whichever is smaller: the offsets consumed or the piece
        if len(consumed) < len(vma):
            used = sum(1 for idx in consumed if vma.start <= idx < vma.end)
        else:
            used = sum(1 for idx in range(vma.start, vma.end) if idx in consumed)
        return len(vma) - used

    def reserved_offset(self, vma, idx) -> bool:
        return vma.owner and not vma.shared and idx not in vma.file.consumed

    def describe_piece(self, vma) -> str:
        return f"count {vma.private_data}" if vma.owner and not vma.shared else ""

    def alloc_huge_page(self, k, vma, idx, cow_from_owner) -> bool:
        hs = k.hstate
        count = vma.private_data if (vma.owner and not vma.shared) else 0
        # vma_has_private_reserves(): only a private VMA with a count left.
        gated = cow_from_owner or not count
        got = k.take_page(gated=gated)
        if got is None:
            return False
        if got == "pool" and not cow_from_owner and not vma.noreserve:
            if vma.shared:
                hs.resv_huge_pages -= 1
            elif vma.owner:
                hs.resv_huge_pages -= 1
                vma.private_data = count - 1
                # Not kept by this era's kernel: hugelab notes it to show the truth.
                vma.file.consumed.add(idx)
        if vma.shared:
            vma.file.resv_map.region_add(idx, idx + 1)
        return True


POLICY = DoubleCredit()
