"""Other projects' tests, as golden traces: each asserts *that test's own* expected values.

The scenarios named below say in their first lines which test they come
from (repository, path). A line's ``# test expects: ...`` comment holds the
values the original test checks after that call; ``# kernel: ...`` marks a
place where Linux 6.18 (and so hugelab's ``modern``) disagrees with the
test, and gives the kernel's value, which hugelab follows.
"""

import re

import pytest

from hugelab import replay, scenarios
from hugelab.model.hstate import Counters

EXTERNAL = {
    "selftest-hugetlb-madvise": "tools/testing/selftests/mm/hugetlb-madvise.c",
    "selftest-madv-vs-map-underflow": "tools/testing/selftests/mm/hugetlb_madv_vs_map.c",
    "libhugetlbfs-truncate-reserve-wraparound": "tests/truncate_reserve_wraparound.c",
    "libhugetlbfs-noresv-regarded-as-resv": "tests/noresv-regarded-as-resv.c",
    "libhugetlbfs-quota": "tests/quota.c",
    "ltp-hugemmap05-mmap": "testcases/kernel/mem/hugetlb/hugemmap/hugemmap05.c",
    "ltp-hugemmap05-shm": "testcases/kernel/mem/hugetlb/hugemmap/hugemmap05.c",
}
#: where a test and the kernel disagree (scenario, line): the kernel is followed
DISAGREEMENTS = {("selftest-madv-vs-map-underflow", 18)}


def expectations(text: str, tag: str) -> dict[int, dict[str, str]]:
    """{line: {field: value}} from the ``# <tag>: a=1 b=2`` comments of a trace."""
    found = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(rf"#\s*{tag}:\s*([^#]+)", line)
        if match:
            found[number] = dict(item.split("=", 1) for item in match.group(1).split())
    return found


def actual(step, field: str) -> str:
    if field == "error":
        return str(step.error)
    if field == "mounts":
        return " ".join(f"{name}:{size}/{free}" for name, (size, free) in sorted((step.mounts or {}).items()))
    return str(getattr(step.counters, field))


@pytest.mark.parametrize("name", sorted(EXTERNAL))
def test_each_golden_names_its_source_and_asserts_its_values(name):
    text = scenarios.load(name)
    assert EXTERNAL[name] in scenarios.describe(name)
    expected, kernel = expectations(text, "test expects"), expectations(text, "kernel")
    assert expected, "a golden trace must state what its test expects"
    steps = {s.line: s for s in replay(text, "modern")}
    for line, values in expected.items():
        for field, value in values.items():
            want = kernel.get(line, {}).get(field, value)
            assert actual(steps[line], field) == want, f"{name} line {line}: {field}"
    assert {(name, line) for line in kernel} <= DISAGREEMENTS


def test_the_one_disagreement_is_the_6_18_underflow_the_selftest_fails_on():
    steps = replay(scenarios.load("selftest-madv-vs-map-underflow"), "modern")
    rsvd = [s.counters.rsvd for s in steps][-3:]
    assert rsvd == [0, 2**64 - 1, 0]  # the test wants 0, 0, 0; 6.18 wraps between munmap and exit


def test_the_v2_example_gives_the_numbers_its_comments_state():
    steps = replay(scenarios.load("file-reservation-outlives-mapping"), "modern")
    assert [tuple(s.counters) for s in steps] == [
        (8, 8, 0, 0), (8, 8, 0, 0), (8, 8, 4, 0), (8, 7, 3, 0), (8, 7, 3, 0),
        (8, 7, 5, 0), (8, 7, 5, 0), (8, 7, 0, 0), (8, 7, 0, 0), (8, 8, 0, 0)]


def test_the_6_18_min_size_leak_as_measured():
    """docs/findings.md §1, measured on 6.18.44: statfs free 1 after the failed fallocate, 2/2/2/2 after."""
    steps = replay(scenarios.load("min-size-leak-6.18"), "modern")
    by_line = {s.line: s for s in steps}
    assert by_line[10].counters == Counters(12, 12, 9, 0) and by_line[10].mounts == {"q1": (6, 6)}
    assert by_line[12].counters == Counters(12, 9, 6, 0) and by_line[12].mounts == {"q1": (6, 3)}
    assert by_line[14].counters == Counters(12, 9, 8, 0)
    assert by_line[15].error == "ENOSPC" and by_line[15].counters == Counters(12, 8, 8, 0)
    assert by_line[15].mounts == {"q1": (6, 1)}
    assert steps[-1].counters == Counters(2, 2, 2, 2)
