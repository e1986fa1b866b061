"""``unreserved``: Linux 2.6.26 (bce7f793), before every commit of :mod:`hugelab.model.commits`.

Reproduces the tree tagged v2.6.26 rule by rule (line numbers below are
of ``mm/hugetlb.c`` there, ``fs/hugetlbfs/inode.c`` where said). MAP_PRIVATE reserves nothing.

* mmap (inode.c 78-119): only a VM_MAYSHARE mapping calls
  ``hugetlb_reserve_pages`` (106-109), and any failure is -ENOMEM (103),
  the quota's included. MAP_NORESERVE does not exist for hugetlb yet.
* A shared fault (``alloc_huge_page_shared`` 465-474 ->
  ``dequeue_huge_page_vma`` 92-121) takes any free page, with no look at
  Free - Rsvd and no quota, and takes one off Rsvd for every VM_MAYSHARE
  mapping (114-115), reserved offset or not (an offset past a truncate
  has none: Rsvd then drifts low). No free page: VM_FAULT_OOM; no
  surplus page is tried.
* A private fault (``alloc_huge_page_private`` 476-496) charges the quota
  (481-482, SIGBUS when full), takes a free page only ``if
  (free_huge_pages > resv_huge_pages)`` (485, unsigned), else a surplus
  page (488), else gives the quota back and fails (490-491).
* Copy-on-write (``hugetlb_cow`` 870-911) is the same private allocation:
  nothing is guaranteed to the process that mmapped.
* ``hugetlb_vm_ops`` (732-734) has no close: unmapping gives nothing back;
  a freed page gives its quota back (``free_huge_page`` 163-164).

What a user sees: ``mmap(MAP_PRIVATE)`` of more huge pages than the pool
holds succeeds; the program dies with SIGBUS (VM_FAULT_OOM) long after, at
the first fault that finds no page. HugePages_Rsvd moves only for shared
mappings.
"""

from __future__ import annotations

from ..hstate import HState, u64
from ..subpool import get_pages, put_pages
from ..vma import VMA
from .base import Close, Policy


class Unreserved(Policy):
    name = "unreserved"
    reproduces = "Linux 2.6.26: private mappings reserve nothing"
    user_sees = "mmap always succeeds; a fault long after can find no page and the process dies"

    def reserve_private(self, hstate: HState, vma: VMA) -> str | None:
        return None  # inode.c 106: only VM_MAYSHARE mappings reserve

    def close(self, hstate: HState, proc: str, vma: VMA) -> Close | None:
        return None  # 732-734: no close hook

    def unused_reservation(self, vma: VMA) -> int:
        return 0  # nothing was reserved (and a piece may be far too long to visit)

    def alloc_huge_page(self, hstate: HState, vma: VMA, idx: int, avoid_reserve: bool) -> bool:
        """2.6.26's ``alloc_huge_page`` (498-514): shared or private, two different allocators."""
        if vma.shared:
            # alloc_huge_page_shared: the first free page, Rsvd - 1 (114-115), whatever the offset
            if not hstate.dequeue_huge_page(has_reserve=True):
                return False
            hstate.resv_huge_pages -= 1
            return True
        spool = vma.file.spool
        if get_pages(spool, 1) is None:  # 481-482: hugetlb_get_quota
            return False
        # 485: only while Free > Rsvd (unsigned: a wrapped Rsvd blocks every private fault)
        took = u64(hstate.free_huge_pages) > u64(hstate.resv_huge_pages) and hstate.dequeue_huge_page(True)
        if not (took or hstate.alloc_surplus_huge_page()):
            put_pages(spool, 1)  # 490
            return False
        return True


POLICY = Unreserved()
