"""``region-count``: the fix itself, 84afd99b (Andy Whitcroft, 2008).

Reproduces the kernel tree at 84afd99b rule by rule (line numbers of
``mm/hugetlb.c`` at that commit): "hugetlb reservations: fix
hugetlb MAP_PRIVATE reservations across vma splits", on top of its parent
c37f9fb1 (``double-credit``). Before 2.6.27 was released, 7f09ca51 and
7251ff78 changed two of these rules: that is ``linux-2.6.27``.

A private mapping reserves its whole size at mmap (``hugetlb_reserve_pages``
1715-1756, charged to the quota first; any failure is ENOMEM at mmap,
inode.c 103). Instead of a count it keeps a ``resv_map`` of the offsets
whose reservation a fault consumed (1733-1739). A split copies the map
pointer and ``hugetlb_vm_op_open`` (1132-1146) takes a reference, so every
piece shares one map. At close (1148-1166) each piece gives back its own
unused part, ``(end - start) - region_count(map, start, end)``, to Rsvd
only: the quota is not given back (that came with 7251ff78).

A fault (``alloc_huge_page`` 846-884):

* ``vma_needs_reservation`` (803-825): a shared offset without an entry
  and a non-owner need one (the quota is charged); the owner never does,
  even at an offset its map says is consumed (a refault after a truncate
  takes another reservation off Rsvd; 67961f9db8c4 fixed that in 4.7);
* ``dequeue_huge_page_vma`` (407-450): ``vma_has_private_reserves``
  (349-356) is 1 only for the owner, never for a shared VMA, so a shared
  fault, reserved or not, is refused a free page when every free page is
  promised (Free - Rsvd == 0) and borrows a surplus page instead, leaving
  its reservation unconsumed (7f09ca51 fixed that); a page from the free
  list is taken off Rsvd for any shared VMA and for the owner
  (``decrement_hugepage_resv_vma`` 323-339), not for MAP_NORESERVE;
* a surplus page from the buddy allocator changes no count;
* ``vma_commit_reservation`` (827-844) records the offset: in the file's
  map for a shared VMA, in the private map for the owner.

What a user sees: HugePages_Rsvd stays right through munmap and mprotect
of any part of a private mapping. Unmapping an instantiated page gives
nothing back (its offset stays consumed), and MADV_DONTNEED is not
available on hugetlb (EINVAL). ``pool 2 / mmap s 2 shared / touch s 0``
is killed here (no free page may be taken, no surplus allowed) and fine on
v2.6.27.
"""

from __future__ import annotations

from ..hstate import HState
from ..inode import hugetlb_reserve_pages
from ..reservation import vma_resv_map
from ..resv_map import ResvMap
from ..resv_map_fast import resv_map_alloc
from ..subpool import get_pages, put_pages
from ..vma import VMA
from .base import Close, Policy


def owner_resv_map(vma: VMA) -> ResvMap | None:
    """The map of a piece of the owner's private mapping; None for any other VMA.

    The kernel's ``vma_resv_map(vma)`` checked with ``is_vma_resv_set(vma,
    HPAGE_RESV_OWNER)``, a flag only private VMAs carry: what
    ``hugetlb_vm_op_open``/``close`` and ``__vma_private_lock`` ask.
    """
    return vma_resv_map(vma) if vma.owner else None


class RegionCount(Policy):
    name = "region-count"
    reproduces = "84afd99b: consumed offsets in a shared, reference-counted resv_map"
    user_sees = "each piece of a split mapping gives back only its own unused pages; Rsvd stays right"
    commits = frozenset({"a1e78772d72b", "04f2cbe35699", "c37f9fb11c97", "84afd99b8398"})
    honours_noreserve = True
    owner_cow_guarantee = True

    def reserve_private(self, hstate: HState, vma: VMA) -> str | None:
        # Every page of the range, charged to the file's mount first.
        if not hugetlb_reserve_pages(hstate, vma.file, vma.start, vma.end, shared=False,
                                     undo=self.reserve_failure_undo):
            return "ENOMEM"  # hugetlbfs_file_mmap: -ENOMEM whatever the reason
        vma.private_data = resv_map_alloc()  # empty: nothing consumed yet
        vma.owner = True
        return None

    def open(self, vma: VMA) -> None:
        """``hugetlb_vm_op_open``: the new piece shares the owner's map."""
        resv = owner_resv_map(vma)
        if resv is not None:
            resv.refs += 1  # kref_get: one more piece shares the map

    def unused_reservation(self, vma: VMA) -> int:
        resv = owner_resv_map(vma)
        return 0 if resv is None else len(vma) - resv.region_count(vma.start, vma.end)

    def reserved_offset(self, vma: VMA, idx: int) -> bool:
        resv = owner_resv_map(vma)
        return resv is not None and not resv.region_count(idx, idx + 1)

    def describe_piece(self, vma: VMA) -> str:
        resv = owner_resv_map(vma)
        return "" if resv is None else f"map shared by {resv.refs}"

    def close(self, hstate: HState, proc: str, vma: VMA) -> Close | None:
        """``hugetlb_vm_op_close`` (1148-1166): give back this piece's window of unused reservations."""
        if not vma.owner:  # most closes (every child's VMA): decided without a call
            return None
        resv = vma_resv_map(vma)
        if resv is None:
            return None
        consumed = resv.region_count(vma.start, vma.end)
        unused = len(vma) - consumed
        resv.refs -= 1  # kref_put; the last piece frees the map
        if unused:
            self.give_back(hstate, vma, unused)  # hugetlb_acct_memory(-reserve)
        return Close(proc, vma.name, vma.start, vma.end, unused, unused,
                     f"unused = (end - start) - region_count(map, start, end) = {len(vma)} - {consumed} = {unused}")

    def alloc_huge_page(self, hstate: HState, vma: VMA, idx: int, avoid_reserve: bool) -> bool:
        """2008's ``alloc_huge_page``: ask the map, charge the quota, take a page, record the offset."""
        resv = vma_resv_map(vma)
        # vma_needs_reservation: the owner always "has" its reservation (no look at its map)
        chg = not resv.region_count(idx, idx + 1) if vma.shared else not vma.owner  # type: ignore[union-attr]
        spool = vma.file.spool
        if chg and get_pages(spool, 1) is None:
            return False  # -ENOSPC (the fault would retry for ever; hugelab says SIGBUS)
        # vma_has_private_reserves (84afd99b) / vma_has_reserves (7f09ca51: shared too)
        has_reserve = vma.owner if not vma.shared else self.shared_fault_has_reserve
        from_pool = hstate.dequeue_huge_page(has_reserve, avoid_reserve)
        if not from_pool and not hstate.alloc_surplus_huge_page():
            if chg:
                put_pages(spool, 1)
            return False
        # decrement_hugepage_resv_vma: only for a page from the free list
        if from_pool and not avoid_reserve and not vma.noreserve and (vma.shared or vma.owner):
            hstate.resv_huge_pages -= 1
        if vma.shared or vma.owner:  # vma_commit_reservation
            resv.region_add(idx, idx + 1)  # type: ignore[union-attr]
        return True


POLICY = RegionCount()
