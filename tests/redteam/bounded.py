"""Run hugelab as a hostile user would, with a clock and a memory ceiling.

Every red-team case runs ``python -m hugelab ...`` in a subprocess under
RLIMIT_AS (so a case that tries to hold a whole /dev/zero dies instead of
taking the machine) and a timeout (so a hang fails instead of blocking CI).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: address space a hugelab command may use in these tests
MEMORY = 1 << 30
#: seconds before a case counts as a hang
TIMEOUT = 120


def _limits(memory: int, files: int | None):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    return apply


def hugelab(*args: str, stdin=None, memory: int = MEMORY, timeout: float = TIMEOUT, files: int | None = None,
            user: int | None = None) -> subprocess.CompletedProcess:
    """``python -m hugelab args`` within bounds; ``user``: run as that uid (root only)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "hugelab", *args]
    if user is not None:  # the system's python: another user may not reach ours; the core needs only the stdlib
        command = as_user(user, [SYSTEM_PYTHON, "-m", "hugelab", *args])
    feed = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin or subprocess.DEVNULL}
    return subprocess.run(command, capture_output=True, timeout=timeout, env=env, cwd="/",
                          preexec_fn=_limits(memory, files), **feed)


SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534


def as_user(uid: int, command: list[str]) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command]


def can_switch_user() -> str | None:
    """None if this test may run commands as another user, else why not."""
    if os.geteuid() != 0:
        return "needs root (to run commands as another user)"
    if not Path(SYSTEM_PYTHON).exists() or not Path("/usr/bin/setpriv").exists():
        return "needs /usr/bin/python3 and setpriv"
    return None


def one_line(done: subprocess.CompletedProcess, status: int) -> str:
    """Assert ``done`` failed with ``status`` and one short line, no traceback, no output; return the line."""
    err = done.stderr.decode(errors="replace")
    assert done.returncode == status, (done.returncode, err[-2000:])
    assert done.stdout == b"", done.stdout[:500]
    assert err.count("\n") == 1 and "Traceback" not in err, err[-2000:]
    assert len(err) < 600, err[:600]
    return err.strip()
