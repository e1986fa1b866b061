"""Trace v2 under ``modern``: files, mounts, segments and memfd against the tables
measured on Linux 6.18 (docs/measured-tables.md, K to R, restated here), the text
rules of the v2 grammar, and what the 2008 eras say about features they lack."""

import json

import pytest

from hugelab import POLICIES, parse_trace, replay
from hugelab.trace.language import TraceError

from golden import FILE_TABLES as TABLES


def rows(steps):
    return " ".join(f"{s.counters}" + (f":{s.error}" if s.error else "") for s in steps)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_measured_file_tables(table):
    trace, expected = TABLES[table]
    assert rows(replay(trace, "modern")) == expected


def test_a_reservation_of_a_mapping_at_an_offset_is_the_files():
    steps = replay("pool 8\nfile f\nmmap a 2 shared file f offset 3\ntouch a 1\nmmap b 5 shared file f\n", "modern")
    assert rows(steps) == "8/8/0/0 8/8/0/0 8/8/2/0 8/7/1/0 8/7/4/0"  # b adds [0, 3) only


def test_memfd_shared_mapping_reserves_and_close_of_the_last_holder_frees():
    steps = replay("pool 4\nmemfd m\nmmap a 2 shared file m\ntouch a 0\nmunmap a 0 2\nclose m\n", "modern")
    assert rows(steps) == "4/4/0/0 4/4/0/0 4/4/2/0 4/3/1/0 4/3/1/0 4/4/0/0"


def test_umount_is_ebusy_while_a_file_is_open_or_mapped():
    text = ("pool 4\nmount m1 size=4\nfile f on m1\numount m1\n"  # open
            "mount m2\nfile g on m2\nmmap a 1 shared file g\nclose g\numount m2\n"  # mapped
            "mount m3\nfile h on m3\nmmap b 1 shared file h\ntouch b 0\nmunmap b 0 1\nclose h\numount m3\n")
    steps = replay(text, "modern")
    assert [s.error for s in steps if s.op.startswith("umount")] == ["EBUSY", "EBUSY", None]
    assert steps[-2].counters.free == 3 and steps[-1].counters.free == 4  # h's page went with m3


def test_a_private_mapping_cannot_madvise_remove():
    text = "pool 4\nfile f\nmmap p 2 private file f\ntouch p 0\nmadvise p 0 1 remove\n"
    assert replay(text, "modern")[-1].error == "EACCES"  # the kernel's answer; the contract's table says EINVAL


def test_statfs_is_in_the_records_once_a_sized_mount_exists():
    steps = replay("pool 4\nmount m size=3\nfile f on m\nmmap a 2 shared file f\numount m\n", "modern")
    records = [json.loads(s.to_json()) for s in steps]
    assert "mounts" not in records[0]
    assert [r["mounts"] for r in records[1:]] == [{"m": {"size": 3, "free": 3}}] * 2 + [{"m": {"size": 3, "free": 1}}] \
        + [{"m": {"size": 3, "free": 1}}]  # umount: EBUSY, the file is mapped
    assert records[-1]["error"] == "EBUSY"


def test_a_line_naming_what_failed_to_be_made_is_skipped():
    text = ("pool 1\nmount q min_size=4\nfile f on q\nmmap a 1 shared file f\ntouch a 0\n"
            "shmget s 4\nshmat s b\ntouch b 0\n")
    assert [s.error for s in replay(text, "modern")] == [None, "ENOMEM", "skipped", "skipped", "skipped", "ENOMEM",
                                                           "skipped", "skipped"]


@pytest.mark.parametrize("text, line, words", [
    ("file f\nclose f\nunlink f\ntruncate f 1\n", 4, "unlinked and closed"),
    ("memfd m\nunlink m\n", 2, "is a memfd"),
    ("memfd m\nclose m\nmmap a 1 shared file m\n", 3, "was closed"),
    ("file f on m\n", 1, "no mount 'm'"),
    ("mount m\nmount m\n", 2, "created twice"),
    ("mount m\numount m\nmount m\n", 3, "created twice"),  # a umount frees no name
    ("file f\nfile f\n", 2, "created twice"),
    ("shmget s 2\nshmget s 1\n", 2, "created twice"),
    ("shmat s a\n", 1, "no segment 's'"),
    ("in p file f\n", 1, "does not take 'in PROC'"),
    ("mount m size=2 size=3\n", 1, "given twice"),
    ("mount m bogus=1\n", 1, "size=N or min_size=K"),
    ("file f\nmmap a 1 shared file f offset\n", 2, "expected 'mmap NAME"),
    ("truncate f 1\n", 1, "no file 'f'"),
])
def test_bad_v2_text_is_rejected_with_its_line(text, line, words):
    with pytest.raises(TraceError) as caught:
        parse_trace(text)
    assert caught.value.line == line and words in str(caught.value)


UMOUNT_EBUSY = TABLES["U umount refused (EBUSY), then used"][0]
UMOUNT_SUCCEEDS = TABLES["V umount succeeded, then skipped"][0]


def test_a_umount_that_fails_keeps_its_mount_and_files_for_later_lines():
    steps = replay(UMOUNT_EBUSY, "modern")
    assert [s.error for s in steps] == [None, None, None, "EBUSY", None, None, None, None, None]
    assert rows(steps) == "8/8/0/0 8/8/0/0 8/8/0/0 8/8/0/0:EBUSY 8/8/2/0 8/7/1/0 8/7/1/0 8/7/1/0 8/8/0/0"
    assert [s.mounts for s in steps[1:]] == [{"q": (4, 4)}] * 3 + [{"q": (4, 2)}] * 4 + [{}]


def test_a_umount_that_succeeded_takes_the_mount_its_files_and_their_mappings():
    steps = replay(UMOUNT_SUCCEEDS, "modern")
    assert [s.error for s in steps] == [None] * 8 + ["skipped"] * 6 + [None]
    assert rows(steps[7:9]) == "8/8/0/0 8/8/0/0:skipped"  # the umount evicted f: its page is free again
    records = [json.loads(s.to_json()) for s in steps]
    assert all(r["mounts"] == {} for r in records[7:])  # every sized mount is gone: an empty object


def test_file_namespaces_are_separate():
    parse_trace("file x\nmount x\nshmget x 1\nmmap x 1 private\nfork x2\n")  # no error


@pytest.mark.parametrize("line, feature, version", [
    ("mount m min_size=1", "min_size", "4.1"), ("fallocate f 0 1", "fallocate", "4.3"),
    ("punch f 0 1", "hole punch", "4.3"), ("mmap a 1 shared file f\nmadvise a 0 1 remove", "MADV_REMOVE", "4.3"),
])
@pytest.mark.parametrize("policy", ["unreserved", "double-credit", "region-count"])
def test_2008_eras_reject_what_came_later_naming_the_version(policy, line, feature, version):
    with pytest.raises(TraceError) as caught:
        replay(f"pool 2\nfile f\n{line}\n", policy)
    assert feature in str(caught.value) and f"Linux {version}" in str(caught.value) and policy in str(caught.value)


@pytest.mark.parametrize("policy", ["unreserved", "double-credit", "region-count"])
def test_2008_eras_reject_memfd(policy):
    with pytest.raises(TraceError, match=r"Linux 4\.14"):
        replay("memfd m\n", policy)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_every_era_answers_for_files_truncate_and_segments(policy):
    text = "pool 4\nmount q size=3\nfile f on q\nmmap a 2 shared file f\ntouch a 0\nmmap p 2 private file f\n" \
           "touch p 1\ntruncate f 1\nshmget s 1\nshmat s b\ntouch b 0\nshmrm s\nmunmap b 0 1\nmunmap a 0 2\n" \
           "munmap p 0 2\nclose f\nunlink f\numount q\n"
    steps = replay(text, policy)
    assert steps[-1].counters.rsvd == 0 and steps[-1].counters.free == 4


def test_over_size_mmap_is_enomem_in_every_era():
    # hugetlbfs_file_mmap sets ret = -ENOMEM before hugetlb_reserve_pages, whatever refused (the case 1)
    text = "pool 4\nmount q size=1\nfile f on q\nmmap a 2 shared file f\nmmap b 2 private file f\n"
    for policy in ("unreserved", "double-credit", "region-count", "linux-2.6.27", "modern"):
        errors = [s.error for s in replay(text, policy)][-2:]
        assert errors == ["ENOMEM", None if policy == "unreserved" else "ENOMEM"], policy


def test_the_kernel_harness_refuses_min_size_before_touching_anything():
    from hugelab import scenarios
    from hugelab.realkernel import KernelUnavailable, refusal, replay_kernel
    text = scenarios.load("min-size-leak-6.18")
    assert "min_size" in refusal(parse_trace(text))
    with pytest.raises(KernelUnavailable, match="line 10: refused"):
        replay_kernel(text)  # raises before any session, lock or sysctl


def test_an_mmap_the_pool_refuses_gives_the_mount_its_charge_back():
    """Measured on 6.18.44: statfs free stays 4 after the ENOMEM (1d3f9bb4c8af's behaviour)."""
    steps = replay("pool 2\nmount q size=4\nfile f on q\nmmap a 3 shared file f\n", "modern")
    assert steps[-1].error == "ENOMEM" and steps[-1].mounts == {"q": (4, 4)}


def test_before_1d3f9bb4c8af_a_refused_mmap_leaves_the_mount_short():
    """Measured in a guest on Debian's 6.18.15: statfs free 4 -> 1; 6.18.44 (modern) keeps 4."""
    text = "mount q size=4\nfile f on q\nmmap m 3 private file f offset 4\nmmap s 2 shared file f\n"
    early, today = replay(text, "linux-6.18.15"), replay(text, "modern")
    assert early[2].error == today[2].error == "ENOMEM"
    assert early[2].mounts == {"q": (4, 1)} and today[2].mounts == {"q": (4, 4)}
    assert early[3].error == today[3].error == "ENOMEM"
    assert early[3].mounts == {"q": (4, 1)}  # 6.18.15 refuses by the mount's size now: 3 of 4 still count as used
    assert [s.counters for s in early] == [s.counters for s in today]  # the pool itself is untouched


def test_truncate_up_still_drops_what_lies_past_the_new_size():
    """Found by random v2 traces in a 6.12 guest (then on 6.18): hugetlbfs_setattr truncates whichever way."""
    text = "pool 7\nfile f1\nmmap m3 6 private\nfallocate f1 3 3\ntruncate f1 2\n"
    assert rows(replay(text, "modern")) == "7/7/0/0 7/7/0/0 7/7/6/0 7/6/6/0:ENOSPC 7/7/6/0"


def test_the_explorer_draws_a_file_mapping_at_an_offset_from_its_own_page_0():
    from hugelab.teaching.explorer import Explorer
    explorer = Explorer(("region-count", "modern"))
    explorer.load("pool 10\nfile f\nmmap s 6 shared file f\nmmap a 3 private file f offset 2\ntouch a 0\n"
                  "munmap a 1 1\ntruncate f 4\n")
    view = explorer.view(1).mappings
    private = next(m for m in view if m.name == "a")  # file pages [2, 5); page 1 (file page 3) unmapped
    assert private.states == ("faulted", "unmapped", "reserved") and private.pieces[0][:2] == (0, 1)
    shared = next(m for m in view if m.name == "s")
    assert shared.regions == ((0, 4),) and len(shared.states) == 6  # truncate f 4: entries [4, 6) went


def test_tables_show_statfs_where_two_kernels_differ_only_there():
    from hugelab.tools.tables import compare_table
    from hugelab.tools.verify import side_by_side
    text = "mount q size=4\nfile f on q\nmmap m 3 private file f\n"
    table, differ = compare_table(parse_trace(text), ["linux-6.18.15", "modern"])
    last = table.splitlines()[-1]
    assert differ == 1 and last.startswith("*") and "q: 1 free of 4" in last and "q: 4 free of 4" in last
    lines = side_by_side(replay(text, "linux-6.18.15"), replay(text, "modern")).splitlines()
    assert lines[-1].endswith("<-- differs") and "q: 1 free of 4" in lines[-1] and "q: 4 free of 4" in lines[-1]
    assert "statfs" not in compare_table(parse_trace("pool 1\nmmap a 1 private\n"), ["modern", "modern"])[0]
