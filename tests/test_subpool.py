"""hugelab.model.subpool: a mount's size= and min_size= budget (kernel: struct hugepage_subpool)."""

from hypothesis import given
from hypothesis import strategies as st

from hugelab.model.hstate import HState
from hugelab.model.subpool import HugepageSubpool, get_pages, hugepage_new_subpool, hugepage_put_subpool, put_pages


def pool(n: int) -> HState:
    hs = HState()
    hs.set_max_huge_pages(n)
    return hs


def test_no_subpool_passes_every_count_through():
    assert get_pages(None, 5) == 5
    assert put_pages(None, 5) == 5


def test_size_caps_what_the_mount_may_hold():
    spool = HugepageSubpool(max_hpages=6, min_hpages=None)
    assert get_pages(spool, 4) == 4
    assert spool.statfs() == (6, 2)
    assert get_pages(spool, 3) is None  # 7 > 6: refused, nothing changed
    assert spool.used_hpages == 4
    assert put_pages(spool, 4) == 4
    assert spool.statfs() == (6, 6)


def test_min_size_is_reserved_at_mount_and_lent_first():
    # docs/measured-tables.md O: mount min_size=4M,size=12M (min 2, max 6) on a pool of 8
    hs = pool(8)
    spool = hugepage_new_subpool(hs, 6, 2)
    assert spool is not None and hs.resv_huge_pages == 2
    assert get_pages(spool, 1) == 0  # mmap 1 shared: from the mount's minimum
    assert get_pages(spool, 2) == 1  # [1, 3): one left in the minimum, one global
    assert get_pages(spool, 4) is None  # private mmap 4: used 7 > 6
    assert get_pages(spool, 3) == 3
    assert spool.used_hpages == 6 and spool.rsv_hpages == 0
    assert put_pages(spool, 3) == 3  # the private mapping's close
    assert put_pages(spool, 3) == 1  # truncate to 0: two refill the minimum
    assert spool.rsv_hpages == 2 and spool.used_hpages == 0


def test_min_size_that_the_pool_cannot_hold_fails_the_mount():
    hs = pool(1)  # table P: mount -o min_size=4M on a pool of 1
    assert hugepage_new_subpool(hs, None, 2) is None
    assert hs.counters() == (1, 1, 0, 0)


def test_umount_gives_the_minimum_back_only_when_nothing_is_charged():
    hs = pool(8)
    spool = hugepage_new_subpool(hs, None, 3)
    assert hs.resv_huge_pages == 3
    hugepage_put_subpool(hs, spool)
    assert spool.released() and hs.resv_huge_pages == 0

    leaky = hugepage_new_subpool(hs, 6, 3)
    leaky.used_hpages += 1  # a used count that never comes back (docs/findings.md §1)
    hugepage_put_subpool(hs, leaky)
    assert not leaky.released() and hs.resv_huge_pages == 3


@given(st.integers(0, 8), st.integers(0, 4),
       st.lists(st.tuples(st.booleans(), st.integers(1, 5)), max_size=40))
def test_global_reservations_held_for_a_mount_are_its_loan_plus_what_it_charged(maximum, minimum, calls):
    """Rsvd taken for the mount == rsv_hpages + used_hpages, whatever the calls."""
    minimum = min(minimum, maximum)
    spool = HugepageSubpool(maximum, minimum)
    global_resv = minimum  # what hugepage_new_subpool reserved
    for is_get, delta in calls:
        if is_get:
            got = get_pages(spool, delta)
            if got is not None:
                global_resv += got
        elif delta <= spool.used_hpages:
            global_resv -= put_pages(spool, delta)
        assert 0 <= spool.used_hpages <= maximum
        assert 0 <= spool.rsv_hpages <= minimum
        assert global_resv == spool.rsv_hpages + spool.used_hpages
