"""The bug zoo, checked by the model alone (cheap): every bug shows its symptom with the bug and not
without, its commits are in the commit table, and every record shipped from a guest is what the
model's policy for that kernel gives, step for step."""

from __future__ import annotations

import re

import pytest

from hugelab import scenarios
from hugelab.model.commits import BY_ID, commits_of
from hugelab.model.policies import get_policy
from hugelab.realkernel import refusal
from hugelab.replay import replay
from hugelab.teaching import zoo
from hugelab.trace.language import parse_trace

NAMES = [bug.name for bug in zoo.BUGS]


def test_the_zoo_holds_at_least_ten_bugs_and_the_ones_the_issue_names():
    assert len(zoo.BUGS) >= 10
    fixes = {bug.fixed for bug in zoo.BUGS}
    assert {"84afd99b8398", "67961f9db8c4", "e656c7a9e596", "df7a6d1f6405", "mapcount-fix", "58db7c5fbe7d",
            "a833a693a490", "1d3f9bb4c8af", "rollback-fix"} <= fixes
    assert any(not bug.fixed and bug.introduced == ("a833a693a490",) for bug in zoo.BUGS)  # the open leak


@pytest.mark.parametrize("name", NAMES)
def test_each_bug_shows_its_symptom_with_the_bug_and_not_without(name):
    bug = zoo.BY_NAME[name]
    assert zoo.symptom(bug, bug.buggy) != zoo.symptom(bug, bug.clean)
    # its commits are the table's, and the sides carry them as the bug says
    assert all(c in BY_ID for c in (*bug.introduced, bug.fixed) if c)
    buggy, clean = get_policy(bug.buggy.policy), get_policy(bug.clean.policy)
    if bug.fixed and bug.buggy.policy.startswith("linux-"):
        assert bug.fixed not in buggy.commits
    for side in (bug.buggy, bug.clean):
        if side.kernel:  # a guest side's policy is that kernel's own commits
            release = side.policy.removeprefix("linux-")
            assert get_policy(side.policy).commits == frozenset(commits_of(release))
    assert bug.step <= len(parse_trace(bug.trace).ops)
    assert clean.name != buggy.name


@pytest.mark.parametrize("name", NAMES)
def test_a_trace_that_may_leak_is_marked_guests_only_and_refused_on_this_machine(name):
    bug = zoo.BY_NAME[name]
    trace = parse_trace(bug.trace)
    if bug.guests_only:
        assert refusal(trace) is not None
        assert "GUESTS ONLY" in zoo.describe(bug)


def test_every_shipped_guest_record_matches_its_kernels_policy():
    records = zoo.recorded()
    assert records, "hugelab/recorded/zoo.json is missing"
    for (scenario, kernel), record in records.items():
        sides = [s for b in zoo.BUGS for s in (b.buggy, b.clean) if b.scenario == scenario and s.kernel == kernel]
        assert sides, (scenario, kernel)
        assert record["date"] and sides[0].policy == f"linux-{record['upstream']}"  # the guest's own uname
        steps = zoo.measured_steps(zoo.BUGS[[b.scenario for b in zoo.BUGS].index(scenario)], sides[0])
        assert steps == replay(scenarios.load(scenario), sides[0].policy), (scenario, kernel)


def test_the_command_line_lists_the_zoo_and_shows_one(capsys):
    from hugelab.cli import main
    assert main(["zoo"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in NAMES) and "OPEN" in listing
    assert main(["zoo", "subpool-rollback-wrap"]) == 0
    shown = capsys.readouterr().out
    assert "1d3f9bb4c8af (v7.0" in shown and "GUESTS ONLY" in shown and "model linux-7.3.4: 0" in shown
    assert main(["zoo", "no-such-bug"]) == 2
    assert "no bug" in capsys.readouterr().err


def test_a_policy_name_may_drop_a_commit_whose_id_starts_with_digits():
    policy = get_policy("linux-5.10.262-67961f9db8c4")
    assert "67961f9db8c4" not in policy.commits and "a88c76954804" in policy.commits


def test_a_commit_known_only_by_a_short_name_is_shown_by_its_subject_and_the_hashes_that_are_known():
    """10's folds showed "fixed: mapcount-fix (v7.3; ...)" where other rows show a hash: a name that reads like
    a commit id. A commit whose mainline hash is not identified is shown by its subject, with its stable hash
    where one is known (the mapcount fix is 8ef4eb9ff874 in 6.12.y) and plain words saying the rest."""
    from hugelab.model.commits import COMMITS
    names = [c.id for c in COMMITS if not c.hashed]
    assert "mapcount-fix" in names and "rollback-fix" in names
    shown = zoo.listing() + "\n" + "\n".join(zoo.describe(bug) for bug in zoo.BUGS)
    for name in names:
        assert re.search(rf"(?<![\w+-]){re.escape(name)}(?![\w-])", shown) is None, name
    for line in shown.splitlines():
        said = re.match(r"\s*(?:introduced|fixed):\s+(.*)", line)
        if said and "not yet" not in said.group(1):
            assert re.match(r'[0-9a-f]{12} \(|"', said.group(1)), line
    assert "8ef4eb9ff874" in zoo.describe(zoo.BY_NAME["restore-while-child-maps"])
    assert "mainline commit not identified here" in zoo.describe(zoo.BY_NAME["subpool-rollback-wrap"])


def test_a_clean_side_that_still_shows_a_later_bug_says_so():
    """subpool-error-wrap's side without it read "model linux-6.18.15: 1", a leaked value (the next bug's): a side
    without the bug whose Rsvd after the trace's last step (everything torn down) is not 0 says why."""
    noted = []
    for bug in zoo.BUGS:
        value = zoo.symptom(bug, bug.clean)
        if bug.reading == "rsvd" and bug.step == len(parse_trace(bug.trace).ops) and value != "0":
            noted.append(bug.name)
            assert bug.clean.note and bug.clean.note in zoo.describe(bug), bug.name
    assert noted == ["subpool-error-wrap", "subpool-error-leak"]
