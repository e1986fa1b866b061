"""The resv_map against a plain set of offsets, and its kernel-named calls.

Two maps with one API: :class:`ResvMap`, the kernel's region list walked as
the kernel walks it (the one to read), and :class:`FastResvMap`, the model's,
kept for speed. The examples run on both; random sequences hold each to a
set of offsets and the two to each other, call by call.
"""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hugelab.model.resv_map import FileRegion, ResvMap
from hugelab.model.resv_map_fast import FastResvMap, resv_map_alloc

MAPS = pytest.mark.parametrize("Map", [ResvMap, FastResvMap])


@MAPS
def test_add_coalesces_touching_regions(Map):
    m = Map()
    assert m.region_add(0, 2) == 2
    assert m.region_add(4, 6) == 2
    assert m.regions() == [(0, 2), (4, 6)]
    assert m.region_add(2, 4) == 2  # [2, 4) touches both neighbours: one region
    assert m.regions() == [(0, 6)]


@MAPS
def test_del_splits_a_region_and_reports_pages_removed(Map):
    m = Map()
    m.region_add(0, 8)
    assert m.region_del(3, 5) == 2
    assert m.regions() == [(0, 3), (5, 8)]
    assert m.region_del(0, 100) == 6
    assert m.regions() == []


@MAPS
def test_chg_counts_missing_pages_and_marks_an_add_in_progress(Map):
    m = Map()
    m.region_add(1, 3)
    assert m.region_chg(0, 4) == 2  # [0,1) and [3,4) are missing
    assert m.adds_in_progress == 1
    assert m.regions() == [(1, 3)]  # region_chg changes nothing
    m.region_abort(0, 4)
    assert m.adds_in_progress == 0


@MAPS
def test_count_of_half_open_windows(Map):
    m = Map()
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
def test_the_fast_map_agrees_with_a_set(sequence, load):
    m, model = FastResvMap(load=load), set()
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


@settings(max_examples=400)
@given(ops)
def test_the_region_list_agrees_with_a_set(sequence):
    m, model = ResvMap(), set()
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
        assert all(a.to < b.from_ for a, b in itertools.pairwise(m.entries))  # sorted, never touching
        assert all(rg.from_ < rg.to for rg in m.entries)


# the calls a fault, an mmap and a truncate make, in any order, with an add
# sometimes left announced but never made (region_chg without its add)
calls = st.lists(st.tuples(st.sampled_from(["add", "del", "count", "chg", "chg+add", "chg+abort"]),
                           st.integers(0, 60), st.integers(0, 20)), max_size=80)


@settings(max_examples=500)
@given(calls, st.sampled_from([1, 2, 3, 64]))
def test_the_fast_map_answers_as_the_region_list_does(sequence, load):
    plain, fast = ResvMap(), FastResvMap(load=load)
    for call, f, n in sequence:
        t = f + n
        for m in (plain, fast):
            assert isinstance(m, ResvMap)
        if call == "add":
            assert plain.region_add(f, t) == fast.region_add(f, t)
        elif call == "del":
            assert plain.region_del(f, t) == fast.region_del(f, t)
        elif call == "count":
            assert plain.region_count(f, t) == fast.region_count(f, t)
        elif call == "chg":
            assert plain.region_chg(f, t) == fast.region_chg(f, t)
        elif call == "chg+add":
            assert plain.region_chg(f, t) == fast.region_chg(f, t)
            assert plain.region_add(f, t) == fast.region_add(f, t)
        else:
            assert plain.region_chg(f, t) == fast.region_chg(f, t)
            plain.region_abort(f, t)
            fast.region_abort(f, t)
        assert plain.regions() == fast.regions()
        assert len(plain) == len(fast)
        assert plain.adds_in_progress == fast.adds_in_progress
        assert repr(plain) == repr(fast)


def test_the_model_makes_fast_maps_and_the_list_reads_as_the_kernels():
    assert type(resv_map_alloc()) is FastResvMap
    m = ResvMap()
    m.region_add(0, 2)
    m.region_add(4, 6)
    assert m.entries == [FileRegion(0, 2), FileRegion(4, 6)]
    assert repr(m) == "ResvMap([0, 2), [4, 6))"
