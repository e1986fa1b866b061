"""``linux-2.6.27``: the release, v2.6.27 (84afd99b with 7f09ca51 and 7251ff78).

Reproduces the tree tagged v2.6.27 (line numbers of ``mm/hugetlb.c``
there): ``region-count`` (84afd99b) with the two reservation
commits that followed it into the release:

* 7f09ca51 "hugetlb: fix a hugepage reservation check for MAP_SHARED":
  ``vma_has_reserves`` (347-354) is 1 for every VM_SHARED mapping, so a
  shared fault takes a free page promised to it (``dequeue_huge_page_vma``
  407-452) instead of borrowing a surplus one;
* 7251ff78 "hugetlb: quota is not freed for unused reserved private huge
  pages": ``hugetlb_vm_op_close`` (1550-1572) gives the unused pages back
  to the quota as well (1567-1570).

Still as in 84afd99b: the owner always "has" a reservation at a fault
(``vma_needs_reservation`` 850-874 returns 0 for it), a page from the buddy
allocator changes no count (``alloc_huge_page`` 894-932), any shared fault
from the free list takes one off Rsvd (``decrement_hugepage_resv_vma``
320-336), and mmap says ENOMEM for any failure (inode.c 106).
"""

from __future__ import annotations

from .region_count import RegionCount


class Linux2627(RegionCount):
    name = "linux-2.6.27"
    reproduces = "v2.6.27: 84afd99b with 7f09ca51 (shared faults use their reservation) and 7251ff78 (quota)"
    user_sees = "what 2.6.27 printed: Rsvd right through splits, a shared fault never borrows a surplus page"
    commits = RegionCount.commits | {"7f09ca51e9f4", "7251ff78b94c"}
    shared_fault_has_reserve = True
    close_puts_quota = True


POLICY = Linux2627()
