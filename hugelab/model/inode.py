"""The file side of hugetlb reservations: a hugetlbfs inode's map, pages and size.

Every hugetlb mapping has a file behind it: a named file on a hugetlbfs
mount, a memfd, a System V segment, or the hidden file of an anonymous
``MAP_HUGETLB`` mmap. hugelab's :class:`~hugelab.model.vma.HugetlbFile` is that
inode; this module holds what the kernel does to it.

The trap (84afd99b borrowed this map for private mappings, with the
opposite meaning): in the *inode's* map, kept here, an entry at offset ``i``
means "page ``i`` of the file is reserved" (now, or in the past: an entry
stays when its page arrives). Shared mappings reserve by adding entries;
a reservation belongs to the file and outlives every mapping, until a
truncate, a hole punch or the file's eviction takes the entry away. In a
*private* mapping's map (kept per VMA) an entry means "consumed".

Every range is half-open, ``[f, t)``, in huge pages from the start of the
file. ``LONG_MAX`` stands for "to the end of the file, whatever its size".

Counts that go to the global pool pass through the mount's subpool
(:mod:`hugelab.model.subpool`), as they do in the kernel: what the mount's
``min_size`` already holds is not reserved twice.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .subpool import get_pages, put_pages

if TYPE_CHECKING:  # pragma: no cover
    from .hstate import HState
    from .vma import HugetlbFile, Page

#: the kernel's LONG_MAX: "every offset from here on"
LONG_MAX = sys.maxsize


def hugetlb_reserve_pages(hstate: HState, inode: HugetlbFile, from_: int, to: int,
                          shared: bool, undo: str = "put-all") -> bool:
    """Reserve file pages ``[from_, to)`` for a new mapping, segment or memfd; False: refused (ENOMEM).

    Mirrors ``hugetlb_reserve_pages`` (``mm/hugetlb.c``) for a mapping that
    is not MAP_NORESERVE (the caller checks that). ``shared`` (a shared
    mapping, or no mapping at all: shmget) reserves only what the inode's
    map lacks, and records it there; a private mapping reserves the whole
    range (the caller gives the VMA its own map). Either way the pages are
    charged to the mount's subpool first (2008: its quota).

    Refused by the mount's size= or by the global pool, nothing stays
    reserved; every era's ``mmap`` and ``shmget`` then say ENOMEM (2008's
    ``hugetlbfs_file_mmap`` set ``ret = -ENOMEM`` before the call, whatever
    the quota said). ``undo``: the policy's ``reserve_failure_undo``, what the
    ``out_put_pages`` error path does with the subpool (:func:`_undo_get`).
    """
    resv = inode.resv_map
    chg = resv.region_chg(from_, to) if shared else to - from_
    gbl = get_pages(inode.spool, chg)
    if gbl is None:
        if shared:
            resv.region_abort(from_, to)
        return False
    if not hstate.hugetlb_acct_memory(gbl):
        _undo_get(hstate, inode, chg, gbl, undo)  # kernel: out_put_pages
        if shared:
            resv.region_abort(from_, to)
        return False
    if shared:
        resv.region_add(from_, to)
    return True


def _undo_get(hstate: HState, inode: HugetlbFile, chg: int, gbl: int, undo: str) -> None:
    """Undo ``get_pages(spool, chg)`` after the global pool refused ``gbl`` of them (``out_put_pages``).

    ``chg - gbl`` pages came out of the subpool's minimum (lent), ``gbl``
    were asked of the pool. Four eras (policies.base.RESERVE_FAILURE_UNDO):

    * ``put-all`` (until 6.15; 2008's ``hugetlb_put_quota(chg)``): every page
      goes back through ``hugepage_subpool_put_pages``, its answer ignored,
      so a subpool below its minimum keeps all of them as reserved although
      the pool never reserved ``gbl`` of them (docs/findings.md §4: Rsvd wraps
      at the end);
    * ``put-lent`` (a833a693a490): only the lent pages go back; the refused
      ones stay in the used count (statfs short for as long as the mount lives);
    * ``put-lent-then-restore-used`` (1d3f9bb4c8af): the same, then the
      refused pages leave the used count; the lent pages went back while it
      was still high, so they went to the pool, not the minimum;
    * ``restore-used-then-put-lent`` ("fix subpool minimum reservation
      rollback", 7.3.4): the refused pages leave the used count first, so the
      lent ones refill the minimum.
    """
    spool = inode.spool
    if undo == "put-all":
        put_pages(spool, chg)
        return
    lent = chg - gbl
    restore_used = gbl and spool is not None and spool.max_hpages is not None
    if restore_used and undo == "restore-used-then-put-lent":
        spool.used_hpages -= gbl  # type: ignore[union-attr]
    if lent:
        hstate.hugetlb_acct_memory(-put_pages(spool, lent))
    if restore_used and undo == "put-lent-then-restore-used":
        spool.used_hpages -= gbl  # type: ignore[union-attr]


def hugetlb_unreserve_pages(hstate: HState, inode: HugetlbFile, start: int, end: int,
                            freed: int) -> int:
    """Forget the reservations of file pages ``[start, end)``; ``freed`` pages went with them.

    Mirrors ``hugetlb_unreserve_pages``: the entries removed from the inode's
    map, less the pages that were instantiated (their reservation was used
    when they arrived, and the page's own free gives back its charge), are
    reservations given back to the subpool and then the global pool.
    Returns the number of entries removed.
    """
    chg = inode.resv_map.region_del(start, end)
    gbl = put_pages(inode.spool, chg - freed)
    hstate.hugetlb_acct_memory(-gbl)
    return chg


def remove_inode_hugepages(hstate: HState, inode: HugetlbFile, start: int, end: int,
                           truncate_op: bool) -> list[Page]:
    """Drop the page-cache pages of ``[start, end)``; return those now unused.

    Mirrors ``remove_inode_hugepages`` (``fs/hugetlbfs/inode.c``). The caller
    has zapped every mapping of the range first (``hugetlb_vmdelete_list``),
    and frees the returned pages with :func:`free_huge_folio`.

    * Hole punch (``truncate_op`` False): each removed page takes its own
      entry with it (``hugetlb_unreserve_pages(i, i+1, 1)``: no change to
      Rsvd); offsets of the range *without* a page keep their reservation.
    * Truncate and eviction (``truncate_op`` True): after the pages go, one
      ``hugetlb_unreserve_pages(start, LONG_MAX, freed)`` removes every
      entry from ``start`` on, giving back the reservations without a page.
    """
    cache = inode.page_cache
    if end - start < len(cache):
        indices = [i for i in range(start, end) if i in cache]
    else:
        indices = sorted(i for i in cache if start <= i < end)
    unused = []
    for idx in indices:
        page = cache.pop(idx)
        page.in_page_cache = False
        if not truncate_op:
            hugetlb_unreserve_pages(hstate, inode, idx, idx + 1, 1)
        if page.unused():
            unused.append(page)
    if truncate_op:
        free_huge_folios(hstate, unused)
        hugetlb_unreserve_pages(hstate, inode, start, LONG_MAX, len(indices))
        return []
    return unused


def free_huge_folio(page: Page) -> bool:
    """What freeing one page gives back, but the page itself (``free_huge_folio``); True when its
    reservation comes back onto Rsvd.

    A page marked restore_reserve gets its reservation restored (and stays
    charged to its mount). Otherwise its charge goes back to the mount's
    subpool; a subpool below its minimum keeps it as a reservation of its
    own, and the kernel then restores it to Rsvd as if the page were marked.
    The one copy of this rule: every path that frees pages comes here.
    """
    return page.restore_reserve or (page.spool is not None and put_pages(page.spool, 1) == 0)


def free_huge_folios(hstate: HState, pages: list[Page]) -> None:
    """Free pages whose last user went: :func:`free_huge_folio` for each, then the pool counts them
    free in one batch (as the kernel's mmu_gather frees them after the zaps)."""
    restores = sum(free_huge_folio(page) for page in pages)
    hstate.free_huge_pages_many(len(pages), restores)


def hugetlbfs_evict_inode(hstate: HState, inode: HugetlbFile) -> None:
    """The inode's last holder went and it has no name: drop everything.

    Mirrors ``hugetlbfs_evict_inode``: ``remove_inode_hugepages(0, LLONG_MAX)``
    as a truncate, then the map is released (empty by then).
    """
    remove_inode_hugepages(hstate, inode, 0, LONG_MAX, truncate_op=True)
    inode.evicted = True
