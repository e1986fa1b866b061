"""The explorer's widgets driven from Python, no browser: marks' data and status lines."""

import html
import math

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from hugelab.explorer import PAGE_STATES
from hugelab.widgets import SplitExplorer


def press(x, name):
    x.buttons[name].click()


def seed_by_clicks(x):
    x.size.value = 4
    press(x, "mmap")
    x.on_page_click(0)  # the learner clicks page 0 in the left chart
    for span in [(1, 2), (0, 1), (2, 4)]:
        x.range.value = span
        press(x, "munmap")


def test_the_seed_by_clicks_alone_wraps_left_and_returns_to_zero_right():
    x = SplitExplorer()
    seed_by_clicks(x)
    assert x.trace.value == "pool 8\nmmap a 4 private\ntouch a 0\nmunmap a 1 1\nmunmap a 0 1\nmunmap a 2 2\n"
    left, right = x.sides
    assert "18446744073709551610 (= -6)" in left.numbers.value
    assert "<b>Rsvd</b> 0 " in right.numbers.value
    assert "rsvd below zero: 18446744073709551610 is -6" in left.status.value
    assert "below zero" not in right.status.value
    # the chart never jumps to 1.8e19: the line stops, a labelled marker sits at the edge
    assert list(left.counters.lines.y[2][:4]) == [0, 4, 3, 0]
    assert all(math.isnan(v) for v in left.counters.lines.y[2][4:])
    assert list(left.counters.wrap_labels.text) == ["Rsvd 18446744073709551610 (= -6)"]
    assert list(left.counters.wrap_marks.x) == [5, 6]
    assert left.counters.y.max < 100
    assert list(right.counters.lines.y[2]) == [0, 4, 3, 2, 2, 0]
    assert len(right.counters.wrap_labels.text) == 0


def test_arithmetic_for_every_close_on_both_sides():
    x = SplitExplorer()
    seed_by_clicks(x)
    left, right = x.sides
    assert left.arithmetic.value.count("credit = count kept in this VMA (copied at every split) = 3") == 3
    assert "really unused: 3 · credited back: 9 · over-credited by 6" in left.arithmetic.value
    assert "unused = (end - start) - region_count(map, start, end) = 2 - 0 = 2" in right.arithmetic.value
    assert "really unused: 3 · credited back: 3<" in right.arithmetic.value


def test_mapping_cells_boundaries_and_regions_follow_the_model():
    x = SplitExplorer()
    x.size.value = 6
    press(x, "mmap")
    x.on_page_click(2)
    x.range.value = (3, 4)
    x.prot.value = "r"
    press(x, "mprotect")
    left, right = x.sides
    expected = [PAGE_STATES.index(s) for s in ["reserved", "reserved", "faulted", "reserved", "reserved", "reserved"]]
    assert list(right.mapping.cells.color) == expected
    assert np.atleast_2d(right.mapping.boundaries.x).tolist() == [[2.5, 2.5], [3.5, 3.5]]  # splits at 3 and 4
    assert np.atleast_2d(right.mapping.regions.x).tolist() == [[1.5, 2.5]]  # consumed offset 2: region [2, 3)
    assert list(left.mapping.labels.text) == ["count 5", "count 5", "count 5"]
    assert list(right.mapping.labels.text) == ["map shared by 3"] * 3


def test_scrub_undo_and_policy_choice_keep_both_sides_in_step():
    x = SplitExplorer()
    seed_by_clicks(x)
    x.step.value = 3
    assert "<b>Rsvd</b> 3 " in x.sides[0].numbers.value and "<b>Rsvd</b> 3 " in x.sides[1].numbers.value
    assert len(x.sides[0].counters.lines.x) == 3
    x.step.value = 6
    press(x, "undo")
    assert x.explorer.cursor == 5 and x.trace.value.count("\n") == 5
    x.sides[1].choice.value = "modern"
    assert x.explorer.policies == ["double-credit", "modern"]
    assert "<b>Rsvd</b> 2 " in x.sides[1].numbers.value


def test_outcomes_show_where_they_happen_and_nothing_escapes_a_callback():
    x = SplitExplorer(pool=2)
    x.size.value = 2
    press(x, "mmap")
    x.on_page_click(0)
    press(x, "fork")
    x.on_page_click(0)  # the owner's COW finds no spare page: the child loses the page
    x.explorer.fault(0, write=False, proc="c1")
    x.refresh()
    assert "SIGBUS" in x.sides[0].status.value and "SIGBUS" in x.sides[1].status.value
    x.size.value = 9
    press(x, "mmap")
    assert "ENOMEM" in x.sides[1].status.value
    x.load_box.value = "pool 4\nmmap a 2 private\ntouch a 7\n"
    press(x, "load")
    assert "line 3: pages [7, 8) are outside mapping 'a'" in html.unescape(x.message.value)
    assert x.trace.value.endswith("mmap b 9 private\n")  # a bad load changes nothing


def test_exit_child_without_a_child_says_so():
    x = SplitExplorer()
    press(x, "exit child")
    assert "no child process to exit" in x.message.value


def test_predict_gives_immediate_feedback_aimed_at_the_misconception():
    from hugelab.predict import Question
    from hugelab.widgets import Predict

    p = Predict(Question("Free after the fault?", answer=7,
                         hints={8: "A fault takes the page out of Free."}, why="Free counts unfaulted pages."))
    p.entry.value = "8"
    p.check.click()
    assert "Not 8. A fault takes the page out of Free." in html.unescape(p.feedback.value)
    assert "#b00" in p.feedback.value
    p.entry.value = "eight"
    p.check.click()
    assert "Type a whole number" in html.unescape(p.feedback.value)
    p.entry.value = " 7 "
    p.check.click()
    assert "Right. Free counts unfaulted pages." in p.feedback.value and "#060" in p.feedback.value
    p.entry.value = "8"  # what Enter does in the browser: the value arrives, the check runs
    assert "Not 8." in html.unescape(p.feedback.value)


def test_the_widgets_pass_only_arguments_the_libraries_know():
    # traitlets only warns about an unknown argument (a font size or an axis
    # side silently ignored): make that an error here.
    import warnings

    from hugelab.predict import Question
    from hugelab.widgets import Predict

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        seed_by_clicks(SplitExplorer())
        Predict(Question("?", answer=1, hints={}, why="."))
