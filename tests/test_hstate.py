"""Pool counters: reservation accounting, surplus pages, resizing, unsigned printing."""

from hugelab.model.hstate import HState, signed, u64


def pool(n, overcommit=0):
    hs = HState()
    hs.nr_overcommit_huge_pages = overcommit
    hs.set_max_huge_pages(n)
    return hs


def test_u64_prints_a_negative_count_as_the_kernel_does():
    assert u64(-6) == 18446744073709551610
    assert signed(18446744073709551610) == -6
    assert signed(5) == 5


def test_reserving_more_than_free_fails_and_changes_nothing():
    hs = pool(4)
    assert not hs.hugetlb_acct_memory(5)
    assert str(hs.counters()) == "4/4/0/0"
    assert hs.hugetlb_acct_memory(3)
    assert str(hs.counters()) == "4/4/3/0"


def test_overcommit_brings_surplus_pages_for_a_reservation_and_returns_them():
    hs = pool(2, overcommit=4)
    assert hs.hugetlb_acct_memory(4)
    assert str(hs.counters()) == "4/4/4/2"
    hs.hugetlb_acct_memory(-4)
    assert str(hs.counters()) == "2/2/0/0"


def test_shrinking_keeps_reserved_and_used_pages_and_marks_them_surplus():
    hs = pool(6)
    hs.hugetlb_acct_memory(4)
    assert hs.dequeue_huge_page(has_reserve=True)
    hs.resv_huge_pages -= 1  # one reserved page faulted in: 6/5/3/0
    hs.set_max_huge_pages(0)
    assert str(hs.counters()) == "4/3/3/4"  # min_count = 3 reserved + 1 in use


def test_a_wrapped_rsvd_blocks_every_release_of_free_pages():
    hs = pool(8)
    hs.resv_huge_pages = -6
    hs.set_max_huge_pages(0)
    assert hs.free_huge_pages == 8  # min_count = 2^64 - 6 + 0: nothing may go
    assert hs.surplus_huge_pages == 8


def test_freed_pages_leave_the_pool_while_it_has_surplus():
    hs = pool(1, overcommit=1)
    assert hs.alloc_surplus_huge_page()
    hs.free_huge_page(restore_reserve=False)
    assert str(hs.counters()) == "1/1/0/0"


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.integers(0, 6), st.integers(0, 4), st.lists(st.booleans(), max_size=10))
def test_freeing_in_one_batch_is_freeing_one_page_at_a_time(nr, surplus, restore_flags):
    """An unmap frees its pages in one batch: the same counters as one free per page."""
    def state():
        hs = HState()
        hs.nr_huge_pages, hs.surplus_huge_pages, hs.free_huge_pages = nr + surplus, surplus, 0
        return hs

    one_by_one, batch = state(), state()
    for restore in restore_flags:
        one_by_one.free_huge_page(restore)
    batch.free_huge_pages_many(len(restore_flags), sum(restore_flags))
    assert batch.counters() == one_by_one.counters()


def test_a_fault_without_a_reservation_may_not_take_a_promised_page():
    hs = pool(2)
    hs.hugetlb_acct_memory(2)  # 2/2/2/0: every free page is promised
    assert not hs.dequeue_huge_page(has_reserve=False)
    assert not hs.dequeue_huge_page(has_reserve=True, avoid_reserve=True)  # the owner's COW
    assert str(hs.counters()) == "2/2/2/0"
    assert hs.dequeue_huge_page(has_reserve=True)
    assert str(hs.counters()) == "2/1/2/0"  # Rsvd is the caller's to consume


def test_a_wrapped_rsvd_lets_pages_flow_as_the_kernel_unsigned_test_does():
    hs = pool(2)
    hs.resv_huge_pages = -1  # free - resv = 3: available, however wrong
    assert hs.available_huge_pages()
    assert hs.dequeue_huge_page(has_reserve=False)
