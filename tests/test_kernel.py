"""Replays on the running kernel: safety first, then step-by-step agreement with ``modern``.

These run wherever the kernel can give huge pages and we are root (CI
included); elsewhere they skip, saying why (and in CI, on a machine that
could run them, that skip is a failure: tests/conftest.py). Nothing here
touches the kernel when the module is imported or collected: the probe is
a fixture, under the pool lock, and puts the pool back whatever happens.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hugelab import parse_trace, replay, scenarios
from hugelab.realkernel import KernelSession, KernelUnavailable, refusal, replay_on, sysfs, why_unavailable
from hugelab.trace.generate import random_trace, random_v2_trace

from golden import FILE_TABLES, TABLES, as_rows
from summary_lines import SUMMARY

pytestmark = pytest.mark.kernel


def why_no_huge_pages() -> str | None:
    """None if a replay can start now and the kernel really gives huge pages, else why not.

    The probe holds the pool lock (a KernelSession), which puts nr_hugepages back as it found it
    even if the probe fails.
    """
    reason = why_unavailable()
    if reason:
        return reason
    try:
        with KernelSession():
            sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 2)
            if sysfs.read_counters().total < 2:
                return "the kernel could not allocate 2 huge pages"
    except KernelUnavailable as e:
        return str(e)
    return None


@pytest.fixture(scope="module", autouse=True)
def host_kernel():
    reason = why_no_huge_pages()
    if reason:
        pytest.skip(f"real-kernel tests skipped: {reason}")


@pytest.fixture
def session():
    with KernelSession() as s:
        yield s


def sysctls():
    return sysfs.read_sysctl(sysfs.NR_HUGEPAGES), sysfs.read_sysctl(sysfs.NR_OVERCOMMIT)


def hugelab_processes(marker):
    """PIDs of processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("table", sorted(TABLES))
def test_measured_tables_still_hold_on_this_kernel(session, table):
    trace, expected = TABLES[table]
    assert as_rows(replay_on(session, parse_trace(trace))) == expected


def has_min_size(text: str) -> bool:
    return parse_trace(text).min_size_mount() is not None


# min_size traces never run on this machine (a guest's job, test_guests.py): they are not skipped
# here, their refusal is the test
HOST_FILE_TABLES = sorted(t for t in FILE_TABLES if not has_min_size(FILE_TABLES[t][0]))
HOST_SCENARIOS = [n for n in scenarios.names() if not has_min_size(scenarios.load(n))]
REFUSED = ([FILE_TABLES[t][0] for t in sorted(set(FILE_TABLES) - set(HOST_FILE_TABLES))]
           + [scenarios.load(n) for n in scenarios.names() if n not in HOST_SCENARIOS])


@pytest.mark.parametrize("table", HOST_FILE_TABLES)
def test_measured_file_tables_still_hold_on_this_kernel(session, table):
    trace = parse_trace(FILE_TABLES[table][0])
    assert replay_on(session, trace) == replay(trace, "modern")


@pytest.mark.parametrize("name", HOST_SCENARIOS)
def test_every_scenario_matches_modern_step_by_step(session, name):
    trace = parse_trace(scenarios.load(name))
    assert replay_on(session, trace) == replay(trace, "modern")


@pytest.mark.parametrize("text", REFUSED, ids=lambda t: t.splitlines()[0][:40])
def test_a_min_size_trace_is_refused_here_before_the_pool_is_touched(session, text):
    trace = parse_trace(text)
    found = sysctls(), str(sysfs.read_counters())
    with pytest.raises(KernelUnavailable, match=r"refused: a min_size mount can leak"):
        replay_on(session, trace)
    assert (sysctls(), str(sysfs.read_counters())) == found


@pytest.mark.parametrize("name", ["FILE_REMAP", "TWO_MAPS", "TRUNCATE", "PUNCH", "CAPPED", "SEGMENT"])
def test_the_file_traces_files_and_mounts_asks_about_match_modern_on_this_kernel(session, name):
    from hugelab.teaching import lessons
    trace = parse_trace(getattr(lessons, name))
    assert not refusal(trace)  # the notebook says these were replayed on 6.18: no min_size among them
    assert replay_on(session, trace) == replay(trace, "modern")


def test_random_traces_match_modern_at_every_step(session):
    traces, length, steps = 300, 30, 0
    for seed in range(traces):
        text = random_trace(random.Random(seed), length)
        trace = parse_trace(text)
        kernel, model = replay_on(session, trace), replay(trace, "modern")
        assert kernel == model, f"seed {seed}: run `hugelab verify --traces 1 --seed {seed} --length {length}`\n{text}"
        steps += len(kernel)
    SUMMARY.append(f"kernel comparison: verified {traces} traces, {steps} steps on Linux {os.uname().release}: "
                   "all match")


#: random v2 traces (no min_size) replayed here: seeds 0-999 at length 30 went first to a
#: throw-away guest running Debian's 6.18.15 and left its pool bare after every trace
V2_TRACES = 1000


def test_random_v2_traces_match_modern_at_every_step(session):
    """Files, mounts with size=, memfds and segments mixed with v1 operations; never min_size here."""
    length, steps = 30, 0
    for seed in range(V2_TRACES):
        text = random_v2_trace(random.Random(seed), length, min_size=False)
        trace = parse_trace(text)
        assert refusal(trace) is None
        kernel = replay_on(session, trace, f"random v2 trace seed {seed}")
        model = replay(trace, "modern")
        assert kernel == model, (f"seed {seed}: run `hugelab verify --files --traces 1 --seed {seed} "
                                 f"--length {length}`\n{text}")
        steps += len(kernel)
    SUMMARY.append(f"kernel comparison: verified {V2_TRACES} v2 traces (files, mounts, segments), {steps} steps "
                   f"on Linux {os.uname().release}: all match")


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "hugelab", *args], capture_output=True, text=True, **kw)


def test_cli_replay_on_the_kernel_restores_the_pool_as_it_found_it():
    sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 1)
    sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 3)
    try:
        done = run_cli("replay", "seed", "--kernel", "--json")
        assert done.returncode == 0, done.stderr
        assert [r.split('"rsvd": ')[1].split(",")[0] for r in done.stdout.splitlines()] == \
               ["0", "4", "3", "2", "2", "0"]
        assert sysctls() == (3, 1)
        assert str(sysfs.read_counters()) == "3/3/0/0"
    finally:
        sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0)
        sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 0)


def test_a_trace_whose_main_process_is_killed_is_recorded_and_cleaned_up():
    before = sysctls()
    text = "pool 1\nmmap a 2 private noreserve\nfork c\ntouch a 0\ntouch a 1\nin c touch a 1\nin c touch a 0\n"
    from hugelab.realkernel import replay_kernel
    steps = replay_kernel(text)
    assert [s.error for s in steps] == [None, None, None, None, "SIGBUS", None, "SIGBUS"]
    assert steps == replay(text, "modern")
    assert sysctls() == before
    assert str(sysfs.read_counters()) == "0/0/0/0"


def test_it_refuses_a_busy_pool_with_one_line_and_changes_nothing():
    sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 2)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import ctypes, sys\n"
        "libc = ctypes.CDLL(None); libc.mmap.restype = ctypes.c_void_p\n"
        "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,"
        " ctypes.c_int, ctypes.c_long]\n"
        "assert libc.mmap(None, 2 << 20, 3, 0x2 | 0x20 | 0x40000, -1, 0) not in (None, 2**64 - 1)\n"
        "print('holding', flush=True); sys.stdin.read()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        done = run_cli("replay", "seed", "--kernel")
        assert done.returncode == 3
        assert done.stdout == "" and done.stderr.count("\n") == 1
        assert "in use or reserved by someone else" in done.stderr
        assert sysctls() == (2, 0) and str(sysfs.read_counters()) == "2/2/1/0"
    finally:
        holder.kill()
        holder.wait()
        sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0)


def test_it_refuses_without_root(monkeypatch, capsys):
    from hugelab.cli import main
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["replay", "seed", "--kernel"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


def test_two_sessions_cannot_share_the_pool(session):
    with pytest.raises(KernelUnavailable, match="another hugelab kernel replay is running"), KernelSession():
        pass


LONG = "pool 4\nmmap a 4 private\n" + "touch a 0\nmadvise a 0 1 dontneed\n" * 3000 + "fork c\n"


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_kernel_replay_leaves_no_process_behind(tmp_path, how):
    marker = f"hugelab-interrupt-{how.name}.trace"
    path = tmp_path / marker
    path.write_text(LONG)
    sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 2)
    sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 1)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hugelab", "replay", str(path), "--kernel"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while sysfs.read_counters().rsvd == 0 and time.monotonic() < deadline:  # the trace has started
            time.sleep(0.01)
        time.sleep(0.2)
        proc.send_signal(how)
        _, err = proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while hugelab_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hugelab_processes(marker) == []
        if how is signal.SIGKILL:
            # nothing restores sysctls at SIGKILL: the next session does, from what the killed one saved
            sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 3)
            with KernelSession():
                pass
            assert sysctls() == (1, 2)
            return
        assert proc.returncode == 128 + how, err  # as a shell reports the signal (SIGTERM: 143)
        assert "interrupted" in err
        assert sysctls() == (1, 2)
        assert str(sysfs.read_counters()) == "1/1/0/0"
    finally:
        for pid in hugelab_processes(marker):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        sysfs.write_sysctl(sysfs.NR_HUGEPAGES, 0)
        sysfs.write_sysctl(sysfs.NR_OVERCOMMIT, 0)


LONG_V2 = ("pool 4\nmount m size=4\nfile f on m\nmmap a 2 shared file f\nshmget s 1\nshmat s b\nmemfd g\n"
           "fallocate g 0 1\n" + "touch a 0\nmadvise a 0 1 remove\n" * 3000)


def hugetlbfs_mounts():
    return [line for line in Path("/proc/self/mounts").read_text().splitlines() if " hugetlbfs " in line]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_v2_replay_leaves_no_mount_no_segment_and_no_reservation(tmp_path, how):
    """Mounts, files, memfds and segments live in the replay's private namespaces: they go with it."""
    marker = f"hugelab-v2-{how.name}.trace"
    path = tmp_path / marker
    path.write_text(LONG_V2)
    mounts_before, segments_before = hugetlbfs_mounts(), Path("/proc/sysvipc/shm").read_text()
    tmp = tmp_path / "tmp"  # the replay's TMPDIR: a killed run leaves nothing in it either
    tmp.mkdir()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "hugelab", "replay", str(path), "--kernel"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TMPDIR": str(tmp)})
        deadline = time.monotonic() + 20
        while sysfs.read_counters().total - sysfs.read_counters().free < 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # the memfd's page is allocated: the trace is under way
        time.sleep(0.2)
        proc.send_signal(how)
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while (hugelab_processes(marker) or sysfs.read_counters().rsvd
               or sysfs.read_counters().total != sysfs.read_counters().free) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hugelab_processes(marker) == []
        assert hugetlbfs_mounts() == mounts_before
        counters = sysfs.read_counters()
        assert counters.rsvd == 0 and counters.total == counters.free and counters.surp == 0
        assert Path("/proc/sysvipc/shm").read_text() == segments_before  # the segment was never the host's
        assert list(tmp.iterdir()) == []
    finally:
        for pid in hugelab_processes(marker):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        with KernelSession():  # puts back what a killed run could not
            pass


def test_a_v2_replay_makes_nothing_on_the_host_not_even_an_empty_directory(tmp_path):
    """Its private tmpfs covers the lock's own directory (issue 22: /tmp/hugelab-mounts stayed behind)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    mounts_before = hugetlbfs_mounts()
    done = run_cli("replay", "file-reservation-outlives-mapping", "--kernel", env={**os.environ, "TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stderr
    assert list(tmp.iterdir()) == []
    assert hugetlbfs_mounts() == mounts_before


def test_verify_command_reports_its_summary():
    done = run_cli("verify", "--traces", "20", "--length", "20", "--seed", "500")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("verified 20 traces, ")
    assert done.stdout.strip().endswith("steps: all match")


def test_verify_files_runs_v2_traces_here_without_min_size():
    done = run_cli("verify", "--files", "--traces", "10", "--seed", "0")  # seeds tried first in a guest
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no min_size mount" in done.stderr
    summary, umounts = done.stdout.strip().splitlines()[-2:]
    assert summary == "verified 10 v2 traces, 300 steps: all match"
    # what the umounts did, counted from the kernel's records, as the model counts them (issue 20)
    from hugelab.tools.verify import UmountTally
    tally = UmountTally()
    for seed in range(10):
        trace = parse_trace(random_v2_trace(random.Random(seed), 30, min_size=False))
        tally.add(trace, replay(trace, "modern"))
    assert tally.ebusy and tally.used_after and tally.skipped_after
    assert umounts.strip() == str(tally)


def test_verify_shrinks_a_mismatch_and_prints_both_sides():
    # 2.6.27 had no MADV_DONTNEED on hugetlb: against today's kernel that is a mismatch to find
    done = run_cli("verify", "--policy", "region-count", "--traces", "20", "--length", "20")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("MISMATCH with region-count in trace 1 (seed 0); shrunk to 3 lines:")
    trace = out.split("\n\n")[1]
    assert parse_trace(trace).ops[-1].text.endswith("dontneed")  # ready to paste
    assert out.count("<-- differs") == 1 and "kernel" in out and "model" in out
    assert sysctls() == (0, 0)
