"""What a guest says, checked before the host believes it: every key, every type, every count.

A guest runs a kernel hugelab did not build; its answers (JSON lines, :mod:`hugelab.realkernel.guest`)
are read like any other untrusted input. A record that lacks a key, has one of the wrong type, or
more steps than the trace has operations is a :class:`KernelReplayError` in one line, never a
KeyError's traceback, and nothing the guest sent is echoed whole.
"""

from __future__ import annotations

from ..limits import echo
from ..model.hstate import Counters
from ..replay import Step
from .machine import KernelReplayError

COUNTERS = ("total", "free", "rsvd", "surp")
STEP_KEYS = {"line", "op", "ok", "error", "counters", "mounts"}


def _bad(release: str, problem: str) -> KernelReplayError:
    return KernelReplayError(f"the {release} guest sent a malformed answer: {problem}")


def whole(record: dict, key: str, release: str, signed: bool = False) -> int:
    """``record[key]``, a whole number (not below 0 unless ``signed``)."""
    value = record.get(key)
    if type(value) is not int or (value < 0 and not signed):
        raise _bad(release, f"{key} is {echo(repr(value))}, not a whole number")
    return value


def seconds(record: dict, key: str, release: str) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
        raise _bad(release, f"{key} is {echo(repr(value))}, not a number of seconds")
    return float(value)


def text(record: dict, key: str, release: str, most: int | None = None, default: str | None = None) -> str:
    """``record[key]``, a text (of at most ``most`` characters); ``default`` if absent and one is given."""
    value = record.get(key, default)
    if not isinstance(value, str) or (most is not None and len(value) > most):
        raise _bad(release, f"{key} is {echo(repr(value))}, not a text" + (f" of at most {most} characters"
                                                                            if most is not None else ""))
    return value


def error(record: dict, release: str) -> str:
    """The guest's one-line error, cut to a readable length."""
    value = record.get("error")
    if not isinstance(value, str):
        raise _bad(release, f"error is {echo(repr(value))}, not a text")
    return value if len(value) <= 300 else echo(value, 300)


def _step(record: object, release: str, index: int) -> Step:
    where = f"step {index + 1}"
    if not isinstance(record, dict):
        raise _bad(release, f"{where} is not a record")
    missing = {"line", "op", "error", "counters"} - record.keys()
    if missing or not record.keys() <= STEP_KEYS:
        raise _bad(release, f"{where} has keys {echo(repr(sorted(record)), 120)}")
    line = whole(record, "line", release)
    op = text(record, "op", release)
    problem = record["error"]
    if problem is not None and not isinstance(problem, str):
        raise _bad(release, f"{where}: error is {echo(repr(problem))}")
    counters = record["counters"]
    if not isinstance(counters, dict) or set(counters) != set(COUNTERS):
        raise _bad(release, f"{where}: counters is {echo(repr(counters))}")
    values = Counters(*(whole(counters, name, release) for name in COUNTERS))
    mounts = None
    if "mounts" in record:
        given = record["mounts"]
        if not isinstance(given, dict):
            raise _bad(release, f"{where}: mounts is {echo(repr(given))}")
        mounts = {}
        for name, statfs in given.items():
            if not isinstance(statfs, dict) or set(statfs) != {"size", "free"}:
                raise _bad(release, f"{where}: mount {echo(name)} is {echo(repr(statfs))}")
            mounts[name] = (whole(statfs, "size", release), whole(statfs, "free", release))
    return Step(line, op, problem, values, (), mounts)


def steps(answer: dict, operations: int, release: str) -> list[Step]:
    """The step records of a replay answer: a list of at most ``operations`` valid records."""
    given = answer.get("steps")
    if not isinstance(given, list):
        raise _bad(release, "no list of steps")
    if len(given) > operations:
        raise _bad(release, f"{len(given):,} steps for a trace of {operations:,} operations")
    return [_step(record, release, i) for i, record in enumerate(given)]
