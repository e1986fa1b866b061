"""``hugelab app``: the split explorer as a standalone Voila page on loopback.

The security model, in short (README, "Limits and safety"):

* Voila listens on 127.0.0.1 only, and every request needs a random token
  (printed in the URL, as JupyterLab does). The token never appears on a
  command line (other users can read those in /proc): it is in a config
  file in a private (0700) directory, the only place Voila reads config from.
* Each page load runs a notebook kernel, so: at most
  :data:`~hugelab.limits.APP_MAX_KERNELS` at once, and a kernel idle for
  :data:`~hugelab.limits.APP_KERNEL_IDLE_SECONDS` is shut down.
* Started as root, it refuses unless ``--allow-root``: the kernels would
  run as root.
* A kernel idle that long is shut down even while a tab is still
  connected to it (``cull_connected``): four tabs left open must not
  hold every slot.
* SIGTERM, SIGINT or SIGHUP stop Voila (which shuts its kernels down);
  after :data:`~hugelab.limits.APP_STOP_SECONDS` anything left of it or
  its kernels is killed, and the app exits 128 + the signal's number
  (SIGTERM: 143), as a shell reports it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from ..limits import APP_CULL_INTERVAL_SECONDS, APP_KERNEL_IDLE_SECONDS, APP_MAX_KERNELS, APP_STOP_SECONDS

PR_SET_CHILD_SUBREAPER = 36
START_SECONDS = 60


def notebook_path() -> str:
    return str(resources.files(__name__) / "explorer.ipynb")


def voila_config(port: int, token: str, idle_seconds: int = APP_KERNEL_IDLE_SECONDS) -> dict:
    """Everything Voila is told, as the JSON config file it reads.

    A kernel idle for ``idle_seconds`` is culled; the cull runs at least
    twice within that time, so none outlives it by much more than half.
    """
    manager = {"max_kernels": APP_MAX_KERNELS, "cull_idle_timeout": idle_seconds,
               "cull_interval": min(APP_CULL_INTERVAL_SECONDS, max(1, idle_seconds // 2)), "cull_connected": True}
    return {
        "Voila": {"ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False, "token": token},
        "VoilaConfiguration": {"multi_kernel_manager_class": "hugelab.app.kernels.CappedKernelManager"},
        "CappedKernelManager": manager,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def serve(port: int = 8866, allow_root: bool = False, idle_seconds: int = APP_KERNEL_IDLE_SECONDS) -> int:
    """Start Voila on 127.0.0.1:``port`` (0: any free port), print the URL, and run until a signal."""
    try:
        import voila  # noqa: F401
    except ImportError:
        print("hugelab: the app needs Voila: pip install 'hugelab[notebooks]'", file=sys.stderr)
        return 2
    if os.geteuid() == 0 and not allow_root:
        print("hugelab: as root, the app's notebook kernels would run as root: run it as another user, "
              "or pass --allow-root", file=sys.stderr)
        return 2
    if port == 0:
        port = free_port()
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            print(f"hugelab: port {port} is taken; choose another with --port (0: any free port)", file=sys.stderr)
            return 2
    token = secrets.token_urlsafe(32)
    private = Path(tempfile.mkdtemp(prefix="hugelab-app-"))  # mode 0700: only we read the token
    (private / "voila.json").write_text(json.dumps(voila_config(port, token, idle_seconds)))
    log = private / "voila.log"
    command = [sys.executable, "-m", "voila", f"--Voila.config_file_paths=['{private}']", notebook_path()]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(private / "config"))
    _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # kernels orphaned by Voila come back to us
    stops = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {s: signal.signal(s, _raise_stop) for s in stops}
    server = None
    try:
        with open(log, "wb") as log_file:
            server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                      cwd=private, env=env, start_new_session=True)
        if not _wait_listening(server, port):
            last = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no message"]
            print(f"hugelab: Voila did not start (exit status {server.returncode}): {last[0][:200]}",
                  file=sys.stderr)
            return 1
        print(f"hugelab split explorer: http://127.0.0.1:{port}/?token={token}", flush=True)
        server.wait()
        print(f"hugelab: Voila stopped by itself (exit status {server.returncode})", file=sys.stderr)
        return 1
    except _Stop as stop:
        print(f"hugelab: stopping the app ({signal.Signals(stop.signum).name})", file=sys.stderr)
        return 128 + stop.signum
    finally:
        for s in previous:
            signal.signal(s, signal.SIG_IGN)  # a second signal must not cut the shutdown short
        if server is not None:
            stop_server(server)
        _libc().prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        shutil.rmtree(private, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)


def _raise_stop(signum, frame):
    raise _Stop(signum)


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _wait_listening(server: subprocess.Popen, port: int) -> bool:
    """Wait until Voila accepts connections (without a request: a page load would start a kernel)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (kernels, their children), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to Voila (it shuts its kernels down); after APP_STOP_SECONDS, SIGKILL to what is left."""
    kernels = descendants(server.pid)  # known now: once Voila is gone they are ours (subreaper)
    if server.poll() is None:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(APP_STOP_SECONDS)
    if server.poll() is None:
        server.kill()
        server.wait()
    deadline = time.monotonic() + APP_STOP_SECONDS
    left = [pid for pid in kernels if _alive(pid)]
    while left:
        late = time.monotonic() > deadline - APP_STOP_SECONDS / 2
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL if late else signal.SIGTERM)
        time.sleep(0.1)
        left = [pid for pid in left if _alive(pid)]
        if time.monotonic() > deadline:
            break


def _alive(pid: int) -> bool:
    """Is ``pid`` still running? Reaps it if it is our zombie child."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
