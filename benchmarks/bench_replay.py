"""Replay speed: 100,000-operation random traces over mappings of up to 4,096 pages.

Target (issue 2): under 2 s under ``modern`` on the project's 2-core machine.
Target (issue 15): replaying these v1 traces stays within 10% of the code
before trace v2 (``--against fbf907c^``). Four traces, all from
``hugelab.trace.generate.random_trace``:

* ``verify mix``: the operation mix ``hugelab verify`` uses, with a pool of
  up to 16,384 pages; processes die as the kernel would kill them and later
  lines naming them are skipped (cheap), so the table says how many steps did
  real work;
* ``verify, alive``: the same mix, but touches only hit mapped, accessible
  pages, ``main`` never exits and nobody runs out of pages, so every step
  does work (``live=True``);
* ``touch-heavy``: alive, with 85% touches and few mappings, so page-table
  entries dominate;
* ``many VMAs``: alive, with many splits: ``main`` ends up with about 900
  VMAs, and each of its ~1,100 forks and exits walks all of them (as the
  kernel's dup_mmap and exit_mmap do), which dominates the cost.

Three ways to run it:

``python benchmarks/bench_replay.py``
    this checkout: wall time, median of 3 runs each.

``python benchmarks/bench_replay.py --against REV``
    this checkout against git revision REV (its ``hugelab/`` extracted with
    ``git archive`` into a temporary directory), on the same trace texts.
    Two long-lived worker processes, one per version, take turns (never both
    at once, in random order each round) and each reports the *CPU time*
    (``time.process_time``) of its replay, so waiting for a core shared with
    others is not counted; the figure is the minimum over the rounds, the
    run least disturbed by other work (cache and frequency effects remain).
    Both versions must produce the same steps (a digest of every step record
    is compared) or the comparison stops.

``python benchmarks/bench_replay.py --against REV --instructions``
    the same comparison counted in instructions with valgrind's callgrind,
    which the machine's load does not change: only what runs inside the
    replay call is counted (``--toggle-collect`` on the C function behind
    ``sys.call_tracing``, through which the worker calls ``replay``), with
    ``PYTHONHASHSEED=0``. About 50x slower than a plain run: use ``--ops``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPS, MAX_PAGES = 100_000, 4096
MANY_VMA_WEIGHTS = {"touch": 60, "mmap": 4, "munmap": 10, "mprotect": 6, "madvise": 8, "fork": 1, "exit": 1, "pool": 1}
TOUCH_WEIGHTS = {"touch": 85, "mmap": 1, "munmap": 1, "mprotect": 1, "madvise": 1, "fork": 1, "exit": 1}
# the C function behind sys.call_tracing: callgrind counts only inside it
CALLGRIND_TOGGLE = "sys_call_tracing"


def traces(ops: int) -> dict[str, str]:
    """The four benchmark traces, by label (v1 operations only)."""
    from hugelab.trace.generate import random_trace

    big = {"max_pool": 50_000_000, "min_pool": 25_000_000, "live": True}
    return {
        "verify mix": random_trace(random.Random(2008), ops, max_pages=MAX_PAGES, max_pool=16384, min_pool=8192),
        "verify, alive": random_trace(random.Random(2008), ops, max_pages=MAX_PAGES, **big),
        "touch-heavy": random_trace(random.Random(7), ops, max_pages=MAX_PAGES, weights=TOUCH_WEIGHTS, **big),
        "many VMAs": random_trace(random.Random(2008), ops, max_pages=MAX_PAGES, weights=MANY_VMA_WEIGHTS, **big),
    }


# -- this checkout alone -------------------------------------------------------


def measure(label: str, text: str) -> None:
    from hugelab import parse_trace, replay

    start = time.perf_counter()
    trace = parse_trace(text)
    parse = time.perf_counter() - start
    times = []
    for _ in range(3):
        start = time.perf_counter()
        steps = replay(trace, "modern")
        times.append(time.perf_counter() - start)
    worked = sum(1 for s in steps if s.error != "skipped")
    print(f"{label:14} {len(trace):,} ops: replay median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f} s), parse {parse:.2f} s, both {parse + statistics.median(times):.2f} s; "
          f"{worked:,} steps did work, {len(steps) - worked:,} were skipped")


# -- the worker: one version of hugelab, found on its PYTHONPATH -------------------


def digest(steps: list) -> str:
    return hashlib.sha256("\n".join(s.to_json() for s in steps).encode()).hexdigest()[:16]


def worker() -> None:
    """Read ``{"trace": PATH, "what": "parse"|"replay"}`` lines; answer each
    with ``{"cpu": SECONDS, "digest": ...}`` (the digest the first time only)."""
    import gc

    from hugelab import parse_trace, replay

    parsed: dict[str, object] = {}
    for line in sys.stdin:
        job = json.loads(line)
        text = Path(job["trace"]).read_text()
        gc.collect()  # the previous run's garbage is not this run's cost
        if job["what"] == "parse":
            start = time.process_time()
            trace = parse_trace(text)
            cpu = time.process_time() - start
            answer = {"cpu": cpu}
        else:
            if job["trace"] not in parsed:
                parsed[job["trace"]] = parse_trace(text)
            trace = parsed[job["trace"]]
            start = time.process_time()
            steps = replay(trace, "modern")
            cpu = time.process_time() - start
            answer = {"cpu": cpu, "digest": digest(steps) if job.get("digest") else None}
            del steps
        print(json.dumps(answer), flush=True)


def worker_once(path: str, what: str) -> None:
    """Under callgrind: parse, then run ``what`` once through sys.call_tracing."""
    import gc

    from hugelab import parse_trace, replay

    text = Path(path).read_text()
    gc.collect()  # the collector's counts start from the same state for both versions
    if what == "parse":
        sys.call_tracing(parse_trace, (text,))
        return
    trace = parse_trace(text)
    gc.collect()
    steps = sys.call_tracing(replay, (trace, "modern"))
    print(digest(steps))


# -- this checkout against a revision ------------------------------------------------


def extract(rev: str, into: Path) -> str:
    """REV's ``hugelab/`` under ``into``; returns REV's short commit id."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "hugelab"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit


class Worker:
    def __init__(self, path: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(path))
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=path)

    def run(self, trace: Path, what: str, digest: bool = False) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"trace": str(trace), "what": what, "digest": digest}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the worker for {trace.name} died (exit status {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait()


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def against_cpu(rev: str, files: dict[str, Path], base: Path, rounds: int) -> None:
    new, old = Worker(ROOT), Worker(base)
    try:
        for label, path in files.items():
            d_new, d_old = (w.run(path, "replay", digest=True)["digest"] for w in (new, old))
            if d_new != d_old:
                raise SystemExit(f"{label}: this checkout and {rev} replay differently ({d_new} != {d_old})")
        cpu: dict[tuple[str, str, str], list[float]] = {}
        rng = random.Random()
        for _ in range(rounds):
            for label, path in files.items():
                for what in ("replay", "parse"):
                    pair = [("new", new), ("old", old)]
                    rng.shuffle(pair)
                    for name, w in pair:
                        cpu.setdefault((label, what, name), []).append(w.run(path, what)["cpu"])
        print(f"CPU time, minimum of {rounds} interleaved rounds; this checkout / {rev}:")
        for label in files:
            parts = []
            for what in ("replay", "parse"):
                n, o = (cpu[label, what, name] for name in ("new", "old"))
                paired = statistics.median(a / b for a, b in zip(n, o))
                parts.append(f"{what} {min(n):.3f} / {min(o):.3f} s = {min(n) / min(o):.3f}x "
                             f"(median of paired ratios {paired:.3f}x)")
            print(f"  {label:14} " + "; ".join(parts))
    finally:
        new.close()
        old.close()


def callgrind(path: Path, trace: Path, what: str, out: Path) -> tuple[int, str]:
    """Instructions executed inside the timed call, and the steps' digest."""
    env = dict(os.environ, PYTHONPATH=str(path), PYTHONHASHSEED="0")
    result = subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                             f"--toggle-collect={CALLGRIND_TOGGLE}", f"--callgrind-out-file={out}",
                             sys.executable, __file__, "--worker-once", str(trace), what],
                            env=env, cwd=path, capture_output=True, text=True, check=True)
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1]), result.stdout.strip()
    raise SystemExit(f"no instruction count in {out}")


def against_instructions(rev: str, files: dict[str, Path], base: Path, tmp: Path) -> None:
    if not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind")
    print(f"Instructions (callgrind Ir inside the call); this checkout / {rev}:")
    for label, path in files.items():
        parts = []
        for what in ("replay", "parse"):
            (n, d_new), (o, d_old) = (callgrind(p, path, what, tmp / f"cg.{name}.out")
                                      for name, p in (("new", ROOT), ("old", base)))
            if d_new != d_old:
                raise SystemExit(f"{label}: this checkout and {rev} replay differently ({d_new} != {d_old})")
            parts.append(f"{what} {n / 1e6:,.1f}M / {o / 1e6:,.1f}M = {n / o:.3f}x")
        print(f"  {label:14} " + "; ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REV", help="compare with this git revision (e.g. fbf907c^)")
    parser.add_argument("--ops", type=int, default=OPS, help=f"operations per trace (default {OPS:,})")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds for --against (default 9)")
    parser.add_argument("--instructions", action="store_true", help="count instructions with callgrind")
    parser.add_argument("--only", action="append", help="only the trace with this label (repeatable)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-once", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()
    if args.worker_once:
        return worker_once(*args.worker_once)
    sys.path.insert(0, str(ROOT))
    texts = {label: text for label, text in traces(args.ops).items() if not args.only or label in args.only}
    if not args.against:
        for label, text in texts.items():
            measure(label, text)
        return
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "base").mkdir()
        rev = extract(args.against, tmp / "base")
        files = {}
        for i, (label, text) in enumerate(texts.items()):
            files[label] = tmp / f"trace{i}.trace"
            files[label].write_text(text)
        print(f"{args.ops:,} ops per trace; load average before: {load()}", flush=True)
        if args.instructions:
            against_instructions(rev, files, tmp / "base", tmp)
        else:
            against_cpu(rev, files, tmp / "base", args.rounds)
        print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
