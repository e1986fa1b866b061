"""The resv_map against a plain set of offsets, and its kernel-named calls."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from hugelab.model.resv_map import ResvMap


def test_add_coalesces_touching_regions():
    m = ResvMap()
    assert m.region_add(0, 2) == 2
    assert m.region_add(4, 6) == 2
    assert m.regions() == [(0, 2), (4, 6)]
    assert m.region_add(2, 4) == 2  # [2, 4) touches both neighbours: one region
    assert m.regions() == [(0, 6)]


def test_del_splits_a_region_and_reports_pages_removed():
    m = ResvMap()
    m.region_add(0, 8)
    assert m.region_del(3, 5) == 2
    assert m.regions() == [(0, 3), (5, 8)]
    assert m.region_del(0, 100) == 6
    assert m.regions() == []


def test_chg_counts_missing_pages_and_marks_an_add_in_progress():
    m = ResvMap()
    m.region_add(1, 3)
    assert m.region_chg(0, 4) == 2  # [0,1) and [3,4) are missing
    assert m.adds_in_progress == 1
    assert m.regions() == [(1, 3)]  # region_chg changes nothing
    m.region_abort(0, 4)
    assert m.adds_in_progress == 0


def test_count_of_half_open_windows():
    m = ResvMap()
    m.region_add(2, 5)
    assert m.region_count(0, 2) == 0  # [0, 2) stops before 2
    assert m.region_count(0, 3) == 1
    assert m.region_count(4, 10) == 1
    assert m.region_count(5, 5) == 0


ops = st.lists(st.tuples(st.sampled_from(["add", "del", "count", "chg"]),
                         st.integers(0, 40), st.integers(0, 12)), max_size=60)


# load=1 keeps runs of 1-2 regions, so nearly every call crosses, empties or
# cuts runs and uses the Fenwick tree; 64 is the default, one run here.
@settings(max_examples=400)
@given(ops, st.sampled_from([1, 2, 3, 64]))
def test_resv_map_agrees_with_a_set(sequence, load):
    m, model = ResvMap(load=load), set()
    for op, f, n in sequence:
        t = f + n
        window = set(range(f, t))
        if op == "add":
            assert m.region_add(f, t) == len(window - model)
            model |= window
        elif op == "del":
            assert m.region_del(f, t) == len(window & model)
            model -= window
        elif op == "count":
            assert m.region_count(f, t) == len(window & model)
        else:
            assert m.region_chg(f, t) == len(window - model)
            m.region_abort(f, t)
        assert m.offsets() == model
        assert len(m) == len(model)
        regions = m.regions()
        # sorted, disjoint, and never touching (coalesced)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(regions))
        assert all(f < t for f, t in regions)
        for f in range(0, 56, 5):  # prefix sums across runs, every window
            for t in range(f, 56, 7):
                assert m.region_count(f, t) == len(model & set(range(f, t)))
