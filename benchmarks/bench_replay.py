"""Replay speed: a 100,000-operation random trace over mappings of up to 4,096 pages.

Target (issue 2): under 2 s under ``modern`` on the project's 2-core machine.
Prints the median of 5 runs. Run: ``python benchmarks/bench_replay.py``.
"""

import random
import statistics
import time

from hugelab import parse_trace, replay
from hugelab.generate import random_trace

OPS, MAX_PAGES, MAX_POOL = 100_000, 4096, 16384


def main() -> None:
    text = random_trace(random.Random(2008), OPS, max_pages=MAX_PAGES, max_pool=MAX_POOL, min_pool=MAX_POOL // 2,
                        live=True)
    trace = parse_trace(text)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        steps = replay(trace, "modern")
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    parse_trace(text)
    parse = time.perf_counter() - start
    errors = sum(1 for s in steps if s.error)
    print(f"replay of {len(trace):,} operations (mappings up to {MAX_PAGES} pages, modern): "
          f"median {statistics.median(times):.2f} s over 5 runs (min {min(times):.2f} s); "
          f"parsing {parse:.2f} s; {errors:,} steps with an outcome other than ok")


if __name__ == "__main__":
    main()
