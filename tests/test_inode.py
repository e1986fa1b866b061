"""hugelab.model.inode: a file's reservation map, page cache and what truncate, punch and eviction give back."""

from hugelab.model.hstate import HState
from hugelab.model.inode import LONG_MAX, hugetlb_reserve_pages, hugetlb_unreserve_pages, remove_inode_hugepages
from hugelab.model.subpool import HugepageSubpool
from hugelab.model.vma import HugetlbFile, Page


def pool(n: int) -> HState:
    hs = HState()
    hs.set_max_huge_pages(n)
    return hs


def cached(hs: HState, inode: HugetlbFile, idx: int) -> None:
    """A shared fault at ``idx`` that uses the entry's reservation."""
    assert hs.dequeue_huge_page(has_reserve=True)
    hs.resv_huge_pages -= 1
    inode.page_cache[idx] = Page(anon=False, in_page_cache=True)


def test_a_shared_reservation_takes_only_what_the_map_lacks():
    hs, inode = pool(8), HugetlbFile("f", 0, True, False)
    assert hugetlb_reserve_pages(hs, inode, 0, 4, shared=True) is True
    assert hugetlb_reserve_pages(hs, inode, 2, 6, shared=True) is True
    assert hs.resv_huge_pages == 6 and inode.resv_map.regions() == [(0, 6)]
    assert hugetlb_reserve_pages(hs, inode, 0, 9, shared=True) is False  # 9 > 8 pages: nothing changes
    assert hs.resv_huge_pages == 6 and inode.resv_map.regions() == [(0, 6)]


def test_a_private_reservation_takes_the_whole_range_and_leaves_the_files_map():
    hs, inode = pool(8), HugetlbFile("f", 0, True, False)
    hugetlb_reserve_pages(hs, inode, 0, 4, shared=True)
    assert hugetlb_reserve_pages(hs, inode, 0, 3, shared=False) is True
    assert hs.resv_huge_pages == 7 and inode.resv_map.regions() == [(0, 4)]


def test_the_mount_refuses_first_and_gets_everything_back_when_the_pool_refuses():
    hs = pool(2)
    inode = HugetlbFile("f", 0, True, False, spool=HugepageSubpool(4, None))
    assert hugetlb_reserve_pages(hs, inode, 0, 5, shared=True) is False  # over size=4: the mount refuses
    assert inode.spool.statfs() == (4, 4) and hs.resv_huge_pages == 0
    assert hugetlb_reserve_pages(hs, inode, 0, 3, shared=True) is False  # 3 > 2 pages: the pool refuses
    assert inode.spool.statfs() == (4, 4) and hs.resv_huge_pages == 0


def test_unreserve_gives_back_the_entries_without_a_page():
    hs, inode = pool(8), HugetlbFile("f", 0, True, False)
    hugetlb_reserve_pages(hs, inode, 0, 6, shared=True)
    cached(hs, inode, 0)
    cached(hs, inode, 1)
    assert hs.resv_huge_pages == 4
    assert hugetlb_unreserve_pages(hs, inode, 3, LONG_MAX, 0) == 3  # [3, inf): 3 entries, no page
    assert hs.resv_huge_pages == 1


def test_truncate_frees_pages_and_unreserves_once_punch_keeps_empty_offsets():
    hs, inode = pool(8), HugetlbFile("f", 0, True, False)
    hugetlb_reserve_pages(hs, inode, 0, 4, shared=True)
    cached(hs, inode, 0)
    cached(hs, inode, 1)
    # punch [1, 3): page 1 goes with its entry; offset 2 keeps its reservation
    freed = remove_inode_hugepages(hs, inode, 1, 3, truncate_op=False)
    assert len(freed) == 1 and inode.resv_map.regions() == [(0, 1), (2, 4)]
    hs.free_huge_pages_many(len(freed), 0)
    assert (hs.free_huge_pages, hs.resv_huge_pages) == (7, 2)
    # truncate to 0: page 0 freed here, every entry gone, the two reservations given back
    assert remove_inode_hugepages(hs, inode, 0, LONG_MAX, truncate_op=True) == []
    assert (hs.free_huge_pages, hs.resv_huge_pages) == (8, 0) and len(inode.resv_map) == 0
