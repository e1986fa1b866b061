"""Replay cost against the number of size= mounts (issue 22: "mounts make replay quadratic").

Once a trace has a mount with ``size=``, every step record carries the
statfs of every such mount. Target: a step costs the same with 1 mount as
with the most a trace may make (``limits.MAX_MOUNTS``, 64): within 1.2x in
time, and the records' statfs held once per change, not once per step.

Each trace: M mounts, 8 files spread over them, a shared mapping of each
file, then 100,000 lines that fault, drop (``madvise dontneed``) and punch
pages of those files (the same lines whatever M), so about a third of the
steps change one mount's statfs. The figure is CPU time
(``time.process_time``: waiting for a core shared with others is not
counted), the minimum of 3 rounds, each replaying every trace once.
"""

from __future__ import annotations

import random
import time
import tracemalloc

from hugelab.limits import MAX_MOUNTS
from hugelab.replay import replay

STEPS = 100_000
FILES = 8  # files mapped and worked on, spread over the mounts


def trace(mounts: int, steps: int = STEPS) -> str:
    rng = random.Random(8)  # the same lines whatever the mounts: only where the files live differs
    lines = ["pool 32"] + [f"mount m{i} size=16" for i in range(mounts)]
    for i in range(FILES):
        lines += [f"file f{i} on m{i % mounts}", f"mmap a{i} 2 shared file f{i}"]
    while len(lines) < steps:
        i = rng.randrange(FILES)
        lines.append(rng.choice([f"touch a{i} {rng.randrange(2)}", f"madvise a{i} 0 2 dontneed",
                                 f"punch f{i} {rng.randrange(2)} 1"]))
    return "\n".join(lines) + "\n"


def main() -> None:
    counts = (1, 8, MAX_MOUNTS)
    texts = {mounts: trace(mounts) for mounts in counts}
    times: dict[int, list[float]] = {mounts: [] for mounts in counts}
    for _ in range(3):  # rounds, each replaying every trace once: the machine's load falls on all alike
        for mounts in counts:
            start = time.process_time()
            replay(texts[mounts])
            times[mounts].append(time.process_time() - start)
    base = min(times[1])
    for mounts in counts:
        tracemalloc.start()
        steps = replay(texts[mounts])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        dicts = len({id(s.mounts) for s in steps})
        best = min(times[mounts])
        print(f"{mounts:3} mounts: {len(steps):,} steps in {best:.2f} s of CPU ({best / base:.2f}x the 1-mount "
              f"trace), peak {peak / 1e6:.0f} MB; {dicts:,} statfs records behind the steps")


if __name__ == "__main__":
    main()
