"""Inside a QEMU guest: the loop that replays traces for the host (``/init`` runs it).

It speaks JSON lines on a serial port (the host's end is QEMU's stdio).
First it says hello (the guest's kernel release and version, and huge page size), then
answers one request a line, in order:

* ``{"trace": TEXT}``  -> ``{"steps": [record, ...]}``: the trace replayed
  by :func:`hugelab.realkernel.replay_on`, the same code as on the host, each
  record as ``hugelab replay --json`` prints it; or ``{"error": "one line"}``.
  When every process ended and the pool is not bare (the kernel leaked or
  wrapped: the guest is spent), ``"left": counters`` is added to the records;
* ``{"run": [ARGV...], "timeout": S}`` -> ``{"rc": N, "out": TEXT}``: a
  program of the initramfs (a C reproducer), run with the pool idle before;
* ``{"quit": true}`` -> the agent returns and ``/init`` powers off (so it
  does after :data:`IDLE_SECONDS` without a request: a host killed by
  SIGKILL cannot say quit).

One :class:`~hugelab.realkernel.KernelSession` serves every request, so each
trace starts from an empty pool, as on the host.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import tty

#: a guest nobody has asked anything for this long powers itself off
IDLE_SECONDS = 900


def preload() -> None:
    """Import everything a request can need, so the host can list the modules to ship."""
    import encodings.latin_1  # noqa: F401  (for any byte a program may print)
    import errno  # noqa: F401
    import faulthandler  # noqa: F401
    import resource  # noqa: F401
    import select  # noqa: F401
    import signal  # noqa: F401

    import hugelab.realkernel
    import hugelab.realkernel.fsworker
    import hugelab.realkernel.machine
    import hugelab.realkernel.worker
    import hugelab.replay
    import hugelab.trace.language  # noqa: F401


def _answer(port, request: dict, session) -> dict:
    from hugelab.realkernel import KernelReplayError, KernelUnavailable, PoolNotBare, replay_on
    from hugelab.trace.language import TraceError, parse_trace

    if "trace" in request:
        try:  # a guest is thrown away after its run: min_size traces are welcome here
            steps = replay_on(session, parse_trace(request["trace"]), throwaway=True)
        except PoolNotBare as e:  # the records, and what the pool kept: the host boots a fresh guest
            return {"steps": [s.as_dict() for s in e.steps], "left": e.counters.as_dict()}
        except (TraceError, KernelReplayError, KernelUnavailable) as e:
            return {"error": str(e)}
        return {"steps": [s.as_dict() for s in steps]}
    if "run" in request:
        session.end_processes()
        session.reset_pool()
        try:
            done = subprocess.run(request["run"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=request.get("timeout", 120), check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return {"error": f"cannot run {request['run'][0]}: {e}"}
        return {"rc": done.returncode, "out": done.stdout.decode(errors="replace")}
    return {"error": f"unknown request {sorted(request)}"}


def main(port_path: str) -> None:
    from hugelab.realkernel import KernelSession
    from hugelab.realkernel.sysfs import hugepage_size

    preload()
    fd = os.open(port_path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)  # no echo, no line editing, no \n -> \r\n: bytes as sent
    port = os.fdopen(fd, "r+b", buffering=0)

    def send(message: dict) -> None:
        port.write(json.dumps(message).encode() + b"\n")

    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])  # seconds since the guest kernel started: boot + python start
    # uname -v names the upstream release Debian's ABI names hide ("Debian 6.1.192-3")
    send({"hello": os.uname().release, "version": os.uname().version, "hpage": hugepage_size(), "uptime": uptime})
    with KernelSession() as session:
        while True:
            line = b""
            while not line.endswith(b"\n"):
                # A host that died without saying quit (SIGKILL) leaves no end-of-file on a
                # serial line: after IDLE_SECONDS without a request the guest powers off.
                if not select.select([fd], [], [], IDLE_SECONDS)[0]:
                    return
                chunk = port.read(65536)
                if not chunk:
                    return
                line += chunk
            for raw in line.splitlines():
                request = json.loads(raw)
                if request.get("quit"):
                    send({"bye": True})
                    return
                try:
                    send(_answer(port, request, session))
                except Exception as e:  # report it to the host, one line; keep serving
                    send({"error": f"{type(e).__name__}: {e}"})
                    print(f"hugelab guest agent: {type(e).__name__}: {e}", file=sys.stderr)
