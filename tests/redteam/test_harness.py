"""Red team, the kernel harness: it can never be turned against the machine or root.

Three kinds of case:

* refused before anything is written: run anywhere, with the sysctl writer
  replaced by a guard that records and refuses every write, and the lock
  by one that records;
* the lock: need root (they run commands as ``nobody`` to attack it);
* a real kernel replay interrupted or failing: need root and an idle pool
  (``kernel`` marker), and ask for at most 4 huge pages.

Run kernel cases only under ``flock /work/hugepool.flock`` (as the whole
suite is run on the project's machine).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bounded import NOBODY, REPO, as_user, can_switch_user, hugelab, one_line

from hugelab import limits
from hugelab.cli import main
from hugelab.realkernel import KernelReplayError, KernelSession, KernelUnavailable, replay_kernel, sysfs
from hugelab.realkernel import machine as machine_module
from hugelab.realkernel.lock import Journal, PoolLock

ROOT = os.geteuid() == 0
HUGETLB = sysfs.NR_HUGEPAGES.exists()


@pytest.fixture
def guard(monkeypatch):
    """Every sysctl write and lock taken is recorded; every write is refused."""
    record = {"writes": [], "locks": 0}

    def refuse(path, value):
        record["writes"].append((path.name, value))
        raise AssertionError(f"the guard refused writing {value} to {path}")

    def lock(self):
        record["locks"] += 1
        raise AssertionError("the guard refused the lock")
    monkeypatch.setattr(sysfs, "write_sysctl", refuse)
    monkeypatch.setattr(PoolLock, "acquire", lock)
    return record


# -- refused before anything is written ------------------------------------------------
@pytest.mark.parametrize("text, says", [
    ("pool 100000\n", "asks for up to 100000 huge pages"),
    ("pool 64 overcommit 1\n", "asks for up to 65 huge pages"),
    ("pool 0 overcommit 100000\n", "asks for up to 100000 huge pages"),
    ("pool 2\nmmap a 30000000 private noreserve\n", "TiB of address space"),
    ("pool 2\nmmap a 13000000 private noreserve\nmmap b 13000000 shared noreserve\n", "line 3: "),
    ("pool 2\n" + "".join(f"fork c{i}\n" for i in range(limits.KERNEL_MAX_PROCESSES)), "starts at most"),
])
def test_past_a_kernel_limit_nothing_is_written_and_no_lock_taken(guard, capsys, tmp_path, text, says):
    path = tmp_path / "t.trace"
    path.write_text(text)
    assert main(["replay", str(path), "--kernel"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    if HUGETLB:
        assert says in err
    assert guard == {"writes": [], "locks": 0}


@pytest.mark.skipif(not HUGETLB, reason="needs a kernel with hugetlb (to read the huge page size)")
def test_the_real_kernel_cap_is_at_most_64_and_a_quarter_of_memavailable():
    hpage = sysfs.hugepage_size()
    most = limits.kernel_max_hugepages(hpage)
    available = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemAvailable:"))
    assert 0 <= most <= 64 and most * hpage <= available // 4


def test_too_few_open_files_is_one_line_before_anything_runs(tmp_path):
    path = tmp_path / "forks.trace"
    path.write_text("pool 2\n" + "".join(f"fork c{i}\n" for i in range(100)))
    line = one_line(hugelab("replay", str(path), "--kernel", files=128, timeout=60), 3)
    if HUGETLB:  # refused by the limits check, which runs before the lock and any write (see the guard cases)
        assert "this trace starts 101 processes" in line and "ulimit -n" in line


def test_no_root_is_one_line_and_no_lock(guard, capsys, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["replay", "seed", "--kernel"]) == 3
    assert capsys.readouterr().err.count("\n") == 1
    assert guard == {"writes": [], "locks": 0}


# -- the lock ---------------------------------------------------------------------------
needs_root = pytest.mark.skipif(can_switch_user() is not None, reason=f"{can_switch_user()}")


@pytest.fixture
def precious(tmp_path):
    """A root-only file an attacker would love root to truncate."""
    target = tmp_path / "precious"
    target.write_text("root's data\n")
    target.chmod(0o600)
    return target


@needs_root
def test_a_symlink_planted_at_the_old_lock_path_changes_nothing(precious):
    old = Path("/run/lock/hugelab-kernel.lock")  # in /run/lock, which every user may write
    planted = not (old.exists() or old.is_symlink())
    if planted:
        done = subprocess.run(as_user(NOBODY, ["ln", "-s", str(precious), str(old)]), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    before = old.lstat()  # left there by an older hugelab otherwise: it must not be touched either
    try:
        lock = PoolLock()
        lock.acquire()
        lock.release()
        assert precious.read_text() == "root's data\n"
        after = old.lstat()
        assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    finally:
        if planted:
            old.unlink()


@needs_root
def test_another_user_cannot_plant_a_link_at_the_new_lock_path_nor_open_the_lock():
    lock = PoolLock()
    lock.acquire()  # creates /run/hugelab (0700) and the lock, then lets go
    lock.release()
    done = subprocess.run(as_user(NOBODY, ["ln", "-s", "/etc/shadow", str(lock.path) + ".new"]),
                          capture_output=True, text=True)
    assert done.returncode != 0 and "Permission denied" in done.stderr
    done = subprocess.run(as_user(NOBODY, ["cat", str(lock.path)]), capture_output=True, text=True)
    assert done.returncode != 0 and "Permission denied" in done.stderr


@needs_root
def test_a_lock_directory_or_file_another_user_controls_is_refused(precious, tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    os.chown(planted, NOBODY, NOBODY)
    (planted / "kernel.lock").symlink_to(precious)  # as nobody would plant it
    os.lchown(planted / "kernel.lock", NOBODY, NOBODY)
    with pytest.raises(Exception, match="owned by uid 65534"):
        PoolLock(planted).acquire()
    safe = tmp_path / "safe"
    safe.mkdir(mode=0o700)
    (safe / "kernel.lock").symlink_to(precious)  # even root's own link is not followed
    with pytest.raises(Exception, match="is a symbolic link"):
        PoolLock(safe).acquire()
    assert precious.read_text() == "root's data\n"


@needs_root
def test_a_lock_held_elsewhere_says_who_holds_it(tmp_path):
    directory = tmp_path / "lockdir"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path\n"
        "from hugelab.realkernel.lock import Journal, PoolLock\n"
        f"lock = PoolLock(Path({str(directory)!r})); lock.acquire()\n"
        "lock.write_journal(Journal(__import__('os').getpid(), (0, 0), (0, 0)))\n"
        "print('held', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == "held"
        held = rf"another hugelab kernel replay is running on this machine: pid {holder.pid} \(uid 0: "
        with pytest.raises(Exception, match=held):
            PoolLock(directory).acquire()
    finally:
        holder.kill()
        holder.wait()


@needs_root
def test_another_user_gets_one_line_not_a_traceback():
    line = one_line(hugelab("replay", "seed", "--kernel", user=NOBODY, timeout=60), 3)
    assert "needs root" in line


# -- real kernel replays: signals, restore, leaks ------------------------------------------
REASON = machine_module.why_unavailable() if HUGETLB else "no hugetlb"

LONG = "pool 3\nmmap a 3 private\n" + "touch a 0\nmadvise a 0 1 dontneed\n" * 3000 + "fork c\n"


def sysctls():
    return sysfs.read_sysctl(sysfs.NR_HUGEPAGES), sysfs.read_sysctl(sysfs.NR_OVERCOMMIT)


def interrupted_run(tmp_path, signals, gap=0.0005):
    """Start a long kernel replay, send ``signals`` ``gap`` s apart once it runs; (status, stderr)."""
    path = tmp_path / "long.trace"
    path.write_text(LONG)
    proc = subprocess.Popen([sys.executable, "-m", "hugelab", "replay", str(path), "--kernel"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    deadline = time.monotonic() + 30
    while sysfs.read_counters().rsvd == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.1)
    for signum in signals:
        proc.send_signal(signum)
        time.sleep(gap)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("signals", [
    [signal.SIGHUP], [signal.SIGQUIT], [signal.SIGUSR1], [signal.SIGINT] * 4, [signal.SIGTERM, signal.SIGINT] * 3,
], ids=["HUP", "QUIT", "USR1", "INT-burst", "TERM-INT-burst"])
@pytest.mark.kernel
def test_every_catchable_signal_puts_the_pool_back_and_says_so_truthfully(tmp_path, signals):
    if REASON:
        pytest.skip(REASON)
    sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 1)
    sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 2)
    try:
        for _ in range(3 if len(signals) > 1 else 1):  # bursts: the old harness lost 3 runs in 4
            status, err = interrupted_run(tmp_path, signals)
            assert err.count("\n") == 1 and "Traceback" not in err, err
            # Signals that are pending together are delivered lowest number first (SIGINT before
            # SIGTERM), so the one that interrupts is whichever of the burst arrived first: the
            # message must name it, and it must be one that was sent.
            named = [s for s in set(signals) if f"interrupted by {s.name}:" in err]
            assert len(named) == 1, err
            assert status == 128 + named[0], err  # as a shell reports the signal (SIGTERM: 143)
            assert "nr_hugepages=2 and nr_overcommit_hugepages=1 were put back and read back" in err
            assert sysctls() == (2, 1) and str(sysfs.read_counters()) == "2/2/0/0"
            assert Path("/run/hugelab/kernel.lock").read_text() == ""  # the journal is closed
    finally:
        sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0)
        sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 0)


@pytest.mark.kernel
def test_a_run_killed_before_restoring_is_reported_and_its_leftover_never_becomes_the_baseline(tmp_path, capsys):
    if REASON:
        pytest.skip(REASON)
    lock = PoolLock(tmp_path / "lockdir")
    lock.acquire()  # as the killed run left it: its journal names baseline (0, 0), last written (3, 1)
    lock.write_journal(Journal(999_999_999, (0, 0), (3, 1)))
    lock.release()
    sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 1)
    sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 3)
    try:
        with KernelSession(PoolLock(tmp_path / "lockdir")):
            pass
        assert "was killed before it put the pool back" in capsys.readouterr().err
        assert sysctls() == (0, 0)
    finally:
        sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0)
        sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 0)


@pytest.mark.kernel
def test_a_sysctl_write_the_kernel_rejects_is_one_line_and_the_pool_is_put_back(monkeypatch, capsys, tmp_path):
    if REASON:
        pytest.skip(REASON)
    real = sysfs.write_sysctl

    def rejecting(path, value):
        if value == 4:
            raise OSError(22, "Invalid argument")
        real(path, value)
    monkeypatch.setattr(sysfs, "write_sysctl", rejecting)
    path = tmp_path / "t.trace"
    path.write_text("pool 2\nmmap a 1 private\npool 4\n")
    assert main(["replay", str(path), "--kernel"]) == 3
    err = capsys.readouterr().err
    assert err == "hugelab: kernel replay failed: line 3: the kernel refused nr_hugepages=4: Invalid argument\n"
    assert sysctls() == (0, 0) and str(sysfs.read_counters()) == "0/0/0/0"


@pytest.mark.kernel
def test_a_pool_not_bare_after_a_run_stops_everything_naming_the_trace(monkeypatch):
    if REASON:
        pytest.skip(REASON)
    real_counters, real_close = sysfs.read_counters, machine_module.KernelMachine.close

    def close_seeing_a_leak(self):  # after the replay, pretend a reservation leaked
        monkeypatch.setattr(sysfs, "read_counters", lambda *a: real_counters(*a)._replace(rsvd=1))
        try:
            real_close(self)
        finally:
            monkeypatch.setattr(sysfs, "read_counters", real_counters)
    monkeypatch.setattr(machine_module.KernelMachine, "close", close_seeing_a_leak)
    with pytest.raises(KernelReplayError, match=r"after trace 'x\.trace' every process ended but the pool is not bare"):
        replay_kernel("pool 1\nmmap a 1 private\n", label="trace 'x.trace'")
    assert sysctls() == (0, 0) and str(sysfs.read_counters()) == "0/0/0/0"


@pytest.mark.kernel
def test_a_busy_lock_is_refused_before_the_pool_is_looked_at(monkeypatch):
    if REASON:
        pytest.skip(REASON)
    with KernelSession(), pytest.raises(KernelUnavailable, match=r"another hugelab kernel replay .*: pid "):
        KernelSession().__enter__()
