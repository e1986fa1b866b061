"""``modern``: today's kernel (checked against Linux 6.18).

Reproduces: mainline as of 6.x, 84afd99b's region map with what came after
it that a trace can see:

* MADV_DONTNEED works on hugetlb VMAs (5.18);
* since v6.9 (df7a6d1f6405), zapping a page the owner instantiated, while
  the pool has no surplus pages, gives the reservation back: the page is
  marked restore_reserve (Rsvd +1 when it is freed) and its offset leaves
  the map, so a later fault there uses a reservation again.

What a user sees: the counters of the running kernel, step for step
(``hugelab verify`` proves it on this machine).
"""

from __future__ import annotations

from ..hstate import HState
from ..reservation import vma_add_reservation, vma_needs_reservation, vma_resv_map
from ..vma import VMA, Page
from .base import ZapPage, ZapRestore
from .region_count import RegionCount


class Modern(RegionCount):
    name = "modern"
    reproduces = "Linux 6.x (checked on 6.18): 84afd99b's region map + MADV_DONTNEED + v6.9 zap restore"
    user_sees = "what /proc/meminfo shows on a current kernel"
    madvise_dontneed = True
    #: alloc_hugetlb_folio takes the reservation for any folio that used one
    surplus_consumes_reserve = True
    #: when the v6.9 restore (df7a6d1f6405) runs: zapping (munmap, MADV_DONTNEED) an
    #: owner's faulted anon page while Surp == 0 marks it restore_reserve and
    #: un-consumes its offset. One of base.ZAP_RESTORE: "never" (before v6.9),
    #: "if-unmapped-everywhere" (6.12 since 6.12.110, "hugetlb: only adjust reservation
    #: during unmapping if mapcount is 0"), "even-if-mapped-elsewhere" (6.18.44: the
    #: mark then reaches Rsvd only when the other process lets go)
    zap_restore: ZapRestore = "even-if-mapped-elsewhere"
    missing: frozenset[str] = frozenset()
    over_size_error = "ENOMEM"
    # 6.15's a833a693a490: a fault that charged the mount (gbl_chg 1) and
    # found no page keeps the charge (statfs free drops for good); measured
    # on 6.18.44 (docs/findings.md §1), not on 6.1 or 6.12
    fault_failure_puts_subpool = False
    # hugetlb_reserve_pages' out_put_pages had the same fault since 6.15 (the
    # same commit); 6.18.44 has the stable fix 1d3f9bb4c8af (measured: statfs
    # free stays 4 after a refused 3-page mmap on a size=4 mount), so
    # reserve_failure_puts_subpool keeps its default here (see linux-6.18.15)

    def zap_hook(self, hstate: HState, vma: VMA) -> ZapPage | None:
        """``__unmap_hugepage_range`` since v6.9: an owner's unmapped page gets its reservation back.

        Not while the pool has surplus pages, and only in the owner's private
        VMA (``__vma_private_lock``) for an anonymous page.
        """
        if (not vma.owner or self.zap_restore == "never" or hstate.surplus_huge_pages != 0
                or vma_resv_map(vma) is None):
            return None

        def restore(idx: int, page: Page) -> None:
            if not page.anon or (page.mapcount > 1 and self.zap_restore == "if-unmapped-everywhere"):
                return
            page.restore_reserve = True  # Rsvd +1 when the page is freed
            if vma_needs_reservation(vma, idx):  # consumed: un-consume it
                vma_add_reservation(vma, idx)

        return restore


POLICY = Modern()
