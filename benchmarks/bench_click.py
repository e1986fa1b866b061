"""One click in the split explorer, measured in Python (no browser).

Target (issue 12): a median of 10 ms or less for a click on a 512-page
mapping with a 200-step history, counting the replay of the new step under
both policies and every chart and widget update on both sides.

Target (issue 22): a history of the explorer's most steps (10,000) loads in
under 2 s and a fault click after it stays under 50 ms (median), for the
two histories that once took a minute: 2,000 ``file`` lines (every step
counted every inode) and 9,990 forks (every line copied the whole text
checker). Undo and the step slider restore the nearest checkpoint before
their step and replay from there (or from the start when that is cheaper):
undo should cost about what a click does. A third 10,000-step history, the
512-page mapping's clicks, is the one whose checkpoints pay (its state does
not grow with its steps); the checkpoints' bytes and the process's peak
memory are printed too.

The history splits the mapping as it goes (an mprotect in five steps), so
the click (a read fault) draws 512 cells, dozens of VMA pieces and their labels, and four
counter lines of 200 points, on each side. Also timed: undo, and a step-slider
move back and forth.
"""

import random
import resource
import statistics
import time

from hugelab.widgets.controls import SplitExplorer

PAGES = 512


def history(rng: random.Random, steps: int) -> str:
    lines = [f"pool {PAGES}", f"mmap a {PAGES} private"]
    while len(lines) < steps:
        if rng.random() < 0.8:
            lines.append(f"touch a {rng.randrange(PAGES)} read")  # a read: allowed on r pieces too
        else:
            lines.append(f"mprotect a {rng.randrange(PAGES)} 1 {rng.choice(['r', 'rw'])}")
    return "\n".join(lines) + "\n"


def report(name: str, times: list[float]) -> None:
    times = sorted(times)
    print(f"{name:28} median {statistics.median(times) * 1e3:5.1f} ms, p90 {times[int(0.9 * len(times))] * 1e3:5.1f} ms"
          f" over {len(times)} ({PAGES}-page mapping, 200-step history, both sides updated)")


def long_histories() -> dict[str, str]:
    """The 10,000-step histories of issue 22, by label."""
    head = ["pool 8", "mmap a 2 private"]
    files = head + [f"file f{i}" for i in range(2000)] + [f"touch a {i % 2} read" for i in range(7998)]
    forks = head + [f"fork c{i}" for i in range(9998)]
    return {"2,000 files": "\n".join(files) + "\n", "9,998 forks": "\n".join(forks) + "\n",
            "512 pages": history(random.Random(1), 10_000)}


def long_history(label: str, text: str) -> None:
    x = SplitExplorer()
    x.load_box.value = text
    start = time.perf_counter()
    x.buttons["load"].click()
    load = time.perf_counter() - start
    assert x.explorer.cursor == 10_000 and "error" not in x.messages["load"].value, x.messages["load"].value
    x.explorer.undo()  # room for one fault
    x.explorer.undo()
    x.refresh()
    x.access.value = "read"
    fault, undo, in_a_row = [], [], []
    for i in range(15):
        x.page.value = i % 2
        start = time.perf_counter()
        x.buttons["fault"].click()
        fault.append(time.perf_counter() - start)
        assert "error" not in x.messages["fault"].value, x.messages["fault"].value
        start = time.perf_counter()
        x.buttons["undo"].click()
        undo.append(time.perf_counter() - start)
    for _ in range(10):  # ten undos in a row, each from where the last left
        start = time.perf_counter()
        x.buttons["undo"].click()
        in_a_row.append(time.perf_counter() - start)
    assert x.explorer.cursor == 10_000 - 12
    kept = getattr(x.explorer, "checkpoints", {})
    print(f"{label:12} load of 10,000 steps {load:.2f} s; fault click median "
          f"{statistics.median(fault) * 1e3:.1f} ms (max {max(fault) * 1e3:.1f}); undo after it median "
          f"{statistics.median(undo) * 1e3:.1f} ms (max {max(undo) * 1e3:.1f}); 10 undos in a row median "
          f"{statistics.median(in_a_row) * 1e3:.1f} ms (max {max(in_a_row) * 1e3:.1f}); checkpoints "
          f"{len(kept)}, {sum(map(len, kept.values())) / 2**20:.2f} MiB")


def main() -> None:
    for label, text in long_histories().items():
        long_history(label, text)
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    x = SplitExplorer()
    x.load_box.value = history(random.Random(1), 200)
    x.buttons["load"].click()
    assert x.explorer.cursor == 200 and "error" not in x.messages["load"].value
    pieces = len(x.explorer.view(0).mappings[0].pieces)
    assert pieces > 10 and all(s.steps[-1].error is None for s in x.explorer.sides)
    print(f"mapping a: {pieces} VMA pieces")
    x.access.value = "read"
    rng = random.Random(2)
    fault, undo, scrub = [], [], []
    for _ in range(60):
        x.page.value = rng.randrange(PAGES)
        start = time.perf_counter()
        x.buttons["fault"].click()
        fault.append(time.perf_counter() - start)
        assert x.explorer.cursor == 201 and "error" not in x.messages["fault"].value
        assert len(x.sides[1].counters.lines[0].x) == 201 and len(x.sides[1].mapping.cells.color) == PAGES
        start = time.perf_counter()
        x.buttons["undo"].click()  # back to 200 steps
        undo.append(time.perf_counter() - start)
        start = time.perf_counter()
        x.step.value = 199  # the step slider: one back (from a checkpoint), one forward (one step fed)
        x.step.value = 200
        scrub.append((time.perf_counter() - start) / 2)
    report("fault click", fault)
    report("undo click", undo)
    report("step slider move", scrub)


if __name__ == "__main__":
    main()
