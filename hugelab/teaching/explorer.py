"""The split explorer's logic, with no widgets: one history, two policies.

A learner's clicks become trace lines; each line is replayed under both
policies as it comes (one operation each, not the whole history). Undo,
scrubbing and loading replay a prefix. The widgets in
:mod:`hugelab.widgets.controls` only turn events into calls here and views into
marks; everything a view says (states, notes, the arithmetic of a close) is
computed here, so it is tested without a browser.

Every trace v1 operation can be clicked: ``pool``, ``mmap`` (private or
shared, with or without ``noreserve``), ``touch`` (write or ``read``),
``munmap``, ``mprotect``, ``madvise ... dontneed``, ``fork`` and ``exit``.
Any process can act (``in PROC``): the explorer keeps an *actor* and a
*selected mapping*; the views show every mapping of the actor, as that
process sees it.

Trace v2's files too: ``mount M size=N`` (never ``min_size``: on Linux
6.18 a min_size mount can leak reservations for good, so the explorer
leaves it to loaded traces), ``file F [on M]``, ``mmap ... file F
[offset K]`` shared or private, ``truncate``, ``close``, ``unlink`` and
``umount`` (EBUSY while a file of the mount is open or mapped: the mount
and its files are then used on; a umount that succeeds takes them away,
and a later click naming them is skipped, saying which umount took
them). The *selected file* is drawn too: its inode's map, whose
entries mean "reserved" and outlive every mapping, beside the mappings'
own. A line the era of either side did not have (``fallocate``,
``min_size``, ``memfd``... under a 2008 policy) is refused, one line,
naming the kernel that brought it.

What a view shows of a mapping or a file is computed in
:mod:`hugelab.teaching.explorer_views`; a mapping whose mmap failed is drawn as
nothing.
"""

from __future__ import annotations

import bisect
import pickle
from dataclasses import dataclass

from ..limits import EXPLORER_MAX_STEPS
from ..model.hstate import Counters, signed
from ..model.invariants import violations
from ..model.policies import Close, check_supported, get_policy
from ..replay import SIGNALS, ModelReplay, Step, cyclic_gc_paused
from ..trace.language import (
    MAIN,
    CloseFile,
    Exit,
    FileOp,
    Memfd,
    Mmap,
    Mount,
    Munmap,
    Operation,
    Touch,
    TraceBuilder,
    TraceError,
    Umount,
    Unlink,
    parse_trace,
)
from .explorer_views import (
    MAPPINGS_DRAWN,
    PAGE_STATES,
    PAGES_DRAWN,
    SPANS_DRAWN,
    FileView,
    MappingView,
    Unreserve,
    file_view,
    mapping_view,
    reserved_without_page,
    unreserve_line,
    unreserves,
)

#: what the widgets and charts take from here (the views are computed in explorer_views)
__all__ = ["MAPPINGS_DRAWN", "PAGES_DRAWN", "PAGE_STATES", "SPANS_DRAWN", "Explorer", "FileView", "MappingView",
           "Refused", "SideView", "arithmetic", "close_arithmetic", "status_line"]

class Refused(ValueError):
    """An action the explorer cannot take now (nothing to undo, no mapping yet...)."""


#: why a mount's size= refusal reads as it does (ENOMEM in every era: hugetlbfs_file_mmap
#: sets ret = -ENOMEM before it asks hugetlb_reserve_pages, whatever refuses)
ERRNO_OF_A_FULL_MOUNT = {
    "ENOMEM": "ENOMEM: mmap says it for a full mount too, in every era (2008's hugetlb_reserve_pages "
              "returned the quota's -ENOSPC, and hugetlbfs_file_mmap replaced it). ",
}


@dataclass(frozen=True)
class SideView:
    """Everything one side of the explorer shows, at the current step."""

    policy: str
    steps: tuple[Step, ...]
    #: the selected mapping first, then the newest others, at most MAPPINGS_DRAWN
    mappings: tuple[MappingView, ...]
    #: the names of the process's other mappings, not drawn
    more: tuple[str, ...]
    status: str
    problems: tuple[str, ...]
    #: the arithmetic of this step's closes, one line each (empty when nothing closed)
    action: tuple[str, ...]
    #: a hint when an outcome came from a pool too small for the action
    hint: str
    closes: tuple[tuple[int, Close], ...]  # (trace line, close), every close so far
    #: the first step (1-based) where the two sides' counters differ, if any
    diverged_at: int | None
    #: v2: the selected file, drawn from its inode (None: no file yet)
    file: FileView | None = None

    @property
    def counters(self) -> Counters:
        return self.steps[-1].counters

    @property
    def mapping(self) -> MappingView | None:
        """The selected mapping's view (the first one listed)."""
        return self.mappings[0] if self.mappings else None


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


def close_arithmetic(closes: tuple[Close, ...], rsvd_before: int, rsvd_after: int,
                     files: tuple[Unreserve, ...] = ()) -> tuple[str, ...]:
    """What one step's closes credited, against what was really unused, and what it took out of
    files' maps (truncate, eviction); then Rsvd before -> after.

    A close that credits more than was unused is marked where it happens.
    """
    lines = []
    for c in closes:
        mark = "" if c.credit == c.unused else f"  \u2717 over-credited by {c.credit - c.unused}"
        lines.append(f"close {c.mapping}[{c.start}, {c.end}): credited {c.credit}, really unused {c.unused}{mark}")
    lines += [unreserve_line(u) for u in files]
    if lines:
        change = f"Rsvd {signed(rsvd_before)} -> {signed(rsvd_after)}"
        if len(lines) == 1:
            head, _, mark = lines[0].partition("  \u2717")
            lines[0] = f"{head}, {change}" + (f"  \u2717{mark}" if mark else "")
        else:
            lines.append(change)
    return tuple(lines)


def arithmetic(closes: tuple[tuple[int, Close], ...], last: int = 8) -> list[str]:
    """The arithmetic behind the last ``last`` closes so far, then the running totals."""
    lines = [f"line {line}: close {c.mapping}[{c.start}, {c.end}): {c.formula}"
             + ("" if c.credit == c.unused else f"  \u2717 {c.credit - c.unused} more than was unused")
             for line, c in closes[-last:]]
    if len(closes) > last:
        lines.insert(0, f"({len(closes) - last} earlier closes not listed)")
    unused = sum(c.unused for _, c in closes)
    credited = sum(c.credit for _, c in closes)
    lines.append(f"really unused: {unused} · credited back: {credited}"
                 + ("" if unused == credited else f" · over-credited by {credited - unused}"))
    return lines


class _Side:
    def __init__(self, policy: str, state: tuple | None = None, steps: list[Step] | None = None,
                 closes: list[tuple[int, Close]] | None = None) -> None:
        """A side with nothing replayed; or, given ``state`` (what :meth:`state` gave, unpickled) and
        the steps and closes of a side that went through the same lines, as it was at that state."""
        self.policy = get_policy(policy).name
        self.steps: list[Step] = []
        #: every close so far, with its trace line (kept as steps come: a view never walks them all)
        self.closes: list[tuple[int, Close]] = []
        self.run: ModelReplay
        #: the outcome of each mmap that failed on this side, by mapping name
        self.failed: dict[str, str]
        #: why each process that is gone went: "killed by SIGBUS at line 5", "exited at line 7"
        self.gone: dict[str, str]
        #: what each step took out of files' maps, by step index (only steps that took something)
        self.unreserves: dict[int, tuple[Unreserve, ...]]
        #: the step of each ``file`` and ``memfd`` line, by file name
        self.file_steps: dict[str, Step]
        if state is not None:
            assert steps is not None and closes is not None
            self.run, self.failed, self.gone, self.unreserves, self.file_steps, n_steps, n_closes = state
            self.steps, self.closes = steps[:n_steps], closes[:n_closes]
        else:
            self.run = ModelReplay(self.policy)
            self.failed, self.gone, self.unreserves, self.file_steps = {}, {}, {}, {}
        self.model = self.run.model

    def state(self) -> tuple:
        """What a checkpoint pickles of this side: the replay (model and liveness) and the tables
        kept beside it; the steps and closes only by count (the steps so far never change)."""
        return (self.run, self.failed, self.gone, self.unreserves, self.file_steps,
                len(self.steps), len(self.closes))

    def feed(self, op: Operation) -> None:
        model = self.model
        step = self.run.feed(op)
        self.steps.append(step)
        self.closes += ((op.line, c) for c in step.closes)
        if isinstance(op, FileOp | Memfd):
            self.file_steps[op.file] = step
        if model.files_shrunk and step.error != "skipped":  # (a skipped line never reached the model)
            found = unreserves(model, op)
            if found:
                self.unreserves[len(self.steps) - 1] = found
        taken = self.run.live.taken_by_umount(op) if step.error == "skipped" else None
        if isinstance(op, Mmap) and taken is not None:
            self.failed[op.name] = f"mmap was skipped: {taken[0]} {taken[1]} went with mount {taken[2]} " \
                                   f"(unmounted at line {taken[3]})"
        elif isinstance(op, Mmap) and step.error not in (None, "skipped"):
            self.failed[op.name] = f"mmap failed: {step.error}"
        elif isinstance(op, Exit) and step.error is None:
            self.gone.setdefault(op.proc, f"exited at line {op.line}")
        elif step.error in SIGNALS:
            proc = getattr(op, "proc", None)  # (only a process's own operation can kill it)
            if proc is not None:
                self.gone[proc] = f"killed by {step.error} at line {op.line}"

    def file_failed(self, name: str) -> str:
        """Why file ``name`` is not there on this side ("" when its line made it)."""
        step = self.file_steps.get(name)
        if step is None or step.error is None:
            taken = self.run.live.unmounted.get(("file", name))
            return f"it went with mount {taken[0]} (its umount at line {taken[1]} succeeded)" if taken else ""
        return f"its line {step.line} {'was skipped' if step.error == 'skipped' else 'failed: ' + step.error}"

    def why_skipped(self, op: Operation) -> str:
        proc = getattr(op, "proc", None)
        if proc is not None and proc in self.gone:
            return f"process {proc} is gone ({self.gone[proc]})"
        name = getattr(op, "name", None)
        if name in self.failed and not self.failed[name].startswith("mmap was skipped:"):
            return f"mapping {name}: its {self.failed[name]}; press 'set pool' with a larger pool, then mmap again"
        taken = self.run.live.taken_by_umount(op)
        if taken is not None:
            kind, what, mount, line = taken
            gone = f"mount {mount}" if kind == "mount" else f"{kind} {what} went with mount {mount}, which"
            return f"{gone} was unmounted at line {line} (nothing of it was open or mapped: the umount succeeded)"
        if name in self.failed:
            return f"mapping {name}: its {self.failed[name]}"
        return "the process or mapping is gone"


class _LineIndex:
    """The mmap lines and mounts among a builder's lines, kept up as lines come: a
    history may hold thousands of lines, and a refresh asks many times."""

    def __init__(self, ops: list[Operation]) -> None:
        self.ops = ops
        self.seen = 0
        #: every mmap line so far by mapping name, oldest first
        self.mmaps: dict[str, Mmap] = {}
        #: size= (or None) of every mount made so far, unmounted ones too, oldest first
        self.mount_sizes: dict[str, int | None] = {}
        #: lines that made, closed, unlinked or unmounted a file (what can change a file's state)
        self.file_events = 0
        #: the index in ops of each of those lines, and of each mount, by name
        self._file_event_at: list[int] = []
        self._mount_at: dict[str, int] = {}

    def catch_up(self) -> None:
        for i, op in enumerate(self.ops[self.seen:], self.seen):
            if isinstance(op, Mmap):
                self.mmaps[op.name] = op
            elif isinstance(op, Mount):
                self.mount_sizes[op.mount] = op.size
                self._mount_at[op.mount] = i
            if isinstance(op, FileOp | Memfd | CloseFile | Unlink | Umount):
                self.file_events += 1
                self._file_event_at.append(i)
        self.seen = len(self.ops)

    def prefix(self, ops: list[Operation]) -> _LineIndex:
        """The index of ``ops``, the first lines of those this one indexed (going back), without
        walking them again: a name is made once, so what a later line made just goes."""
        n = len(ops)
        index = _LineIndex(ops)
        index.seen = min(n, self.seen)
        index.mmaps = {name: op for name, op in self.mmaps.items() if op.line <= n}
        index._mount_at = {name: i for name, i in self._mount_at.items() if i < n}
        index.mount_sizes = {name: size for name, size in self.mount_sizes.items() if name in index._mount_at}
        index._file_event_at = self._file_event_at[:bisect.bisect_left(self._file_event_at, n)]
        index.file_events = len(index._file_event_at)
        return index


#: Checkpoints (undo, the step slider): restoring a byte of a checkpoint's pickle costs about what
#: replaying 1/256 to 1/1,000 of a step on both sides does (measured: loads 20-340 ns a byte, a step
#: 28-130 us; docs/benchmarks.md). So the next checkpoint comes once the steps since the last are
#: worth its bytes at 256 a step, at least CHECKPOINT_MIN_GAP steps on: what the checkpoints hold
#: together stays under 256 bytes a step (2.6 MB for the explorer's 10,000 steps), and going back
#: costs at most restoring one plus replaying as long again. A history whose state grows with every
#: step (thousands of forks) makes checkpoints that would cost more to restore than replaying from
#: the start: those are not kept, and once the state's size says so, not even made.
CHECKPOINT_BYTES_PER_STEP = 256
CHECKPOINT_MIN_GAP = 16
#: the most bytes all checkpoints may hold; beyond it the one farthest from the cursor goes
CHECKPOINT_MAX_BYTES = 16 * 2**20


def dropped_steps(cursor: int, dropped: int) -> str:
    """What acting at step ``cursor`` did to the ``dropped`` steps after it, in one phrase, singular or plural."""
    if dropped == 1:
        return f"the later step (line {cursor + 1}) was dropped; undo brings it back"
    return f"the {dropped} later steps (from line {cursor + 1}) were dropped; undo brings them back"


class Explorer:
    """One history of trace lines, replayed under two policies side by side.

    ``history`` holds every line; ``cursor`` lines of it are on show (the
    rest can be redone). Acting while scrubbed back drops the later lines;
    the next undo brings them back.

    Going back (undo, the step slider) restores the nearest checkpoint at or
    before the target (a pickle of both sides' models and the builder's
    checker, taken as the steps came) and replays from there, or replays
    from the start when that is cheaper: the state is the one a fresh replay
    of the shorter history gives. ``checkpoint_every`` (tests): a checkpoint
    every that many steps, always used, whatever it costs.
    """

    def __init__(self, policies: tuple[str, str] = ("double-credit", "region-count"), pool: int = 8,
                 checkpoint_every: int | None = None) -> None:
        self.policies = [get_policy(p).name for p in policies]
        self.history: list[str] = []
        self.cursor = 0
        self.actor = MAIN
        self.selected: str | None = None
        #: the file the file controls act on, and the views draw
        self.file: str | None = None
        self._index = _LineIndex([])
        #: the rows of :attr:`file_rows` and what they were computed from
        self._file_rows: tuple[object, tuple[int, ...], tuple[tuple[str, str], ...]] = (None, (), ())
        #: the rows of :attr:`processes` and what they were computed from
        self._process_rows: tuple[object, tuple[int, ...], tuple[tuple[str, str], ...]] = (None, (), ())
        #: (sides, steps compared on both, first step that differs or None): diverged_at goes on from there
        self._diverged: tuple[object, int, int | None] = (None, 0, None)
        #: (history, cursor, actor, selected) before the last action that dropped later steps
        self._before_drop: tuple[list[str], int, str, str | None] | None = None
        self.checkpoint_every = checkpoint_every
        #: pickled checkpoints by step, each of history[:step] (those of dropped lines go with them)
        self.checkpoints: dict[int, bytes] = {}
        #: the size of every checkpoint taken, kept or not (what sets the next one's distance), by step
        self._checkpoint_sizes: dict[int, int] = {}
        #: (size, state units) of the last checkpoint taken: how big the next one would be
        self._last_checkpoint = (0, 0)
        self._checkpoint_steps: list[int] = []  # the keys of _checkpoint_sizes, in order
        self.reset(pool)

    # -- history -------------------------------------------------------------
    def _restart(self, keep_checkpoints: bool = False) -> None:
        """Nothing replayed yet: a fresh builder and a fresh machine on each side."""
        self.cursor = 0
        self.builder = TraceBuilder()
        self.sides = [_Side(p) for p in self.policies]
        if not keep_checkpoints:  # new containers: load() keeps the old ones until its replay succeeded
            self.checkpoints, self._checkpoint_sizes, self._checkpoint_steps = {}, {}, []
            self._last_checkpoint = (0, 0)

    def _replay_to(self, cursor: int) -> None:
        """Show the state after ``cursor`` lines; forward moves feed only the new lines, backward
        ones restore a checkpoint first."""
        with cyclic_gc_paused():  # as replay() does: thousands of steps make objects, no cycles
            if cursor < self.cursor:
                self._rewind(cursor)
            for line in self.history[self.cursor:cursor]:
                op = self.builder.add(line)
                assert op is not None  # history holds operation lines only
                self._feed(op)
        self._fix_selection()

    def _feed(self, op: Operation) -> None:
        """One more line on both sides; a checkpoint after it when one is due."""
        for side in self.sides:
            side.feed(op)
        self.cursor += 1
        steps = self._checkpoint_steps
        if self.checkpoint_every is not None:
            due = self.cursor % self.checkpoint_every == 0
        else:
            last = bisect.bisect_left(steps, self.cursor) - 1
            since, size = (self.cursor - steps[last], self._checkpoint_sizes[steps[last]]) if last >= 0 \
                else (self.cursor, 0)
            due = since >= max(CHECKPOINT_MIN_GAP, size // CHECKPOINT_BYTES_PER_STEP)
        if due and self.cursor not in self._checkpoint_sizes:
            self._checkpoint()

    def _state_units(self) -> int:
        """What a checkpoint's size grows with: processes, VMAs, files, mounts, segments, pages in use."""
        units = self.builder.process_count
        for side in self.sides:
            m = side.model
            units += (len(m.procs) + m.nr_vmas + len(m.inodes) + len(m.segments) + len(m.mounts)
                      + m.hstate.nr_huge_pages - m.hstate.free_huge_pages + len(side.file_steps))
        return units

    def _checkpoint(self) -> None:
        """Pickle the state after ``cursor`` lines (the models, the builder's checker, the sides'
        tables; the steps, closes and operations so far are kept only by count: they never change)."""
        step, units = self.cursor, self._state_units()
        size, was = self._last_checkpoint
        if self.checkpoint_every is None and size * (units + 1) // (was + 1) // CHECKPOINT_BYTES_PER_STEP >= step:
            return  # by the last one's size, this one could not pay for itself either: not made
        blob = pickle.dumps((self.builder.state(), [side.state() for side in self.sides]),
                            protocol=pickle.HIGHEST_PROTOCOL)
        self._last_checkpoint = (len(blob), units)
        bisect.insort(self._checkpoint_steps, step)
        self._checkpoint_sizes[step] = len(blob)
        if self.checkpoint_every is None and len(blob) // CHECKPOINT_BYTES_PER_STEP >= step:
            return  # restoring it would cost more than replaying from the start: only its size is kept
        self.checkpoints[step] = blob
        total = sum(len(b) for b in self.checkpoints.values())
        while total > CHECKPOINT_MAX_BYTES and len(self.checkpoints) > 1:
            far = max(self.checkpoints, key=lambda s: abs(s - self.cursor))
            total -= len(self.checkpoints.pop(far))

    def _drop_checkpoints_after(self, step: int) -> None:
        """The lines after ``step`` changed: the checkpoints taken after them go."""
        for later in self._checkpoint_steps[bisect.bisect_right(self._checkpoint_steps, step):]:
            self.checkpoints.pop(later, None)
            del self._checkpoint_sizes[later]
        del self._checkpoint_steps[bisect.bisect_right(self._checkpoint_steps, step):]

    def _rewind(self, cursor: int) -> None:
        """Go back to a state at or before ``cursor`` lines: the checkpoint that makes replaying on
        to ``cursor`` cheapest, or the start."""
        best, cost = 0, cursor
        for step, blob in self.checkpoints.items():
            if step <= cursor:
                here = cursor - step + (0 if self.checkpoint_every else len(blob) // CHECKPOINT_BYTES_PER_STEP)
                if here < cost or (self.checkpoint_every and step > best):
                    best, cost = step, here
        if best == 0:
            self._restart(keep_checkpoints=True)
            return
        builder_state, side_states = pickle.loads(self.checkpoints[best])
        self._lines()  # (up to date, so that the index of the shorter history is a prefix of it)
        self.builder = TraceBuilder.restored(builder_state, self.builder.ops[:best])
        self._index = self._index.prefix(self.builder.ops)
        sides = [_Side(old.policy, state, old.steps, old.closes) for old, state in zip(self.sides, side_states)]
        was, compared, found = self._diverged  # the steps kept are the same: compared as they were
        if was is self.sides:
            self._diverged = (sides, min(compared, best), found if found is not None and found <= best else None)
        self.sides, self.cursor = sides, best

    def _fix_selection(self) -> None:
        """After a step, undo or load: an actor that no longer exists, or a mapping it cannot act on any more
        (gone, or unmapped whole), is replaced."""
        if self.actor not in self.builder.process_names:
            self.actor = MAIN
        names = self.mapping_choices(self.actor)
        if self.selected not in names:
            self.selected = names[-1] if names else None
        files = self.builder.file_names
        if self.file not in files:
            self.file = files[-1] if files else None

    def do(self, line: str) -> str:
        """Add one trace line after the current step; return a notice (or "").

        Acting while scrubbed back drops the later steps, and says so; the
        next undo restores them. A line that is not valid here raises
        :class:`TraceError`; nothing changes.
        """
        if self.cursor >= EXPLORER_MAX_STEPS:
            raise TraceError(self.builder.lines + 1, f"the explorer holds at most {EXPLORER_MAX_STEPS:,} steps: "
                                                     "undo, scrub back or load a shorter trace")
        dropped = len(self.history) - self.cursor
        op = self.builder.add(line, self._supported) if line.split("#", 1)[0].strip() else None  # raises first
        if op is None:
            raise TraceError(self.builder.lines + 1, "no operation on this line")
        notice = ""
        if dropped:
            self._before_drop = (list(self.history), self.cursor, self.actor, self.selected)
            notice = f"you acted at step {self.cursor} of {len(self.history)}: {dropped_steps(self.cursor, dropped)}"
            del self.history[self.cursor:]
            self._drop_checkpoints_after(self.cursor)
        else:
            self._before_drop = None
        self.history.append(op.text)
        with cyclic_gc_paused():
            self._feed(op)
        self._fix_selection()  # a munmap of all that was left of the selected mapping
        return notice

    def _supported(self, op: Operation) -> None:
        """Refuse (TraceError, one line) an operation the era of either side did not have."""
        for policy in self.policies:
            check_supported((op,), get_policy(policy))

    def reset(self, pool: int = 8, overcommit: int = 0) -> None:
        """Start a new history: one ``pool`` line."""
        self.history = [f"pool {pool}" + (f" overcommit {overcommit}" if overcommit else "")]
        self.actor, self.selected, self._before_drop = MAIN, None, None
        self._restart()
        self._replay_to(1)

    @property
    def can_undo(self) -> bool:
        return self.cursor > 1 or (self._before_drop is not None and self.cursor == len(self.history))

    def undo(self) -> str:
        """Step back one line (it stays, for redo); after a drop, bring the dropped lines back."""
        if self._before_drop is not None and self.cursor == len(self.history):
            history, cursor, actor, selected = self._before_drop
            self._before_drop = None
            self._replay_to(cursor)  # back to the drop: the lines before it are the same in both histories
            self._drop_checkpoints_after(cursor)  # (those after it were the new line's)
            self.history = history
            self.actor, self.selected = actor, selected
            self._fix_selection()
            return f"the dropped steps are back: step {cursor} of {len(history)}"
        if self.cursor <= 1:
            raise Refused("nothing to undo: step 1 is the pool line (press reset to start again)")
        self._replay_to(self.cursor - 1)
        return ""

    def redo(self) -> str:
        if self.cursor >= len(self.history):
            raise Refused("nothing to redo: this is the last step")
        self._replay_to(self.cursor + 1)
        return ""

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
        for policy in self.policies:  # a 2008 era refuses fallocate, min_size, memfd...
            check_supported(ops, get_policy(policy))
        if len(ops) > EXPLORER_MAX_STEPS:
            raise TraceError(ops[EXPLORER_MAX_STEPS].line, f"the explorer holds at most {EXPLORER_MAX_STEPS:,} "
                                                           "steps (an undo may replay them all)")
        before = (self.history, self.cursor, self.builder, self.sides, self._before_drop, self.actor, self.selected,
                  self.checkpoints, self._checkpoint_sizes, self._checkpoint_steps)
        self.history = [op.text for op in ops]
        try:
            self._before_drop = None
            self.actor, self.selected = MAIN, None
            self._restart()
            self._replay_to(len(self.history))
        except BaseException:
            (self.history, self.cursor, self.builder, self.sides, self._before_drop, self.actor,
             self.selected, self.checkpoints, self._checkpoint_sizes, self._checkpoint_steps) = before
            raise

    def set_policy(self, side: int, policy: str) -> None:
        """Show ``policy`` on ``side``; TraceError (nothing changed) if the history uses what its era lacked."""
        check_supported(parse_trace("\n".join(self.history)).ops, get_policy(policy))
        self.policies[side] = get_policy(policy).name
        cursor = self.cursor
        self._restart()
        self._replay_to(cursor)

    def trace_text(self) -> str:
        return "".join(line + "\n" for line in self.history[: self.cursor])

    # -- choosing who acts on what ----------------------------------------------
    def mapping_names(self, proc: str) -> list[str]:
        """The mappings ``proc`` knows (made or inherited), oldest first."""
        known = self.builder.mappings_of(proc)
        return [name for name in self._mmaps() if name in known]

    def unmapped_whole(self, proc: str, name: str) -> bool:
        """Has ``proc`` unmapped every page of mapping ``name``: mapped on some side, with no piece of it left
        on any? A mapping whose mmap failed everywhere was never mapped, and one whose process is gone (exited,
        killed) went with it: neither counts (acting as a gone process says why it is skipped)."""
        mapped = False
        for side in self.sides:
            if name in side.failed:
                continue
            process = side.model.procs.get(proc)
            if proc in side.gone or process is None or process.pieces(name):
                return False
            mapped = True
        return mapped

    def mapping_choices(self, proc: str) -> list[str]:
        """The mappings ``proc`` can act on, oldest first: those it knows less those it unmapped whole (their
        charts stay drawn, with their closes: :meth:`view` still shows every one of :meth:`mapping_names`)."""
        return [name for name in self.mapping_names(proc) if not self.unmapped_whole(proc, name)]

    def _lines(self) -> _LineIndex:
        """The index of the builder's lines, brought up to date."""
        if self._index.ops is not self.builder.ops:  # a new builder (undo, load): start again
            self._index = _LineIndex(self.builder.ops)
        self._index.catch_up()
        return self._index

    def _mmaps(self) -> dict[str, Mmap]:
        """Every mmap line so far by mapping name, oldest first."""
        return self._lines().mmaps

    def act_as(self, proc: str) -> None:
        if proc not in self.builder.process_names:
            raise Refused(f"no process {proc!r}: fork one first")
        self.actor = proc
        self._fix_selection()

    def select(self, name: str) -> None:
        if name not in self.mapping_names(self.actor):
            raise Refused(f"process {self.actor} has no mapping {name!r}")
        if self.unmapped_whole(self.actor, name):
            raise Refused(f"process {self.actor} unmapped all of mapping {name}: nothing of it is left to act on")
        self.selected = name

    def select_file(self, name: str) -> None:
        if name not in self.builder.file_names:
            raise Refused(f"no file {name!r}: press 'new file' first")
        self.file = name

    # -- actions (each one trace line) ------------------------------------------
    def _prefix(self, proc: str | None) -> str:
        proc = proc or self.actor
        return "" if proc == MAIN else f"in {proc} "

    def _target(self, name: str | None) -> str:
        name = name or self.selected
        if name is None:
            if self.mapping_names(self.actor):
                raise Refused(f"process {self.actor} has no mapping left (it unmapped them whole): press mmap")
            raise Refused(f"process {self.actor} has no mapping yet: press mmap first")
        return name

    def _next_name(self, taken: set[str], stem: str, letters: bool) -> str:
        for i in range(1, 10_000):
            name = chr(ord("a") + i - 1) if letters and i <= 26 else f"{stem}{i}"
            if name not in taken:
                return name
        raise Refused("no free name left")

    def set_pool(self, pages: int, overcommit: int = 0) -> str:
        return self.do(f"pool {pages}" + (f" overcommit {overcommit}" if overcommit else ""))

    def mmap(self, pages: int, shared: bool = False, noreserve: bool = False) -> str:
        name = self._next_name(self.builder.mapping_names, "m", letters=True)
        notice = self.do(f"{self._prefix(None)}mmap {name} {pages} {'shared' if shared else 'private'}"
                         + (" noreserve" if noreserve else ""))
        self.selected = name
        return notice

    def fault(self, page: int, write: bool = True, proc: str | None = None, name: str | None = None) -> str:
        return self.do(f"{self._prefix(proc)}touch {self._target(name)} {page}" + ("" if write else " read"))

    def munmap(self, start: int, count: int, name: str | None = None) -> str:
        return self.do(f"{self._prefix(None)}munmap {self._target(name)} {start} {count}")

    def mprotect(self, start: int, count: int, prot: str = "r", name: str | None = None) -> str:
        return self.do(f"{self._prefix(None)}mprotect {self._target(name)} {start} {count} {prot}")

    def madvise_dontneed(self, start: int, count: int, name: str | None = None) -> str:
        return self.do(f"{self._prefix(None)}madvise {self._target(name)} {start} {count} dontneed")

    # -- files (trace v2) ----------------------------------------------------------
    def _file(self, name: str | None) -> str:
        name = name or self.file
        if name is None:
            raise Refused("no file yet: press 'new file' first")
        return name

    def mount(self, size: int) -> str:
        """A hugetlbfs mount whose size= caps what its files reserve and hold; return its name.

        Never min_size: on Linux 6.18 a min_size mount can leak reservations for good.
        """
        name = self._next_name(set(self.builder.mount_names), "mnt", letters=False)
        self.do(f"mount {name} size={size}")
        return name

    @property
    def mounts(self) -> list[tuple[str, int | None]]:
        """(name, size= in pages or None) of every mount still mounted on either side, oldest first
        (a umount refused with EBUSY keeps its mount; one that succeeded takes it)."""
        return [(name, size) for name, size in self._lines().mount_sizes.items()
                if any(name in s.model.mounts for s in self.sides)]

    @property
    def file_rows(self) -> tuple[tuple[str, str], ...]:
        """(name, why it is gone or "") of every file so far, oldest first.

        The same tuple until a line makes, closes, unlinks or unmounts one.
        """
        made_from = (self._lines().file_events, *(len(s.run.live.unmounted) for s in self.sides))
        sides, counts, rows = self._file_rows
        if sides is self.sides and counts == made_from:
            return rows
        rows = tuple((name, self.file_gone(name)) for name in self.builder.file_names)
        self._file_rows = (self.sides, made_from, rows)
        return rows

    def file_gone(self, name: str) -> str:
        """Why file ``name`` is gone for good ("" while it is not): the text can no longer
        name it, or a umount took it with its mount."""
        if self.builder.file_gone(name):
            return "can no longer be named"
        taken = [s.run.live.unmounted.get(("file", name)) for s in self.sides]
        mount = next((t[0] for t in taken if t is not None), None)
        return f"went with {mount}" if mount else ""

    def create_file(self, mount: str | None = None) -> str:
        """``file F [on M]``: a new empty file, held open by the trace, and selected."""
        name = self._next_name(set(self.builder.file_names), "f", letters=False)
        notice = self.do(f"file {name}" + (f" on {mount}" if mount else ""))
        self.file = name
        return notice

    def mmap_file(self, pages: int, shared: bool, offset: int = 0, noreserve: bool = False,
                  file: str | None = None) -> str:
        """The actor maps ``pages`` pages of the selected file from its page ``offset``."""
        file = self._file(file)
        name = self._next_name(self.builder.mapping_names, "m", letters=True)
        notice = self.do(f"{self._prefix(None)}mmap {name} {pages} {'shared' if shared else 'private'}"
                         + (" noreserve" if noreserve else "") + f" file {file}"
                         + (f" offset {offset}" if offset else ""))
        self.selected = name
        return notice

    def truncate(self, pages: int, file: str | None = None) -> str:
        return self.do(f"truncate {self._file(file)} {pages}")

    def close_file(self, file: str | None = None) -> str:
        return self.do(f"close {self._file(file)}")

    def unlink(self, file: str | None = None) -> str:
        return self.do(f"unlink {self._file(file)}")

    def umount(self, mount: str) -> str:
        return self.do(f"umount {mount}")

    def fork(self) -> str:
        """The actor forks a child (``c1``, ``c2``...); return the child's name."""
        child = self._next_name(set(self.builder.process_names), "c", letters=False)
        self.do(f"{self._prefix(None)}fork {child}")
        return child

    def exit(self, proc: str | None = None) -> str:
        """The actor (or ``proc``) exits: every mapping it has is torn down."""
        return self.do(f"exit {proc or self.actor}")

    # -- what to show ----------------------------------------------------------------
    @property
    def processes(self) -> tuple[tuple[str, str], ...]:
        """(name, how it is) for every process so far: "", or why it is gone on each side.

        The same tuple until a process is made or goes (then a new one): a
        refresh after a click then costs nothing per process.
        """
        made_from = (self.builder.process_count, *(len(s.gone) for s in self.sides))
        sides, counts, rows = self._process_rows
        if sides is self.sides and counts == made_from:
            return rows
        rows = tuple((proc, self._process_state(proc)) for proc in self.builder.process_names)
        self._process_rows = (self.sides, made_from, rows)
        return rows

    def _process_state(self, proc: str) -> str:
        gone = [s.gone.get(proc) for s in self.sides]
        if gone[0] == gone[1]:
            return gone[0] or ""
        return "; ".join(f"{s.policy}: {g or 'alive'}" for s, g in zip(self.sides, gone))

    def mmap_op(self, name: str) -> Mmap:
        return self._mmaps()[name]

    @property
    def mapping_pages(self) -> int:
        return self.mmap_op(self.selected).pages if self.selected else 0

    def diverged_at(self) -> int | None:
        """The first step (1-based) where the two sides' counters differ, if any.

        Steps only ever come after those compared, until a restart (new
        sides): so each call compares only the steps new since the last.
        """
        a, b = self.sides[0].steps, self.sides[1].steps
        sides, compared, found = self._diverged
        if sides is not self.sides or compared > min(len(a), len(b)):
            compared, found = 0, None
        if found is None:
            found = next((i for i in range(compared, min(len(a), len(b))) if a[i].counters != b[i].counters), None)
            found = None if found is None else found + 1
        self._diverged = (self.sides, min(len(a), len(b)), found)
        return found

    def _kept_by_file(self, s: _Side, op: Munmap) -> tuple[str, ...]:
        """After a munmap of a shared file mapping: what the file still reserves (munmap gave none back)."""
        mmap = self.mmap_op(op.name)
        waiting = reserved_without_page(s.model, mmap.file) if mmap.file and mmap.shared else None
        if not waiting:
            return ()
        return (f"munmap gave back nothing: {mmap.file}'s own map still reserves {waiting} offset"
                f"{'s' if waiting > 1 else ''} with no page (a shared mapping's reservations belong to the file; "
                "truncate, or unlink and close, gives them back)",)

    def _hint(self, s: _Side, op: Operation, step: Step) -> str:
        """Say what to change when the pool was too small for this step."""
        hs = s.model.hstate
        spare = hs.free_huge_pages - hs.resv_huge_pages
        room = max(0, hs.nr_overcommit_huge_pages - hs.surplus_huge_pages)
        if isinstance(op, Mmap) and step.error in ("ENOMEM", "ENOSPC"):
            need = op.pages
            inode = s.model.inodes.get(op.file) if op.file else None
            if inode is not None and op.shared:  # only what the file's map does not hold yet
                need -= inode.resv_map.region_count(op.offset, op.offset + op.pages)
            sb = inode.sb if inode is not None else None
            statfs = sb.statfs() if sb is not None else None
            if sb is not None and statfs is not None and need > statfs[1]:
                return (f"{ERRNO_OF_A_FULL_MOUNT.get(step.error or '', '')}the mount is too small: {sb.name}'s "
                        f"size={statfs[0]} caps what its files reserve and hold ({statfs[1]} free); this mmap "
                        f"needs {need}. Map fewer pages, or mount a larger one, make a new file on it and map that")
            return (f"the pool is too small: this mmap needs {need} pages reserved, the pool has "
                    f"{max(spare, 0)} free pages nobody reserved (+{room} overcommit); raise pool "
                    "and press 'set pool', then mmap again")
        if step.error == "SIGBUS" and isinstance(op, Touch) and self._reserved_fault(s, op):
            # a fault that was promised a page at mmap: a bigger pool would only hide the lost promise
            return (f"this fault was reserved at mmap, yet found no page (Free {hs.free_huge_pages}, Rsvd "
                    f"{signed(hs.resv_huge_pages)}): its reservation was lost. Rsvd counted fewer promises "
                    "than were made, so other mappings took the promised pages; a bigger pool would only "
                    "hide that")
        if step.error == "SIGBUS":
            return (f"no huge page was left for this fault (Free {hs.free_huge_pages}, Rsvd "
                    f"{signed(hs.resv_huge_pages)}): raise pool and press 'set pool' before it")
        return ""

    def _reserved_fault(self, s: _Side, op: Touch) -> bool:
        """Was this fault promised a page: the owner's first touch of a page of its private anonymous
        mapping, whose mmap raised Rsvd on this side (an era without private reservations never did)?"""
        mmap = self._mmaps().get(op.name)
        if mmap is None or mmap.shared or mmap.noreserve or mmap.file is not None or op.proc != mmap.proc:
            return False
        earlier = self.builder.ops[:self.cursor - 1]
        made = max((i for i, o in enumerate(earlier) if o == mmap), default=None)
        if made is None or made >= len(s.steps) or s.steps[made].error is not None:
            return False
        before = s.steps[made - 1].counters.rsvd if made > 0 else 0
        if s.steps[made].counters.rsvd == before:
            return False
        return not any(isinstance(o, Touch) and o.name == op.name and o.page == op.page and o.proc == op.proc
                       for o in earlier[made:])

    def view(self, side: int, proc: str | None = None) -> SideView:
        s = self.sides[side]
        proc = proc or self.actor
        step = s.steps[-1]
        op = self.builder.ops[self.cursor - 1]
        names = self.mapping_names(proc)[::-1]  # newest first
        if self.selected in names:  # the selected mapping first
            names.remove(self.selected)
            names.insert(0, self.selected)
        gone = f"{proc} {s.gone[proc]}" if proc in s.gone else ""  # its mappings went with it
        mappings = tuple(mapping_view(s.model, proc, self.mmap_op(n), s.failed.get(n, gone), step.closes)
                         for n in names[:MAPPINGS_DRAWN])
        text, problems = status_line(step)
        if step.error == "skipped":
            text = f"line {step.line} {step.op}: skipped: {s.why_skipped(op)}"
        before = s.steps[-2].counters.rsvd if len(s.steps) > 1 else 0
        action = close_arithmetic(step.closes, before, step.counters.rsvd,
                                  s.unreserves.get(len(s.steps) - 1, ()))
        if isinstance(op, Munmap) and step.error is None:
            action += self._kept_by_file(s, op)
        closes = tuple(s.closes)
        hint = self._hint(s, op, step) if step.error else ""
        file = file_view(s.model, self.file, s.file_failed(self.file)) if self.file else None
        return SideView(s.policy, tuple(s.steps), mappings, tuple(names[MAPPINGS_DRAWN:]), text, problems,
                        action, hint, closes, self.diverged_at(), file)
