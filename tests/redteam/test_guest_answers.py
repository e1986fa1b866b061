"""Red team, a hostile guest: what comes back over the serial line is bounded and checked.

The guest is played by a small program in QEMU's place (its stdout is the serial line the host
reads): one that never ends its line, and ones that answer with records of the wrong shape. No
QEMU, no kernel; the host side is the real :class:`~hugelab.realkernel.guest.Guest`.
"""

import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bounded import REPO

from hugelab.realkernel.guest import Guest
from hugelab.realkernel.images import KernelImage
from hugelab.realkernel.machine import KernelReplayError
from hugelab.trace.language import parse_trace


def fake_guest(tmp_path: Path, answer: str) -> Guest:
    """A Guest whose QEMU is a program that reads one request and prints ``answer`` (then waits)."""
    program = (f"import sys\nsys.stdin.readline()\nsys.stdout.write({answer!r} + '\\n')\nsys.stdout.flush()\n"
               "sys.stdin.read()\n")
    guest = Guest(KernelImage("6.99.1+deb13-cloud-amd64", tmp_path / "vmlinuz"))
    guest._console = tmp_path / "console.log"
    guest._qemu = subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
    guest.release = guest.image.release
    return guest


def stop(guest: Guest) -> None:
    qemu = guest._qemu
    assert qemu is not None
    qemu.kill()
    qemu.wait()
    for stream in (qemu.stdin, qemu.stdout, qemu.stderr):
        stream.close()


GOOD = ('{"line": 2, "op": "mmap a 1 private", "ok": true, "error": null, '
        '"counters": {"total": 1, "free": 1, "rsvd": 1, "surp": 0}}')


@pytest.mark.parametrize("answer, says", [
    ('{"steps": [{"line": 2}]}', "step 1 has keys"),
    ('{"steps": [' + GOOD.replace('"line": 2', '"line": "2"') + "]}", "line is"),
    ('{"steps": [' + GOOD.replace('"rsvd": 1', '"rsvd": [1]') + "]}", "rsvd is"),
    ('{"steps": [' + GOOD.replace('"surp": 0', '"surp": 0, "extra": 5') + "]}", "counters is"),
    ('{"steps": [' + GOOD.replace('}}', '}, "mounts": {"m": {"size": "big"}}}') + "]}", "mount 'm' is"),
    ('{"steps": [' + ", ".join([GOOD] * 3) + "]}", "3 steps for a trace of 2 operations"),
    ('{"steps": "none"}', "no list of steps"),
    ('[1, 2]', "the 6.99.1+deb13-cloud-amd64 guest said"),
    ('{"error": {"not": "text"}}', "error is"),
])
def test_a_malformed_answer_is_one_line_not_a_traceback(tmp_path, answer, says):
    guest = fake_guest(tmp_path, answer)
    try:
        with pytest.raises(KernelReplayError) as refused:
            guest.replay(parse_trace("pool 1\nmmap a 1 private\n"))
        message = str(refused.value)
        assert says in message and "\n" not in message and len(message) < 600, message
    finally:
        stop(guest)


def test_a_good_answer_is_still_read(tmp_path):
    guest = fake_guest(tmp_path, '{"steps": [' + GOOD + "]}")
    try:
        (step,) = guest.replay(parse_trace("pool 1\nmmap a 1 private\n"))
        assert (step.line, step.op, step.error, tuple(step.counters)) == (2, "mmap a 1 private", None, (1, 1, 1, 0))
    finally:
        stop(guest)


ENDLESS = textwrap.dedent("""
    import os, resource, subprocess, sys, tempfile
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from hugelab.realkernel.guest import Guest
    from hugelab.realkernel.images import KernelImage
    from hugelab.realkernel.machine import KernelReplayError
    blurt = "import os\\nblock = b'x' * (1 << 20)\\nwhile True:\\n    os.write(1, block)\\n"
    guest = Guest(KernelImage("6.99.1+deb13-cloud-amd64", Path("vmlinuz")))
    guest._console = Path(tempfile.gettempdir()) / "no-console.log"
    guest._qemu = subprocess.Popen([sys.executable, "-c", blurt], stdout=subprocess.PIPE, stdin=subprocess.PIPE)
    try:
        guest._receive(60, "boot")
        print("answered")
    except KernelReplayError as e:
        print(e)
    except MemoryError:
        print("MemoryError")
    finally:
        guest._qemu.kill()
        guest._qemu.wait()
""")


def test_a_line_that_never_ends_is_cut_off_not_buffered(tmp_path):
    """A guest that sends bytes without a newline: the host stops at the limit, in bounded memory."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", ENDLESS], capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-2000:]
    assert "without ending its answer (boot)" in done.stdout, done.stdout[-500:]
    assert seconds < 60, f"{seconds:.0f} s"  # not the 60 s timeout: cut off at the limit
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1 << 20  # KiB: under 1 GiB peak
