"""The scenarios that ship with hugelab: trace files in this folder, found by glob.

Each file opens with comments saying what it shows; :func:`describe` returns them.
"""

from __future__ import annotations

from importlib import resources


def names() -> list[str]:
    """Scenario names, sorted (file names without ``.trace``)."""
    return sorted(p.name[: -len(".trace")] for p in resources.files(__name__).iterdir() if p.name.endswith(".trace"))


def load(name: str) -> str:
    """The text of scenario ``name``; KeyError names the choices."""
    path = resources.files(__name__) / f"{name}.trace"
    if not path.is_file():
        raise KeyError(f"no scenario {name!r}; choose one of: {', '.join(names())}")
    return path.read_text()


def describe(name: str) -> str:
    """The scenario's opening comment, as prose."""
    lines = []
    for line in load(name).splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return " ".join(lines)
