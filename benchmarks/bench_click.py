"""One button click in the split explorer, measured in Python (no browser).

Target (issue 4): a median of 10 ms or less for a click on a 64-page mapping
with a 200-step history, counting the replay of the new step under both
policies and every chart and widget update on both sides.
"""

import random
import statistics
import time

from hugelab.widgets import SplitExplorer


def history(rng: random.Random, steps: int) -> str:
    lines = ["pool 64", "mmap a 64 private"]
    while len(lines) < steps:
        lines.append(f"touch a {rng.randrange(64)}" if rng.random() < 0.8 else f"mprotect a {rng.randrange(64)} 1 r")
    return "\n".join(lines) + "\n"


def main() -> None:
    x = SplitExplorer()
    x.load_box.value = history(random.Random(1), 200)
    x.buttons["load"].click()
    assert x.explorer.cursor == 200 and not x.message.value
    rng = random.Random(2)
    fault, undo = [], []
    for _ in range(60):
        x.page.value = rng.randrange(64)
        start = time.perf_counter()
        x.buttons["fault"].click()
        fault.append(time.perf_counter() - start)
        assert x.explorer.cursor == 201 and not x.message.value and len(x.sides[1].counters.lines.x) == 201
        start = time.perf_counter()
        x.buttons["undo"].click()  # back to 200 steps: undo replays the whole history
        undo.append(time.perf_counter() - start)
    for name, times in (("fault click", fault), ("undo click (full replay)", undo)):
        times.sort()
        print(f"{name}: median {statistics.median(times) * 1e3:.1f} ms, "
              f"p90 {times[int(0.9 * len(times))] * 1e3:.1f} ms over {len(times)} clicks "
              "(64-page mapping, 200-step history, both sides updated)")


if __name__ == "__main__":
    main()
