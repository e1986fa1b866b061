"""A hugetlbfs mount's page budget (kernel: ``struct hugepage_subpool``).

A hugetlbfs mount made with ``size=`` and/or ``min_size=`` gets a subpool:

* ``max_hpages`` (``size=``): the most pages the mount's files may hold,
  reserved or instantiated, counted in ``used_hpages``. Going over fails
  (``mmap``/``shmget``: ENOMEM; ``fallocate``: ENOSPC; a fault: SIGBUS).
* ``min_hpages`` (``min_size=``): pages reserved in the global pool for
  the mount at mount time (Rsvd goes up by ``min_size`` at once), kept in
  ``rsv_hpages`` and handed out before any global reservation is taken.

A mount with neither option has no subpool (``None``): callers then use
:func:`get_pages` / :func:`put_pages`, which return ``delta`` unchanged,
as the kernel's ``hugepage_subpool_get_pages(NULL, d)`` does.

Both functions return the number of pages the *global* pool must reserve
(get) or give back (put): the part the subpool's own minimum did not cover.
The caller passes that to ``HState.hugetlb_acct_memory``.

Mirrors ``hugepage_new_subpool``, ``hugepage_subpool_get_pages``,
``hugepage_subpool_put_pages``, ``unlock_or_release_subpool`` and
``hugetlbfs_statfs`` in ``mm/hugetlb.c`` and ``fs/hugetlbfs/inode.c``
(semantics as of 4.1, when ``min_size`` arrived; unchanged since).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .hstate import HState


class HugepageSubpool:
    """One mount's budget. ``None`` for a limit means "no limit" (the kernel's -1)."""

    __slots__ = ("_used", "count", "max_hpages", "min_hpages", "noted_in", "rsv_hpages")

    def __init__(self, max_hpages: int | None, min_hpages: int | None) -> None:
        self.max_hpages = max_hpages
        self.min_hpages = min_hpages
        #: (names, name): where to note, as ``name``, that this mount's statfs
        #: changed, for whoever reports statfs after every step (the model's
        #: step records re-read only the mounts noted); None: nobody asks.
        #: Bookkeeping, not the kernel's: it computes statfs when asked.
        self.noted_in: tuple[set[str], str] | None = None
        self._used = 0
        #: pages of the minimum still held in the global Rsvd for the mount
        self.rsv_hpages = min_hpages or 0
        #: the superblock's reference: 1 while mounted (kernel: ``spool->count``)
        self.count = 1

    @property
    def used_hpages(self) -> int:
        """Pages charged to the mount: reservations and instantiated pages (kernel: ``spool->used_hpages``)."""
        return self._used

    @used_hpages.setter
    def used_hpages(self, pages: int) -> None:
        self._used = pages
        if self.noted_in is not None:  # the only thing statfs shows that ever changes
            names, name = self.noted_in
            names.add(name)

    def statfs(self) -> tuple[int, int]:
        """(f_blocks, f_bfree) in huge pages, as ``hugetlbfs_statfs`` reports them.

        Only meaningful with ``size=``: without it the kernel reports -1 blocks.
        """
        size = self.max_hpages if self.max_hpages is not None else -1
        return size, size - self.used_hpages

    def released(self) -> bool:
        """Has the kernel freed this subpool (unmounted and nothing charged)?"""
        return self.count == 0 and self.used_hpages == 0

    def __repr__(self) -> str:
        return (f"HugepageSubpool(max={self.max_hpages}, min={self.min_hpages}, "
                f"used={self.used_hpages}, rsv={self.rsv_hpages})")


def hugepage_new_subpool(hstate: HState, max_hpages: int | None,
                         min_hpages: int | None) -> HugepageSubpool | None:
    """Make a mount's subpool; None when its minimum cannot be reserved (mount: ENOMEM).

    The minimum is reserved in the global pool at once (``hugetlb_acct_memory``),
    so Rsvd rises by ``min_size`` as soon as the mount exists.
    """
    if min_hpages is not None and not hstate.hugetlb_acct_memory(min_hpages):
        return None
    return HugepageSubpool(max_hpages, min_hpages)


def get_pages(spool: HugepageSubpool | None, delta: int) -> int | None:
    """Charge ``delta`` pages to the mount (``hugepage_subpool_get_pages``).

    Returns how many of them the global pool must reserve (the rest come
    out of the mount's minimum), or None when the mount's ``size=`` would
    be exceeded (nothing changed).
    """
    if spool is None:
        return delta
    if spool.max_hpages is not None:
        if spool.used_hpages + delta > spool.max_hpages:
            return None
        spool.used_hpages += delta
    if spool.min_hpages is None or not spool.rsv_hpages:
        return delta
    if delta > spool.rsv_hpages:
        needed = delta - spool.rsv_hpages
        spool.rsv_hpages = 0
        return needed
    spool.rsv_hpages -= delta
    return 0


def put_pages(spool: HugepageSubpool | None, delta: int) -> int:
    """Give ``delta`` pages back to the mount (``hugepage_subpool_put_pages``).

    Returns how many the global pool should stop reserving: while the mount
    is below its minimum, returned pages refill ``rsv_hpages`` (and stay on
    Rsvd) instead.
    """
    if spool is None:
        return delta
    if spool.max_hpages is not None:
        spool.used_hpages -= delta
    ret = delta
    if spool.min_hpages is not None and spool.used_hpages < spool.min_hpages:
        ret = max(0, spool.rsv_hpages + delta - spool.min_hpages)  # what overflows the minimum
        spool.rsv_hpages = min(spool.rsv_hpages + delta, spool.min_hpages)
    return ret


def hugepage_put_subpool(hstate: HState, spool: HugepageSubpool) -> None:
    """The mount goes away (``hugepage_put_subpool``, at umount).

    The subpool is freed, and its minimum given back to the global pool,
    only once nothing is charged to it (``unlock_or_release_subpool``);
    a subpool whose ``used_hpages`` never returns to 0 keeps its minimum
    on Rsvd for good.
    """
    spool.count -= 1
    unlock_or_release_subpool(hstate, spool)


def unlock_or_release_subpool(hstate: HState, spool: HugepageSubpool) -> None:
    """Free the subpool if nobody holds it and nothing is charged to it.

    (The kernel also tries this from ``put_pages`` once unmounted; hugelab
    needs it only at umount, because umount waits for every file to go.)
    """
    if spool.released() and spool.min_hpages is not None:
        hstate.hugetlb_acct_memory(-spool.min_hpages)
        spool.min_hpages = None  # released: the minimum goes back only once
