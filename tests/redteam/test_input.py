"""Red team, input: what a hostile or careless user can feed the command line and the explorer.

Every case runs bounded (tests/redteam/bounded.py: 1 GiB of address space, a
timeout) and must end in a one-line error with the right exit status, or a
safe outcome; never a traceback, a hang or unbounded memory.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from bounded import REPO, hugelab, one_line

from hugelab import limits, replay
from hugelab.teaching.explorer import Explorer
from hugelab.trace.language import TraceError, parse_trace


# -- lines are lines -----------------------------------------------------------------
@pytest.mark.parametrize("hidden", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1e", "\r", "\u202e",
                                    "\u200b", "\x00"])
def test_a_hidden_line_break_in_a_comment_is_an_error_not_an_operation(hidden):
    text = f"pool 2\n# note{hidden}pool 100000\nmmap a 1 private\n"
    line = one_line(hugelab("replay", "-", stdin=text.encode()), 2)
    assert line.startswith(f"line 2: character U+{ord(hidden):04X}")


def test_line_numbers_are_those_wc_and_an_editor_show(tmp_path):
    path = tmp_path / "t.trace"
    path.write_bytes(b"\xef\xbb\xbfpool 2\r\nmmap a 2 private\r\n\r\n# c\r\ntouch a 5\r\n")
    line = one_line(hugelab("replay", str(path)), 2)
    assert line.startswith("line 5: pages [5, 6) are outside mapping 'a'")
    grep = subprocess.run(["grep", "-n", "touch", str(path)], capture_output=True, text=True)
    assert grep.stdout.startswith("5:")


def test_a_bom_and_crlf_are_accepted():
    done = hugelab("replay", "-", "--json", stdin=b"\xef\xbb\xbfpool 2\r\nmmap a 2 private\r\n")
    assert done.returncode == 0 and done.stdout.count(b"\n") == 2


def test_invalid_utf8_is_one_line_naming_the_line():
    line = one_line(hugelab("replay", "-", stdin=b"pool 2\nmmap a 2 private # caf\xe9\n"), 2)
    assert line == "line 2: byte 0xe9 at column 23 is not UTF-8 (a trace is UTF-8 text)"


def test_a_huge_word_is_not_echoed_whole():
    word = b"x" * 10_000_000
    line = one_line(hugelab("replay", "-", stdin=b"pool 2\nmmap " + word + b" 2 private\n"), 2)
    assert line.startswith("line 2: the line is 10,000,015 characters long")
    line = one_line(hugelab("replay", "-", stdin=b"pool 2\nfly" + b"y" * 3000 + b"\n"), 2)
    assert "... (3,003 characters)" in line and len(line) < 300


# -- no silent wrap, no overflow ----------------------------------------------------------
@pytest.mark.parametrize("text, word", [
    ("pool " + "1" + "0" * 100 + "\n", "pool size"),
    ("pool 1 overcommit 18446744073709551617\n", "overcommit"),
    ("pool 8\nmmap a 9223372036854775808 private\n", "PAGES"),  # 2^63 pages: used to be an OverflowError
    ("pool 8\nmmap a 8796093022209 private\n", "PAGES"),  # 2^43 + 1: ctypes took it modulo 2^64
    ("pool 8\nmmap a 2 private\nmunmap a 0 99999999999999999999999999\n", "COUNT"),
])
def test_numbers_past_the_limit_are_refused_not_wrapped(text, word):
    line = one_line(hugelab("replay", "-", stdin=text.encode()), 2)
    assert f"{word} '" in line and f"more than hugelab's limit of {limits.MAX_PAGES:,} pages" in line


def test_the_largest_pool_is_exact_in_the_model():
    steps = replay(f"pool {limits.MAX_PAGES} overcommit {limits.MAX_PAGES}\n")
    assert steps[0].counters.total == limits.MAX_PAGES


# -- bounded reads ----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/proc/self/fd/0"])
def test_a_device_is_refused_without_reading_it(path):
    line = one_line(hugelab("replay", path, memory=256 << 20, timeout=20), 2)
    assert "is not a regular file" in line


def test_a_fifo_nobody_writes_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.trace"
    os.mkfifo(fifo)
    start = time.monotonic()
    line = one_line(hugelab("replay", str(fifo), timeout=20), 2)
    assert "is not a regular file" in line and time.monotonic() - start < 15


def test_endless_standard_input_stops_at_the_size_limit():
    with open("/dev/zero", "rb") as zero:
        line = one_line(hugelab("replay", "-", stdin=zero, memory=512 << 20, timeout=60), 2)
    assert line == f"hugelab: standard input is larger than hugelab's limit of {limits.MAX_TRACE_BYTES:,} bytes"


def test_a_file_past_the_size_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.trace"
    with open(big, "wb") as f:
        f.truncate(10 * limits.MAX_TRACE_BYTES)  # sparse: no disk, a huge size
    line = one_line(hugelab("replay", str(big), memory=256 << 20, timeout=20), 2)
    assert "hugelab's limit is" in line


def test_an_empty_trace_is_refused_as_the_explorer_refuses_it():
    line = one_line(hugelab("replay", "-", stdin=b"# only a comment\n\n"), 2)
    assert line == "line 1: the trace has no operation"
    with pytest.raises(TraceError, match="line 1: the trace has no operation"):
        Explorer().load("# only a comment\n")


# -- costs follow what the trace does ---------------------------------------------------
def test_100k_touches_then_1000_forks_stay_in_bounds(tmp_path):
    n = 100_000
    path = tmp_path / "forks.trace"
    path.write_text(f"pool {n}\nmmap a {n} private\n" + "".join(f"touch a {i}\n" for i in range(n))
                    + "".join(f"fork c{i}\n" for i in range(1000)))
    done = hugelab("replay", str(path), "--json", memory=1 << 30, timeout=300)  # was 5.2 GB
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.splitlines()[-1].endswith(b'"counters": {"total": 100000, "free": 0, "rsvd": 0, "surp": 0}}')


def test_a_trace_making_very_many_vmas_is_bounded(tmp_path):
    # 60,000 mprotects of every other page would make 120,000 VMAs in main,
    # and 300 forks would copy them all each time (without the two limits:
    # MemoryError under this 1 GiB after 4 s): vm.max_map_count stops main at
    # 65,530 as the kernel does, and the model's whole-machine limit stops the
    # forks once it holds limits.MAX_VMAS
    n = 60_000
    path = tmp_path / "vmas.trace"
    path.write_text(f"pool 0\nmmap a {2 * n} private noreserve\n"
                    + "".join(f"mprotect a {2 * i + 1} 1 r\n" for i in range(n))
                    + "".join(f"fork c{i}\n" for i in range(300))
                    + "in c0 mmap b 1 private noreserve\nin c0 mmap b2 1 private noreserve\n")
    done = hugelab("replay", str(path), "--json", memory=1 << 30, timeout=300)
    assert done.returncode == 0, done.stderr[-500:]
    errors = [line.split(b'"error": ')[1].split(b",")[0] for line in done.stdout.splitlines()]
    mprotects, forks = errors[2:2 + n], errors[2 + n:-2]
    made = (limits.MAX_MAP_COUNT - 1) // 2  # each makes two VMAs until the next would pass the limit
    assert set(mprotects[:made]) == {b"null"} and set(mprotects[made:]) == {b'"ENOMEM"'}
    copies = limits.MAX_VMAS // limits.MAX_MAP_COUNT - 1  # main holds one share of MAX_VMAS
    assert set(forks[:copies]) == {b"null"} and set(forks[copies:]) == {b'"ENOMEM"'}
    # the refused mprotect kept its first split: c0 has exactly the limit, so one
    # more mmap succeeds (do_mmap refuses only past it) and the next is refused
    assert errors[-2:] == [b"null", b'"ENOMEM"']


@pytest.mark.parametrize("policy", ["double-credit", "region-count", "modern", "unreserved"])
def test_a_billion_page_mapping_costs_what_its_operations_cost(policy):
    text = ("pool 8 overcommit 1000000000\nmmap a 1000000000 private\ntouch a 5\nmunmap a 7 1\n"
            "mprotect a 100 500000000 r\nfork c\nexit c\nmunmap a 0 1000000000\n"
            "mmap b 1000000000 shared\nmunmap b 0 1000000000\n")
    done = hugelab("replay", "-", "--policy", policy, stdin=text.encode(), timeout=60)  # was minutes
    assert done.returncode == 0, done.stderr


def test_verify_cannot_be_asked_for_an_endless_trace():
    line = one_line(hugelab("verify", "--length", str(10**8), timeout=20), 2)
    assert f"--length must be between 1 and {limits.MAX_GENERATED_LENGTH:,}" in line
    one_line(hugelab("verify", "--traces", str(10**12), timeout=20), 2)


def test_too_many_lines_are_refused_naming_the_first_one_past():
    text = "pool 1\n" * (limits.MAX_OPS + 1)
    with pytest.raises(TraceError, match=f"line {limits.MAX_OPS + 1}: more than"):
        parse_trace(text)


# -- the explorer ---------------------------------------------------------------------
def test_a_bad_load_keeps_the_explorers_history_and_a_huge_mapping_costs_nothing():
    explorer = Explorer()
    explorer.do("mmap a 4 private")
    explorer.do("touch a 1")
    before = (list(explorer.history), explorer.cursor, explorer.view(0), explorer.view(1))
    for bad in ["pool 8\nmmap a 4 private\nfly\n", "", "pool 8\n" + "pool 1\n" * limits.EXPLORER_MAX_STEPS]:
        with pytest.raises(TraceError):
            explorer.load(bad)
        assert (explorer.history, explorer.cursor, explorer.view(0), explorer.view(1)) == before
    start = time.monotonic()  # was 34 s and 1.2 GB, then 30 s a click
    explorer.load("pool 8\nmmap a 10000000 private\ntouch a 5\nmunmap a 100 1000\n")
    explorer.do("touch a 7")
    explorer.view(0), explorer.view(1)
    assert time.monotonic() - start < 10


def test_a_failing_replay_during_load_leaves_the_old_history(monkeypatch):
    explorer = Explorer()
    explorer.do("mmap a 2 private")
    before = (list(explorer.history), explorer.sides)
    import hugelab.teaching.explorer as module

    def broken(self, op):
        raise MemoryError("simulated")
    monkeypatch.setattr(module._Side, "feed", broken)
    with pytest.raises(MemoryError):
        explorer.load("pool 3\nmmap z 2 private\n")
    assert explorer.history == before[0] and explorer.sides is before[1]


# -- interrupting the model says nothing about a pool ----------------------------------------
def test_ctrl_c_in_a_model_replay_claims_nothing_about_the_pool(tmp_path):
    path = tmp_path / "long.trace"
    n = 100_000
    path.write_text(f"pool {n}\nmmap a {n} private\n" + "".join(f"touch a {i}\n" for i in range(n))
                    + "".join(f"fork c{i}\n" for i in range(3000)))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "hugelab", "replay", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "hugelab: interrupted\n"


def test_app_port_out_of_range_is_one_line():
    line = one_line(hugelab("app", "--port", "70000", timeout=30), 2)
    assert "--port must be between 0 and 65535" in line
