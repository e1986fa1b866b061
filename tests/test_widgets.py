"""The explorer's widgets driven from Python, no browser: marks' data and status lines."""

import html
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

import itertools

import ipywidgets as w

from hugelab.teaching.explorer import PAGE_STATES
from hugelab.widgets.charts import PLOT_WIDTH, SERIES_STYLES, nice_ticks, place_labels
from hugelab.widgets.controls import SplitExplorer

REPO = Path(__file__).resolve().parents[1]


def press(x, name):
    x.buttons[name].click()


def text(widget):
    return html.unescape(widget.value)


def caption_of(panel):
    """A mapping chart's caption: (its title, its map line or "")."""
    title, line = re.findall(r"<div[^>]*>([^<]*)</div>", panel.caption.value)
    return html.unescape(title), html.unescape(line).strip()


def codes(*states):
    return [PAGE_STATES.index(s) for s in states]


def seed_by_clicks(x):
    x.size.value = 4
    press(x, "mmap")
    x.on_page_click("a", 0)  # the learner clicks page 0 in the left chart
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
    # the chart draws a wrapped counter at its signed value: -6 below -3, never at 1.8e19
    rsvd = next(line for line in left.counters.lines if line.labels[0] == "Rsvd")
    assert list(rsvd.y) == [0, 4, 3, 0, -3, -6]
    assert left.counters.y.min < -6 < 4 < left.counters.y.max < 100
    assert list(left.counters.wrap_labels.text) == ["Rsvd 18446744073709551610 (= -6)"]
    assert list(left.counters.wrap_marks.x) == [5, 6] and list(left.counters.wrap_marks.y) == [-3, -6]
    assert list(next(line for line in right.counters.lines if line.labels[0] == "Rsvd").y) == [0, 4, 3, 2, 2, 0]
    assert len(right.counters.wrap_labels.text) == 0
    # nothing cut at the edges: half a step of room beyond the first and last step
    assert left.counters.x.min == 0.5 and left.counters.x.max == 6.5


def test_each_close_shows_its_arithmetic_on_its_side_at_the_step_that_made_it():
    x = SplitExplorer()
    seed_by_clicks(x)
    x.step.value = 4  # munmap a 1 1: the split, and the close of [1, 2)
    left, right = x.sides
    assert "close a[1, 2): credited 3, really unused 1, Rsvd 3 -> 0  \u2717 over-credited by 2" in text(left.status)
    assert "close a[1, 2): credited 1, really unused 1, Rsvd 3 -> 2" in text(right.status)
    assert "over-credited" not in right.status.value
    assert "the two sides part here" in left.status.value and "the two sides part here" in right.status.value
    assert list(left.counters.parting.x) == [4, 4] and left.counters.parting.visible  # the chart marks it too
    x.step.value = 3
    assert "the two sides part here" not in left.status.value and not left.counters.parting.visible
    # the piece that closed keeps a label at its step: what it credited
    x.step.value = 4
    assert list(left.mapping.closed.text) == ["closed: credited 3"]
    assert list(right.mapping.closed.text) == ["closed: credited 1"]


def test_arithmetic_for_every_close_on_both_sides():
    x = SplitExplorer()
    seed_by_clicks(x)
    left, right = x.sides
    assert left.arithmetic.value.count("credit = count kept in this VMA (copied at every split) = 3") == 3
    assert "really unused: 3 · credited back: 9 · over-credited by 6" in left.arithmetic.value
    assert "copied at every split) = 3  \u2717 2 more than was unused" in left.arithmetic.value  # line 4
    assert "\u2717" not in right.arithmetic.value
    assert "unused = (end - start) - region_count(map, start, end) = 2 - 0 = 2" in right.arithmetic.value
    assert "really unused: 3 · credited back: 3<" in right.arithmetic.value


def test_mapping_cells_boundaries_and_regions_follow_the_model():
    x = SplitExplorer()
    x.size.value = 6
    press(x, "mmap")
    x.on_page_click("a", 2)
    x.range.value = (3, 4)
    x.prot.value = "r"
    press(x, "mprotect")
    left, right = x.sides
    assert list(right.mapping.cells.color) == codes("reserved", "reserved", "faulted", "reserved", "reserved",
                                                    "reserved")
    assert np.atleast_2d(right.mapping.boundaries.x).tolist() == [[2.5, 2.5], [3.5, 3.5]]  # splits at 3 and 4
    assert np.atleast_2d(right.mapping.regions.x).tolist() == [[1.5, 2.5]]  # consumed offset 2: region [2, 3)
    assert list(left.mapping.labels.text) == ["count 5", "count 5", "count 5"]
    assert list(right.mapping.labels.text) == ["map shared by 3"] * 3
    assert caption_of(right.maps[0]) == ("\u25cf a (private, 6 pages) as main sees it", "map line: consumed offsets")
    # double-credit keeps a count, no map: it says so on the line where the other side names its map
    assert caption_of(left.maps[0])[1] == "no map: each piece keeps its count (label over it)"


def test_a_read_fault_after_mprotect_r_maps_the_page_and_a_write_fault_kills():
    x = SplitExplorer(policies=("region-count", "modern"))
    x.size.value = 4
    press(x, "mmap")
    x.range.value = (0, 2)
    x.prot.value = "r"
    press(x, "mprotect")
    x.access.value = "read"
    x.page.value = 1
    press(x, "fault")
    assert x.trace.value.endswith("mprotect a 0 2 r\ntouch a 1 read\n")
    for side in x.sides:
        assert "touch a 1 read: ok" in side.status.value
        assert list(side.mapping.cells.color) == codes("reserved", "faulted", "reserved", "reserved")
    x.access.value = "write"
    x.on_page_click("a", 0)  # a write to a read-only page
    assert all("touch a 0: SIGSEGV" in side.status.value for side in x.sides)
    assert all("killed by SIGSEGV at line 5" in label for label, _ in x.process.options)
    caption = text(x.sides[0].maps[0].caption)
    assert "as main sees it: main killed by SIGSEGV at line 5, nothing mapped" in caption
    assert not x.sides[0].mapping.cells.visible
    press(x, "fault")  # acting as the dead process: skipped, and it says why
    assert "skipped: process main is gone (killed by SIGSEGV at line 5)" in x.sides[0].status.value


def test_a_child_acts_after_fork_and_its_view_is_shown():
    x = SplitExplorer(pool=2, policies=("region-count", "modern"))
    x.size.value = 2
    press(x, "mmap")
    x.on_page_click("a", 0)
    press(x, "fork")
    assert "choose c1 in 'process' to act as it (main forked it)" in text(x.messages["process"])
    x.process.value = "c1"
    assert "as c1 sees it" in text(x.sides[0].maps[0].caption)
    # the child sees page 0 (shared with main since fork) and no reservation of its own
    assert list(x.sides[0].mapping.cells.color) == codes("faulted", "unreserved")
    x.on_page_click("a", 1)  # the child's fault: no reservation of its own, and no unreserved page
    assert x.trace.value.endswith("fork c1\nin c1 touch a 1\n")
    assert all("in c1 touch a 1: SIGBUS" in side.status.value for side in x.sides)
    assert "hint: no huge page was left for this fault" in x.sides[0].status.value
    assert [label for label, p in x.process.options if p == "c1"] == ["c1 (killed by SIGBUS at line 5)"]
    # the same by the fork/COW scenario: the owner's copy-on-write takes the page from the child
    x = SplitExplorer(pool=2)
    x.size.value = 2
    press(x, "mmap")
    x.on_page_click("a", 0)
    press(x, "fork")
    x.on_page_click("a", 0)  # main writes: copy-on-write with no spare page
    x.process.value = "c1"
    x.access.value = "read"
    x.on_page_click("a", 0)
    assert x.trace.value.endswith("touch a 0\nin c1 touch a 0 read\n")
    assert all("in c1 touch a 0 read: SIGBUS" in side.status.value for side in x.sides)


def test_two_mappings_at_once_each_drawn_with_its_own_map_line():
    x = SplitExplorer(policies=("double-credit", "modern"))
    x.size.value = 4
    press(x, "mmap")
    x.size.value = 3
    x.kind.value = "shared"
    press(x, "mmap")
    x.on_page_click("a", 1)  # a click on the other chart faults that mapping, and selects it
    x.on_page_click("b", 2)
    assert x.trace.value.endswith("mmap a 4 private\nmmap b 3 shared\ntouch a 1\ntouch b 2\n")
    assert x.mapping_choice.value == "b"
    for side in x.sides:
        shown = [(p.name, p.layout.display) for p in side.maps]
        assert shown[:2] == [("b", ""), ("a", "")] and shown[2][1] == "none"
        b, a = side.maps[0].chart, side.maps[1].chart
        assert list(b.cells.color) == codes("reserved", "reserved", "faulted")
        assert list(a.cells.color) == codes("reserved", "faulted", "reserved", "reserved")
        assert np.atleast_2d(b.regions.x).tolist() == [[-0.5, 2.5]]  # shared: reserved offsets [0, 3)
        assert b.regions.colors != a.regions.colors  # shared and private maps mean different things
        assert caption_of(side.maps[0]) == ("\u25cf b (shared, 3 pages) as main sees it", "map line: reserved offsets")
    x.mapping_choice.value = "a"
    assert x.sides[0].maps[0].name == "a" and x.page.max == 3 and x.range.max == 4


def test_each_side_says_what_it_keeps_over_a_private_mapping_on_one_line():
    """08's learner saw region-count's "map line: consumed offsets" over b and a blank line on the
    double-credit side: the left now says what it keeps instead, a count per piece, one line as well."""
    x = SplitExplorer()
    x.size.value = 4
    press(x, "mmap")
    left, right = (side.maps[0] for side in x.sides)
    assert caption_of(left)[1] == "no map: each piece keeps its count (label over it)"
    assert caption_of(right)[1] == "map line: consumed offsets (none yet)"
    x.on_page_click("a", 0)
    assert caption_of(left)[1] == "no map: each piece keeps its count (label over it)"
    assert caption_of(right)[1] == "map line: consumed offsets"
    press(x, "fork")
    x.process.value = "c1"  # the child's VMA keeps nothing on either side: a blank line on both
    assert caption_of(x.sides[0].maps[0])[1] == caption_of(x.sides[1].maps[0])[1] == ""


def test_noreserve_dontneed_and_exit_by_clicks():
    x = SplitExplorer(policies=("region-count", "modern"))
    x.size.value = 3
    x.noreserve.value = True
    press(x, "mmap")
    assert x.trace.value.endswith("mmap a 3 private noreserve\n")
    assert all(list(s.mapping.cells.color) == codes("unreserved", "unreserved", "unreserved") for s in x.sides)
    x.noreserve.value = False
    press(x, "mmap")
    x.on_page_click("b", 0)
    x.range.value = (0, 1)
    press(x, "dontneed")
    left, right = x.sides
    assert "madvise b 0 1 dontneed: EINVAL" in left.status.value  # not on hugetlb before 5.18
    assert "madvise b 0 1 dontneed: ok" in right.status.value
    assert next(iter(right.mapping.cells.color)) == PAGE_STATES.index("reserved")  # v6.9 gives it back
    press(x, "fork")
    x.process.value = "c1"
    press(x, "exit")
    assert x.trace.value.endswith("fork c1\nexit c1\n") and x.process.value == "c1"
    assert "c1 (exited at line 7)" in [label for label, _ in x.process.options]
    press(x, "fault")
    assert "skipped: process c1 is gone (exited at line 7)" in left.status.value


def test_history_says_where_it_is_and_what_acting_in_the_past_did():
    x = SplitExplorer()
    assert "step 1 of 1" in x.step_label.value and x.buttons["undo"].disabled
    press(x, "undo")
    assert "nothing to undo: step 1 is the pool line" in text(x.messages["history"])
    seed_by_clicks(x)
    x.step.value = 3
    assert "step 3 of 6" in x.step_label.value and "3 later steps to redo" in x.step_label.value
    assert "<b>Rsvd</b> 3 " in x.sides[0].numbers.value and "<b>Rsvd</b> 3 " in x.sides[1].numbers.value
    assert len(x.sides[0].counters.lines[0].x) == 3
    press(x, "redo")
    assert x.explorer.cursor == 4 and "step 4 of 6" in x.step_label.value
    x.range.value = (2, 3)
    press(x, "mprotect")  # acting in the past drops steps 5 and 6, and says so
    assert "step 5 of 5" in x.step_label.value
    assert "the 2 later steps (from line 5) were dropped; undo brings them back" in text(x.messages["range"])
    press(x, "undo")
    assert x.trace.value.endswith("munmap a 1 1\n") and "step 4 of 6" in x.step_label.value
    assert "the dropped steps are back" in text(x.messages["history"])
    x.step.value = 6
    press(x, "redo")
    assert "nothing to redo" in text(x.messages["history"]) and x.buttons["redo"].disabled
    x.sides[1].choice.value = "modern"
    assert x.explorer.policies == ["double-credit", "modern"]
    assert "<b>Rsvd</b> 0 " in x.sides[1].numbers.value


def test_reset_starts_a_new_history_at_line_1():
    x = SplitExplorer()
    seed_by_clicks(x)
    x.pool.value = 2
    press(x, "reset")
    assert x.trace.value == "pool 2\n" and "line 1 pool 2: ok" in x.sides[0].status.value
    assert "step 1 of 1" in x.step_label.value and x.mapping_choice.options == ()
    assert x.sides[0].maps[0].layout.display == "none"


def test_the_range_is_never_empty():
    x = SplitExplorer()
    press(x, "mmap")
    x.range.value = (2, 2)
    assert x.range.value == (2, 3)
    x.range.value = (4, 4)
    assert x.range.value == (3, 4)


def test_after_enomem_a_hint_names_the_pool_and_later_lines_say_why_they_are_skipped():
    x = SplitExplorer(pool=2)
    x.size.value = 9
    press(x, "mmap")
    status = text(x.sides[1].status)
    assert "mmap a 9 private: ENOMEM" in status
    assert "hint: the pool is too small: this mmap needs 9 pages reserved, the pool has 2 free pages" in status
    assert "mmap failed: ENOMEM, nothing mapped" in text(x.sides[1].maps[0].caption)
    assert x.sides[1].maps[0].chart.cells.visible is False  # a failed mapping draws no page
    press(x, "fault")
    assert "skipped: mapping a: its mmap failed: ENOMEM; press 'set pool'" in text(x.sides[1].status)
    x.pool.value = 16
    x.overcommit.value = 1
    press(x, "set pool")
    x.size.value = 9
    press(x, "mmap")
    assert x.trace.value == "pool 2\nmmap a 9 private\ntouch a 0\npool 16 overcommit 1\nmmap b 9 private\n"
    assert "mmap b 9 private: ok" in x.sides[1].status.value


def test_load_sets_every_control_and_its_errors_show_beside_it():
    x = SplitExplorer()
    x.load_box.value = "pool 100 overcommit 3\nmmap a 2 private\nmprotect a 0 1 none\ntouch a 1 read\n" \
                       "mmap b 7 shared noreserve\n"
    press(x, "load")
    assert (x.pool.value, x.overcommit.value) == (100, 3)
    assert (x.size.value, x.kind.value, x.noreserve.value) == (7, "shared", True)
    assert (x.prot.value, x.access.value, x.mapping_choice.value) == ("none", "read", "b")
    assert (x.page.max, x.range.max) == (6, 7)
    assert "step 5 of 5" in x.step_label.value and "loaded 5 lines" in text(x.messages["load"])
    x.load_box.value = "pool 4\nmmap a 2 private\ntouch a 7\n"
    press(x, "load")
    assert "line 3: pages [7, 8) are outside mapping 'a'" in text(x.messages["load"])
    assert x.messages["range"].value == "" and x.messages["history"].value == ""
    assert x.trace.value.endswith("mmap b 7 shared noreserve\n")  # a bad load changes nothing
    assert x.trace.disabled  # the trace so far is read-only; the load box is where a trace is edited


def test_a_huge_mapping_is_summed_up_never_drawn_page_by_page():
    x = SplitExplorer(policies=("unreserved", "region-count"))
    x.load_box.value = "pool 8\nmmap a 99999999 private\ntouch a 99999998\nmunmap a 1000 5000000\n"
    press(x, "load")
    left, right = x.sides
    assert "a (private, 99999999 pages) as main sees it: too long to draw page by page; pages by state: " \
           "1 faulted, 94999998 unreserved, 5000000 unmapped" in text(left.maps[0].caption)
    assert left.mapping.cells.visible is False and len(left.mapping.cells.x) == 1
    assert left.mapping.summary.visible and len(left.mapping.summary.x) == 3
    assert "mmap failed: ENOMEM" in text(right.maps[0].caption) and not right.mapping.summary.visible


def test_a_mapping_unmapped_whole_leaves_the_mapping_choice_and_its_chart_stays():
    """A fresh learner found 'a' still offered under 'mapping' after munmap of all of it: nothing of it is
    left to act on. It leaves the choice (the newest other mapping is chosen), its chart stays drawn with its
    closes, a child that still maps it still offers it, and undo brings it back."""
    x = SplitExplorer()
    x.load_box.value = "pool 8\nmmap a 4 private\nmmap b 2 private\nfork c\nmunmap a 1 2\n"
    press(x, "load")
    x.mapping_choice.value = "a"
    x.range.value = (0, 1)
    press(x, "munmap")
    assert [v for _label, v in x.mapping_choice.options] == ["a", "b"]  # a still has page 3
    x.range.value = (3, 4)
    press(x, "munmap")
    assert x.trace.value.endswith("munmap a 0 1\nmunmap a 3 1\n")
    assert [v for _label, v in x.mapping_choice.options] == ["b"] and x.mapping_choice.value == "b"
    assert "a" in [m.name for m in x.explorer.view(0).mappings]  # its chart and closes stay on show
    with pytest.raises(Exception, match="unmapped all of mapping a"):
        x.explorer.select("a")
    x.process.value = "c"  # the child still maps all of a
    assert [v for _label, v in x.mapping_choice.options] == ["a", "b"]
    x.process.value = "main"
    press(x, "undo")
    assert [v for _label, v in x.mapping_choice.options] == ["a", "b"]
    # the last mapping gone: nothing to choose, and acting says why
    x.load_box.value = "pool 8\nmmap a 2 private\nmunmap a 0 2\n"
    press(x, "load")
    assert x.mapping_choice.options == () and x.mapping_choice.value is None
    assert x.explorer.view(0).mappings[0].name == "a"
    with pytest.raises(Exception, match="no mapping left"):
        x.explorer.fault(0)


def test_many_mappings_draw_four_and_name_the_rest():
    lines = ["pool 100000"] + [f"mmap m{i} 512 private" for i in range(300)] + ["touch m7 3"]
    x = SplitExplorer()
    x.load_box.value = "\n".join(lines)
    press(x, "load")
    view = x.explorer.view(0)
    assert [m.name for m in view.mappings] == ["m299", "m298", "m297", "m296"]  # selected (newest), then newest
    assert len(view.more) == 296 and view.more[0] == "m295"
    assert "not drawn: m295, m294" in x.sides[0].more.value and "and 276 more" in x.sides[0].more.value
    x.mapping_choice.value = "m7"
    assert x.sides[0].maps[0].name == "m7"
    assert list(x.sides[0].mapping.cells.color)[3] == PAGE_STATES.index("faulted")


HUGE = textwrap.dedent("""
    import resource, time, tracemalloc
    from hugelab.widgets.controls import SplitExplorer
    x = SplitExplorer(policies=("double-credit", "unreserved"))  # unreserved maps it: no reservation
    x.load_box.value = "pool 8\\nmmap a 99999999 private\\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    x.buttons["load"].click()
    for page in (0, 99999998, 54321):
        x.page.value = page
        x.buttons["fault"].click()
    x.range.value = (1, 99999999)
    for action in ("mprotect", "munmap", "fork"):
        x.buttons[action].click()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    messages = [m.value for m in x.messages.values() if "hugelab-error" in m.value]
    print(json.dumps({"seconds": seconds, "peak": peak, "grown_kb": grown, "messages": messages,
                      "left": x.sides[0].status.value, "right": x.sides[1].maps[0].caption.value}))
""")


def test_loading_a_99999999_page_mapping_answers_in_under_a_second_and_50_mb():
    out = subprocess.run([sys.executable, "-c", "import json\n" + HUGE], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["seconds"] < 1.0
    assert got["peak"] < 50 * 2**20 and got["grown_kb"] < 50 * 1024
    assert not got["messages"]
    assert "line 8 fork c1: ok" in got["left"]
    assert "too long to draw page by page" in got["right"]


@pytest.mark.parametrize("pages", [1, 8, 64, 512])
def test_ticks_and_piece_labels_never_overlap_at_any_size(pages):
    x = SplitExplorer(pool=pages)
    x.size.value = pages
    press(x, "mmap")
    for start in range(1, pages, 3):  # a split every three pages: as many piece labels as can be
        x.range.value = (start, start + 1)
        press(x, "mprotect")
    for side in x.sides:
        chart = side.mapping
        ticks = list(chart.axis.tick_values)
        assert 1 <= len(ticks) <= 8 and ticks[0] == 0
        boxes = {0: [], 1: []}
        per_page = PLOT_WIDTH / pages
        rows = {1.5: 0, 2.0: 1}
        for mark in (chart.labels, chart.closed):
            for x_, y, label in zip(mark.x, mark.y, mark.text):
                if not label:
                    continue
                centre, half = (x_ + 0.5) * per_page, (len(label) * 6.6 + 6) / 2
                assert half - 1e-9 <= centre <= PLOT_WIDTH - half + 1e-9  # inside the plot
                boxes[rows[y]].append((centre - half, centre + half))
        for row in boxes.values():
            row.sort()
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(row))
        assert sum(map(len, boxes.values())) >= 1


def test_label_placement_and_ticks():
    assert nice_ticks(0, 0) == [0] and nice_ticks(0, 7) == list(range(8))
    assert nice_ticks(0, 63) == [0, 10, 20, 30, 40, 50, 60] and nice_ticks(0, 511) == [0, 100, 200, 300, 400, 500]
    assert nice_ticks(-6, 4, most=6) == [-6, -4, -2, 0, 2, 4]
    # two pieces too narrow for their text: one label per row, then the short text, then nothing
    placed = place_labels([(0, "map shared by 3", "3"), (1, "map shared by 3", "3"), (2, "map shared by 3", "3")],
                          pages=200)
    assert [(row, t) for _, row, t in placed] == [(0, "map shared by 3"), (1, "map shared by 3")]
    assert placed[0][0] == placed[1][0] == 52.5 / (PLOT_WIDTH / 200) - 0.5  # pulled inside the left edge
    # with room, the short text stands in for a long one
    placed = place_labels([(1, "count 3", "3"), (8, "count 3", "3"), (20, "count 3", "3")], pages=70, rows=1,
                          width=560)
    assert [t for _, _, t in placed] == ["count 3", "3", "count 3"]
    # the four counter lines differ in width, dash or marker: all four show when equal
    assert len({(width, dash, marker) for _, _, width, dash, marker in SERIES_STYLES}) == 4


def test_outcomes_show_where_they_happen_and_nothing_escapes_a_callback():
    x = SplitExplorer(pool=2)
    x.size.value = 2
    press(x, "mmap")
    x.on_page_click("a", 0)
    press(x, "fork")
    x.on_page_click("a", 0)  # the owner's COW finds no spare page: the child loses the page
    x.explorer.fault(0, write=False, proc="c1")
    x.refresh()
    assert "SIGBUS" in x.sides[0].status.value and "SIGBUS" in x.sides[1].status.value
    x.size.value = 9
    press(x, "mmap")
    assert "ENOMEM" in x.sides[1].status.value


def enter(p, value: str) -> None:
    """What Enter in a question's box sends: the submit first, then the value (the browser's "change" event comes
    after the keypress)."""
    p.entry._handle_custom_msg({"event": "submit"}, [])
    p.entry.value = value


def test_a_typed_number_is_judged_on_check_or_enter_never_on_leaving_the_box():
    """A typed number was judged when the box lost focus: in 09, where the first answer is final, a stray Tab made
    a partly typed number final. Only "check" or Enter judges; a value that arrives alone (Tab, a click elsewhere)
    waits for one."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import SelfTest

    questions = lessons.self_test()
    t = SelfTest(questions, lessons.SELF_WHERE)
    first = t.predicts[0]
    first.entry.value = "1"  # typed, then Tab: the value arrives, nothing is judged
    assert first.feedback.value == "" and not first.answered and not first.entry.disabled
    first.entry.value = str(questions[0].answer)  # finished typing
    first.check.click()
    assert "Right" in first.feedback.value and first.answered
    second = t.predicts[1]
    second.entry.value = "12345"
    second.entry._handle_custom_msg({"event": "submit"}, [])  # Enter on a value already here
    assert second.answered and "final" in second.feedback.value
    third = t.predicts[2]
    third.entry._handle_custom_msg({"event": "submit"}, [])  # Enter before its value arrives
    assert not third.answered
    third.entry.value = str(questions[2].answer)
    assert "Right" in third.feedback.value


def test_predict_gives_immediate_feedback_aimed_at_the_misconception():
    from hugelab.teaching.predict import Question
    from hugelab.widgets.controls import Predict

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
    assert "Right. Free counts unfaulted pages." in p.feedback.value and "#006000" in p.feedback.value
    enter(p, "8")  # Enter in the browser: the submit, then the value; the check runs on the value
    assert "Not 8." in html.unescape(p.feedback.value)


def test_predict_reveals_its_answer_only_after_the_learner_commits():
    from hugelab.teaching.predict import Question
    from hugelab.widgets.controls import Predict

    p = Predict(Question("Rsvd after the split?", answer=-6, hints={-3: "three pieces"},
                         reveal="step  op  Rsvd\n   6  munmap a 2 2  18446744073709551610 (= -6)"))
    assert p.reveal.value == "" and p.show.layout.display == "none"  # nothing of the answer on the page
    p.entry.value = "-3"
    p.check.click()
    assert "three pieces" in p.feedback.value and p.reveal.value == ""
    assert p.show.layout.display is None  # a try was made: "show answer" appears
    p.show.click()
    assert "The answer is -6, which the kernel prints as 18446744073709551610" in p.feedback.value
    assert "18446744073709551610 (= -6)" in p.reveal.value
    q = Predict(Question("?", answer=4, reveal="the table"))
    enter(q, "4")
    assert "Right." in q.feedback.value and "the table" in q.reveal.value


def test_a_why_question_is_answered_by_letter_with_its_options_written_out():
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    q = lessons.q04_why_open()
    p = Predict(q)
    options = p.body.children[1].value
    for option in q.options:  # every option in full, where it wraps: no label to cut
        assert html.escape(option.text) in options
    wrong = next(n for n in range(len(q.options)) if n != q.answer)
    p.entry.value = "abc"[wrong]
    p.check.click()
    assert q.options[wrong].hint in html.unescape(p.feedback.value) and p.reveal.value == ""
    p.entry.value = "abcd"[q.answer]
    p.check.click()
    assert "Right." in p.feedback.value and p.reveal.value
    # the explanation once, in the reveal: a learner saw it twice, in green and again below
    assert html.escape(q.why) not in p.feedback.value and html.escape(q.why) in p.reveal.value


def test_a_why_question_is_judged_on_the_letter_picked_even_when_the_check_click_arrives_first():
    """Under load the "check" click reached the kernel before the letter picked just before it, and the learner was
    told "Not b" after picking a: a toggle's value is a state update, which the browser holds while an earlier one
    of the same widget is unacknowledged, never a click. The letters are buttons now: a pick is a click, which
    reaches the kernel in the order clicked, so the check judges the letter clicked last before it."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    q = lessons.q04_why_open()
    p = Predict(q)
    assert not any(isinstance(c, w.ToggleButtons) for c in p.body.children[2].children)
    letters = p.entry.buttons
    assert all(isinstance(b, w.Button) for b in letters)  # each pick a message of its own, never held
    wrong = next(n for n in range(len(q.options)) if n != q.answer)
    letters[wrong].click()
    letters[q.answer].click()  # two picks, then the check: it judges the last
    p.check.click()
    assert "Right." in p.feedback.value and p.reveal.value


def test_a_letter_only_picks_and_check_judges_it():
    """Clicking a letter answered at once and "check" beside the letters did nothing for them (in 09 one
    exploratory click was final). A click picks a letter (shown picked); "check" judges it; "check" with none
    picked says to pick one and counts no try."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    q = lessons.q04_why_open()
    first = []
    p = Predict(q, on_first=first.append)
    wrong = next(n for n in range(len(q.options)) if n != q.answer)
    p.check.click()  # nothing picked yet
    assert "Pick a letter, then press check." in p.feedback.value and first == []
    p.entry.buttons[wrong].click()
    assert p.entry.value == "abcd"[wrong] and p.entry.buttons[wrong].button_style == "primary"
    assert "Pick a letter" in p.feedback.value and first == [] and not p.answered  # a pick answers nothing
    p.check.click()
    assert q.options[wrong].hint in html.unescape(p.feedback.value) and first == [False] and not p.reveal.value
    p.entry.buttons[q.answer].click()
    assert q.options[wrong].hint in html.unescape(p.feedback.value)  # still the last check's word
    assert [b.button_style for b in p.entry.buttons].count("primary") == 1
    p.check.click()
    assert "Right." in p.feedback.value and p.reveal.value


def test_show_answer_says_a_why_questions_explanation_once():
    """09's "show answer" printed a why question's explanation in the feedback and again in the reveal under it."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    q = lessons.q04_why_open()
    p = Predict(q)
    p.show.click()
    said = html.unescape(p.feedback.value + p.reveal.value)
    assert said.count(q.why) == 1 and f"The answer is {'abcd'[q.answer]})" in said


def test_a_why_questions_table_keeps_its_lines_and_its_prose_wraps():
    """A learner saw 01's, 02's and 03's why tables run together into one paragraph once explanations
    became prose: a reveal of several lines is shown line by line; one of a single line as prose."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    for q in (lessons.q01_why_enomem(), lessons.q04_why_open()):
        p = Predict(q)
        p.entry.value = "abcd"[q.answer]
        p.check.click()
        if "\n" in q.reveal:  # a table: the course's HTML table, a row of cells a row
            assert "<table class='hugelab-table'" in p.reveal.value and "white-space:normal" not in p.reveal.value
            assert p.reveal.value.count("<tr>") == len(q.reveal.splitlines()) - 1
        else:
            assert p.reveal.value.startswith("<div") and "white-space:normal" in p.reveal.value


def test_a_row_is_typed_in_one_box_and_each_wrong_field_named():
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    p = Predict(lessons.q00_row())
    assert p.entry.placeholder == "Total Free Rsvd Surp"
    enter(p, "8 4 4 0")
    assert "Free is not 4" in html.unescape(p.feedback.value) and "Total, Rsvd, Surp right" in p.feedback.value
    enter(p, "8/8/4/0")
    assert "Right, the whole row." in p.feedback.value and "Total 8" in p.reveal.value


def test_the_self_test_scores_first_answers_and_names_the_notebook_for_each_miss():
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import SelfTest

    questions = lessons.self_test()
    t = SelfTest(questions, lessons.SELF_WHERE)
    first, second = t.predicts[0], t.predicts[2]
    enter(first, str(questions[0].answer))
    enter(second, "12345")  # wrong, then right: still a miss
    enter(second, str(questions[2].answer))
    said = html.unescape(t.total.value)
    assert "Score so far: 1 of 2" in said and f"question 3: notebook {lessons.SELF_WHERE[2]}" in said
    for n, p in enumerate(t.predicts):
        if n not in (0, 2):
            p.show.layout.display = None
            p.show.click()  # giving up is a miss too
    said = html.unescape(t.total.value)
    assert f"Score: 1 of {len(questions)} right the first time." in said
    assert f"question {len(questions)}: notebook {lessons.SELF_WHERE[-1]}" in said


def test_a_self_test_answer_is_final_and_the_page_says_so():
    """A learner could check a self-test question again and again until right (the score kept the first answer,
    but the question went on answering): the first answer closes it, and the self-test says so above question 1."""
    from hugelab.teaching import lessons
    from hugelab.teaching.predict import Choice
    from hugelab.widgets.controls import SELF_TEST_RULE, SelfTest

    questions = lessons.self_test()
    t = SelfTest(questions, lessons.SELF_WHERE)
    assert SELF_TEST_RULE in html.unescape(t.children[0].value) and "final" in SELF_TEST_RULE
    first = t.predicts[0]
    assert not first.entry.disabled and not first.check.disabled
    enter(first, str(questions[0].answer + 1))  # wrong
    assert first.entry.disabled and first.check.disabled
    assert "Your answer is final" in html.unescape(first.feedback.value)
    said = html.unescape(first.feedback.value)
    first.entry.value = str(questions[0].answer)  # a value that arrives anyway changes nothing
    first.on_check()
    assert html.unescape(first.feedback.value) == said and not first.reveal.value
    assert "Score so far: 0 of 1" in html.unescape(t.total.value)
    first.show.click()  # the answer can still be read
    assert first.reveal.value and html.unescape(first.feedback.value).count("Your answer is final") == 1
    n, why = next((n, q) for n, q in enumerate(questions) if isinstance(q, Choice))
    for p in t.predicts[1:n]:
        p.show.layout.display = None
        p.show.click()  # giving up closes a question too
        assert p.entry.disabled
    picked = t.predicts[n]
    wrong = next(k for k in range(len(why.options)) if k != why.answer)
    picked.entry.buttons[wrong].click()  # a pick to look is no answer: the letter can still change
    assert not picked.entry.disabled and not picked.answered
    picked.entry.buttons[why.answer].click()
    picked.check.click()
    assert picked.entry.disabled and "Right" in picked.feedback.value
    picked.entry.buttons[wrong].click()  # final: the letter checked stays picked
    assert picked.entry.value == "abcdef"[why.answer]
    assert f"Score so far: 1 of {n + 1}" in html.unescape(t.total.value)


def test_a_question_outside_the_self_test_can_be_tried_again():
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    q = lessons.q00_row()
    p = Predict(q)
    enter(p, "1 2 3 4")
    assert not p.entry.disabled and "final" not in p.feedback.value
    enter(p, " ".join(map(str, q.answer)))
    assert "Right" in p.feedback.value


def test_the_widgets_pass_only_arguments_the_libraries_know():
    # traitlets only warns about an unknown argument (a font size or an axis
    # side silently ignored): make that an error here.
    import warnings

    from hugelab.teaching.predict import Question
    from hugelab.widgets.controls import Predict

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        seed_by_clicks(SplitExplorer())
        Predict(Question("?", answer=1, hints={}, why="."))
        from hugelab.teaching import lessons
        Predict(lessons.q00_row())
        Predict(lessons.q00_why_free())


# -- trace v2 by clicks: files, mounts, truncate ------------------------------------------------
from golden import FILE_TABLES  # noqa: E402  (measured on Linux 6.18.44)


def golden(table):
    """A file table's trace with the explorer's file name (f1), and its T/F/R/S after each line."""
    trace, rows = FILE_TABLES[table]
    return re.sub(r"\bf\b", "f1", trace.lstrip()), [r.split(":")[0] for r in rows.split()]


def counters_so_far(x, i):
    """Total/Free/Rsvd/Surp after each step on side ``i`` (as the counters chart draws them)."""
    return [str(step.counters) for step in x.explorer.sides[i].steps]


def mmap_file(x, pages, kind, offset=0):
    x.size.value, x.kind.value, x.offset.value = pages, kind, offset
    press(x, "mmap file")


def touch(x, name, page, access="write"):
    x.access.value = access
    x.on_page_click(name, page)


def unmap_all(x, name, pages):
    x.mapping_choice.value = name
    x.range.value = (0, pages)
    press(x, "munmap")


def truncate(x, pages):
    x.truncate_to.value = pages
    press(x, "truncate")


def test_table_k_by_clicks_a_shared_reservation_outlives_munmap_and_truncate_gives_it_back():
    x = SplitExplorer()
    trace, rows = golden("K file, MAP_SHARED")
    press(x, "new file")
    mmap_file(x, 4, "shared")
    touch(x, "a", 0)
    touch(x, "a", 1, "read")
    unmap_all(x, "a", 4)
    for side in x.sides:  # the mapping is gone; the file still holds the two offsets with no page
        f = side.file.chart
        assert list(f.cells.color) == codes("faulted", "faulted", "reserved", "reserved")
        assert np.atleast_2d(f.regions.x).tolist() == [[-0.5, 3.5]]  # the inode's map: [0, 4) reserved
        assert "file f1 (4 pages)" in text(side.file.caption)
        assert ">held by its name, the trace's descriptor<" in text(side.file.caption)
        assert "map line: the file's own map, offsets reserved (outlive munmap)" in text(side.file.caption)
        assert "<b>Rsvd</b> 2 " in side.numbers.value
        assert "munmap gave back nothing: f1's own map still reserves 2 offsets with no page" in text(side.status)
    press(x, "close")
    mmap_file(x, 4, "shared")
    mmap_file(x, 6, "shared")
    unmap_all(x, "b", 4)
    unmap_all(x, "c", 6)
    truncate(x, 3)
    truncate(x, 1)
    for side in x.sides:
        # region_del [1, inf) takes entries 1 and 2, one of them (page 1) with a page: 2 - 1 = 1 back
        assert ("truncate f1 to 1: hugetlb_unreserve_pages [1, \u221e) removed 2 map entries, 1 with a page "
                "(freed) -> gave back 1, Rsvd 1 -> 0") in text(side.status)
        assert list(side.file.chart.cells.color) == codes("faulted")
    press(x, "unlink")
    assert x.trace.value == trace
    for i, side in enumerate(x.sides):
        assert counters_so_far(x, i) == rows, side.choice.value
        assert "f1 evicted (nothing holds it): hugetlb_unreserve_pages [0, \u221e) removed 1 map entry, 1 with a " \
               "page (freed) -> gave back 0, Rsvd 0 -> 0" in text(side.status)
        assert ">evicted (no name, descriptor or mapping held it): pages freed, reservations given back<" \
            in text(side.file.caption)
        assert not side.file.chart.cells.visible
    assert x.file_choice.options == (("f1 (can no longer be named)", "f1"),)
    truncate(x, 0)
    assert "was unlinked and closed: it can no longer be named" in text(x.messages["truncate"])


def test_undo_and_redo_across_a_truncate_bring_its_reservations_and_arithmetic_back():
    x = SplitExplorer()
    press(x, "new file")
    mmap_file(x, 4, "shared")
    touch(x, "a", 0)
    unmap_all(x, "a", 4)
    truncate(x, 2)  # entries [2, 4) go, no page among them: 2 back (docs/measured-tables.md L's rule)
    line = "truncate f1 to 2: hugetlb_unreserve_pages [2, \u221e) removed 2 map entries, 0 with a page " \
           "(freed) -> gave back 2, Rsvd 3 -> 1"
    assert all(line in text(side.status) for side in x.sides)
    press(x, "undo")
    for side in x.sides:
        assert "<b>Rsvd</b> 3 " in side.numbers.value and "hugetlb_unreserve_pages" not in side.status.value
        assert list(side.file.chart.cells.color) == codes("faulted", "reserved", "reserved", "reserved")
    press(x, "redo")
    for side in x.sides:
        assert "<b>Rsvd</b> 1 " in side.numbers.value and line in text(side.status)
        assert list(side.file.chart.cells.color) == codes("faulted", "reserved")
    for side in x.sides:  # unmapped whole: drawn as gone, not as a live mapping, and no map line over it
        assert caption_of(side.maps[0]) == (
            "\u25cf a (shared, 4 pages of f1) as main sees it: unmapped, nothing of it is mapped any more", "")
    x.step.value = 4  # scrubbing back to before the munmap: the shared mapping is drawn again
    assert caption_of(x.sides[1].maps[0]) == ("\u25cf a (shared, 4 pages of f1) as main sees it",
                                              "map line: reserved offsets")
    x.step.value = 6
    assert x.trace.value.endswith("munmap a 0 4\ntruncate f1 2\n")


def test_table_m_by_clicks_a_private_file_mapping_consumes_in_its_own_map():
    x = SplitExplorer()
    trace, rows = golden("M private mapping of a cached file")
    press(x, "new file")
    x.size.value = 2
    mmap_file(x, 2, "shared")
    touch(x, "a", 0)
    mmap_file(x, 2, "private")
    touch(x, "b", 0, "read")
    touch(x, "b", 0)
    touch(x, "b", 1, "read")
    right = x.sides[1]
    # b's own map: both offsets consumed (green); the file's map: both reserved (brown), one page cached
    assert np.atleast_2d(right.maps[0].chart.regions.x).tolist() == [[-0.5, 1.5]]
    assert caption_of(right.maps[0]) == ("\u25cf b (private, 2 pages of f1) as main sees it",
                                         "map line: consumed offsets")
    assert list(right.file.chart.cells.color) == codes("faulted", "reserved")
    assert np.atleast_2d(right.file.chart.regions.x).tolist() == [[-0.5, 1.5]]
    unmap_all(x, "b", 2)
    unmap_all(x, "a", 2)
    press(x, "close")
    press(x, "unlink")
    assert x.trace.value == trace.replace("mmap s", "mmap a").replace("mmap p", "mmap b") \
        .replace("touch s", "touch a").replace("touch p", "touch b").replace("munmap p", "munmap b") \
        .replace("munmap s", "munmap a")
    for i, side in enumerate(x.sides):
        assert counters_so_far(x, i) == rows, side.choice.value


def test_the_counters_chart_draws_no_line_its_legend_does_not_name():
    """03's chart showed a grey line at y=0, as grey as Total and as long as the steps so far: no legend named it.
    Every line drawn is a counter of the legend, or the labelled line where the sides part."""
    import bqplot as bq

    x = SplitExplorer()
    seed_by_clicks(x)
    for side in x.sides:
        chart = side.counters
        drawn = [m for m in chart.figure.marks if isinstance(m, bq.Lines) and m.visible]
        named = [line for line in chart.lines if line.labels and line.labels[0] in [s[0] for s in SERIES_STYLES]]
        assert all(m in named or (m is chart.parting and chart.parting_label.visible) for m in drawn), \
            [m.colors for m in drawn if m not in named]
        assert 0 in chart.value_axis.tick_values  # the axis marks zero itself


def test_acting_one_step_back_says_the_one_dropped_step_in_the_singular():
    """A learner at step 6 of 7 read "the 1 later step (from line 7) were dropped; undo brings them back"."""
    x = SplitExplorer(files=True)
    seed_by_clicks(x)
    x.step.value = 5
    press(x, "mmap")
    assert text(x.messages["mmap"]).endswith(
        "you acted at step 5 of 6: the later step (line 6) was dropped; undo brings it back</div>")
    press(x, "undo")
    x.step.value = 5
    press(x, "mount")
    assert "mounted mnt1: 'new file' now makes its files on mnt1 (the later step (line 6) was dropped; undo brings " \
           "it back)" in text(x.messages["file"])
    x.step.value = 3
    press(x, "mount")
    assert "(the 3 later steps (from line 4) were dropped; undo brings them back)" in text(x.messages["file"])


def test_a_mount_with_size_caps_what_its_files_reserve_and_a_mapping_at_an_offset():
    x = SplitExplorer(policies=("region-count", "modern"))
    x.mount_size.value = 3
    press(x, "mount")
    assert "mounted mnt1" in text(x.messages["file"]) and x.mount_choice.value == "mnt1"
    press(x, "new file")
    mmap_file(x, 4, "shared")  # 4 > size=3: refused, ENOMEM in 2008 as today
    assert "mmap a 4 shared file f1: ENOMEM" in x.sides[0].status.value
    assert "mmap a 4 shared file f1: ENOMEM" in x.sides[1].status.value
    for side in x.sides:  # the mount's size is to blame, not the pool (8 free)
        assert "the mount is too small: mnt1's size=3 caps what its files reserve and hold (3 free); " \
               "this mmap needs 4." in text(side.status)
    # why the errno is not the quota's
    for side in x.sides:
        assert "hint: ENOMEM: mmap says it for a full mount too, in every era" in text(side.status)
    mmap_file(x, 2, "shared", offset=1)
    for side in x.sides:
        assert "mmap b 2 shared file f1 offset 1: ok" in side.status.value
        assert "file f1 (3 pages, on mnt1 (size=3: 1 free))" in text(side.file.caption)
        assert list(side.file.chart.cells.color) == codes("unreserved", "reserved", "reserved")
        assert "b (shared, 2 pages of f1 from page 1)" in text(side.maps[0].caption)
        assert list(side.maps[0].chart.cells.color) == codes("reserved", "reserved")
    touch(x, "b", 1)  # file page 2
    assert list(x.sides[1].file.chart.cells.color) == codes("unreserved", "reserved", "faulted")
    press(x, "umount")
    assert all("umount mnt1: EBUSY" in side.status.value for side in x.sides)
    assert x.trace.value == ("pool 8\nmount mnt1 size=3\nfile f1 on mnt1\nmmap a 4 shared file f1\n"
                             "mmap b 2 shared file f1 offset 1\ntouch b 1\numount mnt1\n")
    x.mount_choice.value = ""
    press(x, "umount")
    assert "choose a mount in 'on' first" in text(x.messages["file"])


def test_a_umount_refused_with_ebusy_keeps_mount_and_file_for_later_clicks_and_a_successful_one_takes_them():
    x = SplitExplorer(policies=("region-count", "modern"), files=True)
    x.mount_size.value = 4
    press(x, "mount")
    press(x, "new file")  # f1 on mnt1, held open by the trace
    press(x, "umount")
    for side in x.sides:  # EBUSY, and mnt1 and f1 stay: the next clicks use them
        assert "umount mnt1: EBUSY" in side.status.value
    assert ("mnt1 (size=4)", "mnt1") in x.mount_choice.options and x.mount_choice.value == "mnt1"
    assert x.file_choice.options == (("f1", "f1"),)
    mmap_file(x, 2, "shared")
    touch(x, "a", 0)
    for side in x.sides:
        assert "mmap a 2 shared file f1: ok" in side.status.value or "touch a 0: ok" in side.status.value
        assert "<b>Free</b> 7 " in side.numbers.value and "<b>Rsvd</b> 1 " in side.numbers.value
        assert "file f1 (2 pages, on mnt1 (size=4: 2 free))" in text(side.file.caption)
    press(x, "close")
    unmap_all(x, "a", 2)
    press(x, "umount")  # nothing holds mnt1 now: it goes, and f1's page with it
    for side in x.sides:
        assert "umount mnt1: ok" in side.status.value and "<b>Free</b> 8 " in side.numbers.value
    assert x.mount_choice.options == (("the trace's own", ""),) and x.mount_choice.value == ""
    assert x.file_choice.options == (("f1 (went with mnt1)", "f1"),)
    for side in x.sides:
        assert "went with mount mnt1 (its umount at line 9 succeeded)" in text(side.file.caption)
    mmap_file(x, 2, "shared")  # f1 is gone: skipped, saying which umount took it
    for side in x.sides:
        assert "mmap b 2 shared file f1: skipped: file f1 went with mount mnt1, which was unmounted at line 9" \
            in text(side.status)
    touch(x, "b", 0)
    for side in x.sides:
        assert "touch b 0: skipped: mapping b: its mmap was skipped: file f1 went with mount mnt1 (unmounted at " \
            "line 9)" in text(side.status)
    assert x.trace.value == ("pool 8\nmount mnt1 size=4\nfile f1 on mnt1\numount mnt1\nmmap a 2 shared file f1\n"
                             "touch a 0\nclose f1\nmunmap a 0 2\numount mnt1\nmmap b 2 shared file f1\n"
                             "touch b 0\n")


def test_a_2008_policy_refuses_what_its_era_lacked_in_one_line_and_nothing_changes():
    x = SplitExplorer()  # double-credit and region-count: 2.6.27's era
    x.load_box.value = "pool 8\nfile f\nfallocate f 0 2\n"
    press(x, "load")
    message = text(x.messages["load"])
    assert "hugelab-error" in message  # shown as an error, in red, beside 'load'
    assert ">line 3: fallocate on hugetlbfs came with Linux 4.3; the double-credit policy" in message
    assert "Traceback" not in message and x.trace.value == "pool 8\n"
    x.sides[0].choice.value = "modern"
    x.sides[1].choice.value = "linux-6.18"
    press(x, "load")
    assert "loaded 3 lines" in text(x.messages["load"])
    x.sides[1].choice.value = "region-count"  # this history has a fallocate: refused, the menu goes back
    assert "fallocate on hugetlbfs came with Linux 4.3; the region-count policy" in text(x.messages["history"])
    assert x.sides[1].choice.value == "linux-6.18" and x.explorer.policies == ["modern", "linux-6.18"]
    x.explorer.set_policy(1, "modern")
    with pytest.raises(ValueError, match=r"min_size= came with Linux 4\.1"):  # a click never makes min_size
        SplitExplorer().explorer.do("mount m min_size=2")


def test_the_file_controls_show_only_when_asked_or_when_the_history_has_a_file():
    """03 and 04 teach no files: their explorer shows no mount, file or truncate row until 06 asks."""
    x = SplitExplorer()
    assert [row.layout.display for row in x.file_rows] == ["none"] * 3
    assert {b for row in x.file_rows for b in row.children} >= {x.buttons["mount"], x.buttons["mmap file"],
                                                                 x.buttons["truncate"], x.buttons["unlink"]}
    x.load_box.value = "pool 8\nfile f\nmmap a 2 shared file f\n"
    press(x, "load")  # a loaded trace with a file: its controls appear
    assert [row.layout.display for row in x.file_rows] == [""] * 3
    assert all(row.layout.display == "" for row in SplitExplorer(files=True).file_rows)


def test_the_status_box_grows_with_its_text_the_same_on_both_sides():
    """03's seed by clicks: the left side says more (over-credit, the two sides part); both boxes take
    its height, so no line is cut and the charts below stay in line."""
    x = SplitExplorer()
    press(x, "mmap")
    touch(x, "a", 0)
    x.range.value = (1, 2)
    press(x, "munmap")
    left, right = x.sides
    assert left.status.layout.height == right.status.layout.height
    assert int(left.status.layout.height.removesuffix("px")) >= left.status_lines * 20 >= 5 * 20
    x.load_box.value = "pool 1\n" + "mmap a 4 private\n" * 1
    press(x, "load")  # short again: back to the least height
    assert left.status.layout.height == right.status.layout.height == "118px"


def test_a_lost_reservations_sigbus_points_at_the_lost_promise_not_at_the_pool():
    from hugelab.scenarios import load
    from hugelab.teaching.explorer import Explorer

    x = Explorer(("double-credit", "region-count"))
    x.load(load("lost-reservation"))
    assert "reservation was lost" in x.view(0).hint and "raise pool" not in x.view(0).hint
    short = Explorer(("unreserved", "modern"))  # no reservation at all: the pool was too small
    short.load("pool 2\nmmap a 4 private\ntouch a 0\ntouch a 1\ntouch a 2\n")
    assert "raise pool" in short.view(0).hint


def test_a_mapping_gone_with_its_process_keeps_whole_page_ticks():
    """bqplot given no tick values picks its own, at half pages: '-1 0 1 1 2 2 3 3 4' after main exits."""
    x = SplitExplorer(pool=8)
    x.size.value = 4
    press(x, "mmap")
    press(x, "fork")
    x.process.value = "c1"
    press(x, "exit")
    x.process.value = "main"
    press(x, "exit")
    for side in x.sides:
        ticks = list(side.mapping.axis.tick_values)
        assert ticks and all(int(t) == t >= 0 for t in ticks), ticks


def test_a_question_asked_after_another_opens_once_that_one_is_answered():
    """00's second question says 'Free still counts every page of the pool': on screen beside the first,
    it would answer it."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    first = Predict(lessons.q00_row())
    second = Predict(lessons.q00_why_free(), after=first)
    assert second.body.layout.display == "none" and second.waiting.layout.display is None
    enter(first, "1 2 3 4")  # a try opens it, right or wrong
    assert second.body.layout.display is None and second.waiting.layout.display == "none"


def test_three_chained_questions_show_one_waiting_line_under_the_first_open_one():
    """00 asks three in a row: both closed questions said 'The next question opens once you have answered the one
    above', the same sentence twice, stacked. Only the question right under the open one says it."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import Predict

    first = Predict(lessons.q00_row())
    second = Predict(lessons.q00_why_free(), after=first)
    third = Predict(lessons.q00_why_touch(), after=second)
    shown = lambda: [p.waiting.layout.display != "none" for p in (first, second, third)]  # noqa: E731
    opened = lambda: [p.body.layout.display != "none" for p in (first, second, third)]  # noqa: E731
    assert shown() == [False, True, False] and opened() == [True, False, False]
    enter(first, "1 2 3 4")
    assert shown() == [False, False, True] and opened() == [True, True, False]
    second.entry.value = "a"
    assert shown() == [False, False, True] and opened() == [True, True, False]  # a pick is no answer yet
    second.check.click()
    assert shown() == [False, False, False] and opened() == [True, True, True]


def test_a_questions_words_feedback_and_explanation_are_prose_that_wraps_between_words():
    """A fresh learner at 1068 px saw a why question's explanation in monospace, broken mid-word ("so it is th" /
    "e one"), and a wrapped prompt leave "5)?" alone under a widget's 28 px line gap."""
    from hugelab.teaching import lessons
    from hugelab.widgets.controls import PROSE, Predict

    q = lessons.q05_why_cow()
    p = Predict(q)
    prompt, options = p.body.children[0].value, p.body.children[1].value
    assert f"style='{PROSE}'" in prompt and options.count(PROSE) == len(q.options)
    assert "line-height:1.45" in PROSE and "word-break:normal" in PROSE and "overflow-wrap:normal" in PROSE
    p.entry.value = "abcd"[q.answer]
    p.check.click()
    for shown in (p.feedback.value, p.reveal.value):
        assert shown.startswith("<div ") and PROSE in shown and "<pre" not in shown
    t = Predict(lessons.q05_owner_unmaps())
    enter(t, "-1")
    # a table is an HTML table (a row one line at 1068 px), the asked step's line a line of its own, kept whole
    assert "<table class='hugelab-table'" in t.reveal.value and "word-break:normal" in t.reveal.value
    assert "HugePages_Rsvd = 2\u2076\u2074\u22121</div>" in t.reveal.value  # the short form, its key under it
    assert "2\u2076\u2074\u22121: the kernel prints 18446744073709551615 (= -1)" in t.reveal.value
    assert PROSE in t.feedback.value


def test_quoted_trace_lines_in_folds_and_feedback_show_as_code_not_backticks():
    """08's truncate fold showed `truncate f 0`, `close` and `unlink` with their backticks (its HTML is not
    markdown); 00's hints did the same."""
    from hugelab.teaching import lessons
    from hugelab.teaching.notebook import Folded
    from hugelab.teaching.predict import Question
    from hugelab.widgets.controls import Predict

    fold = Folded("table", "open", why=lessons.WHY["truncate"])._repr_html_()
    assert "<code>truncate f 0</code>" in fold and "<code>unlink</code>" in fold and "`" not in fold
    assert "`truncate f 0`" in repr(Folded("table", "open", why=lessons.WHY["truncate"]))  # the plain form as written
    p = Predict(Question("Total?", answer=8, hints={12: "the pool is what `pool 8` set."}))
    enter(p, "12")
    assert "<code>pool 8</code>" in p.feedback.value and "`" not in p.feedback.value
    p.show.click()
    assert "`" not in p.feedback.value
    assert "a &lt;b&gt; `c" in Folded("", "", why="a <b> `c")._repr_html_()  # an odd backtick stays as it is


def test_the_counters_line_keeps_each_counter_whole_and_both_sides_take_the_longer_ones_height():
    """Once Rsvd wrapped, 'Rsvd 18446744073709551610 (= -6) Surp 0' wrapped onto a second line that a one-line box
    drew over the step log under it (1068 px)."""
    x = SplitExplorer()
    x.load_box.value = (REPO / "hugelab" / "scenarios" / "seed.trace").read_text()
    press(x, "load")
    left, right = x.sides
    assert "18446744073709551610 (= -6)" in left.numbers.value  # double-credit wrapped; region-count did not
    assert "<span style='white-space:nowrap'><b>Rsvd</b> 18446744073709551610 (= -6) </span>" in left.numbers.value
    assert left.numbers.layout.height == right.numbers.layout.height
    assert int(left.numbers.layout.height.removesuffix("px")) >= 2 * 20
    press(x, "undo")
    while x.explorer.cursor > 2:
        press(x, "undo")
    assert left.numbers.layout.height == right.numbers.layout.height == "28px"  # one line again


def test_the_selected_mappings_title_mark_is_no_fold_triangle():
    x = SplitExplorer()
    press(x, "mmap")
    title = caption_of(x.sides[0].maps[0])[0]
    assert title.startswith("\u25cf ") and not title.startswith(("\u25b6", "\u25b8", "\u25ba", "\u25bc"))
