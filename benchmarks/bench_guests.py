"""Guest kernels: boot time, replay speed in a guest vs on the host, and the CI guest part.

* boot: ``Guest.__enter__`` until the agent's hello (initramfs made on the
  fly, QEMU TCG started, kernel booted, python3 started), ``--boots`` times
  per kernel, one guest at a time;
* steps/s: the same ``--traces`` random traces (30 operations, as verify and
  CI use) replayed in each guest; ``--host`` replays them on this machine's
  kernel instead, and nothing else (root, and on a shared machine under the
  pool's lock: ``flock /work/hugepool.flock python benchmarks/bench_guests.py --host``);
* CI guest part: with ``--ci``, the wall time of ``pytest tests/test_guests.py``
  (both guests in parallel, 120 random traces each).

Boot times are also split: the part inside the guest (its /proc/uptime when
the agent says hello: kernel boot and python3 start) and the rest (QEMU start,
loading kernel and initramfs). Run: ``python benchmarks/bench_guests.py [--ci]``, then ``--host``.
"""

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from hugelab import parse_trace
from hugelab.realkernel import images
from hugelab.realkernel.guest import Guest
from hugelab.realkernel.targets import HostKernel
from hugelab.trace.generate import random_trace

ROOT = Path(__file__).resolve().parents[1]


def replay_rate(machine, traces):
    start, steps = time.perf_counter(), 0
    for trace in traces:
        steps += len(machine.replay(trace))
    seconds = time.perf_counter() - start
    return steps, seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--boots", type=int, default=3)
    parser.add_argument("--traces", type=int, default=50)
    parser.add_argument("--host", action="store_true", help="also replay on this machine's kernel (root, flock)")
    parser.add_argument("--ci", action="store_true", help="also time pytest tests/test_guests.py")
    args = parser.parse_args()
    traces = [parse_trace(random_trace(random.Random(seed), 30)) for seed in range(args.traces)]
    if args.host:
        with HostKernel() as host:
            steps, seconds = replay_rate(host, traces)
        print(f"Linux {host.release} (host): {steps} steps in {seconds:.1f} s = {steps / seconds:.0f} steps/s "
              f"({1000 * seconds / steps:.2f} ms/step)")
        return 0

    for series in ("6.1", "6.12"):
        image = images.resolve(series)
        boots, inside = [], []
        for _ in range(args.boots):
            with Guest(image) as guest:
                boots.append(guest.boot_seconds)
                inside.append(guest.guest_uptime)
        with Guest(image) as guest:
            steps, seconds = replay_rate(guest, traces)
        print(f"Linux {image.release}: boot median {statistics.median(boots):.1f} s "
              f"(min {min(boots):.1f}, max {max(boots):.1f}, {args.boots} boots; "
              f"inside the guest median {statistics.median(inside):.1f} s); "
              f"{steps} steps in {seconds:.1f} s = {steps / seconds:.0f} steps/s "
              f"({1000 * seconds / steps:.1f} ms/step)")
    if args.ci:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_guests.py", "-q", "-p",
                               "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
        status = "passed" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        print(f"CI guest part (pytest tests/test_guests.py): {time.perf_counter() - start:.0f} s, {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
