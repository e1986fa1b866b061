"""The bug zoo, checked by the model alone (cheap): every bug shows its symptom with the bug and not
without, its commits are in the commit table, and every record shipped from a guest is what the
model's policy for that kernel gives, step for step."""

from __future__ import annotations

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
