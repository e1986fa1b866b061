"""Issue 22, item 4 and "quadratic paths inside the limits": what a trace may
make, and what one run may ask, is bounded; inside the bounds the cost of a
step does not grow with what exists.

Each case runs hugelab in a subprocess under a memory ceiling and a
timeout (:mod:`bounded`), generous for this code (it needs a fraction of
either) and far below what the code before these bounds took, so each
failed before and passes now, with no timing taken.
"""

from __future__ import annotations

import os
import subprocess
import sys

from bounded import REPO, hugelab, one_line

from hugelab import limits
from hugelab.realkernel.guard import KernelLimitError, check_trace
from hugelab.trace import parse_trace
from hugelab.trace.shrink import shrink

HPAGE = 2 << 20


def _python(code: str, memory: int = 1 << 30, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -c code`` with hugelab importable, within ``memory`` bytes and ``timeout`` seconds."""
    import resource

    def bounds() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd="/", preexec_fn=bounds)


def test_thousands_of_mounts_are_refused_in_one_line():
    """5,000 'mount mI size=1' lines took 138 s and 1.1 GB (every record carried every mount's statfs)."""
    text = "".join(f"mount m{i} size=1\n" for i in range(5000)).encode()
    line = one_line(hugelab("replay", "-", stdin=text, timeout=30), 2)
    assert line == f"line {limits.MAX_MOUNTS + 1}: more than {limits.MAX_MOUNTS} mounts in one trace (hugelab's limit)"


def test_files_and_segments_are_bounded_too():
    for make, what, most in (("file f{}", "files", limits.MAX_FILES),
                             ("shmget s{} 1", "segments", limits.MAX_SEGMENTS)):
        text = "".join(make.format(i) + "\n" for i in range(most + 1)).encode()
        line = one_line(hugelab("replay", "-", stdin=text, timeout=60), 2)
        assert line == f"line {most + 1}: more than {most:,} {what} in one trace (hugelab's limit)"


def test_records_of_the_most_mounts_share_their_statfs_until_one_changes():
    """64 sized mounts, then 100,000 steps: each record built its own 64-entry statfs (some 600 MB)."""
    code = ("from hugelab.replay import replay\n"
            f"text = ''.join(f'mount m{{i}} size=4\\n' for i in range({limits.MAX_MOUNTS}))\n"
            "text += 'pool 8\\nfile f on m0\\nmmap a 2 shared file f\\n' + 'touch a 0\\ntouch a 1\\n' * 50_000\n"
            "steps = replay(text)\n"
            "assert len(steps[-1].mounts) == 64 and steps[-1].mounts['m0'] == (4, 2)\n"
            "print(len({id(s.mounts) for s in steps}))\n")
    done = _python(code, memory=400 << 20)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) <= limits.MAX_MOUNTS + 3  # one statfs dict per change, not one per step


def test_a_hunt_of_long_v2_traces_runs_in_linear_time():
    """hunt --files --length 10000: 10 traces took over 300 s (the checker copied at every generated line)."""
    done = hugelab("hunt", "--policy", "region-count", "--files", "--length", "10000", "--traces", "5", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert b"searched 5 random traces of 10000 operations" in done.stdout


def test_a_run_states_its_bound_and_refuses_more_in_one_line():
    line = one_line(hugelab("hunt", "--traces", "1000000", "--length", "10000", timeout=30), 2)
    assert line == (f"hugelab: --traces 1,000,000 x --length 10,000 is 10,000,000,000 steps; one run replays at "
                    f"most {limits.MAX_RUN_STEPS:,} under the model: ask for fewer or shorter traces")
    line = one_line(hugelab("verify", "--traces", "1000", "--length", "10000", timeout=30), 2)
    assert f"one run replays at most {limits.KERNEL_MAX_RUN_STEPS:,} on kernels" in line
    line = one_line(hugelab("hunt", "--kernels", "6.12,6.18", "--traces", "200", "--length", "10000",
                            timeout=30), 2)
    assert "2,000,000 steps" in line
    assert b"at most 10,000,000 steps a run" in b" ".join(hugelab("hunt", "--help", timeout=30).stdout.split())


def test_the_explorer_loads_10000_steps_of_files_or_forks_and_clicks_at_once():
    """2,000 'file' lines loaded in 33 s, 9,990 forks in 56 s (every step counted every inode, and
    each line copied the whole text checker); a fault click after them took 0.1-0.4 s."""
    for lines in ("[f'file f{i}' for i in range(2000)] + ['touch a 0 read'] * 7990",
                  "[f'fork c{i}' for i in range(9990)]"):
        code = ("from hugelab.teaching.explorer import Explorer\n"
                f"lines = ['pool 8', 'mmap a 2 private'] + {lines}\n"
                "x = Explorer()\n"
                "x.load('\\n'.join(lines) + '\\n')\n"
                "for page in (0, 1, 0):\n"
                "    x.fault(page); x.view(0); x.view(1); x.undo()\n"
                "print(x.cursor)\n")
        done = _python(code, timeout=40)
        assert done.returncode == 0, done.stderr[-2000:]
        assert int(done.stdout) == 10_000 - 8 if "file" in lines else 9992


def test_the_kernel_guard_counts_mounts_files_and_segments():
    """Before anything runs (no root needed: it reads /proc only)."""
    for make, most, what in (("shmget s{} 1", limits.KERNEL_MAX_SEGMENTS, "System V segments"),
                             ("memfd f{}", limits.KERNEL_MAX_FILES, "files and memfds")):
        trace = parse_trace("".join(make.format(i) + "\n" for i in range(most + 1)))
        try:
            check_trace(trace, HPAGE)
        except KernelLimitError as e:
            assert str(e).startswith(f"line {most + 1}: a kernel replay makes at most {most:,} {what}")
        else:
            raise AssertionError(f"{most + 1} {what} passed the guard")
    assert limits.KERNEL_MAX_MOUNTS <= limits.MAX_MOUNTS  # the text refuses more mounts first


def test_shrinking_stops_at_its_budget_with_a_trace_that_still_fails():
    """A 10,000-line find shrunk on a kernel asked for some 10^8 replayed lines (days, holding the lock)."""
    text = "pool 2\n" + "".join(f"mmap m{i} 1 private\n" for i in range(3000))
    asked: list[int] = []

    def fails(candidate: str) -> bool:
        asked.append(candidate.count("\n"))
        return "mmap m2999 " in candidate

    small = shrink(text, fails, budget=20_000)
    assert "mmap m2999 " in small and sum(asked) <= 20_000
