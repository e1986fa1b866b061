"""``hugelab app``: the split explorer as a standalone Voila page on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib import resources


def notebook_path() -> str:
    return str(resources.files(__name__) / "explorer.ipynb")


def serve(port: int = 8866, wait: bool = True) -> int:
    """Start Voila on 127.0.0.1:``port``, print the URL, and run until Ctrl-C."""
    try:
        import voila  # noqa: F401
    except ImportError:
        print("hugelab app needs Voila: pip install 'hugelab[notebooks]'", file=sys.stderr)
        return 2
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            print(f"hugelab: port {port} is taken; choose another with --port", file=sys.stderr)
            return 2
    command = [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
               "--ServerApp.allow_root=True", "--Voila.tornado_settings={'allow_origin': '127.0.0.1'}",
               notebook_path()]
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    previous = signal.signal(signal.SIGTERM, _interrupt) if wait else None
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                print(f"hugelab: Voila stopped at start (exit status {server.returncode})", file=sys.stderr)
                return 1
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"hugelab split explorer: {url}", flush=True)
        if wait:
            server.wait()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if wait and server.poll() is None:
            server.terminate()
            server.wait(10)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
