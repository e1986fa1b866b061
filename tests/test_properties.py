"""Hypothesis over random traces: the kernel's invariants, and the bug that breaks them."""

from hypothesis import HealthCheck, find, given, settings

from hugelab import Model, parse_trace
from hugelab.model.hstate import u64
from hugelab.replay import Liveness
from hugelab.tools.hunt import _with_exits

from strategies import traces


def walk(text, policy):
    """Replay ``text`` then every process's exit, yielding the model after each step."""
    model, live = Model(policy), Liveness()
    for op in parse_trace(_with_exits(text)):
        if live.skips(op):
            live.record_skip(op)
            continue
        live.record(op, model.apply(op))
        yield model


def check_invariants(model, restore_seen):
    hs = model.hstate
    # Always: Rsvd is exactly the reservations the mappings still hold, less
    # pages whose reservation comes back only when their last user frees them.
    assert hs.resv_huge_pages == model.outstanding_reservations() - model.pending_restores()
    assert hs.surplus_huge_pages <= hs.nr_huge_pages
    # The kernel's intended invariants hold until a page is left pending a
    # restore (v6.9+, an owner unmapping a page its children still map): from
    # then on Linux 6.18 itself can wrap Rsvd and lose a reservation, which
    # test_kernel.py measures (scenarios fork-unmap-wrap, modern-lost-reservation).
    if not restore_seen:
        for value in (hs.nr_huge_pages, hs.free_huge_pages, hs.resv_huge_pages, hs.surplus_huge_pages):
            assert value >= 0
        assert hs.free_huge_pages >= hs.resv_huge_pages


def check_bare(model):
    c = model.counters()
    assert not model.procs
    assert (c.free, c.rsvd, c.surp) == (c.total, 0, 0)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_region_count_keeps_every_invariant(text):
    for model in walk(text, "region-count"):
        assert model.pending_restores() == 0  # no zap restore in 2.6.27
        check_invariants(model, restore_seen=False)
    check_bare(model)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_modern_keeps_every_invariant_the_kernel_keeps(text):
    restore_seen = False
    for model in walk(text, "modern"):
        restore_seen = restore_seen or model.pending_restores() > 0
        check_invariants(model, restore_seen)
    check_bare(model)


def test_modern_loses_a_reservation_after_a_pending_restore_as_linux_6_18_does():
    from hugelab import replay, scenarios
    steps = replay(scenarios.load("modern-lost-reservation"), "modern")
    assert str(steps[-2].counters) == "0/0/1/0"  # Free 0 < Rsvd 1
    assert steps[-1].error == "SIGBUS"  # a reserved fault finds no page


def breaks_an_invariant(text, policy):
    for model in walk(text, policy):
        hs = model.hstate
        if min(hs.resv_huge_pages, hs.free_huge_pages) < 0 or u64(hs.free_huge_pages) < u64(hs.resv_huge_pages):
            return True
    c = model.counters()
    return (c.free, c.rsvd, c.surp) != (c.total, 0, 0)


def test_hypothesis_finds_the_double_credit_bug_and_shrinks_it_to_five_operations():
    found = find(traces(), lambda t: breaks_an_invariant(t, "double-credit"),
                 settings=settings(max_examples=2000, database=None, derandomize=True))
    ops = parse_trace(found).ops
    assert len(ops) <= 5, found
    assert not breaks_an_invariant(found, "region-count")
    assert not breaks_an_invariant(found, "modern")
    print(f"Hypothesis's shrunk double-credit violation ({len(ops)} operations):\n{found}")


# -- trace v2: files, mounts, segments (seeded random traces; the kernel side is verify's job)
def v2_texts(count, **options):
    import random

    from hugelab.trace.generate import random_v2_trace
    return [random_v2_trace(random.Random(seed), 30, **options) for seed in range(count)]


def test_v2_modern_keeps_rsvd_equal_to_what_files_mappings_and_mounts_hold():
    """Without min_size: every invariant, and a bare pool once everything is closed (unless an
    umount failed with EBUSY: the text can then never close that mount's files)."""
    from hugelab import replay
    for text in v2_texts(200):
        restore_seen = False
        for model in walk(text, "modern"):
            restore_seen = restore_seen or model.pending_restores() > 0
            check_invariants(model, restore_seen)
        if "EBUSY" not in [s.error for s in replay(_with_exits(text), "modern")]:
            c = model.counters()
            assert (c.free, c.rsvd, c.surp) == (c.total, 0, 0), text


def test_v2_modern_with_min_size_keeps_rsvd_consistent():
    """With min_size the kernel's own invariants do not hold (a min-only mount refills its
    minimum from every freed page, even one leaving a surplus pool); Rsvd still equals
    what files, mappings and mounts hold."""
    for text in v2_texts(200, min_size=True):
        for model in walk(text, "modern"):
            assert model.hstate.resv_huge_pages == model.outstanding_reservations() - model.pending_restores()


def test_v2_2008_eras_replay_files_and_segments():
    for text in v2_texts(100, since_2008=False):
        for model in walk(text, "region-count"):
            check_invariants(model, restore_seen=False)
        for policy in ("unreserved", "double-credit"):
            for _ in walk(text, policy):
                pass
