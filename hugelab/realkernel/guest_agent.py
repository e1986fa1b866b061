"""Inside a QEMU guest: the loop that replays traces for the host (``/init`` runs it).

It speaks JSON lines on a serial port (the host's end is QEMU's stdio).
First it says hello (the guest's kernel release and version, and huge page size), then
answers one request a line, in order:

* ``{"trace": TEXT}``  -> ``{"steps": [record, ...]}``: the trace replayed
  by :func:`hugelab.realkernel.replay_on`, the same code as on the host, each
  record as ``hugelab replay --json`` prints it; or ``{"error": "one line"}``;
* a trace after which the pool is not bare: ``{"steps": [...], "leak": "one
  line", "leaked": counters}`` (the guest is spent: the host starts another);
* ``{"leaking_step": TEXT}`` -> ``{"step": N}``: in a fresh guest, the first
  N whose first N lines leak on their own (:func:`hugelab.realkernel.leaking_step`);
* ``{"hello": true}`` -> the hello again (the first request to a guest
  restored from a snapshot, which said its hello before it was saved);
* ``{"run": [ARGV...], "timeout": S}`` -> ``{"rc": N, "out": TEXT}``: a
  program of the initramfs (a C reproducer), run with the pool idle before;
* ``{"quit": true}`` -> the agent returns and ``/init`` powers off (so it
  does after :data:`IDLE_SECONDS` without a request: a host killed by
  SIGKILL cannot say quit).

One :class:`~hugelab.realkernel.KernelSession` serves every request, so each
trace starts from an empty pool, as on the host.
"""

from __future__ import annotations

import gc
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
    from hugelab.realkernel import KernelLeaked, KernelReplayError, KernelUnavailable, leaking_step, replay_on
    from hugelab.trace.language import TraceError, parse_trace

    if "trace" in request:
        try:  # a guest is thrown away after its run: min_size traces are welcome here
            steps = replay_on(session, parse_trace(request["trace"]), throwaway=True)
        except KernelLeaked as leak:  # the records, and what the pool kept
            return {"steps": [s.as_dict() for s in leak.steps], "leak": str(leak),
                    "leaked": leak.counters.as_dict()}
        except (TraceError, KernelReplayError, KernelUnavailable) as e:
            return {"error": str(e)}
        return {"steps": [s.as_dict() for s in steps]}
    if "leaking_step" in request:  # a fresh guest: the first prefix of the trace that leaks
        try:
            return {"step": leaking_step(session, parse_trace(request["leaking_step"]))}
        except (TraceError, KernelReplayError, KernelUnavailable) as e:
            return {"error": str(e)}
    if "hello" in request:
        return hello()
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


def hello() -> dict:
    """Who this guest is; said first, and again when asked (a guest restored from a snapshot)."""
    from hugelab.realkernel.sysfs import hugepage_size

    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])  # seconds since the guest kernel started: boot + python start
    # uname -v names the upstream release Debian's ABI names hide ("Debian 6.1.192-3")
    return {"hello": os.uname().release, "version": os.uname().version, "hpage": hugepage_size(), "uptime": uptime}


def main(port_path: str) -> None:
    from hugelab.realkernel import KernelSession

    preload()
    # Every trace forks its processes from this one: with what is imported now out of the cycle
    # collector's sight, a collection in a forked worker no longer writes to (and so copies) every
    # page of it, which under TCG costs a page fault and a copy each.
    gc.freeze()
    fd = os.open(port_path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)  # no echo, no line editing, no \n -> \r\n: bytes as sent
    port = os.fdopen(fd, "r+b", buffering=0)

    def send(message: dict) -> None:
        # no spaces after ',' and ':': a tenth fewer bytes through the emulated UART, one exit a byte
        port.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    send(hello())
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
