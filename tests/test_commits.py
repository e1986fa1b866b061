"""The commit table, policies built from commit sets, and the 2008 eras' answers from their sources."""

import re

import pytest

from hugelab import POLICIES, get_policy, replay
from hugelab.cli import main
from hugelab.model.commits import COMMITS, UnknownRelease, commits_of, find
from hugelab.model.policies.kernels import SETTINGS, missing_of, settings_of

#: the commits of the issue that must be tabled (a short name where no mainline id is confirmed)
REQUIRED = ["a1e78772", "c37f9fb1", "84afd99b", "7f09ca51", "7251ff78", "1c5ecae3", "67961f9d", "e656c7a9",
            "df7a6d1f", "mapcount-fix", "58db7c5f", "a833a693", "1d3f9bb4", "rollback-fix"]


@pytest.mark.parametrize("key", REQUIRED)
def test_every_commit_of_the_issue_is_tabled_with_what_it_changes_and_where(key):
    commit = find(key)
    assert commit.subject and commit.changes and commit.source
    assert commit.settings or commit.era or commit.features
    assert commit.mainline or commit.backports  # a release carries it


def test_ids_are_twelve_hex_digits_or_a_name_and_a_prefix_finds_one():
    for commit in COMMITS:
        assert re.fullmatch(r"[0-9a-f]{12}|[a-z]+-fix", commit.id), commit.id
    assert find("84afd99b").subject.startswith("hugetlb reservations: fix hugetlb MAP_PRIVATE")
    with pytest.raises(ValueError, match="unknown commit 'deadbeef'"):
        find("deadbeef")


@pytest.mark.parametrize("release, has, lacks", [
    ("2.6.26", [], ["a1e78772d72b"]),
    ("2.6.27", ["84afd99b8398", "7f09ca51e9f4", "7251ff78b94c"], ["1c5ecae3a93f"]),
    ("5.10.251", ["e656c7a9e596", "67961f9db8c4"], ["90e7e7f5ef3f", "df7a6d1f6405", "58db7c5fbe7d"]),
    ("6.1.190", ["90e7e7f5ef3f", "e656c7a9e596"], ["df7a6d1f6405", "58db7c5fbe7d"]),
    ("6.1.192", ["58db7c5fbe7d"], ["df7a6d1f6405"]),
    ("6.12.107", ["df7a6d1f6405", "58db7c5fbe7d"], ["mapcount-fix", "a833a693a490"]),
    ("6.12.118", ["mapcount-fix"], ["a833a693a490"]),
    ("6.18.15", ["a833a693a490"], ["1d3f9bb4c8af", "mapcount-fix"]),
    ("6.18.44", ["a833a693a490", "1d3f9bb4c8af"], ["mapcount-fix", "rollback-fix"]),
    ("6.19.14", ["1d3f9bb4c8af"], ["mapcount-fix", "rollback-fix"]),
    ("7.0.13", ["1d3f9bb4c8af"], ["mapcount-fix", "rollback-fix"]),
    ("7.3.4", ["mapcount-fix", "1d3f9bb4c8af", "rollback-fix"], []),
])
def test_a_release_carries_the_commits_its_branch_has(release, has, lacks):
    carried = commits_of(release)
    assert set(has) <= set(carried) and not set(lacks) & set(carried)


def test_why_names_mainline_or_the_backport():
    assert commits_of("6.12.118")["mapcount-fix"] == "backport 6.12.110 (8ef4eb9ff874)"
    assert commits_of("6.1.192")["58db7c5fbe7d"] == "backport 6.1.191"
    assert commits_of("7.0.13")["1d3f9bb4c8af"] == "mainline 7.0"


def test_a_release_the_table_cannot_answer_for_is_refused_in_one_line():
    with pytest.raises(UnknownRelease, match=r"covers 2\.6\.26-2\.6\.27 and 5\.10-7\.3"):
        commits_of("3.10.0")
    with pytest.raises(UnknownRelease, match=r"6\.18\.44 does not, no release is known to"):
        commits_of("6.18.60")  # the mapcount fix reached 6.18.y after 6.18.44: when is not known
    with pytest.raises(ValueError, match="hides the upstream release"):
        get_policy("linux-6.1.0-57-cloud-amd64")


def test_each_2008_era_has_the_settings_its_commits_make():
    for name in ("unreserved", "double-credit", "region-count", "linux-2.6.27"):
        policy = POLICIES[name]
        made = settings_of(policy.commits)
        assert {key: getattr(policy, key) for key in SETTINGS} == made, name
        assert policy.missing == missing_of(policy.commits)


def test_a_release_name_with_or_without_debians_suffix_is_the_same_policy():
    plain, debian = get_policy("linux-6.12.107"), get_policy("linux-6.12.107+deb12-cloud-amd64")
    assert plain.commits == debian.commits and plain.zap_restore == debian.zap_restore == "even-if-mapped-elsewhere"
    assert get_policy("linux-6.12.118").zap_restore == "if-unmapped-everywhere"


def test_the_old_names_are_the_releases_they_were_checked_on():
    for alias, release in (("linux-6.1", "6.1.192"), ("linux-6.12", "6.12.117"), ("linux-6.18", "6.18.44"),
                           ("modern", "6.18.44"), ("linux-6.18.15", "6.18.15")):
        assert POLICIES[alias].commits == get_policy(f"linux-{release}").commits, alias


def test_a_name_adds_or_drops_a_commit():
    what_if = get_policy("linux-6.18.44+rollback-fix")
    assert what_if.reserve_failure_undo == "restore-used-then-put-lent"
    assert get_policy("linux-7.3.4-rollback-fix").reserve_failure_undo == "put-lent-then-restore-used"
    # a stable branch's id names its commit: 6.12.107 with 6.12.110's fix is 6.12.118
    assert get_policy("linux-6.12.107+8ef4eb9").commits == get_policy("linux-6.12.118").commits
    with pytest.raises(ValueError, match="only \\+ID or -ID"):
        get_policy("linux-6.12.107~x")


# -- the 2008 eras give what their sources say (the issue's four cases) ------------------------
def test_case_1_any_reservation_failure_is_enomem_at_mmap():
    text = "pool 4\nmount q size=1\nfile f on q\nmmap a 2 shared file f\n"
    for policy in ("unreserved", "double-credit", "region-count", "linux-2.6.27"):
        assert replay(text, policy)[-1].error == "ENOMEM"


def test_case_2_before_7251ff78_close_keeps_the_quota_of_an_unused_private_reservation():
    text = "pool 4\nmount m size=4\nfile f on m\nmmap p 4 private file f\nmunmap p 0 4\nmmap q 4 private file f\n"
    for policy in ("double-credit", "region-count"):
        steps = replay(text, policy)
        assert steps[-2].mounts == {"m": (4, 0)} and steps[-1].error == "ENOMEM", policy
    steps = replay(text, "linux-2.6.27")
    assert steps[-2].mounts == {"m": (4, 4)} and steps[-1].ok


def test_case_3_before_7f09ca51_a_shared_fault_borrows_a_surplus_page():
    text = "pool 2\nmmap s 2 shared\ntouch s 0\n"
    assert replay(text, "region-count")[-1].error == "SIGBUS"  # no free page may be taken, no surplus allowed
    assert replay(text, "linux-2.6.27")[-1].ok
    borrowed = replay("pool 2 overcommit 1\nmmap s 2 shared\ntouch s 0\n", "region-count")[-1]
    assert str(borrowed.counters) == "3/2/2/1"  # a surplus page; the reservation stays unused


def test_case_4_the_double_credit_owners_count_underflows_into_its_flags():
    text = ("pool 2\nfile f\nmmap p 1 private file f\ntouch p 0\ntruncate f 0\ntruncate f 1\ntouch p 0\n"
            "munmap p 0 1\n")
    rsvd = [s.counters.rsvd for s in replay(text, "double-credit")]
    # the refault takes Rsvd - 1 with a count of 0: count = 2^62 - 1 with HPAGE_RESV_UNMAPPED set,
    # and the close hands all of it back
    assert rsvd[-2:] == [2**64 - 1, 2**64 - 2**62]
    # 84afd99b and 2.6.27: the owner always "has" its reservation, so the refault wraps Rsvd for good
    for policy in ("region-count", "linux-2.6.27"):
        assert [s.counters.rsvd for s in replay(text, policy)][-2:] == [2**64 - 1, 2**64 - 1]
    assert replay(text, "linux-5.10.251")[-1].counters.rsvd == 0  # 67961f9db8c4


def test_hugelab_policies_says_what_a_release_carries_and_why(capsys):
    assert main(["policies", "6.12.107+deb12-cloud-amd64"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\+ 58db7c5fbe7d\s+backport 6.12.14", out)
    assert re.search(r"- mapcount-fix\s+not carried", out)
    assert main(["policies"]) == 0
    assert "rollback-fix" in capsys.readouterr().out
    assert main(["policies", "3.10"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_before_5_18_madvise_dontneed_is_einval_on_hugetlb_and_enomem_where_nothing_is_mapped():
    # measured in a 5.10.251 guest: EINVAL from the first hugetlb VMA of the range, ENOMEM for a range
    # with no VMA at all (90e7e7f5ef3f brought MADV_DONTNEED to hugetlb in 5.18)
    text = "pool 4\nmmap m 2 private\nmunmap m 1 1\nmadvise m 0 2 dontneed\nmadvise m 1 1 dontneed\n"
    assert [s.error for s in replay(text, "linux-5.10.251")][-2:] == ["EINVAL", "ENOMEM"]
    assert [s.error for s in replay(text, "linux-6.1.192")][-2:] == ["ENOMEM", "ENOMEM"]


# -- the traces random ones miss (docs/findings.md §2, §4, §6), each kernel's own numbers ------
SUBPOOL_ROLLBACK = ("pool 3\nmount q size=4 min_size=2\nfile f1 on q\nmmap a 1 shared file f1\nmmap b 1 private\n"
                    "file f2 on q\nmmap c 2 shared file f2\nmunmap b 0 1\nmunmap a 0 1\nclose f1\nunlink f1\n"
                    "close f2\nunlink f2\numount q\n")
AVOID_RESERVE_SUBPOOL = ("pool 8\nmount q min_size=4\nfile f on q\nfallocate f 0 1\nmmap a 1 private file f\n"
                         "touch a 0\nfork c\ntouch a 0\nexit c\nmunmap a 0 1\nclose f\nunlink f\numount q\n")
FORK_UNMAP = ("pool 4 overcommit 3\nmmap m1 1 private\nmunmap m1 0 1\nmmap m2 3 private\nmadvise m2 0 2 dontneed\n"
              "touch m2 1 read\nmprotect m2 1 1 rw\nfork k1\nmunmap m2 0 3\n")
WRAP = 2**64 - 1
#: Rsvd after every step, measured in each kernel's guest (the trace run as export-c's C program)
MEASURED = {
    "subpool-rollback": {
        "before a833a693a490": ("5.10.251 6.1.190 6.1.192 6.12.107 6.12.118",
                                [0, 2, 2, 2, 3, 3, 3, 2, 2, 2, 1, 1, 1, WRAP]),
        "a833a693a490": ("6.18.15", [0, 2, 2, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1]),
        "1d3f9bb4c8af": ("6.19.14 7.0.13", [0, 2, 2, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, WRAP]),
        "the rollback fix": ("7.3.4", [0, 2, 2, 2, 3, 3, 3, 2, 2, 2, 2, 2, 2, 0]),
    },
    "avoid-reserve-subpool": {
        "before 58db7c5fbe7d": ("5.10.251 6.1.190", [0, 4, 4, 3, 3, 2, 2, 2, 3, 4, 4, 5, 1]),
        "58db7c5fbe7d": ("6.1.192 6.12.107 6.12.118 6.18.15 6.19.14 7.0.13 7.3.4",
                         [0, 4, 4, 3, 3, 2, 2, 1, 2, 3, 3, 4, 0]),
    },
    "fork-unmap": {
        "no v6.9 restore": ("5.10.251 6.1.190 6.1.192", [0, 1, 0, 3, 3, 2, 2, 2, 0]),
        "df7a6d1f6405 without the mapcount fix": ("6.12.107 6.18.15 6.19.14 7.0.13", [0, 1, 0, 3, 3, 2, 2, 2, WRAP]),
        "the mapcount fix": ("6.12.118 7.3.4", [0, 1, 0, 3, 3, 2, 2, 2, 0]),
    },
}
NAMED = {"subpool-rollback": SUBPOOL_ROLLBACK, "avoid-reserve-subpool": AVOID_RESERVE_SUBPOOL, "fork-unmap": FORK_UNMAP}


@pytest.mark.parametrize("trace, era", [(t, e) for t, eras in MEASURED.items() for e in eras])
def test_the_findings_traces_give_each_measured_kernels_own_numbers(trace, era):
    releases, rsvd = MEASURED[trace][era]
    for release in releases.split():
        assert [s.counters.rsvd for s in replay(NAMED[trace], f"linux-{release}")] == rsvd, release
