"""The huge page pool of one size (kernel: ``struct hstate``) and its counters.

``/proc/meminfo`` shows four of them:

=================  ======================  ====================================
meminfo            hstate field            meaning
=================  ======================  ====================================
HugePages_Total    ``nr_huge_pages``       pages in the pool, surplus included
HugePages_Free     ``free_huge_pages``     pages not mapped by anyone
HugePages_Rsvd     ``resv_huge_pages``     free pages promised to mappings
HugePages_Surp     ``surplus_huge_pages``  pages above ``nr_hugepages``
=================  ======================  ====================================

A reserved page still counts in HugePages_Free: a reservation is a promise
on free pages, not a page taken. ``free - resv`` is what anyone may take
without a reservation.

The kernel keeps the counters in ``unsigned long``. hugelab keeps them as
Python ints so that a counter driven below zero by a buggy policy stays
visible as ``-6``; :func:`u64` prints it as the kernel does
(18446744073709551610), and the comparisons the kernel makes in unsigned
arithmetic are made with :func:`u64` too.
"""

from __future__ import annotations

from typing import NamedTuple

U64 = 1 << 64


def u64(value: int) -> int:
    """``value`` as an ``unsigned long`` holds it: -6 -> 18446744073709551610."""
    return value % U64


def signed(value: int) -> int:
    """The inverse of :func:`u64` for small wrapped values: 2^64 - 6 -> -6."""
    return value - U64 if value >= U64 // 2 else value


def show(value: int) -> str:
    """A counter as the kernel prints it, with its meaning when it wrapped."""
    return f"{value} (= {signed(value)})" if value >= U64 // 2 else str(value)


class Counters(NamedTuple):
    """HugePages_Total/Free/Rsvd/Surp as ``/proc/meminfo`` prints them."""

    total: int
    free: int
    rsvd: int
    surp: int

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "free": self.free, "rsvd": self.rsvd, "surp": self.surp}

    def __str__(self) -> str:
        return f"{self.total}/{self.free}/{self.rsvd}/{self.surp}"


class HState:
    """Pool counters and the pool operations every policy shares."""

    def __init__(self) -> None:
        self.nr_huge_pages = 0
        self.free_huge_pages = 0
        self.resv_huge_pages = 0
        self.surplus_huge_pages = 0
        self.nr_overcommit_huge_pages = 0
        self.max_huge_pages = 0

    # -- what meminfo shows ------------------------------------------------
    def counters(self) -> Counters:
        return Counters(u64(self.nr_huge_pages), u64(self.free_huge_pages),
                        u64(self.resv_huge_pages), u64(self.surplus_huge_pages))

    def persistent_huge_pages(self) -> int:
        return self.nr_huge_pages - self.surplus_huge_pages

    def available_huge_pages(self) -> bool:
        """Is any free page unpromised, ``free - resv != 0``? (kernel: ``available_huge_pages``)

        The kernel tests exactly this (in unsigned arithmetic), not ``> 0``:
        with a wrapped Rsvd the difference is large, and pages flow freely.
        """
        return u64(self.free_huge_pages - self.resv_huge_pages) != 0

    # -- single pages ------------------------------------------------------
    def dequeue_huge_page(self, has_reserve: bool, avoid_reserve: bool = False) -> bool:
        """Take a free page for a fault, if the fault may have one (kernel: ``dequeue_huge_page_vma``).

        ``has_reserve``: the fault has a reservation to use (kernel:
        ``vma_has_reserves``). ``avoid_reserve``: it must not use one even so
        (the owner's copy-on-write). A fault that uses no reservation may not
        take a page that backs somebody else's: it is refused when every free
        page is promised. Rsvd is the caller's to change (each era consumes
        differently).
        """
        if (avoid_reserve or not has_reserve) and not self.available_huge_pages():
            return False
        if self.free_huge_pages <= 0:  # the free list is empty (kernel: dequeue_huge_page_node)
            return False
        self.free_huge_pages -= 1
        return True

    def alloc_surplus_huge_page(self) -> bool:
        """Grow the pool by one page from the buddy allocator, within overcommit.

        (kernel: ``alloc_buddy_huge_page``, later ``alloc_surplus_huge_page``.)
        The page goes straight to its user, so Free does not change.
        """
        if u64(self.surplus_huge_pages) >= u64(self.nr_overcommit_huge_pages):
            return False
        self.nr_huge_pages += 1
        self.surplus_huge_pages += 1
        return True

    def free_huge_page(self, restore_reserve: bool) -> None:
        """A page's last user let go of it (kernel: ``free_huge_folio``).

        A page marked restore_reserve gives its reservation back. Then, while
        the pool has surplus pages, any freed page leaves the pool.
        """
        self.free_huge_pages_many(1, int(restore_reserve))

    def free_huge_pages_many(self, count: int, restores: int) -> None:
        """``count`` calls of :meth:`free_huge_page` in a row, ``restores`` of
        them for pages marked restore_reserve, in closed form: the first
        frees go to surplus pages while there are any, the rest to the free
        list, and the order does not matter. (An unmap frees its pages in
        one batch, like the kernel's mmu_gather.)
        """
        self.resv_huge_pages += restores
        leaving = min(count, self.surplus_huge_pages)
        self.nr_huge_pages -= leaving
        self.surplus_huge_pages -= leaving
        self.free_huge_pages += count - leaving

    # -- reservations (kernel: hugetlb_acct_memory) -------------------------
    def gather_surplus_pages(self, delta: int) -> bool:
        """Make sure ``resv + delta`` free pages exist, then add ``delta`` to Rsvd.

        Missing pages come from the buddy allocator as surplus, all or none.
        """
        needed = self.resv_huge_pages + delta - self.free_huge_pages
        if needed > 0:
            room = u64(self.nr_overcommit_huge_pages) - u64(self.surplus_huge_pages)
            if needed > max(room, 0):
                return False
            self.nr_huge_pages += needed
            self.surplus_huge_pages += needed
            self.free_huge_pages += needed
        self.resv_huge_pages += delta
        return True

    def return_unused_surplus_pages(self, unused: int) -> None:
        """Take ``unused`` off Rsvd; free surplus pages no longer needed."""
        self.resv_huge_pages -= unused
        pages = min(unused, u64(self.surplus_huge_pages))
        # The kernel frees one surplus page at a time while all three last:
        # that loop in closed form (a mapping may name 2^36 pages).
        if pages > 0 and self.free_huge_pages > 0 and self.surplus_huge_pages > 0:
            freed = min(pages, self.free_huge_pages, self.surplus_huge_pages)
            self.free_huge_pages -= freed
            self.nr_huge_pages -= freed
            self.surplus_huge_pages -= freed

    def hugetlb_acct_memory(self, delta: int) -> bool:
        """Reserve ``delta`` pages (or return ``-delta``); False means ENOMEM."""
        if delta > 0:
            if not self.gather_surplus_pages(delta):
                return False
            if delta > self.free_huge_pages:
                self.return_unused_surplus_pages(delta)
                return False
        elif delta < 0:
            self.return_unused_surplus_pages(-delta)
        return True

    # -- sysctl vm.nr_hugepages (kernel: set_max_huge_pages) ----------------
    def set_max_huge_pages(self, count: int) -> None:
        """Resize the persistent pool to ``count`` pages as far as it can go.

        Growing first turns surplus pages persistent, then allocates. Shrinking
        frees only pages that are neither in use nor reserved
        (``min_count = resv + in_use``, computed unsigned as the kernel does, so
        a wrapped Rsvd blocks every release), then marks the rest surplus so
        that they leave the pool when freed.
        """
        # The kernel moves one page at a time; these are its loops in closed form.
        back = min(self.surplus_huge_pages, count - self.persistent_huge_pages())
        if back > 0:  # surplus pages become persistent first
            self.surplus_huge_pages -= back
        grow = count - self.persistent_huge_pages()
        if grow > 0:  # then fresh pages from the buddy allocator
            self.nr_huge_pages += grow
            self.free_huge_pages += grow
        min_count = u64(self.resv_huge_pages + self.nr_huge_pages - self.free_huge_pages)
        min_count = max(count, min_count)
        release = min(self.persistent_huge_pages() - min_count, self.free_huge_pages)
        if release > 0:  # free pages nobody uses or was promised leave the pool
            self.free_huge_pages -= release
            self.nr_huge_pages -= release
        excess = self.persistent_huge_pages() - count
        if excess > 0:  # the rest becomes surplus, to leave when freed
            self.surplus_huge_pages += excess
        self.max_huge_pages = self.persistent_huge_pages()
