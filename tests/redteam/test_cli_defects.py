"""Red team, the command line's small defects: a huge exercise sheet, a huge number, a signal's exit status."""

import signal
import subprocess
import sys

from bounded import REPO, hugelab, one_line

from hugelab import limits

HUGE = "12345678901234567890123456789012345678901234567890123456789"  # 59 digits


def test_a_28_mb_sheet_is_refused_in_one_line_within_a_small_memory(tmp_path):
    key = hugelab("exercise", "--seed", "3", "--key").stdout
    sheet = tmp_path / "sheet.txt"
    sheet.write_bytes(key + b"\n" * 28_000_000)  # blank lines: 509 MB and 21 s to check, once
    line = one_line(hugelab("exercise", "--check", str(sheet), memory=256 << 20, timeout=60), 2)
    assert f"hugelab's limit is {limits.EXERCISE_MAX_SHEET_BYTES:,}" in line


def test_a_sheet_at_the_limit_is_still_checked_in_bounded_memory(tmp_path):
    key = hugelab("exercise", "--seed", "3", "--key").stdout
    sheet = tmp_path / "sheet.txt"
    sheet.write_bytes(key + b"\n" * (limits.EXERCISE_MAX_SHEET_BYTES - len(key)))
    done = hugelab("exercise", "--check", str(sheet), memory=256 << 20, timeout=60)
    assert done.returncode == 0 and b"answers right (100%)" in done.stdout, done.stderr[-500:]


def test_a_59_digit_number_is_never_echoed_whole_in_an_error(tmp_path):
    sheet = tmp_path / "sheet.txt"
    sheet.write_text(f"seed 1\nlength 8\npolicy modern\n  {HUGE}  pool 4 0 0 0 0 ok\n")
    for args in (["app", "--port", HUGE], ["app", "--idle-seconds", "-" + HUGE], ["lab", "--port", HUGE]):
        line = one_line(hugelab(*args, timeout=60), 2)
        assert HUGE not in line and "59 digits" in line, (args, line)
    done = hugelab("exercise", "--check", str(sheet), timeout=60)
    assert HUGE.encode() not in done.stdout + done.stderr, done


def test_sigterm_ends_a_command_with_143_as_a_shell_reports_it(tmp_path):
    """128 + the signal's number (SIGTERM: 143, SIGINT: 130), not 130 for every signal."""
    path = tmp_path / "long.trace"
    n = 100_000
    path.write_text(f"pool {n}\nmmap a {n} private\n" + "".join(f"touch a {i}\n" for i in range(n)))
    for signum in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([sys.executable, "-u", "-m", "hugelab", "replay", str(path)],
                                env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline()  # the replay has started printing: hugelab's handlers are in
        proc.send_signal(signum)
        proc.stdout.read()
        proc.wait(60)
        assert proc.returncode == 128 + signum, (signum, proc.stderr.read()[-500:])
