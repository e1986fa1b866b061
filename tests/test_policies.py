"""Golden tests: the measured tables under modern, history under every policy."""

import pytest

from hugelab import POLICIES, replay, scenarios
from hugelab.trace.language import TraceError

from golden import SEED, SEED_FREE, SEED_RSVD, TABLES, as_rows


@pytest.mark.parametrize("table", sorted(TABLES))
def test_modern_reproduces_the_tables_measured_on_linux_6_18(table):
    trace, expected = TABLES[table]
    assert as_rows(replay(trace, "modern")) == expected


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_seed_scenario_under_every_policy(policy):
    steps = replay(SEED, policy)
    assert [s.counters.rsvd for s in steps] == SEED_RSVD[policy]
    assert [s.counters.free for s in steps] == SEED_FREE[policy]
    assert all(s.ok for s in steps)


def test_seed_closed_by_one_munmap_wraps_to_minus_six_before_the_fix_and_zero_after():
    trace = "pool 8\nmmap a 4 private\ntouch a 0\nmunmap a 1 1\nmunmap a 0 4\n"
    assert replay(trace, "double-credit")[-1].counters.rsvd == 2**64 - 6
    assert replay(trace, "region-count")[-1].counters.rsvd == 0


def test_double_credit_arithmetic_credits_the_copied_count_per_piece():
    steps = replay(SEED, "double-credit")
    credits = [c.credit for s in steps for c in s.closes]
    unused = [c.unused for s in steps for c in s.closes]
    assert credits == [3, 3, 3]  # every piece hands back the count copied at the split
    assert unused == [1, 0, 2]  # what really was unused: 3 in all


def test_region_count_arithmetic_credits_each_window_once():
    steps = replay(SEED, "region-count")
    closes = [c for s in steps for c in s.closes]
    assert [(c.start, c.end, c.credit) for c in closes] == [(1, 2, 1), (0, 1, 0), (2, 4, 2)]
    assert closes[-1].formula == "unused = (end - start) - region_count(map, start, end) = 2 - 0 = 2"


def test_lost_reservation_before_the_fix_and_enomem_after():
    trace = scenarios.load("lost-reservation")
    before, after = replay(trace, "double-credit"), replay(trace, "region-count")
    assert before[-1].error == "SIGBUS"  # main's reserved fault finds no page
    assert str(before[5].counters) == "8/7/7/0" and before[5].ok  # b could reserve 7
    assert after[5].error == "ENOMEM" and after[-1].ok


def test_unreserved_mmap_succeeds_and_the_fault_fails_long_after():
    trace = "pool 2\nmmap a 4 private\ntouch a 0\ntouch a 1\ntouch a 2\n"
    steps = replay(trace, "unreserved")
    assert [s.error for s in steps] == [None, None, None, None, "SIGBUS"]
    assert replay(trace, "modern")[1].error == "ENOMEM"


def test_historical_policies_reject_madvise_dontneed_on_hugetlb():
    trace = "pool 2\nmmap a 1 private\ntouch a 0\nmadvise a 0 1 dontneed\n"
    for policy in ("unreserved", "double-credit", "region-count"):
        assert replay(trace, policy)[-1].error == "EINVAL"
    assert replay(trace, "modern")[-1].ok


def test_before_7f09ca51_a_shared_fault_is_refused_when_every_free_page_is_reserved():
    # the case 3: vma_has_private_reserves() is 0 for shared VMAs until 7f09ca51 (v2.6.27)
    trace = "pool 2\nmmap s 2 shared\ntouch s 0\n"
    assert replay(trace, "double-credit")[-1].error == "SIGBUS"
    assert replay(trace, "region-count")[-1].error == "SIGBUS"  # 84afd99b itself still had it
    assert replay(trace, "linux-2.6.27")[-1].ok


def test_modern_wraps_rsvd_while_a_child_still_maps_an_unmapped_owner_page():
    # Found by `hugelab hunt --policy modern`, and measured on Linux 6.18 (test_kernel).
    steps = replay(scenarios.load("fork-unmap-wrap"), "modern")
    assert [s.counters.rsvd for s in steps] == [0, 2, 1, 1, 2**64 - 1, 0]


@pytest.mark.parametrize("name", scenarios.names())
def test_every_scenario_says_what_it_shows_and_replays_under_every_policy(name):
    from hugelab import parse_trace
    text = scenarios.load(name)
    assert len(scenarios.describe(name)) > 40
    from hugelab.model.policies.base import features
    needs = {features(op) for op in parse_trace(text)} - {None}
    for policy in POLICIES:
        if needs & POLICIES[policy].missing:  # a v2 feature this era did not have: one line naming it
            with pytest.raises(TraceError, match="came with Linux"):
                replay(text, policy)
            continue
        assert len(replay(text, policy)) == len(parse_trace(text))
    # under today's kernel a scenario only skips lines after a process died
    steps = replay(text, "modern")
    first_death = next((i for i, s in enumerate(steps) if s.error in ("SIGBUS", "SIGSEGV", "ENOMEM")), len(steps))
    assert all(s.error != "skipped" for s in steps[:first_death])


def model_after(text, policy):
    from hugelab import parse_trace
    from hugelab.replay import ModelReplay
    run = ModelReplay(policy)
    for op in parse_trace(text):
        run.feed(op)
    return run.model


@pytest.mark.parametrize("policy, states", [
    ("unreserved", ["faulted", "unreserved", "unreserved", "reserved"]),
    ("double-credit", ["faulted", "reserved", "reserved", "reserved"]),
    ("region-count", ["faulted", "reserved", "reserved", "reserved"]),
    ("modern", ["faulted", "reserved", "reserved", "reserved"]),
])
def test_what_a_page_looks_like_is_the_policys_answer(policy, states):
    model = model_after("pool 8\nmmap a 3 private\ntouch a 0\nmmap s 1 shared\n", policy)
    main = model.procs["main"]
    a, s = main.pieces("a")[0], main.pieces("s")[0]
    assert [model.policy.page_state(a, i) for i in range(3)] + [model.policy.page_state(s, 0)] == states


def test_one_dispatch_answers_for_shared_private_and_child_vmas():
    from hugelab.model.reservation import vma_add_reservation, vma_needs_reservation, vma_resv_map
    model = model_after("pool 8\nmmap a 2 private\nmmap s 2 shared\ntouch a 0\nfork c\n", "modern")
    owner, shared = model.procs["main"].pieces("a")[0], model.procs["main"].pieces("s")[0]
    child = model.procs["c"].pieces("a")[0]
    assert vma_resv_map(owner) is owner.private_data and vma_resv_map(shared) is shared.file.resv_map
    assert vma_resv_map(child) is None and vma_needs_reservation(child, 1) == 1  # a child never has one
    assert vma_needs_reservation(owner, 0) == 1 and vma_needs_reservation(owner, 1) == 0  # 0 consumed
    assert vma_needs_reservation(shared, 0) == 0  # the shared map holds its reservation
    vma_add_reservation(owner, 0)  # the v6.9 restore: offset 0 is reserved again
    assert vma_needs_reservation(owner, 0) == 0 and owner.private_data.regions() == []


def test_each_real_kernel_answers_when_an_unmap_restores_a_reservation_in_its_own_words():
    from hugelab.model.policies.base import ZAP_RESTORE
    said = {name: POLICIES[name].zap_restore for name in ("linux-6.1", "linux-6.12", "linux-6.18", "modern")}
    assert said == {"linux-6.1": "never", "linux-6.12": "if-unmapped-everywhere",
                    "linux-6.18": "even-if-mapped-elsewhere", "modern": "even-if-mapped-elsewhere"}
    assert set(ZAP_RESTORE) == set(said.values()) and ZAP_RESTORE["never"].startswith("never")
    # what each answer does, on the trace that tells them apart (fork, owner munmap): Rsvd after the munmap
    trace = "pool 8\nmmap a 2 private\ntouch a 0\nfork c\nmunmap a 0 2\n"
    assert [replay(trace, p)[-1].counters.rsvd for p in ("linux-6.1", "linux-6.12", "linux-6.18")] == [0, 0, 2**64 - 1]
