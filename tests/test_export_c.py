"""``hugelab export-c``: the C reproducer compiles cleanly and, as root, checks the running kernel.

The guest side (static builds run inside Linux 6.12 and Debian's 6.18.15) is in test_guests.py.
A program for a trace with min_size mounts never runs on this machine: only its refusal is checked
here, as an unprivileged user (so that even a broken refusal could change nothing).
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hugelab import parse_trace, replay, scenarios
from hugelab.realkernel.export_c import KERNEL_MAX_POOL, export_c
from hugelab.trace.language import Madvise, TraceError, is_v2

from skips import expected

ROOT = Path(__file__).resolve().parents[1]
needs_cc = pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler (cc)")


def build(tmp_path, text, policy="modern"):
    source = tmp_path / "repro.c"
    source.write_text(export_c(parse_trace(text), policy))
    binary = tmp_path / "repro"
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(binary), str(source)], check=True,
                   capture_output=True)
    return source, binary


@needs_cc
@pytest.mark.parametrize("name", scenarios.names())
def test_every_scenario_exports_a_program_that_compiles_without_warnings(tmp_path, name):
    source, _ = build(tmp_path, scenarios.load(name))
    text = source.read_text()
    # the expected counters, outcomes and statfs are the model's, step by step
    for step in replay(scenarios.load(name), "modern"):
        c = step.counters
        outcome = step.error or "ok"
        assert f'"{outcome}", {{{c.total}UL, {c.free}UL, {c.rsvd}UL, {c.surp}UL}}}},' in text
        for size, free in (step.mounts or {}).values():
            assert f"{{1, {size}UL, {free}UL}}" in text
    assert ("#define USES_NAMESPACES 1" in text) == any(is_v2(op) and not isinstance(op, Madvise)
                                                      for op in parse_trace(scenarios.load(name)))


def test_a_pool_above_the_cap_is_refused_in_one_line():
    with pytest.raises(TraceError, match=f"line 1: a C reproducer asks for at most {KERNEL_MAX_POOL}"):
        export_c(parse_trace(f"pool {KERNEL_MAX_POOL + 1}\n"))
    done = subprocess.run([sys.executable, "-m", "hugelab", "export-c", "-"], input="pool 1 overcommit 65\n",
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"line 1: a C reproducer asks for at most {KERNEL_MAX_POOL} huge pages\n"


def test_more_vmas_in_one_process_than_a_kernel_replay_allows_is_refused_in_one_line():
    from hugelab.limits import KERNEL_MAX_TRACE_VMAS
    lines = ["pool 1", "mmap a 3 private"] + ["mprotect a 1 1 r", "mprotect a 1 1 rw"] * (KERNEL_MAX_TRACE_VMAS // 4)
    with pytest.raises(TraceError, match=f"line {len(lines)}: a C reproducer makes at most {KERNEL_MAX_TRACE_VMAS:,}"):
        export_c(parse_trace("\n".join(lines)))


def test_names_and_text_are_escaped_into_c_strings():
    text = export_c(parse_trace("pool 2\nmmap éx 1 private\n"))
    assert '"mmap \\303\\251x 1 private"' in text


@needs_cc
@pytest.mark.kernel
def test_on_the_running_kernel_the_seed_program_passes_and_a_wrong_expectation_fails(tmp_path):
    from hugelab.realkernel import why_unavailable
    reason = why_unavailable()
    if reason:
        pytest.skip(f"real-kernel test skipped: {reason}")
    seed = scenarios.load("seed")
    before = Path("/proc/sys/vm/nr_hugepages").read_text()
    _, good = build(tmp_path, seed, "modern")
    done = subprocess.run([str(good)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    assert "not ok" not in done.stdout and "# 6 of 6 steps match" in done.stdout
    # the 2008 kernel's counters are not this kernel's: the program names the first wrong step
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    _, bad = build(bad_dir, seed, "double-credit")
    done = subprocess.run([str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "not ok 4 line 10: munmap a 1 1 # expected 8/7/0/0 ok, got 8/7/2/0 ok" in done.stdout
    meminfo = Path("/proc/meminfo").read_text()
    assert "HugePages_Total:       0" in meminfo and "HugePages_Rsvd:        0" in meminfo
    assert Path("/proc/sys/vm/nr_hugepages").read_text() == before


HUNTED = "pool 5\nmmap m0 1 private\ntouch m0 0 read\nfork p1\nmunmap m0 0 1\n"  # hugelab hunt --kernels 6.12,6.18


@needs_cc
@pytest.mark.kernel
def test_the_trace_6_12_and_6_18_disagree_on_passes_as_6_18_and_fails_as_6_12_here(tmp_path):
    from hugelab.realkernel import why_unavailable
    skip_unless_host_618(why_unavailable())
    results = {}
    for policy in ("linux-6.12", "linux-6.18"):
        folder = tmp_path / policy
        folder.mkdir()
        _, binary = build(folder, HUNTED, policy)
        results[policy] = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert results["linux-6.18"].returncode == 0, results["linux-6.18"].stdout
    assert results["linux-6.12"].returncode == 1
    assert "not ok 5 line 5: munmap m0 0 1 # expected 5/4/0/0 ok, got 5/4/18446744073709551615/0 ok" \
        in results["linux-6.12"].stdout
    assert "HugePages_Rsvd:        0" in Path("/proc/meminfo").read_text()


def skip_unless_host_618(reason):
    """Skip where the kernel cannot run it now (in CI, on a machine that could, that fails), and
    where this is not Linux 6.18, which these tests are about (the right outcome: a skip anywhere)."""
    if reason:
        pytest.skip(f"real-kernel test skipped: {reason}")
    if not os.uname().release.startswith("6.18."):
        expected(f"this is Linux {os.uname().release}, not 6.18, which this test is about")


def host_618():
    from hugelab.realkernel import why_unavailable
    skip_unless_host_618(why_unavailable())


def run(binary, *args):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=300)


def assert_pool_bare_and_nothing_left():
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    assert [int(meminfo[f"HugePages_{c}"]) for c in ("Total", "Free", "Rsvd", "Surp")] == [0, 0, 0, 0]
    assert " hugetlbfs " not in Path("/proc/mounts").read_text()
    assert "0x" not in subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout  # no segment


#: trace-v2 scenarios without min_size mounts: safe on this machine's kernel
V2_SAFE = ["file-reservation-outlives-mapping", "libhugetlbfs-quota", "libhugetlbfs-noresv-regarded-as-resv",
           "libhugetlbfs-truncate-reserve-wraparound", "ltp-hugemmap05-mmap", "ltp-hugemmap05-shm",
           "selftest-hugetlb-madvise", "private-refault-after-punch", "shmat-noreserve", "private-close-quota"]


def test_the_safe_list_is_every_v2_scenario_but_the_min_size_one():
    v2 = {n for n in scenarios.names() if any(is_v2(op) for op in parse_trace(scenarios.load(n)))}
    with_min_size = {n for n in v2 if "min_size=" in scenarios.load(n)}
    assert with_min_size == {"min-size-leak-6.18", "min-size-leak", "avoid-reserve-min-size", "subpool-rollback-eras"}
    assert set(V2_SAFE) == v2 - with_min_size


@needs_cc
@pytest.mark.kernel
def test_on_this_6_18_kernel_every_v2_scenario_passes_and_a_wrong_expectation_fails(tmp_path):
    host_618()
    before = [Path(f"/proc/sys/vm/{n}").read_text() for n in ("nr_hugepages", "nr_overcommit_hugepages")]
    for name in V2_SAFE:
        folder = tmp_path / name
        folder.mkdir()
        _, binary = build(folder, scenarios.load(name), "linux-6.18")
        done = run(binary)
        steps = len(parse_trace(scenarios.load(name)))
        assert done.returncode == 0, f"{name}:\n{done.stdout}"
        assert f"# {steps} of {steps} steps match" in done.stdout and "not ok" not in done.stdout
        assert f"ok {steps + 1} the pool is bare at the end" in done.stdout
        assert_pool_bare_and_nothing_left()
    # the 2008 double-credit era counts an LTP shm segment's reservation differently: step 4 says so
    text = scenarios.load("ltp-hugemmap05-shm")
    want, got = replay(text, "double-credit")[3], replay(text, "linux-6.18")[3]
    assert want != got
    _, bad = build(tmp_path, text, "double-credit")
    done = run(bad)
    assert done.returncode == 1, done.stdout
    w, g = want.counters, got.counters
    assert (f"not ok 4 line {want.line}: {want.op} # expected {w.total}/{w.free}/{w.rsvd}/{w.surp} "
            f"{want.error or 'ok'}, got {g.total}/{g.free}/{g.rsvd}/{g.surp} {got.error or 'ok'} (differs: counters)"
            ) in done.stdout
    assert_pool_bare_and_nothing_left()
    assert [Path(f"/proc/sys/vm/{n}").read_text() for n in ("nr_hugepages", "nr_overcommit_hugepages")] == before
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("hugelab-repro-*"))


#: hugelab hunt --kernels 6.18.15+deb13-cloud-amd64,6.18 --files: the kernels differ only in statfs
STATFS_HUNTED = "mount q4 size=3\nfile f6 on q4\nmmap m9 1 private file f6\n"


@needs_cc
@pytest.mark.kernel
def test_the_statfs_trace_passes_as_6_18_and_fails_as_6_18_15_here_naming_statfs(tmp_path):
    host_618()
    results = {}
    for policy in ("linux-6.18", "linux-6.18.15"):
        folder = tmp_path / policy
        folder.mkdir()
        _, binary = build(folder, STATFS_HUNTED, policy)
        results[policy] = run(binary)
    assert results["linux-6.18"].returncode == 0, results["linux-6.18"].stdout
    assert "ok 3 line 3: mmap m9 1 private file f6 # 0/0/0/0 ENOMEM q4: 3 free of 3" in results["linux-6.18"].stdout
    assert results["linux-6.18.15"].returncode == 1
    assert ("not ok 3 line 3: mmap m9 1 private file f6 # expected 0/0/0/0 ENOMEM q4: 2 free of 3, "
            "got 0/0/0/0 ENOMEM q4: 3 free of 3 (differs: statfs)") in results["linux-6.18.15"].stdout
    assert_pool_bare_and_nothing_left()


@needs_cc
def test_a_min_size_program_refuses_without_may_leak_before_changing_anything(tmp_path):
    """Run as nobody: the refusal must come before the root check, so before any write."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the program as another user")
    _, built = build(tmp_path, scenarios.load("min-size-leak-6.18"))
    nobody = 65534
    with tempfile.TemporaryDirectory(prefix="hugelab-test-") as folder:  # one nobody can reach
        Path(folder).chmod(0o755)
        binary = Path(folder) / "repro"
        shutil.copy(built, binary)
        binary.chmod(0o755)
        log = tmp_path / "syscalls"
        if shutil.which("strace"):  # and show that it makes no call that could change anything
            done = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-u", "nobody", "-e",
                                   "trace=openat,open,unshare,mount,mkdir,clone,clone3,fork,vfork,shmget",
                                   str(binary)], capture_output=True, text=True, timeout=60)
        else:
            done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60, user=nobody,
                                  group=nobody)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stdout == ("Bail out! line 10 mounts hugetlbfs with min_size=, which can keep huge page "
                               "reservations until reboot on Linux 6.15 and later; run it only on a throw-away "
                               "machine, with --may-leak\n")
        if log.exists():
            calls = log.read_text()
            assert "libc" in calls  # strace did see the program's calls
            for call in ("/proc/sys", "unshare(", "mount(", "mkdir(", "clone", "fork(", "shmget("):
                assert call not in calls, calls
        # with the flag it goes on, to the next refusal (not root here): the flag is what it asks for
        done = subprocess.run([str(binary), "--may-leak"], capture_output=True, text=True, timeout=60,
                              user=nobody, group=nobody)
        assert done.returncode == 2 and done.stdout.startswith("Bail out! needs root"), done.stdout


def test_the_hunts_closing_hint_says_what_the_program_checks_and_where_a_min_size_one_may_run():
    from hugelab.tools.hunt_kernels import reproducer_hint
    plain = reproducer_hint(parse_trace(scenarios.load("seed")))
    assert "hugelab export-c FILE [--expect POLICY] -o repro.c" in plain and "statfs" not in plain
    assert "each sized mount's statfs" in reproducer_hint(parse_trace(STATFS_HUNTED))
    leak = reproducer_hint(parse_trace(scenarios.load("min-size-leak-6.18")))
    assert "--may-leak" in leak and "throw-away machine" in leak
    assert "--may-leak" not in reproducer_hint(parse_trace(STATFS_HUNTED))


@needs_cc
@pytest.mark.kernel
def test_a_refused_umount_is_used_on_and_what_a_successful_one_took_is_skipped_here(tmp_path):
    """Issue 20's trace and its twin as C programs on this 6.18 kernel: every step, skips included."""
    from golden import FILE_TABLES
    host_618()
    for table, skipped in (("U umount refused (EBUSY), then used", 0), ("V umount succeeded, then skipped", 6)):
        text = FILE_TABLES[table][0]
        folder = tmp_path / table.split()[0]
        folder.mkdir()
        _, binary = build(folder, text, "linux-6.18")
        done = run(binary)
        steps = len(parse_trace(text))
        assert done.returncode == 0, f"{table}:\n{done.stdout}"
        assert f"# {steps} of {steps} steps match" in done.stdout and "not ok" not in done.stdout
        assert done.stdout.count(" skipped\n") == skipped
        assert ("EBUSY" in done.stdout) == (skipped == 0)
        assert_pool_bare_and_nothing_left()
