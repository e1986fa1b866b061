"""vm.max_map_count in the model: the kernel's three rules at their exact boundaries.

The rules (hugelab/model/mm.py, from mm/mmap.c and mm/vma.c at Linux 6.18): an mmap
is refused once a process has *more* than the limit (so it may reach limit + 1),
a split for mprotect once it has the limit, and a munmap only when it would cut
a hole inside one VMA of a process at the limit. One test runs at the real
limit (65,530); the others lower it so that each boundary is a few lines.
"""

import pytest

from hugelab import limits
from hugelab.model.machine import Model
from hugelab.realkernel.guard import KernelLimitError, check_trace
from hugelab.replay import ModelReplay
from hugelab.trace.language import parse_trace


def run(text: str) -> tuple[Model, list]:
    replay = ModelReplay("modern")
    steps = [replay.feed(op) for op in parse_trace(text)]
    return replay.model, steps


def mmaps(n: int, proc: str = "") -> str:
    """``n`` one-page mappings, each one VMA (MAP_NORESERVE: an empty pool serves)."""
    prefix = f"in {proc} " if proc else ""
    return "".join(f"{prefix}mmap m{i} 1 private noreserve\n" for i in range(n))


@pytest.fixture
def limit(monkeypatch) -> int:
    monkeypatch.setattr("hugelab.model.mm.MAX_MAP_COUNT", 6)
    return 6


def test_at_the_real_limit_an_mmap_succeeds_once_more_then_enomem():
    n = limits.MAX_MAP_COUNT
    model, steps = run("pool 0\n" + mmaps(n - 1)
                       + "mmap a 3 private noreserve\nmmap b 1 private noreserve\nmmap c 1 private noreserve\n"
                       + "munmap a 1 1\nmprotect a 1 1 r\n")
    assert [s.error for s in steps[-5:]] == [None, None, "ENOMEM", "ENOMEM", "ENOMEM"]
    assert model.procs["main"].map_count == n + 1
    assert len(model.procs["main"].pieces("a")) == 1  # neither refused call split anything


@pytest.mark.parametrize("before, outcome, after", [
    (5, None, 6),        # limit - 1
    (6, None, 7),        # at the limit: do_mmap refuses only map_count > limit
    (7, "ENOMEM", 7),    # limit + 1
])
def test_mmap_boundary(limit, before, outcome, after):
    model, steps = run("pool 4\n" + mmaps(before) + "mmap x 2 private\n")
    assert steps[-1].error == outcome
    assert model.procs["main"].map_count == after == model.nr_vmas
    if outcome:  # refused before anything was reserved
        assert steps[-1].counters == steps[-2].counters
        assert "x" not in model.procs["main"].vmas


def test_a_refused_mmap_makes_its_later_lines_skipped(limit):
    _, steps = run("pool 4\n" + mmaps(7) + "mmap x 2 private\ntouch x 0\n")
    assert [s.error for s in steps[-2:]] == ["ENOMEM", "skipped"]


@pytest.mark.parametrize("before, outcome, pieces, after", [
    (3, None, 3, 6),         # a middle mprotect makes two more VMAs: 4 -> 6, the limit
    (4, "ENOMEM", 2, 6),     # 5 -> 6 by the first split; the second is refused, the first stays
    (5, "ENOMEM", 1, 6),     # at the limit: split_vma refuses the first split
])
def test_mprotect_split_at_the_limit(limit, before, outcome, pieces, after):
    model, steps = run("pool 0\n" + mmaps(before) + "mmap a 4 private noreserve\nmprotect a 1 2 r\n")
    proc = model.procs["main"]
    assert steps[-1].error == outcome
    assert len(proc.pieces("a")) == pieces and proc.map_count == after == model.nr_vmas
    assert [v.prot for v in proc.pieces("a")] == (["rw", "r", "rw"] if outcome is None else ["rw"] * pieces)


def test_mprotect_of_a_whole_vma_needs_no_split_at_the_limit(limit):
    model, steps = run("pool 0\n" + mmaps(5) + "mmap a 4 private noreserve\nmprotect a 0 4 r\n")
    assert steps[-1].error is None and model.procs["main"].pieces("a")[0].prot == "r"


@pytest.mark.parametrize("before, outcome, after", [
    (4, None, 6),        # limit - 1: a hole in one VMA, 5 -> 6
    (5, "ENOMEM", 6),    # at the limit: vms_gather_munmap_vmas refuses it, nothing changes
])
def test_munmap_hole_boundary(limit, before, outcome, after):
    model, steps = run("pool 4\n" + mmaps(before) + "mmap a 4 private\ntouch a 1\ntouch a 2\nmunmap a 1 2\n")
    assert steps[-1].error == outcome
    assert model.procs["main"].map_count == after == model.nr_vmas
    if outcome:
        assert steps[-1].counters == steps[-2].counters
        assert len(model.procs["main"].pieces("a")) == 1


@pytest.mark.parametrize("munmap", ["munmap a 1 1", "munmap a 3 3", "munmap a 1 3"])
def test_munmap_that_removes_a_vma_may_split_past_the_limit(limit, munmap):
    # a: [0,2) r and [2,6) rw, then an mmap takes main one past the limit (7);
    # cutting at one edge of a VMA, or across two, removes as much as it adds
    model, steps = run("pool 0\n" + mmaps(4) + "mmap a 6 private noreserve\nmprotect a 0 2 r\n"
                       "mmap z 1 private noreserve\n" + munmap + "\n")
    assert [s.error for s in steps[-3:]] == [None, None, None]
    assert model.procs["main"].map_count == 7 == model.nr_vmas
    assert sum(len(v) for v in model.procs["main"].pieces("a")) == 6 - int(munmap.split()[-1])


def test_a_fork_copies_map_count_without_a_check(limit):
    model, steps = run("pool 0\n" + mmaps(7) + "fork c\nin c mmap x 1 private\nexit c\n")
    assert [s.error for s in steps[-3:]] == [None, "ENOMEM", None]
    assert model.nr_vmas == 7 and "c" not in model.procs


def test_the_whole_machine_is_bounded(monkeypatch):
    monkeypatch.setattr("hugelab.model.machine.MAX_VMAS", 10)
    model, steps = run("pool 0\n" + mmaps(3) + "fork c1\nfork c2\nfork c3\nin c3 touch m0 0\n"
                       "in c1 mmap x 1 private noreserve\nin c2 mmap y 4 private noreserve\nin c2 mprotect m0 0 1 r\n"
                       "exit c1\nin c2 mmap z 4 private noreserve\nin c2 mprotect z 1 1 r\n"
                       "in c2 mmap w 4 private noreserve\nin c2 mprotect w 1 1 r\n")
    assert [s.error for s in steps[4:]] == [None, None, "ENOMEM", "skipped", None, "ENOMEM", None,
                                            None, None, None, None, "ENOMEM"]
    assert model.nr_vmas == sum(p.map_count for p in model.procs.values()) == 10
    assert "c3" not in model.procs and len(model.procs["c2"].pieces("w")) == 1


def test_a_kernel_replay_refuses_a_trace_that_could_near_the_limit():
    most = limits.kernel_max_trace_vmas()
    assert 0 < most <= limits.KERNEL_MAX_TRACE_VMAS
    trace = parse_trace("pool 0\n" + mmaps(most - 2) + "mmap a 4 private noreserve\nmprotect a 1 1 r\n")
    with pytest.raises(KernelLimitError, match=rf"^line {most + 1}: the trace may make more than {most:,} VMAs"):
        check_trace(trace, 2 << 20)
    check_trace(parse_trace("pool 0\n" + mmaps(most - 1) + "mmap a 4 private noreserve\n"), 2 << 20)
