"""resv_map scaling: per-call cost of region_count and region_add from 100 to 100,000 regions.

Target (issue 2): logarithmic, i.e. the per-call cost grows less than 3x from
100 to 100,000 regions, for the map the model uses (``FastResvMap``). The
region list a learner reads (``ResvMap``, each call a walk, as the
kernel's) is timed too, up to 10,000 regions: it holds no target, and shows
why the model does not use it. Each measurement builds a map of N disjoint regions
[2i, 2i+1), then times random calls: the minimum over 9 batches of 20,000
calls, as timeit advises (on a shared machine the fastest batch is the one
least disturbed; a median mostly measures the neighbours).
"""

import random
import time

from hugelab.model.resv_map import ResvMap
from hugelab.model.resv_map_fast import FastResvMap

CALLS = 20_000


def build(n: int, kind: type[ResvMap] = FastResvMap) -> tuple[ResvMap, float]:
    """The map, and the mean cost of the n inserts that built it (runs cut included)."""
    m = kind()
    order = random.Random(n).sample(range(n), n)
    start = time.perf_counter()
    for i in order:
        m.region_add(2 * i, 2 * i + 1)
    elapsed = time.perf_counter() - start
    assert len(m.regions()) == n
    return m, elapsed / n


def per_call(m: ResvMap, n: int, call: str, batches_of: int = 9) -> float:
    rng = random.Random(1)
    batches = []
    for _ in range(batches_of):
        if call == "region_count":
            args = [(f, f + rng.randint(1, 64)) for f in (rng.randrange(2 * n) for _ in range(CALLS))]
            fn = m.region_count
        else:
            # add one odd offset (joining two regions), timed with its undo
            args = [(f, f + 1) for f in (2 * rng.randrange(n - 1) + 1 for _ in range(CALLS))]
            fn = m.region_add
        start = time.perf_counter()
        if call == "region_count":
            for f, t in args:
                fn(f, t)
        else:
            for f, t in args:
                fn(f, t)
                m.region_del(f, t)
        batches.append((time.perf_counter() - start) / CALLS)
    return min(batches)


def main() -> None:
    results = {}
    for n in (100, 1_000, 10_000, 100_000):
        m, insert = build(n)
        results[n] = (per_call(m, n, "region_count"), per_call(m, n, "region_add"))
        print(f"{n:>7,} regions: region_count {results[n][0] * 1e6:6.2f} us/call, "
              f"region_add+region_del {results[n][1] * 1e6:6.2f} us/call "
              f"(building it: {insert * 1e6:.2f} us per new region)")
    for i, name in enumerate(("region_count", "region_add+region_del")):
        print(f"{name}: 100 -> 100,000 regions costs {results[100_000][i] / results[100][i]:.2f}x per call")
    for n in (100, 1_000, 10_000):  # the region list, for comparison (one batch each: it is slow)
        m, insert = build(n, ResvMap)
        print(f"ResvMap (the list) {n:>7,} regions: region_count {per_call(m, n, 'region_count', 1) * 1e6:8.2f} "
              f"us/call, region_add+region_del {per_call(m, n, 'region_add', 1) * 1e6:8.2f} us/call")


if __name__ == "__main__":
    main()
