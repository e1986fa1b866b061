"""The split explorer's logic, with no widgets: one history, two policies.

A learner's clicks become trace lines; each line is replayed under both
policies as it comes (one operation each, not the whole history). Undo,
scrubbing and loading replay a prefix. The widgets in
:mod:`hugelab.widgets` only turn events into calls here and views into
marks.

The explorer works on mappings of process ``main`` and on forked children
``c1``, ``c2``... The mapping on show is the most recent one ``main``
created.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .hstate import Counters
from .invariants import violations
from .limits import EXPLORER_MAX_PAGES, EXPLORER_MAX_STEPS
from .model import Model
from .policies import Close, get_policy
from .replay import Replayer, Step
from .trace import MAIN, Mmap, Operation, TraceBuilder, TraceError, parse_trace

#: what a page cell shows, in the order of the chart's colours
PAGE_STATES = ("reserved", "faulted", "unreserved", "unmapped")


@dataclass(frozen=True)
class MappingView:
    """One mapping as a row of cells, one per huge page offset ``[0, pages)``."""

    name: str
    pages: int
    states: tuple[str, ...]
    #: offsets where one VMA piece ends and the next begins (what splits made)
    boundaries: tuple[int, ...]
    #: each VMA piece ``[start, end)`` with what the policy keeps in it
    pieces: tuple[tuple[int, int, str], ...]
    #: the private resv_map's regions ``[from, to)``: offsets whose reservation was consumed
    regions: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class SideView:
    """Everything one side of the explorer shows, at the current step."""

    policy: str
    steps: tuple[Step, ...]
    mapping: MappingView | None
    status: str
    problems: tuple[str, ...]
    closes: tuple[tuple[int, Close], ...]  # (trace line, close)

    @property
    def counters(self) -> Counters:
        return self.steps[-1].counters


def mapping_view(model: Model, proc: str, name: str, pages: int) -> MappingView:
    process = model.procs.get(proc)
    file = model.files.get(name)
    pieces = process.pieces(name) if process else []
    policy = model.policy
    states = []
    for idx in range(pages):
        vma = process.vma_at(name, idx) if process else None
        if vma is None:
            states.append("unmapped")
        elif idx in vma.ptes or (vma.shared and idx in vma.file.page_cache):
            states.append("faulted")
        elif vma.shared:
            reserved = vma.file.resv_map.region_count(idx, idx + 1) and not vma.noreserve
            states.append("reserved" if reserved else "unreserved")
        else:
            states.append("reserved" if policy.reserved_offset(vma, idx) else "unreserved")
    boundaries = tuple(a.end for a, b in itertools.pairwise(pieces) if a.end == b.start)
    regions: tuple[tuple[int, int], ...] = ()
    for vma in pieces:
        if hasattr(vma.private_data, "regions") and vma.owner:
            regions = tuple(vma.private_data.regions())
            break
    if file is not None and file.shared:
        regions = tuple(file.resv_map.regions())
    return MappingView(name, pages, tuple(states), boundaries,
                       tuple((v.start, v.end, policy.describe_piece(v)) for v in pieces), regions)


def status_line(step: Step) -> tuple[str, tuple[str, ...]]:
    """The status a side shows after ``step``: its outcome, and what is wrong."""
    problems = tuple(violations(step.counters))
    if step.error == "skipped":
        text = f"line {step.line}: skipped (the process or mapping is gone)"
    elif step.error:
        text = f"line {step.line} {step.op}: {step.error}"
    else:
        text = f"line {step.line} {step.op}: ok"
    return text, problems


def arithmetic(closes: tuple[tuple[int, Close], ...]) -> list[str]:
    """The arithmetic behind every close so far, then the running totals."""
    lines = [f"line {line}: close {c.mapping}[{c.start}, {c.end}): {c.formula}" for line, c in closes]
    unused = sum(c.unused for _, c in closes)
    credited = sum(c.credit for _, c in closes)
    lines.append(f"really unused: {unused} · credited back: {credited}"
                 + ("" if unused == credited else f" · over-credited by {credited - unused}"))
    return lines


def _check_size(op: Operation) -> None:
    """The explorer draws one cell per page: refuse a mapping too large to draw."""
    if isinstance(op, Mmap) and op.pages > EXPLORER_MAX_PAGES:
        raise TraceError(op.line, f"the explorer draws one cell per page: at most {EXPLORER_MAX_PAGES:,} pages "
                                  f"a mapping, not {op.pages:,} (replay it with 'hugelab replay' instead)")


class _Side:
    def __init__(self, policy: str) -> None:
        self.policy = get_policy(policy).name
        self.model = Model(self.policy)
        self.replayer = Replayer(self.model)
        self.steps: list[Step] = []

    def feed(self, op) -> None:
        self.steps.append(self.replayer.feed(op))


class Explorer:
    """One history of trace lines, replayed under two policies side by side."""

    def __init__(self, policies: tuple[str, str] = ("double-credit", "region-count"), pool: int = 8) -> None:
        self.policies = [get_policy(p).name for p in policies]
        self.history: list[str] = []
        self.cursor = 0
        self.reset(pool)

    # -- history -------------------------------------------------------------
    def _replay_to(self, cursor: int) -> None:
        self.cursor = cursor
        self.builder = TraceBuilder()
        self.sides = [_Side(p) for p in self.policies]
        for line in self.history[:cursor]:
            op = self.builder.add(line)
            for side in self.sides:
                side.feed(op)

    def do(self, line: str) -> None:
        """Add one trace line after the current step (dropping any steps scrubbed past).

        A line that is not valid here raises :class:`TraceError`; nothing changes.
        """
        if self.cursor >= EXPLORER_MAX_STEPS:
            raise TraceError(self.builder.lines + 1, f"the explorer holds at most {EXPLORER_MAX_STEPS:,} steps: "
                                                     "undo, scrub back or load a shorter trace")
        op = self.builder.add(line, _check_size) if line.split("#", 1)[0].strip() else None
        if op is None:
            raise TraceError(self.builder.lines + 1, "no operation on this line")
        if self.cursor < len(self.history):
            self.history = self.history[: self.cursor]
        self.history.append(op.text)
        self.cursor = len(self.history)
        for side in self.sides:
            side.feed(op)

    def reset(self, pool: int = 8, overcommit: int = 0) -> None:
        self.history = [f"pool {pool}" + (f" overcommit {overcommit}" if overcommit else "")]
        self._replay_to(1)

    def undo(self) -> None:
        if self.cursor > 1:
            self.history = self.history[: self.cursor - 1]
            self._replay_to(len(self.history))

    def scrub(self, step: int) -> None:
        """Show the state after ``step`` lines (1 .. len(history))."""
        self._replay_to(max(1, min(step, len(self.history))))

    def load(self, text: str) -> None:
        """Replace the history with a trace; TraceError (``line N: ...``) leaves it as it was.

        The trace is replayed into a new history, which replaces the old one
        only once the whole replay succeeded.
        """
        ops = parse_trace(text).ops
        if not ops:
            raise TraceError(1, "the trace has no operation")
        if len(ops) > EXPLORER_MAX_STEPS:
            raise TraceError(ops[EXPLORER_MAX_STEPS].line, f"the explorer holds at most {EXPLORER_MAX_STEPS:,} "
                                                           "steps (it replays them at every undo)")
        for op in ops:
            _check_size(op)
        before = (self.history, self.cursor, self.builder, self.sides)
        self.history = [op.text for op in ops]
        try:
            self._replay_to(len(self.history))
        except BaseException:
            self.history, self.cursor, self.builder, self.sides = before
            raise

    def set_policy(self, side: int, policy: str) -> None:
        self.policies[side] = get_policy(policy).name
        self._replay_to(self.cursor)

    def trace_text(self) -> str:
        return "".join(line + "\n" for line in self.history[: self.cursor])

    # -- actions (each one trace line) ------------------------------------------
    def _next_name(self, taken: set[str], stem: str, letters: bool) -> str:
        for i in range(1, 10_000):
            name = chr(ord("a") + i - 1) if letters and i <= 26 else f"{stem}{i}"
            if name not in taken:
                return name
        raise TraceError(self.builder.lines + 1, "no free name left")

    def mmap(self, pages: int, shared: bool = False, noreserve: bool = False) -> None:
        taken = self.builder.mapping_names
        name = self._next_name(taken, "m", letters=True)
        self.do(f"mmap {name} {pages} {'shared' if shared else 'private'}" + (" noreserve" if noreserve else ""))

    def fault(self, page: int, write: bool = True, proc: str = MAIN) -> None:
        self._need_mapping()
        prefix = "" if proc == MAIN else f"in {proc} "
        self.do(f"{prefix}touch {self.mapping_name} {page}" + ("" if write else " read"))

    def munmap(self, start: int, count: int) -> None:
        self._need_mapping()
        self.do(f"munmap {self.mapping_name} {start} {count}")

    def mprotect(self, start: int, count: int, prot: str = "r") -> None:
        self._need_mapping()
        self.do(f"mprotect {self.mapping_name} {start} {count} {prot}")

    def madvise_dontneed(self, start: int, count: int) -> None:
        self._need_mapping()
        self.do(f"madvise {self.mapping_name} {start} {count} dontneed")

    def fork(self) -> str:
        child = self._next_name(set(self.builder.process_names), "c", letters=False)
        self.do(f"fork {child}")
        return child

    def exit_child(self) -> None:
        alive = [c for c in self.children if c in self.sides[0].replayer.live.alive
                 or c in self.sides[1].replayer.live.alive]
        if not alive:
            raise TraceError(self.builder.lines + 1, "no child process to exit: fork one first")
        self.do(f"exit {alive[-1]}")

    def _need_mapping(self) -> None:
        if self.mapping_name is None:
            raise TraceError(self.builder.lines + 1, "no mapping yet: press mmap first")

    # -- what to show ----------------------------------------------------------------
    @property
    def children(self) -> list[str]:
        return [p for p in self.builder.process_names if p != MAIN]

    @property
    def mapping_name(self) -> str | None:
        names = [op.name for op in self.builder.ops if isinstance(op, Mmap) and op.proc == MAIN]
        return names[-1] if names else None

    @property
    def mapping_pages(self) -> int:
        name = self.mapping_name
        return next(op.pages for op in self.builder.ops if isinstance(op, Mmap) and op.name == name) if name else 0

    def view(self, side: int) -> SideView:
        s = self.sides[side]
        name = self.mapping_name
        mapping = mapping_view(s.model, MAIN, name, self.mapping_pages) if name else None
        text, problems = status_line(s.steps[-1])
        closes = tuple((step.line, c) for step in s.steps for c in step.closes)
        return SideView(s.policy, tuple(s.steps), mapping, text, problems, closes)
