"""``replay(trace, policy)``: the one driver behind the command line, the
widgets, the notebooks and the tests.

It walks a checked trace and produces one :class:`Step` per operation line:
the outcome, and the counters after the step (as JSON, one object a line:
``{"line": N, "op": TEXT, "ok": BOOL, "error": null|NAME, "counters":
{"total", "free", "rsvd", "surp"}}``, the format ``replay --json`` prints).
A line that names a process which has exited or was killed, a mapping
whose mmap failed, or (v2) a mount a ``umount`` took away, one of its files
or a mapping made from one, is skipped (``error == "skipped"``, counters
unchanged).

Anything that can carry out an operation and read counters (a
:class:`~hugelab.model.machine.Model`, or the real kernel in
:mod:`hugelab.realkernel`) is a *machine* and can be driven the same way.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from .model.hstate import Counters
from .model.machine import Model
from .model.policies import Close, Policy, check_supported
from .trace.language import (
    MAIN,
    Exit,
    FileOp,
    Fork,
    Memfd,
    Mmap,
    Operation,
    Pool,
    Shmat,
    Shmget,
    Trace,
    Umount,
    parse_trace,
)
from .trace.language import Mount as MountOp

SIGNALS = ("SIGBUS", "SIGSEGV")


class Machine(Protocol):
    def apply(self, op: Operation) -> str | None: ...

    def counters(self) -> Counters: ...


@dataclass(slots=True)
class Step:
    """One step record (the fields ``as_dict`` gives), plus the closes behind it.

    A record, never changed once made (not frozen only because a frozen
    dataclass takes three times as long to build, 100,000 times a trace).
    """

    line: int
    op: str
    error: str | None
    counters: Counters
    closes: tuple[Close, ...] = field(default=(), compare=False)
    #: v2: statfs (size, free) of every mount made with size= and still
    #: mounted; None until the trace has made such a mount
    mounts: Mapping[str, tuple[int, int]] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        record = {"line": self.line, "op": self.op, "ok": self.ok, "error": self.error,
                  "counters": self.counters.as_dict()}
        if self.mounts is not None:
            record["mounts"] = {name: {"size": size, "free": free} for name, (size, free) in self.mounts.items()}
        return record

    def to_json(self) -> str:
        return json.dumps(self.as_dict())


class Liveness:
    """Which processes live and which mappings, files, mounts and segments
    exist, from the outcomes so far.

    Shared by every machine so that the model and the real kernel skip the
    same lines for the same reasons. A line that creates something and is
    skipped or fails leaves that thing missing: later lines naming it are
    skipped too. So is what a ``umount M`` that succeeded took away: M,
    the files made on it and the mappings made from them (a umount that
    failed, with EBUSY, takes nothing: M and its files are used on).
    """

    def __init__(self) -> None:
        self.alive = {MAIN}
        self.failed_mmaps: set[str] = set()  # mappings never made, or made from a file a umount took away
        self.failed: set[tuple[str, str]] = set()  # (kind, name): v2 files, mounts, segments missing
        #: v2: the files made on each mount, and the mappings made from each file (what a umount takes)
        self.files_on: dict[str, list[str]] = {}
        self.mapped_from: dict[str, list[str]] = {}
        #: v2: what a umount that succeeded took away -> (that mount, the umount's line);
        #: keyed ("mount" | "file" | "mapping", name)
        self.unmounted: dict[tuple[str, str], tuple[str, int]] = {}

    def skips(self, op: Operation) -> bool:
        if op.__class__ is Pool:
            return False
        proc = getattr(op, "proc", None)
        if proc is not None and proc not in self.alive:
            return True
        name = getattr(op, "name", None)
        if name is not None and name in self.failed_mmaps and op.__class__ is not Mmap and op.__class__ is not Shmat:
            return True
        return bool(self.failed) and self._names_a_failed_thing(op)

    def _names_a_failed_thing(self, op: Operation) -> bool:
        # apart from skips: a generator here would make skips build closure
        # cells at every call, a tenth of what a skipped line costs
        failed = self.failed
        return any((kind, getattr(op, kind, None)) in failed for kind in _NAMED)

    def record(self, op: Operation, error: str | None) -> None:
        kind = op.__class__  # compared by identity: once a line, and no class is subclassed
        if error is None:  # most lines: only a fork, an exit or (v2) what a umount may take changes anything
            if kind is Fork:
                self.alive.add(op.child)  # type: ignore[union-attr]
            elif kind is Exit:
                self.alive.discard(op.proc)  # type: ignore[union-attr]
            elif kind is Mmap:
                mmap = cast(Mmap, op)
                if mmap.file is not None:
                    self.mapped_from.setdefault(mmap.file, []).append(mmap.name)
            elif kind is FileOp:
                made = cast(FileOp, op)
                if made.mount is not None:
                    self.files_on.setdefault(made.mount, []).append(made.file)
            elif kind is Umount:
                self._unmounted(cast(Umount, op).mount, op.line)
            return
        if kind is Pool:
            return
        if kind is Mmap or kind is Shmat:
            self.failed_mmaps.add(op.name)  # type: ignore[union-attr]
        elif kind is Exit or error in SIGNALS:
            self.alive.discard(op.proc)  # type: ignore[union-attr]
        elif kind in _CREATES:
            self.failed.add(_CREATES[kind](op))

    def _unmounted(self, mount: str, line: int) -> None:
        """A umount succeeded: the mount, its files and their mappings are gone for good."""
        gone = [("mount", mount)]
        for file in self.files_on.pop(mount, ()):
            gone.append(("file", file))
            gone += [("mapping", name) for name in self.mapped_from.pop(file, ())]
        for kind, name in gone:
            self.unmounted[kind, name] = (mount, line)
            if kind == "mapping":
                self.failed_mmaps.add(name)
            else:
                self.failed.add((kind, name))

    def taken_by_umount(self, op: Operation) -> tuple[str, str, str, int] | None:
        """What of ``op``'s a umount took away: (kind, name, mount, that umount's line), or None."""
        if not self.unmounted:
            return None
        for kind, attr in (("mount", "mount"), ("file", "file"), ("mapping", "name")):
            name = getattr(op, attr, None)
            if name is not None and (kind, name) in self.unmounted:
                return (kind, name, *self.unmounted[kind, name])
        return None

    def record_skip(self, op: Operation) -> None:
        """A skipped line made nothing: what it would have created is missing."""
        kind = op.__class__
        if kind is Mmap or kind is Shmat:
            self.failed_mmaps.add(op.name)  # type: ignore[union-attr]
        elif kind in _CREATES:
            self.failed.add(_CREATES[kind](op))


#: the v2 name spaces a line may refer to, by the attribute that holds the name
_NAMED = ("file", "mount", "segment")
#: v2 lines that create something, and what
_CREATES: dict[type, Callable[[Any], tuple[str, str]]] = {
    MountOp: lambda op: ("mount", op.mount),
    FileOp: lambda op: ("file", op.file),
    Memfd: lambda op: ("file", op.file),
    Shmget: lambda op: ("segment", op.segment),
}


class Replayer:
    """Feeds operations one at a time to a machine; each call returns its step."""

    def __init__(self, machine: Machine, statfs: bool = True) -> None:
        """``statfs``: ask the machine for its mounts' statfs after each step
        (False: the trace makes no mount with size=, so records never carry it)."""
        self.machine = machine
        self.live = Liveness()
        self._statfs = getattr(machine, "statfs", None) if statfs else None

    def feed(self, op: Operation) -> Step:
        statfs, live = self._statfs, self.live
        if live.skips(op):
            live.record_skip(op)
            if statfs is None:
                return Step(op.line, op.text, "skipped", self.machine.counters())
            return Step(op.line, op.text, "skipped", self.machine.counters(), (), statfs())
        machine = self.machine
        error = machine.apply(op)
        live.record(op, error)
        closes = tuple(getattr(machine, "closes", ()))
        if statfs is None:
            return Step(op.line, op.text, error, machine.counters(), closes)
        return Step(op.line, op.text, error, machine.counters(), closes, statfs())


def drive(trace: Trace, machine: Machine) -> Iterator[Step]:
    """Carry out ``trace`` on ``machine``, yielding each step as it is done."""
    replayer = Replayer(machine, statfs=trace.sized_mounts)
    for op in trace:
        yield replayer.feed(op)


def as_trace(trace: Trace | str | Iterable[str]) -> Trace:
    return trace if isinstance(trace, Trace) else parse_trace(trace)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector (as ``timeit`` does), then restore it.

    A long trace keeps millions of page objects alive, and every collection
    walks them all: that was half of a 100,000-step replay. The model makes
    no reference cycles (``tests/test_replay.py`` checks it), so reference
    counting alone frees everything and nothing piles up while paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ModelReplay:
    """The model under one policy, driven one operation at a time: the one way every part of hugelab
    (the command line, the explorer, exercises, walk-throughs, lessons, tests) replays on the model.

    Era support is checked here and nowhere else: a whole trace given to the constructor is refused
    (TraceError naming its line) before any line runs, and :meth:`feed` refuses a line the policy's
    era did not have before it changes anything.
    """

    def __init__(self, policy: str | Policy = "modern", trace: Iterable[Operation] = (), statfs: bool = True) -> None:
        self.model = Model(policy)
        self.policy = self.model.policy
        check_supported(trace, self.policy)
        self._checked = trace
        self._replayer = Replayer(self.model, statfs=statfs)

    @property
    def live(self) -> Liveness:
        """What is alive and what is gone, from the outcomes so far (why a line was skipped)."""
        return self._replayer.live

    def feed(self, op: Operation) -> Step:
        """Carry out one line; TraceError (nothing changed) if the policy's era lacked it."""
        if self.policy.missing:
            check_supported((op,), self.policy)
        return self._replayer.feed(op)

    def run(self) -> Iterator[Step]:
        """Carry out the trace given at construction (checked then), yielding each step."""
        feed = self._replayer.feed
        for op in self._checked:
            yield feed(op)


def replay(trace: Trace | str, policy: str | Policy = "modern") -> list[Step]:
    """Replay ``trace`` (text or parsed) under ``policy``; one :class:`Step` per operation.

    Raises :class:`~hugelab.trace.language.TraceError` for bad text, or a line the policy's era did
    not have, before replaying anything.
    """
    trace = as_trace(trace)
    run = ModelReplay(policy, trace, statfs=trace.sized_mounts)
    with cyclic_gc_paused():
        steps = list(run.run())
        # Drop the model while the collector is paused: the first collection
        # after it resumes walks every object made since, and the model's
        # pages and VMAs would be most of them (a tenth of a replay).
        del run
    return steps
