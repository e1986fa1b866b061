"""Replay speed: 100,000-operation random traces over mappings of up to 4,096 pages.

Target (issue 2): under 2 s under ``modern`` on the project's 2-core machine.
Two traces, both from ``hugelab.generate.random_trace``:

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

Prints the median of 3 runs each. Run: ``python benchmarks/bench_replay.py``.
"""

import random
import statistics
import time

from hugelab import parse_trace, replay
from hugelab.generate import random_trace

OPS, MAX_PAGES = 100_000, 4096
MANY_VMA_WEIGHTS = {"touch": 60, "mmap": 4, "munmap": 10, "mprotect": 6, "madvise": 8, "fork": 1, "exit": 1, "pool": 1}
TOUCH_WEIGHTS = {"touch": 85, "mmap": 1, "munmap": 1, "mprotect": 1, "madvise": 1, "fork": 1, "exit": 1}


def measure(label: str, text: str) -> None:
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


def main() -> None:
    measure("verify mix", random_trace(random.Random(2008), OPS, max_pages=MAX_PAGES, max_pool=16384, min_pool=8192))
    measure("verify, alive", random_trace(random.Random(2008), OPS, max_pages=MAX_PAGES, max_pool=50_000_000,
                                          min_pool=25_000_000, live=True))
    measure("touch-heavy", random_trace(random.Random(7), OPS, max_pages=MAX_PAGES, max_pool=50_000_000,
                                        min_pool=25_000_000, live=True, weights=TOUCH_WEIGHTS))
    measure("many VMAs", random_trace(random.Random(2008), OPS, max_pages=MAX_PAGES, max_pool=50_000_000,
                                      min_pool=25_000_000, live=True, weights=MANY_VMA_WEIGHTS))


if __name__ == "__main__":
    main()
