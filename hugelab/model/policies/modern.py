"""The rules of Linux 5.10 and later, and ``modern``: this machine's kernel, Linux 6.18.44.

:class:`Modern` is 84afd99b's region map as the kernel has had it since
the commits of 2.6.28 to 5.9 (not tabled one by one): the fault of
``alloc_hugetlb_folio`` (``map_chg``/``gbl_chg``, a mount's subpool, the
restore_reserve mark) and the zap of ``__unmap_hugepage_range``. What
differs between 5.10 and 7.3 is switched by the settings the commits of
:mod:`hugelab.model.commits` set (:mod:`.kernels` builds one such policy
per release, ``linux-6.12.107`` and the like).

``modern`` is the policy of the commits Linux 6.18.44 carries (the kernel
``hugelab verify`` checks on this machine): MADV_DONTNEED on hugetlb
(90e7e7f5ef3f), the v6.9 zap restore even for a page a child still maps
(df7a6d1f6405, without the mapcount fix), the subpool fixes of 6.14/6.15
(58db7c5fbe7d, a833a693a490) and 1d3f9bb4c8af.

What a user sees: the counters of the running kernel, step for step.
"""

from __future__ import annotations

from ..hstate import HState
from ..reservation import (
    vma_add_reservation,
    vma_commit_reservation,
    vma_end_reservation,
    vma_needs_reservation,
    vma_resv_map,
)
from ..subpool import get_pages, put_pages
from ..vma import VMA, Page
from .base import ZapPage
from .region_count import RegionCount


class Modern(RegionCount):
    name = "linux-5.10+"
    reproduces = "Linux 5.10 and later: 84afd99b's region map as alloc_hugetlb_folio uses it"
    user_sees = "what /proc/meminfo shows on a current kernel"

    def zap_hook(self, hstate: HState, vma: VMA) -> ZapPage | None:
        """``__unmap_hugepage_range`` since v6.9: an owner's unmapped page gets its reservation back.

        Not while the pool has surplus pages, and only in the owner's private
        VMA (``__vma_private_lock``) for an anonymous page; with the mapcount
        fix, only for a page this zap leaves mapped nowhere.
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

    def alloc_huge_page(self, hstate: HState, vma: VMA, idx: int, avoid_reserve: bool) -> bool:
        """``alloc_hugetlb_folio``: ask the map, charge the mount, take a page, record the offset.

        ``vma_needs_reservation``, the subpool (``hugepage_subpool_get_pages``),
        ``dequeue_hugetlb_folio_vma`` or else a surplus page, then
        ``vma_commit_reservation`` (or ``vma_end_reservation`` on failure).
        ``avoid_reserve``: the owner's copy-on-write (``cow_from_owner``).
        """
        needs = bool(vma_needs_reservation(vma, idx))
        if needs and vma.owner and not self.owner_fault_checks_map:
            needs = False  # before 67961f9db8c4 the owner always "had" its reservation
        # The owner's copy-on-write never uses the mapping's reservation: the
        # page it copies already did (map_chg says "charge the mount").
        map_chg = avoid_reserve or needs
        gbl_chg = 0
        spool = vma.file.spool
        if map_chg:
            # No reservation of the mapping's own: charge the mount, which
            # may lend one from its min_size (then gbl_chg == 0).
            gbl = get_pages(spool, 1)
            if gbl is None:
                if not avoid_reserve:
                    vma_end_reservation(vma, idx)
                return False
            # before 58db7c5fbe7d the owner's copy-on-write ignored the subpool's loan
            gbl_chg = 1 if avoid_reserve and not self.owner_cow_takes_subpool_loan else gbl
        has_reserve = not gbl_chg
        from_pool = hstate.dequeue_huge_page(has_reserve)
        if not from_pool and not hstate.alloc_surplus_huge_page():
            if map_chg:
                if self.fault_failure_puts_subpool:
                    put_pages(spool, 1)  # out_subpool_put until 6.15: its answer ignored
                elif not gbl_chg:  # a833a693a490: only a charge the subpool's minimum covered
                    hstate.hugetlb_acct_memory(-put_pages(spool, 1))
            if not avoid_reserve:
                vma_end_reservation(vma, idx)
            return False
        if has_reserve and (from_pool or self.surplus_consumes_reserve):
            hstate.resv_huge_pages -= 1
        if not avoid_reserve:
            vma_commit_reservation(vma, idx)
        return True


#: this machine's kernel (built in policies/__init__ from the commits of 6.18.44)
MODERN_RELEASE = "6.18.44"
