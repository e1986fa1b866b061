"""Fresh clones and long-running commands, as a newcomer meets them (tests/browser/test_install.py,
benchmarks/bench_fresh_clone.py)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Debian's own Python first and alone: no pyenv shims, no /usr/local.
DEBIAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def clone(where: Path) -> Path:
    """A fresh clone of this checkout's current commit (what is committed, as CI gets it)."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(where)], check=True)
    return where


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that points Python at a checkout or a venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env.update(extra)
    return env


class Running:
    """A command whose output is read line by line in the background (it may never end)."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, prefix: str, seconds: float) -> tuple[str, float]:
        """The rest of the first line starting with ``prefix``, and the seconds since the start."""
        deadline = self.started + seconds
        while True:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no {prefix!r} line within {seconds} s; output:\n"
                                   + "\n".join(self.lines)) from None
            if line is None:
                raise RuntimeError(f"exited ({self.proc.wait()}) before a {prefix!r} line; output:\n"
                                   + "\n".join(self.lines))
            self.lines.append(line)
            if line.startswith(prefix):
                return line[len(prefix):].strip(), time.monotonic() - self.started

    def stop(self) -> int:
        """SIGTERM to the command (as Ctrl-C would end it), then its whole group if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode
