"""Guest kernels: time to a ready guest, replay speed in a guest vs on the host, and the CI guest part.

* ready: ``Guest.__enter__`` until the guest answers, ``--boots`` times per
  kernel, one guest at a time, both ways: restored from its snapshot (QEMU
  started on the saved machine, the agent asked for its hello: what every
  command does once a kernel and hugelab's code have been booted once), and a
  cold boot (``HUGELAB_GUEST_SNAPSHOTS=0``: initramfs made on the fly, QEMU
  started, kernel booted, python3 started) with the part inside the guest;
* steps/s: the same ``--traces`` random traces (30 operations, as verify and
  CI use) replayed in each guest, by the wall clock and per second of CPU the
  guest's QEMU used (what the rate would be with a core of its own); ``--host`` replays them on this machine's
  kernel instead, and nothing else (root, and on a shared machine under the
  pool's lock: ``flock /work/hugepool.flock python benchmarks/bench_guests.py --host``);
* CI guest part: with ``--ci``, the wall time of ``pytest tests/test_guests.py``
  (both guests in parallel, 120 random traces each).

Cold boot times are also split: the part inside the guest (its /proc/uptime
when the agent says hello: kernel boot and python3 start) and the rest (QEMU
start, loading kernel and initramfs). The load average is printed before and
after: on a shared 2-core machine every figure moves with it. Run (one guest
workload at a time machine-wide): ``flock /tmp/hugelab-guest.lock python
benchmarks/bench_guests.py [--kernels 6.1,6.12] [--ci]``, then ``--host``.
"""

import argparse
import os
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


def qemu_cpu_seconds(guest) -> float:
    """CPU time the guest's QEMU has used (user + system): what a replay costs, whatever the load."""
    fields = Path(f"/proc/{guest._qemu.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def ready_times(image, boots: int, cold: bool) -> tuple[list[float], list[float]]:
    """Seconds to a ready guest, and of them the part inside the guest (a cold boot's)."""
    if cold:
        os.environ["HUGELAB_GUEST_SNAPSHOTS"] = "0"
    try:
        ready, inside = [], []
        for _ in range(boots):
            with Guest(image) as guest:
                ready.append(guest.boot_seconds)
                inside.append(guest.guest_uptime)
                assert guest.restored != cold
        return ready, inside
    finally:
        os.environ.pop("HUGELAB_GUEST_SNAPSHOTS", None)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--boots", type=int, default=5)
    parser.add_argument("--traces", type=int, default=50)
    parser.add_argument("--kernels", default="6.1,6.12")
    parser.add_argument("--host", action="store_true", help="also replay on this machine's kernel (root, flock)")
    parser.add_argument("--ci", action="store_true", help="also time pytest tests/test_guests.py")
    args = parser.parse_args()
    traces = [parse_trace(random_trace(random.Random(seed), 30)) for seed in range(args.traces)]
    print(f"load average {load()}")
    if args.host:
        with HostKernel() as host:
            steps, seconds = replay_rate(host, traces)
        print(f"Linux {host.release} (host): {steps} steps in {seconds:.1f} s = {steps / seconds:.0f} steps/s "
              f"({1000 * seconds / steps:.2f} ms/step); load average {load()}")
        return 0

    for series in args.kernels.split(","):
        image = images.resolve(series)
        with Guest(image):  # boots and saves the guest if it was not saved yet
            pass
        restored, _ = ready_times(image, args.boots, cold=False)
        cold, inside = ready_times(image, max(1, args.boots // 2), cold=True)
        with Guest(image) as guest:
            cpu = qemu_cpu_seconds(guest)
            steps, seconds = replay_rate(guest, traces)
            cpu = qemu_cpu_seconds(guest) - cpu
        print(f"Linux {image.release}: ready from the snapshot median {statistics.median(restored):.2f} s "
              f"(min {min(restored):.2f}, max {max(restored):.2f}, {len(restored)} runs); cold boot median "
              f"{statistics.median(cold):.1f} s (min {min(cold):.1f}, max {max(cold):.1f}, {len(cold)} boots; inside "
              f"the guest median {statistics.median(inside):.1f} s); {steps} steps in {seconds:.1f} s = "
              f"{steps / seconds:.0f} steps/s ({1000 * seconds / steps:.1f} ms/step), QEMU busy {cpu:.1f} s of "
              f"CPU: {steps / cpu:.0f} steps per CPU second; load average {load()}", flush=True)
    if args.ci:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_guests.py", "-q", "-p",
                               "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
        status = "passed" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        print(f"CI guest part (pytest tests/test_guests.py): {time.perf_counter() - start:.0f} s, {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
