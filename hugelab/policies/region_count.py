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

from ..inode import hugetlb_reserve_pages
from ..resv_map import ResvMap
from ..subpool import get_pages, put_pages
from .base import FEATURES, Close, Policy


class RegionCount(Policy):
    name = "region-count"
    reproduces = "84afd99b (Linux 2.6.27): consumed offsets in a shared, reference-counted resv_map"
    user_sees = "each piece of a split mapping gives back only its own unused pages; Rsvd stays right"

    missing = frozenset(FEATURES)
    over_size_error = "ENOSPC"

    def reserve_private(self, k, vma) -> str | None:
        # Every page of the range, charged to the file's mount first.
        why = hugetlb_reserve_pages(k.hstate, vma.file, vma.start, vma.end, shared=False)
        if why is not None:
            return self.reserve_error(why)
        vma.private_data = ResvMap()  # empty: nothing consumed yet
        vma.owner = True
        return None

    def open(self, vma) -> None:
        if isinstance(vma.private_data, ResvMap) and vma.owner:
            vma.private_data.refs += 1  # kref_get: one more piece shares the map

    def unused_reservation(self, vma) -> int:
        if not vma.owner or not isinstance(vma.private_data, ResvMap):
            return 0
        return len(vma) - vma.private_data.region_count(vma.start, vma.end)

    def reserved_offset(self, vma, idx) -> bool:
        resv = vma.private_data
        return vma.owner and isinstance(resv, ResvMap) and not resv.region_count(idx, idx + 1)

    def describe_piece(self, vma) -> str:
        resv = vma.private_data
        return f"map shared by {resv.refs}" if vma.owner and isinstance(resv, ResvMap) else ""

    def close(self, k, proc, vma) -> Close | None:
        resv = vma.private_data
        if not vma.owner or not isinstance(resv, ResvMap):
            return None
        consumed = resv.region_count(vma.start, vma.end)
        unused = len(vma) - consumed
        resv.refs -= 1  # kref_put; the last piece frees the map
        if unused:
            k.hstate.hugetlb_acct_memory(-put_pages(vma.file.spool, unused))
        return Close(proc, vma.file.name, vma.start, vma.end, unused, unused,
                     f"unused = (end - start) - region_count(map, start, end) = {len(vma)} - {consumed} = {unused}")

    def _needs_reservation(self, vma, idx) -> bool:
        """vma_needs_reservation(): True when this fault has no reservation to use."""
        if vma.shared:
            # Shared map entries mean "reserved": no entry, no reservation.
            return vma.file.resv_map.region_chg(idx, idx + 1) > 0
        if isinstance(vma.private_data, ResvMap) and vma.owner:
            # Private map entries mean "consumed": an entry means it is used up.
            return vma.private_data.region_chg(idx, idx + 1) == 0
        return True  # a child, or MAP_NORESERVE: never reserved

    def _commit_reservation(self, vma, idx) -> None:
        """vma_commit_reservation(): record the offset in the map."""
        if vma.shared:
            vma.file.resv_map.region_add(idx, idx + 1)
        elif isinstance(vma.private_data, ResvMap) and vma.owner:
            vma.private_data.region_add(idx, idx + 1)

    def _end_reservation(self, vma, idx) -> None:
        """vma_end_reservation(): the fault failed; forget the announced add."""
        if vma.shared:
            vma.file.resv_map.region_abort(idx, idx + 1)
        elif isinstance(vma.private_data, ResvMap) and vma.owner:
            vma.private_data.region_abort(idx, idx + 1)

    def alloc_huge_page(self, k, vma, idx, cow_from_owner) -> bool:
        # The owner's copy-on-write never uses the reservation: the page it
        # copies already did.
        map_chg = cow_from_owner or self._needs_reservation(vma, idx)
        gbl_chg = 0
        if map_chg:
            # No reservation of the mapping's own: charge the mount, which
            # may lend one from its min_size (then gbl_chg == 0).
            gbl = get_pages(vma.file.spool, 1)
            if gbl is None:
                if not cow_from_owner:
                    self._end_reservation(vma, idx)
                return False
            gbl_chg = gbl
        reserved = not gbl_chg
        got = k.take_page(gated=not reserved)
        if got is None:
            if map_chg and (self.fault_failure_puts_subpool or not gbl_chg):
                returned = put_pages(vma.file.spool, 1)
                if not gbl_chg:
                    k.hstate.hugetlb_acct_memory(-returned)
            if not cow_from_owner:
                self._end_reservation(vma, idx)
            return False
        if reserved and self._consumes_on(got):
            k.hstate.resv_huge_pages -= 1
        if not cow_from_owner:
            self._commit_reservation(vma, idx)
        return True

    def _consumes_on(self, got: str) -> bool:
        # 2.6.27 took the reservation off Rsvd only for a page from the free
        # list; a page from the buddy allocator left Rsvd as it was.
        return got == "pool"


POLICY = RegionCount()
