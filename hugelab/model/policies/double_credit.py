"""``double-credit``: c37f9fb1, the parent of 84afd99b (a1e78772 + 04f2cbe3 + c37f9fb1).

Reproduces the tree at c37f9fb1 rule by rule (line numbers of
``mm/hugetlb.c`` at that commit): Mel Gorman's a1e78772
("reserve huge pages for reliable MAP_PRIVATE hugetlbfs mappings until
fork()"), the owner's copy-on-write guarantee (04f2cbe3) and MAP_NORESERVE
(c37f9fb1), in mainline only inside the 2.6.27 merge window.

* mmap (``hugetlb_reserve_pages`` 1602-1638): MAP_NORESERVE reserves
  nothing (1608); a private mapping reserves its whole length and keeps
  it as a count with the OWNER flag in ``vm_private_data`` (1618-1621),
  charged to the quota first (1628); any failure is ENOMEM at mmap
  (inode.c 103).
* A split copies the whole VMA, count included; there is no ``open``
  hook (``hugetlb_vm_ops`` has fault and close only): both pieces hold
  the remainder.
* Close (``hugetlb_vm_op_close`` 1050-1055): the count goes back to Rsvd
  whole, ``hugetlb_acct_memory(-reserve)``; the quota is not given back
  (7251ff78 came after 84afd99b): statfs of a sized mount stays short.
* A fault (``alloc_huge_page`` 764-804): ``vma_needs_reservation``
  (735-750) is 1 for a shared offset without an entry and for a
  non-owner, 0 for the owner; 1 charges the quota. ``dequeue_huge_page_vma``
  (339-383) refuses when ``vma_has_private_reserves`` (281-288: 0 for
  every shared VMA and for an owner whose count is 0) and Free - Rsvd is 0
  (356-358), or for the owner's copy-on-write (361-362); else it takes a
  page and ``decrement_hugepage_resv_vma`` (248-270): nothing for
  MAP_NORESERVE, Rsvd - 1 for any shared VMA, Rsvd - 1 and count - 1 for
  the owner. A page from the buddy allocator (surplus) changes neither.
* The owner's count has no floor (262-266): ``reserve =
  vm_private_data - 1`` with the flags in the top bits, so a count of 0
  becomes 2^62 - 1 with HPAGE_RESV_UNMAPPED set. It takes an owner fault
  with no count left, e.g. a refault after a truncate took the page:
  ``pool 2 / file f / mmap p 1 private file f / touch p 0 / truncate f 0 /
  truncate f 1 / touch p 0 / munmap p 0 1`` ends with Rsvd
  2^64 - 2^62 = 13835058055282163712 (the close hands back 2^62 - 1), and
  any later fault of that VMA is killed (UNMAPPED).

What a user sees: after munmap or mprotect of part of a private mapping,
HugePages_Rsvd drops too far, then below zero, printed as 2^64 - k
(18446744073709551610 for -6). Other mappings then get pages that back
live reservations, and a reserved fault later finds no page.
"""

from __future__ import annotations

from ..hstate import HState
from ..inode import hugetlb_reserve_pages
from ..subpool import get_pages, put_pages
from ..vma import VMA
from .base import Close, Policy

#: HPAGE_RESV_OWNER and HPAGE_RESV_UNMAPPED are the top two bits of vm_private_data (190-191)
COUNT_BITS = 62


def remaining_count(vma: VMA) -> int:
    """The count an owner's private VMA keeps in ``vm_private_data`` (0 for any other VMA)."""
    count = vma.private_data
    return count if vma.owner and not vma.shared and isinstance(count, int) else 0


class DoubleCredit(Policy):
    name = "double-credit"
    reproduces = "c37f9fb1, the parent of 84afd99b (a1e78772's count, 2.6.27 merge window)"
    user_sees = "splitting a private mapping credits its unused reservation once per piece; Rsvd wraps"
    commits = frozenset({"a1e78772d72b", "04f2cbe35699", "c37f9fb11c97"})
    honours_noreserve = True
    owner_cow_guarantee = True

    def reserve_private(self, hstate: HState, vma: VMA) -> str | None:
        pages = len(vma)
        if not hugetlb_reserve_pages(hstate, vma.file, vma.start, vma.end, shared=False,
                                     undo=self.reserve_failure_undo):
            return "ENOMEM"  # inode.c 103
        vma.private_data = pages  # the remaining count, copied by every split
        vma.owner = True
        return None

    def close(self, hstate: HState, proc: str, vma: VMA) -> Close | None:
        """``hugetlb_vm_op_close`` (1050-1055): give back the count this VMA holds, whole."""
        count = remaining_count(vma)
        if not count:
            return None
        self.give_back(hstate, vma, count)  # hugetlb_acct_memory(-reserve)
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
        """``alloc_huge_page`` (764-804) and ``dequeue_huge_page_vma`` (339-383) of c37f9fb1."""
        count = remaining_count(vma)
        # vma_needs_reservation (735-750): 1 charges the quota
        chg = not vma.file.resv_map.region_count(idx, idx + 1) if vma.shared else not vma.owner
        if chg and get_pages(vma.file.spool, 1) is None:
            return False  # -ENOSPC (the fault would retry for ever; hugelab says SIGBUS)
        # vma_has_private_reserves (281-288): a private VMA with a count left, never a shared one
        from_pool = hstate.dequeue_huge_page(has_reserve=bool(count), avoid_reserve=avoid_reserve)
        if not from_pool and not hstate.alloc_surplus_huge_page():
            if chg:
                put_pages(vma.file.spool, 1)
            return False
        if from_pool and not avoid_reserve and not vma.noreserve:
            # decrement_hugepage_resv_vma (248-270)
            if vma.shared:
                hstate.resv_huge_pages -= 1
            elif vma.owner:
                hstate.resv_huge_pages -= 1
                if count:
                    vma.private_data = count - 1
                else:  # 262-266: the count borrows into the flag bits
                    vma.private_data = (1 << COUNT_BITS) - 1
                    vma.unmapped = True
                # Not kept by this era's kernel: hugelab notes it to show the truth.
                vma.file.consumed.add(idx)
        if vma.shared:
            vma.file.resv_map.region_add(idx, idx + 1)  # vma_commit_reservation (752-762)
        return True


POLICY = DoubleCredit()
