"""An engineer's guest tools without a guest: saved guests' names and pruning, hunts one kernel at a time
and a leak that does not end a hunt. (The same with real guests: test_guests.py.)"""

import os
import threading
import time

import pytest

from hugelab.model.hstate import Counters
from hugelab.realkernel import KernelLeaked, snapshots
from hugelab.realkernel.images import KernelImage
from hugelab.tools.hunt_kernels import hunt_kernels


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_a_snapshot_is_named_by_the_kernel_the_command_line_and_the_code(cache, tmp_path):
    kernel = tmp_path / "vmlinuz-6.12.1"
    kernel.write_bytes(b"one")
    image = KernelImage("6.12.1", kernel)
    command = ["qemu-system-x86_64", "-m", "1024"]
    name = snapshots.key(image, command)
    assert snapshots.key(image, command) == name  # the same inputs, the same snapshot
    assert snapshots.key(image, command + ["-smp", "2"]) != name
    kernel.write_bytes(b"other")  # another kernel image at the same path
    assert snapshots.key(image, command) != name
    state, cpio = snapshots.paths(name)
    assert state.parent == cache / "hugelab" / "snapshots" and cpio.suffix == ".cpio"


def test_the_least_recently_used_snapshots_go_beyond_the_kept_number(cache):
    folder = snapshots.folder()
    folder.mkdir(parents=True)
    names = [f"s{i:02d}" for i in range(snapshots.KEPT + 3)]
    for i, name in enumerate(names):
        for path in snapshots.paths(name):
            path.write_bytes(b"x")
            os.utime(path, (1000 + i, 1000 + i))
    snapshots.used(names[0])  # the oldest, used just now: it stays
    snapshots.prune()
    kept = sorted(p.stem for p in folder.glob("*.state"))
    assert len(kept) == snapshots.KEPT and kept == sorted([names[0], *names[4:]])
    assert sorted(p.stem for p in folder.glob("*.cpio")) == kept


class FakeGuest:
    """A guest kernel that records how many replays run at once, and leaks on traces with fallocate."""

    busy = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, release, leaks):
        self.release, self.leaks, self.booted = release, leaks, 0

    def __enter__(self):
        with FakeGuest.lock:
            FakeGuest.busy += 1
            FakeGuest.most = max(FakeGuest.most, FakeGuest.busy)
        time.sleep(0.01)
        with FakeGuest.lock:
            FakeGuest.busy -= 1
        return self

    def __exit__(self, *exc):
        return None

    def replay(self, trace):
        from hugelab import replay
        with FakeGuest.lock:
            FakeGuest.busy += 1
            FakeGuest.most = max(FakeGuest.most, FakeGuest.busy)
        try:
            time.sleep(0.002)
            steps = replay(trace, "linux-6.12")
            if self.leaks and "fallocate" in trace.text:
                leak = KernelLeaked("in the guest: the pool is not bare", Counters(1, 1, 1, 1))
                leak.steps = steps
                raise leak
            return steps
        finally:
            with FakeGuest.lock:
                FakeGuest.busy -= 1


def test_a_hunt_over_two_guests_boots_and_replays_one_at_a_time_and_a_leak_is_a_difference(monkeypatch):
    import io

    import hugelab.realkernel.targets as targets
    guests = {"A": FakeGuest("6.12.0-a", leaks=False), "B": FakeGuest("7.3.0-b", leaks=True)}
    monkeypatch.setattr(targets, "open_kernel", lambda spec: guests[spec])
    monkeypatch.setattr(targets, "is_host", lambda spec: False)
    FakeGuest.most = 0
    out = io.StringIO()
    assert hunt_kernels(["A", "B"], traces=200, length=8, seed=0, out=out, files=True) == 0
    assert FakeGuest.most == 1  # never two at once
    text = out.getvalue()
    assert "disagree on this trace" in text and "fallocate" in text
    assert ("Linux 7.3.0-b leaked: once everything of the trace was gone its pool showed "
            "Total/Free/Rsvd/Surp = 1/1/1/1") in text


class RecordingKernel:
    """A kernel (host or guest, as the spec says) that replays under ``modern`` and keeps every trace."""

    def __init__(self, spec):
        self.spec, self.release, self.upstream, self.traces = spec, f"6.12.0-{spec}", "", []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def replay(self, trace, label="the trace"):
        from hugelab import replay
        self.traces.append(trace)
        return replay(trace, "modern")


@pytest.fixture
def kernels(monkeypatch):
    """``open_kernel`` handing out recording kernels: ``host`` is this machine's (targets.is_host as it is)."""
    import hugelab.realkernel.targets as targets
    opened: dict[str, RecordingKernel] = {}
    monkeypatch.setattr(targets, "open_kernel", lambda spec: opened.setdefault(spec, RecordingKernel(spec)))
    assert targets.is_host("host") and not targets.is_host("guest-a") and not targets.is_host("guest-b")
    return opened


def min_size_traces(kernel: RecordingKernel) -> int:
    return sum(trace.min_size_mount() is not None for trace in kernel.traces)


def test_min_size_random_traces_are_for_guests_only():
    from hugelab.realkernel.machine import KernelUnavailable
    from hugelab.realkernel.targets import min_size_in_random_traces
    assert min_size_in_random_traces(["guest-a"], files=True)
    assert min_size_in_random_traces(["guest-a", "guest-b"], files=True)
    assert not min_size_in_random_traces(["guest-a"], files=False)  # trace v1 has no mounts
    assert not min_size_in_random_traces(["guest-a"], files=True, asked=False)
    assert not min_size_in_random_traces(["host"], files=True)
    assert not min_size_in_random_traces(["guest-a", "host"], files=True)
    assert not min_size_in_random_traces(["host"], files=True, asked=False)
    with pytest.raises(KernelUnavailable, match=r"^refused: random traces with min_size mounts can leak"):
        min_size_in_random_traces(["host"], files=True, asked=True)


def test_verify_on_this_machine_refuses_min_size_before_opening_the_kernel_and_never_generates_them(kernels):
    import io

    from hugelab.realkernel.machine import KernelUnavailable
    from hugelab.tools.verify import verify
    with pytest.raises(KernelUnavailable) as refused:
        verify(5, 30, 0, out=io.StringIO(), kernel="host", files=True, min_size=True)
    assert str(refused.value) == ("refused: random traces with min_size mounts can leak huge page reservations "
                                  "until reboot (scenario min-size-leak-6.18); verify them in a guest (--kernel 6.12)")
    assert kernels == {}  # nothing opened, so nothing replayed
    progress = io.StringIO()
    assert verify(20, 30, 0, out=io.StringIO(), progress=progress, kernel="host", files=True, policy="modern") == 0
    assert len(kernels["host"].traces) == 20 and min_size_traces(kernels["host"]) == 0
    assert "no min_size mount" in progress.getvalue()


def test_verify_in_a_guest_mounts_with_min_size_unless_told_not_to(kernels):
    import io

    from hugelab.tools.verify import verify
    progress = io.StringIO()
    assert verify(20, 30, 0, out=io.StringIO(), progress=progress, kernel="guest-a", files=True, policy="modern") == 0
    assert min_size_traces(kernels["guest-a"]) > 0 and "min_size mounts included" in progress.getvalue()
    assert verify(20, 30, 0, out=io.StringIO(), kernel="guest-b", files=True, min_size=False, policy="modern") == 0
    assert len(kernels["guest-b"].traces) == 20 and min_size_traces(kernels["guest-b"]) == 0


def test_a_hunt_with_this_machine_on_one_side_never_mounts_with_min_size_and_one_over_guests_does(kernels):
    import io

    out = io.StringIO()
    assert hunt_kernels(["host", "guest-a"], traces=20, length=30, seed=0, out=out, files=True) == 0
    assert "agree on every step" in out.getvalue()
    assert len(kernels["host"].traces) == 20 and min_size_traces(kernels["host"]) == 0
    assert min_size_traces(kernels["guest-a"]) == 0  # both sides replay the same traces
    assert hunt_kernels(["guest-a", "guest-b"], traces=20, length=30, seed=0, out=io.StringIO(), files=True) == 0
    assert min_size_traces(kernels["guest-b"]) > 0
