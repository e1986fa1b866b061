"""Hypothesis over random traces: the kernel's invariants, and the bug that breaks them."""

from hypothesis import HealthCheck, find, given, settings

from hugelab import Kernel, parse_trace
from hugelab.hstate import u64
from hugelab.hunt import _with_exits
from hugelab.replay import Liveness
from strategies import traces


def walk(text, policy):
    """Replay ``text`` then every process's exit, yielding the kernel after each step."""
    kernel, live = Kernel(policy), Liveness()
    for op in parse_trace(_with_exits(text)):
        if live.skips(op):
            continue
        live.record(op, kernel.apply(op))
        yield kernel


def check_invariants(kernel):
    hs = kernel.hstate
    # Rsvd is exactly the reservations the mappings still hold, less pages
    # whose reservation comes back only when their last user frees them.
    assert hs.resv_huge_pages == kernel.outstanding_reservations() - kernel.pending_restores()
    if kernel.pending_restores() == 0:
        for value in (hs.nr_huge_pages, hs.free_huge_pages, hs.resv_huge_pages, hs.surplus_huge_pages):
            assert value >= 0
        assert hs.free_huge_pages >= hs.resv_huge_pages
    assert hs.surplus_huge_pages <= hs.nr_huge_pages


def check_bare(kernel):
    c = kernel.counters()
    assert not kernel.procs
    assert (c.free, c.rsvd, c.surp) == (c.total, 0, 0)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_region_count_keeps_every_invariant(text):
    for kernel in walk(text, "region-count"):
        check_invariants(kernel)
        assert kernel.pending_restores() == 0  # no zap restore in 2.6.27
    check_bare(kernel)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_modern_keeps_every_invariant_the_kernel_keeps(text):
    for kernel in walk(text, "modern"):
        check_invariants(kernel)
    check_bare(kernel)


def breaks_an_invariant(text, policy):
    for kernel in walk(text, policy):
        hs = kernel.hstate
        if min(hs.resv_huge_pages, hs.free_huge_pages) < 0 or u64(hs.free_huge_pages) < u64(hs.resv_huge_pages):
            return True
    c = kernel.counters()
    return (c.free, c.rsvd, c.surp) != (c.total, 0, 0)


def test_hypothesis_finds_the_double_credit_bug_and_shrinks_it_to_five_operations():
    found = find(traces(), lambda t: breaks_an_invariant(t, "double-credit"),
                 settings=settings(max_examples=2000, database=None))
    ops = parse_trace(found).ops
    assert len(ops) <= 5, found
    assert not breaks_an_invariant(found, "region-count")
    assert not breaks_an_invariant(found, "modern")
