"""The course as a learner meets it, read from the executed notebooks:
no answer printed before its question, the glossary linked everywhere and
holding every term, every shipped scenario used, the trace language taught
in 00 before any notebook uses it."""

import json
import re
from pathlib import Path

import pytest

from hugelab import scenarios
from hugelab.teaching import lessons

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# the numbered path and the notebooks beside it (many-kernels, files-and-mounts): every one obeys the rules
COURSE = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if p.name != "glossary.ipynb")


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def outputs(cell):
    text = []
    for o in cell.get("outputs", []):
        text.append("".join(o.get("text", "")))
        text.append("".join(o.get("data", {}).get("text/plain", "")) if "application/vnd.jupyter.widget-view+json"
                    not in o.get("data", {}) else "")
    return "\n".join(text)


def squash(text):
    return " ".join(text.split())


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_answer_is_printed_before_its_question(path):
    seen = ""
    for cell in cells(path):
        asked = re.findall(r"lessons\.(q\w+)\(\)", source(cell))
        if "lessons.self_test()" in source(cell):
            assert "Total" not in seen and "T/F/R/S" not in seen, "the self-test shows no table"
            for q in lessons.self_test():
                assert not any(shown in squash(seen) for shown in lessons.giveaways(q))
        for name in asked:
            for shown in lessons.giveaways(getattr(lessons, name)()):
                assert shown not in squash(seen) and shown not in seen, \
                    f"{path.name}: the answer to {name} is on screen before it: {shown}"
        seen += outputs(cell) + "\n"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_question_hint_or_explanation_is_written_in_a_notebooks_visible_code(path):
    """Questions, hints and explanations live in hugelab/teaching/lessons.py: written inline in a code cell, the
    explanation (which states the answer) is on screen above its question."""
    for n, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code":
            continue
        code = source(cell)
        assert not re.search(r"\bQuestion\(", code), f"{path.name} cell {n}: a Question built inline"
        for arg in ("why", "hint", "hints", "reveal"):
            inline = re.search(rf"\b{arg}\s*=\s*(?:[rfRF]{{0,2}}[\"']|\{{)", code)
            assert not inline, f"{path.name} cell {n}: {arg}= written inline"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_every_notebook_links_the_glossary(path):
    assert "(glossary.ipynb)" in "".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")


GLOSSARY = "".join(source(c) for c in cells(NOTEBOOKS / "glossary.ipynb"))
TERMS = ["-mm", "kref", "buddy allocator", "owner", "bare pool", "v6.9 restore", "surplus", "overcommit",
         "copy-on-write (COW)", "VMA", "resv_map", "restore_reserve", "MAP_NORESERVE", "MADV_DONTNEED", "fault",
         "reservation", "hstate", "inode", "page cache", "invariant", "split", "skipped", "SIGBUS", "ENOMEM",
         "EINVAL", "merge window", "vm_private_data", "vm_ops->open", "wrap", "step",
         # files-and-mounts and many-kernels
         "subpool", "statfs", "size=", "min_size=", "truncate", "hole punch", "fallocate", "MADV_REMOVE",
         "eviction", "unlink", "memfd", "System V segment", "shmget", "shmat", "IPC_RMID", "ENOSPC", "EBUSY",
         "mapcount", "zap", "namespace", "golden trace", "LTP", "kernel selftests", "libhugetlbfs",
         "guest kernel", "QEMU", "recorded records", "stable fix", "6.12", "MAP_SHARED"]


@pytest.mark.parametrize("term", TERMS)
def test_the_glossary_explains_every_kernel_term_the_course_uses(term):
    assert re.search(r"\*\*[^*]*" + re.escape(term) + r"[^*]*\*\*:", GLOSSARY), term


def test_every_shipped_scenario_is_used_in_the_course():
    every = sorted(NOTEBOOKS.glob("*.ipynb"))  # the notebooks beside the path count too
    text = "".join(source(c) + outputs(c) for p in every for c in cells(p)) + lessons_source()
    unused = [name for name in scenarios.names() if name not in text]
    assert not unused


def lessons_source():
    return Path(lessons.__file__).read_text()


def test_00_teaches_every_form_of_the_trace_language_and_every_outcome():
    text = "".join(source(c) for c in cells(NOTEBOOKS / "00-start-here.ipynb"))
    for form in ["pool 8", "overcommit", "mmap a 4 private", "shared", "noreserve", "touch a 0", "read",
                 "munmap a 1 1", "START COUNT", "mprotect", "madvise a 0 1 dontneed", "fork b", "in b touch",
                 "`main`", "exit b", "half-open"]:
        assert form in text, form
    for outcome in ["ENOMEM", "EINVAL", "SIGBUS", "SIGSEGV", "skipped", "ENOSPC", "EBUSY"]:
        assert f"| `{outcome}` |" in text, outcome
    for outcome in ["EACCES", "EBADF", "ENOENT"]:  # the rare trace-v2 ones share a row
        assert f"`{outcome}`" in text, outcome
    for head in ["**Total**", "**Free**", "**Rsvd**", "**Surp**", "T/F/R/S"]:
        assert head in text, head


def test_notebooks_import_only_from_hugelab():
    for path in COURSE + [NOTEBOOKS / "glossary.ipynb"]:
        for cell in cells(path):
            for line in source(cell).splitlines():
                m = re.match(r"\s*(?:from|import)\s+([\w.]+)", line)
                if m:
                    assert m.group(1).split(".")[0] == "hugelab", (path.name, line)


def test_the_seed_steps_in_the_readme_are_the_steps_hugelab_prints():
    import subprocess
    import sys
    readme = (NOTEBOOKS.parent / "README.md").read_text()
    done = subprocess.run([sys.executable, "-m", "hugelab", "replay", "seed"], capture_output=True, text=True)
    printed = [line.split(None, 1) for line in done.stdout.splitlines()[1:]]
    block = readme.split("hugelab replay seed` prints:")[1].split("```")[1]
    shown = [line.split(None, 1) for line in block.strip().splitlines()[1:]]
    assert shown == printed
