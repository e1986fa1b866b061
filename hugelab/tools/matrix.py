"""Behaviours x kernels: the same short traces on every era and every real kernel measured.

The historical eras (2.6.26, the pre-fix -mm kernels, 84afd99b) exist only
as policies of the model. Linux 6.1, 6.12 and 6.18 were *measured*: their
records were replayed on the real kernels (6.1 and 6.12 in QEMU guests,
6.18 on this project's machine) and are shipped in ``hugelab/recorded/``
with their provenance (kernel release, date, how), so that a reader without
root or QEMU sees real results. ``python -m hugelab.tools.matrix record KERNEL``
replays them again and rewrites that kernel's file.
"""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..model.hstate import Counters, show
from ..replay import Step, replay
from ..trace.language import parse_trace

RECORDED = "recorded"


@dataclass(frozen=True)
class Behaviour:
    """One row of the matrix: a trace, and the step whose HugePages_Rsvd tells the story."""

    key: str
    title: str
    trace: str
    step: int  # 1-based step whose Rsvd the matrix shows

    def rsvd(self, steps: list[Step]) -> int:
        return steps[self.step - 1].counters.rsvd


BEHAVIOURS = [
    Behaviour("split", "seed: munmap the middle page of a 4-page private mapping, then the rest (Rsvd at the end)",
              "pool 8\nmmap a 4 private\ntouch a 0\nmunmap a 1 1\nmunmap a 0 1\nmunmap a 2 2\n", 6),
    Behaviour("split-once", "munmap one page, then everything left in one call (Rsvd at the end)",
              "pool 8\nmmap a 4 private\ntouch a 0\nmunmap a 1 1\nmunmap a 0 4\n", 5),
    Behaviour("dontneed", "MADV_DONTNEED of a faulted private page (Rsvd after the madvise)",
              "pool 4\nmmap a 2 private\ntouch a 0\nmadvise a 0 1 dontneed\ntouch a 0\nmunmap a 0 2\n", 4),
    Behaviour("fork-unmap", "the owner unmaps a page its forked child still maps (Rsvd after the munmap)",
              "pool 8\nmmap a 2 private\ntouch a 0\nfork c\nmunmap a 0 2\nexit c\n", 5),
    Behaviour("hunted", "a random trace, kept unshrunk, on which 6.12 and 6.18 disagree: 6.18 wraps on it, "
              "6.12 does not (Rsvd at the end)",
              "pool 4 overcommit 3\nmmap m1 1 private\nmunmap m1 0 1\nmmap m2 3 private\n"
              "madvise m2 0 2 dontneed\ntouch m2 1 read\nmprotect m2 1 1 rw\nfork k1\nmunmap m2 0 3\n", 9),
]

#: the columns: (heading, policy, real kernel series or None for a model-only era)
COLUMNS = [
    ("2.6.26", "unreserved", None),
    ("-mm 2.6.26 (pre-fix)", "double-credit", None),
    ("2.6.27 (84afd99b)", "region-count", None),
    ("6.1", "linux-6.1", "6.1"),
    ("6.12", "linux-6.12", "6.12"),
    ("6.18", "linux-6.18", "6.18"),
]


def recorded(series: str) -> dict | None:
    """The shipped records of a real kernel series (None if never recorded)."""
    path = resources.files("hugelab").joinpath(RECORDED).joinpath(f"linux-{series}.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def recorded_steps(series: str, key: str) -> list[Step]:
    """One behaviour's records as measured on that kernel."""
    data = recorded(series)
    if data is None:
        raise KeyError(f"no records for Linux {series}")
    return [Step(r["line"], r["op"], r["error"], Counters(**r["counters"])) for r in data["records"][key]]


def matrix() -> list[tuple[str, ...]]:
    """Rows of Rsvd values: model eras from the policies, real kernels from their records.

    A measured cell that the kernel's own policy does not reproduce is marked ``!``.
    """
    rows: list[tuple[str, ...]] = [("behaviour",) + tuple(c[0] for c in COLUMNS)]
    for b in BEHAVIOURS:
        cells = [b.key]
        for _, policy, series in COLUMNS:
            model = b.rsvd(replay(b.trace, policy))
            if series is None:
                cells.append(show(model))
                continue
            real = b.rsvd(recorded_steps(series, b.key))
            cells.append(show(real) + ("" if real == model else " !"))
        rows.append(tuple(cells))
    return rows


def provenance() -> list[str]:
    """Where each real kernel's column comes from, one line each."""
    lines = []
    for _, _, series in COLUMNS:
        if series:
            data = recorded(series)
            lines.append(f"Linux {series}: " + (f"{data['kernel']}, recorded {data['date']} ({data['how']})"
                                                if data else "not recorded"))
    return lines


def record(spec: str, folder: Path | None = None) -> Path:
    """Replay every behaviour on the kernel ``spec`` names and write its records file."""
    from ..realkernel.images import series_of
    from ..realkernel.targets import is_host, open_kernel

    with open_kernel(spec) as kernel:
        records = {b.key: [s.as_dict() for s in kernel.replay(parse_trace(b.trace))] for b in BEHAVIOURS}
        release = kernel.release
    how = "this machine's kernel, hugelab replay --kernel" if is_host(spec) else \
        "a QEMU guest (TCG), hugelab replay --kernel " + series_of(release)
    data = {"kernel": release, "date": datetime.date.today().isoformat(), "how": how, "records": records}
    target = (folder or Path(__file__).resolve().parents[1] / RECORDED) / f"linux-{series_of(release)}.json"
    target.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "record":
        print("usage: python -m hugelab.tools.matrix record KERNEL   (host, 6.1, 6.12, ...)", file=sys.stderr)
        return 2
    print(record(argv[1]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
