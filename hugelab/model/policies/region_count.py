"""``region-count``: the fix, 84afd99b (Linux 2.6.27).

Reproduces: Andy Whitcroft's 84afd99b, "hugetlb reservations: fix hugetlb
MAP_PRIVATE reservations across vma splits", as released in 2.6.27.

A private mapping reserves its whole size at mmap. Instead of a count, it
keeps a ``resv_map`` of the offsets whose reservation a fault consumed. A
split does not copy anything: the new piece takes a reference (``kref``)
on the same map, whose offsets stay valid for every piece. At close each
piece gives back exactly its own unused part:

    unused = (end - start) - region_count(map, start, end)

and the pieces of one mmap together give back the unused reservation once.

What a user sees: HugePages_Rsvd stays right through munmap and mprotect
of any part of a private mapping. Unmapping an instantiated page gives
nothing back (its offset stays consumed), and MADV_DONTNEED is not
available on hugetlb (EINVAL) in this era.

Scope: shared and MAP_NORESERVE faults follow the rules as later fixed
(``vma_has_reserves``: July 2008 for shared mappings, 2013 for
NORESERVE ones), so that this policy differs from ``double-credit`` only
where 84afd99b changed the kernel.
"""

from __future__ import annotations

from ..hstate import HState
from ..inode import hugetlb_reserve_pages
from ..reservation import (
    vma_commit_reservation,
    vma_end_reservation,
    vma_needs_reservation,
    vma_resv_map,
)
from ..resv_map import ResvMap
from ..subpool import get_pages, put_pages
from ..vma import VMA
from .base import FEATURES, Close, Policy


def owner_resv_map(vma: VMA) -> ResvMap | None:
    """The map of a piece of the owner's private mapping; None for any other VMA.

    The kernel's ``vma_resv_map(vma)`` checked with ``is_vma_resv_set(vma,
    HPAGE_RESV_OWNER)``, a flag only private VMAs carry: what
    ``hugetlb_vm_op_open``/``close`` and ``__vma_private_lock`` ask.
    """
    return vma_resv_map(vma) if vma.owner else None


class RegionCount(Policy):
    name = "region-count"
    reproduces = "84afd99b (Linux 2.6.27): consumed offsets in a shared, reference-counted resv_map"
    user_sees = "each piece of a split mapping gives back only its own unused pages; Rsvd stays right"
    #: 2.6.27 took a reservation off Rsvd only for a page from the free list
    #: (in dequeue_huge_page_vma); a surplus page from the buddy allocator
    #: left Rsvd as it was
    surplus_consumes_reserve = False

    missing = frozenset(FEATURES)
    over_size_error = "ENOSPC"

    def reserve_private(self, hstate: HState, vma: VMA) -> str | None:
        # Every page of the range, charged to the file's mount first.
        why = hugetlb_reserve_pages(hstate, vma.file, vma.start, vma.end, shared=False,
                                    failure_puts_subpool=self.reserve_failure_puts_subpool)
        if why is not None:
            return self.reserve_error(why)
        vma.private_data = ResvMap()  # empty: nothing consumed yet
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
        """``hugetlb_vm_op_close``: give back this piece's window of unused reservations."""
        if not vma.owner:  # most closes (every child's VMA): decided without a call
            return None
        resv = vma_resv_map(vma)
        if resv is None:
            return None
        consumed = resv.region_count(vma.start, vma.end)
        unused = len(vma) - consumed
        resv.refs -= 1  # kref_put; the last piece frees the map
        if unused:
            hstate.hugetlb_acct_memory(-put_pages(vma.file.spool, unused))
        return Close(proc, vma.name, vma.start, vma.end, unused, unused,
                     f"unused = (end - start) - region_count(map, start, end) = {len(vma)} - {consumed} = {unused}")

    def alloc_huge_page(self, hstate: HState, vma: VMA, idx: int, avoid_reserve: bool) -> bool:
        """2.6.27's ``alloc_huge_page``: ask the map, take a page, record the offset.

        ``vma_needs_reservation``, then ``dequeue_huge_page_vma`` or else
        ``alloc_buddy_huge_page``, then ``vma_commit_reservation`` (or
        ``vma_end_reservation`` when no page was found).
        """
        # The owner's copy-on-write never uses the reservation: the page it
        # copies already did, so its map is left alone (map_chg says "charge the mount").
        map_chg = avoid_reserve or bool(vma_needs_reservation(vma, idx))
        gbl_chg = 0
        if map_chg:
            # No reservation of the mapping's own: charge the mount, which
            # may lend one from its min_size (then gbl_chg == 0).
            gbl = get_pages(vma.file.spool, 1)
            if gbl is None:
                if not avoid_reserve:
                    vma_end_reservation(vma, idx)
                return False
            gbl_chg = gbl
        has_reserve = not gbl_chg
        from_pool = hstate.dequeue_huge_page(has_reserve)
        if not from_pool and not hstate.alloc_surplus_huge_page():
            if map_chg and (self.fault_failure_puts_subpool or not gbl_chg):
                returned = put_pages(vma.file.spool, 1)
                if not gbl_chg:
                    hstate.hugetlb_acct_memory(-returned)
            if not avoid_reserve:
                vma_end_reservation(vma, idx)
            return False
        if has_reserve and (from_pool or self.surplus_consumes_reserve):
            hstate.resv_huge_pages -= 1
        if not avoid_reserve:
            vma_commit_reservation(vma, idx)
        return True


POLICY = RegionCount()
