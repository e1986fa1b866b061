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

from ..resv_map import ResvMap
from .region_count import RegionCount


class Modern(RegionCount):
    name = "modern"
    reproduces = "Linux 6.x (checked on 6.18): 84afd99b's region map + MADV_DONTNEED + v6.9 zap restore"
    user_sees = "what /proc/meminfo shows on a current kernel"
    madvise_dontneed = True
    #: since v6.9 (df7a6d1f6405): zapping an owner's anon page while Surp == 0
    #: marks it restore_reserve and un-consumes its offset
    restores_reservation_on_zap = True
    #: ... even when another process still maps the page (the mark then reaches
    #: Rsvd only when that process lets go): 6.18.44 does; 6.12 does not since
    #: "hugetlb: only adjust reservation during unmapping if mapcount is 0" (6.12.110)
    restores_while_mapped_elsewhere = True
    missing: frozenset[str] = frozenset()
    over_size_error = "ENOMEM"
    # 6.15's a833a693a490: a fault that charged the mount (gbl_chg 1) and
    # found no page keeps the charge (statfs free drops for good); measured
    # on 6.18.44 (kernel-findings 1), not on 6.1 or 6.12
    fault_failure_puts_subpool = False

    def _consumes_on(self, got: str) -> bool:
        return True  # alloc_hugetlb_folio marks any folio that used a reservation

    def zap_hook(self, k, vma):
        resv = vma.private_data
        if (not self.restores_reservation_on_zap or k.hstate.surplus_huge_pages != 0 or vma.shared or not vma.owner
                or not isinstance(resv, ResvMap)):
            return None

        def restore(idx, page) -> None:
            if not page.anon or (page.mapcount > 1 and not self.restores_while_mapped_elsewhere):
                return
            page.restore_reserve = True  # Rsvd +1 when the page is freed
            if resv.region_chg(idx, idx + 1) == 0:  # consumed: un-consume it
                resv.region_abort(idx, idx + 1)
                resv.region_del(idx, idx + 1)
            else:
                resv.region_abort(idx, idx + 1)

        return restore


POLICY = Modern()
