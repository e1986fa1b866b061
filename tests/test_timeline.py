"""hugelab timeline: rows, groups, the model beside them, findings, the record cache, --explain.

The kernels here are fake machines (the model under a chosen policy, behind a guest's face), so
these tests boot nothing; tests/test_guests.py has the one small guest run.
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager

import pytest

from hugelab.realkernel.machine import KernelUnavailable
from hugelab.replay import replay
from hugelab.tools import timeline
from hugelab.trace.language import parse_trace

#: docs/findings.md §4 (guests only: a min_size mount)
FOUR_ERAS = parse_trace("pool 3\nmount q size=4 min_size=2\nfile f1 on q\nmmap a 1 shared file f1\nmmap b 1 private\n"
                        "file f2 on q\nmmap c 2 shared file f2\nmunmap b 0 1\nmunmap a 0 1\nclose f1\nunlink f1\n"
                        "close f2\nunlink f2\numount q\n")
#: docs/findings.md §1, shrunk (guests only)
LEAK = parse_trace("pool 3\nmount q size=4 min_size=2\nfile f on q\nfallocate f 0 4\nclose f\nunlink f\numount q\n")
KERNELS = {"6.12.118+deb12-cloud-amd64": "linux-6.12.118", "6.18.15+deb13-cloud-amd64": "linux-6.18.15",
           "7.0.13+deb13-cloud-amd64": "linux-7.0.13", "7.3.4+deb13-cloud-amd64": "linux-7.3.4"}


class FakeGuests:
    """Each release replays under the policy ``behaves`` gives it; every boot is counted."""

    def __init__(self, behaves: dict[str, str]) -> None:
        self.behaves = behaves
        self.boots: list[str] = []

    def __call__(self, spec: str):
        policy = self.behaves[spec]

        @contextmanager
        def boot():
            self.boots.append(spec)

            class Guest:
                upstream = spec.split("+")[0]

                def replay(self, trace):
                    return replay(trace, policy)
            yield Guest()
        return spec, boot


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def run(specs, fake, trace=FOUR_ERAS, statfs=True):
    out = io.StringIO()
    status = timeline.timeline(list(specs), trace, out, resolver=fake, statfs=statfs)
    return status, out.getvalue()


def test_the_four_eras_are_four_groups_each_predicted_by_its_own_policy():
    fake = FakeGuests(KERNELS)
    status, text = run(KERNELS, fake)
    assert status == 0, text
    rows = [line for line in text.splitlines() if line[:1] in "ABCD" and "end " in line]
    assert [r.split()[0] for r in rows] == ["A", "B", "C", "D"]
    ends = [r.split("end ")[1].split()[0] for r in rows]
    assert ends == ["3/3/18446744073709551615/0", "3/3/1/0", "3/3/18446744073709551615/0", "3/3/0/0"]
    # each parts from the one above at the refused mmap (step 7), with its own Rsvd there
    assert [r.split("parts at step ")[1][:11] for r in rows[1:]] == ["7: 3/3/2/0 ", "7: 3/3/2/0 ", "7: 3/3/3/0 "]
    assert "DOES NOT" not in text and text.count("predicts it") == 4
    assert "+a833a693a490" in text and "+rollback-fix" in text


def test_a_second_run_is_served_from_the_cache_and_boots_nothing():
    fake = FakeGuests(KERNELS)
    first = run(KERNELS, fake)[1]
    assert fake.boots == list(KERNELS)
    again = run(KERNELS, fake)[1]
    assert fake.boots == list(KERNELS)  # no new boot
    assert again.replace("cached", "booted") == first and "cached" in again
    # another trace is another record
    run(["7.3.4+deb13-cloud-amd64"], fake, parse_trace("pool 1\nmmap a 1 shared\n"))
    assert fake.boots[-1] == "7.3.4+deb13-cloud-amd64"


def test_a_kernel_that_leaks_keeps_its_records_and_what_the_pool_kept_cached_too():
    from hugelab.model.hstate import Counters
    from hugelab.realkernel.machine import KernelLeaked

    class Leaky(FakeGuests):
        def __call__(self, spec):
            release, boot = super().__call__(spec)

            @contextmanager
            def leaking():
                with boot() as guest:
                    class Spent:
                        upstream = guest.upstream

                        def replay(self, trace):
                            leak = KernelLeaked("the pool kept 1", Counters(1, 1, 1, 1))
                            leak.steps = guest.replay(trace)
                            raise leak
                    yield Spent()
            return release, leaking

    fake = Leaky({"7.3.4+deb13-cloud-amd64": "linux-7.3.4"})
    leak = LEAK
    for _ in range(2):
        status, text = run(fake.behaves, fake, leak)
        assert status == 0 and "LEAKED 1/1/1/1 after teardown" in text and "predicts it" in text
    assert len(fake.boots) == 1


def test_a_kernel_that_parts_from_its_own_policy_is_a_finding_printed_with_the_trace():
    fake = FakeGuests({**KERNELS, "7.3.4+deb13-cloud-amd64": "linux-7.0.13"})
    status, text = run(KERNELS, fake)
    assert status == 1
    assert "FINDING: Linux 7.3.4+deb13-cloud-amd64 disagrees with its policy linux-7.3.4 from step 7" in text
    assert FOUR_ERAS.text.strip() in text
    assert "DOES NOT predict it" in text


def test_kernels_that_agree_form_one_group():
    fake = FakeGuests({"6.19.14+deb13-cloud-amd64": "linux-6.19.14", "7.0.13+deb13-cloud-amd64": "linux-7.0.13"})
    status, text = run(fake.behaves, fake)
    assert status == 0 and "same as above" in text
    assert "  A: 6.19.14+deb13-cloud-amd64, 7.0.13+deb13-cloud-amd64" in text


def test_a_cache_record_another_user_could_write_is_refused_in_one_line():
    fake = FakeGuests(KERNELS)
    run(["7.3.4+deb13-cloud-amd64"], fake)
    folder = os.path.join(os.environ["XDG_CACHE_HOME"], "hugelab", "timeline")
    (name,) = os.listdir(folder)
    os.chmod(os.path.join(folder, name), 0o666)
    with pytest.raises(KernelUnavailable, match="timeline cache"):
        run(["7.3.4+deb13-cloud-amd64"], fake)


def test_this_machines_kernel_is_refused():
    with pytest.raises(KernelUnavailable, match="guests only"):
        timeline.guest_resolver("host")


def test_explain_names_the_commit_that_makes_one_kernel_another():
    out = io.StringIO()
    timeline.explain(FOUR_ERAS, "6.18.15", "7.3.4", out)
    text = out.getvalue()
    assert "+rollback-fix  makes linux-6.18.15's run linux-7.3.4's" in text
    assert "+1d3f9bb4c8af  changes the run from step 7, not into linux-7.3.4's" in text
    out = io.StringIO()
    timeline.explain(FOUR_ERAS, "6.12.118", "6.18.15", out)
    assert "+a833a693a490  makes linux-6.12.118's run linux-6.18.15's" in out.getvalue()


def test_the_command_line_says_what_it_needs_in_one_line(capsys):
    from hugelab.cli import main
    assert main(["timeline", "seed"]) == 2
    assert "--kernels" in capsys.readouterr().err
    assert main(["timeline", "seed", "--explain", "6.18.15", "nonsense"]) == 2
    assert main(["timeline", "seed", "--explain", "6.18.15", "7.3.4"]) == 0
