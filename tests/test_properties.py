"""Hypothesis over random traces: the kernel's invariants, and the bug that breaks them."""

from hypothesis import HealthCheck, assume, find, given, settings

from hugelab import parse_trace
from hugelab.model.invariants import bare_pool_violations, held_violations, violations
from hugelab.replay import ModelReplay
from hugelab.tools.hunt import _with_exits

from strategies import traces


def walk(text, policy):
    """Replay ``text`` then every process's exit, yielding the model after each step."""
    for _, _, model in walk_outcomes(text, policy):
        yield model


def walk_outcomes(text, policy):
    """As :func:`walk`, yielding (operation, outcome, model) after each step."""
    run = ModelReplay(policy)
    for op in parse_trace(_with_exits(text)):
        error = run.feed(op).error
        yield op, error, run.model


def check_invariants(model, restore_seen):
    # Always: Rsvd is exactly the reservations the mappings still hold, less
    # pages whose reservation comes back only when their last user frees them.
    assert held_violations(model) == []
    assert model.hstate.surplus_huge_pages <= model.hstate.nr_huge_pages
    # The kernel's intended invariants hold until a page is left pending a
    # restore (v6.9+, an owner unmapping a page its children still map): from
    # then on Linux 6.18 itself can wrap Rsvd and lose a reservation, which
    # test_kernel.py measures (scenarios fork-unmap-wrap, modern-lost-reservation).
    if not restore_seen:
        assert violations(model.counters()) == []


def check_bare(model):
    assert not model.procs
    assert bare_pool_violations(model.counters()) == []


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_region_count_keeps_every_invariant_of_private_mappings(text):
    # 84afd99b exactly: its shared faults still borrowed surplus pages (7f09ca51 came after),
    # and 2.6.27's let a MAP_NORESERVE shared fault take a promised page (fixed in 2013)
    assume(" shared" not in text and "noreserve" not in text)
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
        if violations(model.counters()):
            return True
    return bool(bare_pool_violations(model.counters()))


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
    """Without min_size: every invariant, and a bare pool once everything is closed and every
    mount unmounted (the ending closes the files of a mount whose umount failed with EBUSY, then
    umounts it again)."""
    from hugelab import replay
    for text in v2_texts(200):
        restore_seen = False
        for model in walk(text, "modern"):
            restore_seen = restore_seen or model.pending_restores() > 0
            check_invariants(model, restore_seen)
        ending = replay(_with_exits(text), "modern")
        assert "EBUSY" not in [s.error for s in ending[len(parse_trace(text)):]], text
        c = ending[-1].counters
        assert (c.free, c.rsvd, c.surp) == (c.total, 0, 0), text


def test_v2_modern_with_min_size_keeps_rsvd_consistent():
    """With min_size the kernel's own invariants do not hold (a min-only mount refills its
    minimum from every freed page, even one leaving a surplus pool); Rsvd still equals
    what files, mappings and mounts hold, until the kernel's own bug of docs/findings.md §4: an
    mmap of a file on a min_size mount that the global pool refuses hands the minimum it had lent
    back to the mount (1d3f9bb4c8af's order), which Rsvd no longer counts (at umount it wraps)."""
    from hugelab.trace.language import Mmap
    cut = 0
    for text in v2_texts(200, min_size=True):
        for op, error, model in walk_outcomes(text, "modern"):
            inode = model.inodes.get(op.file) if isinstance(op, Mmap) and op.file else None
            spool = inode.spool if inode is not None else None
            if error == "ENOMEM" and spool is not None and spool.min_hpages:
                cut += 1
                break
            assert held_violations(model) == []
    assert cut < 20  # most traces are checked to their end (3 of 200 stop early, 2026-12)


def test_v2_2008_eras_replay_files_and_segments():
    # exact to their sources, the 2008 eras break invariants on files (a truncated page's
    # refault takes a reservation the owner no longer has, until 67961f9db8c4): replay only
    for text in v2_texts(100, since_2008=False):
        for policy in ("unreserved", "double-credit", "region-count", "linux-2.6.27"):
            for _ in walk(text, policy):
                pass
