"""The explorer's undo and step slider restore checkpoints: the state must be exactly the one a fresh
replay of the shorter history gives (models, builder, the sides' tables, every view), whatever
clicks, forks, files, mounts and failed steps came before, however many undos in a row, past
however many checkpoints, with new clicks after them."""

from __future__ import annotations

import types

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hugelab.model.hugetlbfs import MountsStatfs
from hugelab.model.policies import Policy
from hugelab.replay import Step
from hugelab.teaching.explorer import Explorer, Refused
from hugelab.trace.language import TraceError

POLICIES = ("double-credit", "modern")
#: read-only records: a checkpoint holds copies of them where a fresh replay shares one
VALUES = (tuple, MountsStatfs, Step)


def canonical(obj, seen: dict[int, int] | None = None):
    """Everything an object graph holds, as plain nested tuples: dicts in order, sets sorted,
    objects by their fields, and a second path to one object as a reference (sharing counts)."""
    seen = {} if seen is None else seen
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return obj
    if isinstance(obj, Policy):
        return ("policy", obj.name)
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
        return ("code", obj.__qualname__)
    if isinstance(obj, types.MethodType):
        return ("method", obj.__func__.__qualname__, canonical(obj.__self__, seen))
    if isinstance(obj, VALUES):  # a record never changed once made: compared by value only
        seen = {}
    elif id(obj) in seen:
        return ("ref", seen[id(obj)])
    else:
        seen[id(obj)] = len(seen)
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(canonical(x, seen) for x in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((canonical(k, seen), canonical(v, seen)) for k, v in obj.items()))
    if isinstance(obj, (set, frozenset)):
        return ("set", tuple(sorted(repr(canonical(x, {})) for x in obj)))
    fields = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name) and name not in ("__weakref__", "__dict__"):
                fields[name] = getattr(obj, name)
    return (type(obj).__qualname__, tuple((k, canonical(v, seen)) for k, v in sorted(fields.items())))


def state(x: Explorer) -> tuple:
    """What the explorer is at its cursor: builder, both sides (models and tables), and what it shows."""
    sides = tuple(canonical((s.run, s.failed, s.gone, s.unreserves, s.file_steps, s.steps, s.closes))
                  for s in x.sides)
    builder = canonical((x.builder.state(), [op.text for op in x.builder.ops], x.builder.lines))
    shown = (x.trace_text(), x.cursor, x.actor, x.selected, x.file, x.processes, x.file_rows, x.mounts,
             x.diverged_at(), tuple(x.mapping_names(p) for p, _ in x.processes))
    views = tuple(x.view(i) for i in range(2))
    return sides, builder, shown, views


def fresh(x: Explorer) -> Explorer:
    """A new explorer that replays the shown history from its start, looking where ``x`` looks."""
    y = Explorer(POLICIES)
    y.load(x.trace_text())
    y.actor, y.selected, y.file = x.actor, x.selected, x.file
    return y


def assert_as_fresh(x: Explorer) -> None:
    assert state(x) == state(fresh(x))


ACTIONS = st.lists(st.tuples(st.sampled_from(["mmap", "shared", "fault", "read", "fork", "exit", "munmap",
                                              "mprotect", "pool", "mount", "file", "mapfile", "truncate",
                                              "close", "unlink", "umount", "actor", "undo", "undo", "scrub",
                                              "scrub", "redo"]),
                             st.integers(0, 6), st.integers(1, 4)), min_size=1, max_size=40)


def act(x: Explorer, kind: str, a: int, b: int) -> bool:
    """One click; True when it went back (undo, scrub) and so must match a fresh replay."""
    try:
        if kind == "mmap":
            x.mmap(b)
        elif kind == "shared":
            x.mmap(b, shared=True)
        elif kind in ("fault", "read"):
            x.fault(a % max(x.mapping_pages, 1), write=kind == "fault")
        elif kind == "fork":
            x.fork()
        elif kind == "exit":
            procs = [p for p, _ in x.processes if p != "main"]
            if procs:
                x.exit(procs[a % len(procs)])
        elif kind == "munmap":
            x.munmap(a % max(x.mapping_pages, 1), b)
        elif kind == "mprotect":
            x.mprotect(a % max(x.mapping_pages, 1), b, "r" if a % 2 else "rw")
        elif kind == "pool":
            x.set_pool(a)  # 0 or 1 page: the next faults and mmaps fail
        elif kind == "mount":
            x.mount(b)
        elif kind == "file":
            mounts = [m for m, _ in x.mounts]
            x.create_file(mounts[a % len(mounts)] if mounts and a % 2 else None)
        elif kind == "mapfile":
            x.mmap_file(b, shared=a % 3 != 0, offset=a % 2)
        elif kind == "truncate":
            x.truncate(a % 3)
        elif kind == "close":
            x.close_file()
        elif kind == "unlink":
            x.unlink()
        elif kind == "umount":
            mounts = [m for m, _ in x.mounts]
            if mounts:
                x.umount(mounts[a % len(mounts)])
        elif kind == "actor":
            procs = [p for p, _ in x.processes]
            x.act_as(procs[a % len(procs)])
        elif kind == "undo":
            x.undo()
            return True
        elif kind == "scrub":
            x.scrub(a * len(x.history) // 6)
            return True
        elif kind == "redo":
            x.redo()
    except (Refused, TraceError):
        pass
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, every=st.sampled_from([1, 2, 3, 5, None]), pool=st.integers(1, 8))
def test_going_back_gives_what_a_fresh_replay_gives(actions, every, pool):
    x = Explorer(POLICIES, pool=pool, checkpoint_every=every)
    went_back = 0
    for kind, a, b in actions:
        if act(x, kind, a, b):
            went_back += 1
            assert_as_fresh(x)
    assert_as_fresh(x)


def clicks(x: Explorer) -> None:
    """A history with forks, a file on a mount mapped shared, a failed step and a killed process."""
    x.mmap(4)
    x.fault(0)
    x.fork()
    mount = x.mount(2)
    x.create_file(mount)
    x.mmap_file(2, shared=True)
    x.fault(1)
    x.act_as("c1")
    x.select("a")
    x.fault(2)  # the child's write copies, or dies when the pool has no page left
    x.act_as("main")
    x.mmap(8)  # more than the pool: ENOMEM
    x.truncate(0)
    x.fork()


def test_undo_many_times_in_a_row_past_checkpoints_then_click_again():
    x = Explorer(POLICIES, pool=6, checkpoint_every=3)
    clicks(x)
    assert any(s.steps[-1].error or any(st.error for st in s.steps) for s in x.sides)  # a failed step in it
    assert x.checkpoints and max(x.checkpoints) <= x.cursor
    top = x.cursor
    for _ in range(top - 1):  # every undo down to the pool line, across each checkpoint
        x.undo()
        assert_as_fresh(x)
    assert x.cursor == 1 and len(x.history) == top
    for _ in range(5):  # redo feeds forward and makes the checkpoints again
        x.redo()
    assert_as_fresh(x)
    x.undo()
    x.undo()
    x.fork()  # a new click drops the later lines and the checkpoints taken after them
    assert max(x.checkpoints, default=0) <= x.cursor
    assert_as_fresh(x)
    x.undo()  # brings the dropped lines back, at the step they were dropped
    assert_as_fresh(x)
    x.scrub(len(x.history))
    assert_as_fresh(x)
    assert x.trace_text() == fresh(x).trace_text()


def test_checkpoints_are_used_and_bounded():
    """Checkpoints come with the adaptive spacing too, and restoring one gives the fresh state."""
    x = Explorer(POLICIES, pool=64)
    x.mmap(32)
    for i in range(400):
        x.fault(i % 32, write=i % 3 == 0)
    assert len(x.checkpoints) >= 2
    assert sum(map(len, x.checkpoints.values())) < 256 * x.cursor + max(map(len, x.checkpoints.values()))
    x.undo()
    assert_as_fresh(x)
    x.scrub(max(x.checkpoints) + 1)  # one line after a checkpoint: restored, one line replayed
    assert_as_fresh(x)
