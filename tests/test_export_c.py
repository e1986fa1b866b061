"""``hugelab export-c``: the C reproducer compiles cleanly and, as root, checks the running kernel.

The guest side (a static build run inside Linux 6.12) is in test_guests.py.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hugelab import parse_trace, replay, scenarios
from hugelab.export_c import KERNEL_MAX_POOL, export_c
from hugelab.trace import TraceError, is_v2

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
    if any(is_v2(op) for op in parse_trace(scenarios.load(name))):
        with pytest.raises(TraceError, match="trace v1 only"):
            export_c(parse_trace(scenarios.load(name)))
        return
    source, _ = build(tmp_path, scenarios.load(name))
    text = source.read_text()
    # the expected counters are the model's, step by step
    for step in replay(scenarios.load(name), "modern"):
        c = step.counters
        assert f"{{{c.total}UL, {c.free}UL, {c.rsvd}UL, {c.surp}UL}}" in text


def test_a_pool_above_the_cap_is_refused_in_one_line():
    with pytest.raises(TraceError, match=f"line 1: a C reproducer asks for at most {KERNEL_MAX_POOL}"):
        export_c(parse_trace(f"pool {KERNEL_MAX_POOL + 1}\n"))
    done = subprocess.run([sys.executable, "-m", "hugelab", "export-c", "-"], input="pool 1 overcommit 65\n",
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"line 1: a C reproducer asks for at most {KERNEL_MAX_POOL} huge pages\n"


def test_names_and_text_are_escaped_into_c_strings():
    text = export_c(parse_trace("pool 2\nmmap éx 1 private\n"))
    assert '"mmap \\303\\251x 1 private"' in text


@needs_cc
@pytest.mark.kernel
def test_on_the_running_kernel_the_seed_program_passes_and_a_wrong_expectation_fails(tmp_path):
    from hugelab.kernel import why_unavailable
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
    from hugelab.kernel import why_unavailable
    reason = why_unavailable() or (None if os.uname().release.startswith("6.18.") else "this is not Linux 6.18")
    if reason:
        pytest.skip(f"real-kernel test skipped: {reason}")
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
