"""bqplot charts for the explorer. The only module that imports bqplot.

Each chart is built once; ``update`` changes its marks' data in place.
Pure functions (:func:`counter_series`, :func:`page_codes`,
:func:`place_labels`, :func:`nice_ticks`) compute what the marks show, so
tests check them without a browser.

Readable from 1 to 512 pages: tick labels and piece labels are thinned to
what fits the chart's width, labels are pulled inside the plot, the four
counter lines differ in width, dash and marker so that all four show when
they are equal, and a counter below zero is drawn at its signed value (the
axis goes below zero) with the value the kernel prints beside it.
"""

from __future__ import annotations

import bisect
import functools
from contextlib import ExitStack

import bqplot as bq

from ..model.hstate import show, signed
from ..model.invariants import WRAPPED
from ..teaching.explorer import PAGE_STATES, MappingView, SideView

STATE_COLOURS = {"reserved": "#f2b134", "faulted": "#3b7dd8", "unreserved": "#d9d9d9", "unmapped": "#ffffff"}
#: the resv_map line: its own colour per meaning (never the faulted cells' blue)
MAP_COLOURS = {"private": "#1b9e77", "shared": "#a6611a"}
SERIES = ("total", "free", "rsvd", "surp")
#: per counter: label, colour, stroke width, dash, marker. Drawn in this order, widest first,
#: so that four equal counters show as a grey band, green dashes, red dots and purple triangles.
SERIES_STYLES = (
    ("Total", "#888888", 8, "solid", None),
    ("Free", "#2ca02c", 4, "dashed", "square"),
    ("Rsvd", "#d62728", 2, "solid", "circle"),
    ("Surp", "#7b3fbf", 2, "dotted", "triangle-up"),
)
#: the steps drawn at most: a longer history shows its last ones
STEPS_DRAWN = 1000
#: a chart as wide as its side less the 2 px margin every widget has on each side: at "100%" the margins
#: overflow the side by 4 px, and the side shows a horizontal scrollbar (at any notebook width)
FIGURE_WIDTH = "calc(100% - 4px)"
# Each figure's margins, in pixels: named here so that the browser tests can tell a figure bqplot has laid
# out for its present size from one it has not yet (its relayout waits 300 ms after a resize).
MAPPING_MARGIN = {"top": 6, "bottom": 38, "left": 14, "right": 14}
COUNTERS_MARGIN = {"top": 12, "bottom": 38, "left": 50, "right": 14}
#: the plot width labels are placed for, in pixels: the narrowest a side's plot is drawn at, so that a wider
#: one only spreads them apart (labels keep their size while the offsets between them scale with the width).
#: A 1068 px window with the file browser open has a 740 px notebook and 276 px plots; 220 is a 640 px
#: notebook's. Placed for 380 px (a 1068 px notebook's), "count 3" ran into "closed: credited 3" (issue 25).
PLOT_WIDTH = 220
CHAR_WIDTH = 6.6  # pixels per character at 11 px


def _held(*widgets) -> ExitStack:
    """Hold every widget's updates until the block ends: one message per mark, not per trait."""
    stack = ExitStack()
    for widget in widgets:
        stack.enter_context(widget.hold_sync())
    return stack


def page_codes(view: MappingView | None) -> list[int]:
    """One colour code per page: the index of its state in PAGE_STATES."""
    return [PAGE_STATES.index(s) for s in view.states] if view else []


def nice_ticks(first: int, last: int, most: int = 8) -> list[int]:
    """Tick values in ``[first, last]``, a step of 1, 2 or 5 times a power of ten, at most ``most``."""
    span = max(last - first, 0)
    step = 1
    while span // step + 1 > most:
        for factor in (2, 5 / 2, 2):  # 1 -> 2 -> 5 -> 10 -> 20 ...
            step = int(step * factor)
            if span // step + 1 <= most:
                break
    start = -(-first // step) * step
    return list(range(start, last + 1, step))


def place_labels(wanted: list[tuple[float, str, str]], pages: int, width: float = PLOT_WIDTH,
                 rows: int = 2) -> list[tuple[float, int, str]]:
    """Place labels over a row of ``pages`` cells so that none overlaps another or the edge.

    ``wanted`` holds (centre offset, text, short text), most important
    first. Each label goes on the first of ``rows`` rows where it fits, its
    centre pulled inside the plot; failing that its short text is tried;
    failing that it is left out. Returns (centre, row, text) per placed label.
    """
    return list(_place(tuple(wanted), pages, width, rows))


@functools.lru_cache(maxsize=64)  # a click changes one mapping: the others ask the same again
def _place(wanted: tuple[tuple[float, str, str], ...], pages: int, width: float,
           rows: int) -> tuple[tuple[float, int, str], ...]:
    per_page = width / max(pages, 1)
    # per row, the placed labels' pixel spans, sorted: a new one checks its two neighbours only
    starts: list[list[float]] = [[] for _ in range(rows)]
    ends: list[list[float]] = [[] for _ in range(rows)]
    placed = []
    for centre, text, short in wanted:
        for candidate in dict.fromkeys((text, short)):
            half = (len(candidate) * CHAR_WIDTH + 6) / 2
            if not candidate or 2 * half > width:
                continue
            x = min(max((centre + 0.5) * per_page, half), width - half)  # pixels, inside the plot
            row = next((r for r in range(rows) if _free(starts[r], ends[r], x - half - 4, x + half + 4)), None)
            if row is not None:
                i = bisect.bisect(starts[row], x - half)
                starts[row].insert(i, x - half)
                ends[row].insert(i, x + half)
                placed.append((x / per_page - 0.5, row, candidate))
                break
    return tuple(placed)


def _free(starts: list[float], ends: list[float], lo: float, hi: float) -> bool:
    """Does the span [lo, hi) miss every span of one row (sorted, disjoint)?"""
    i = bisect.bisect(starts, lo)
    return (i == 0 or ends[i - 1] <= lo) and (i == len(starts) or hi <= starts[i])


def counter_series(side: SideView) -> tuple[list[int], list[list[float]], list[tuple[int, str, int]]]:
    """Steps, the four counters per step at their signed values, and the wrapped points.

    A counter that went below zero is drawn where it is (-6 below -3), not
    at 1.8e19; the point is also listed as ``(step, counter, printed value)``
    so the chart labels it with the value the kernel prints. Only the last
    :data:`STEPS_DRAWN` steps are returned.
    """
    first = max(0, len(side.steps) - STEPS_DRAWN)
    steps = list(range(first + 1, len(side.steps) + 1))
    columns = zip(*(step.counters for step in side.steps[first:]))  # one column per counter
    series: list[list[float]] = []
    wrapped: list[tuple[int, str, int]] = []
    for name, column in zip(SERIES, columns):
        if max(column) < WRAPPED:  # the common case: nothing below zero, no per-value work
            series.append([float(v) for v in column])
            continue
        series.append([float(signed(v)) for v in column])
        wrapped += [(i, name, v) for i, v in enumerate(column, start=first + 1) if v >= WRAPPED]
    wrapped.sort()
    return steps, series, wrapped


class MappingChart:
    """One mapping: a row of cells, one per huge page; VMA splits; the resv_map's regions.

    A mapping longer than ``PAGES_DRAWN`` is drawn as one bar per state
    (a summary, sized by page count); a failed one as nothing.
    """

    def __init__(self, on_page_click=None, css_class: str = "hugelab-map") -> None:
        # Bars want an ordinal scale (one band per page); the split lines,
        # map lines, labels and ticks use a linear scale over the same width,
        # -0.5 .. pages - 0.5, so that offset b - 0.5 falls exactly between
        # bands b - 1 and b. Neither scale takes padding: bqplot insets a
        # scale by its marks' half stroke (14 px for the summary's 28), and
        # did so to the linear scale only, so the ticks and lines sat 62 px
        # apart over boxes 69 px apart (issue 25).
        self.bands = bq.OrdinalScale(allow_padding=False)
        self.x = bq.LinearScale(min=-0.5, max=3.5, allow_padding=False)
        self.y = bq.LinearScale(min=0, max=2.35)
        colour = bq.OrdinalColorScale(domain=list(range(len(PAGE_STATES))),
                                      colors=[STATE_COLOURS[s] for s in PAGE_STATES])
        self.cells = bq.Bars(x=[0], y=[1], color=[3], scales={"x": self.bands, "y": self.y, "color": colour},
                             padding=0.08, stroke="#888888", tooltip=bq.Tooltip(fields=["x"], labels=["page"]))
        self.summary = bq.Lines(x=[[-1, -1]], y=[[0.5, 0.5]], scales={"x": self.x, "y": self.y},
                                colors=["#ffffff"], stroke_width=28, visible=False)
        self.boundaries = bq.Lines(x=[[-1, -1]], y=[[0, 1.25]], scales={"x": self.x, "y": self.y},
                                   colors=["black"], stroke_width=3, line_style="dashed")
        self.regions = bq.Lines(x=[[-1, -1]], y=[[1.15, 1.15]], scales={"x": self.x, "y": self.y},
                                colors=[MAP_COLOURS["private"]], stroke_width=5)
        self.labels = bq.Label(x=[0], y=[1.4], text=[""], scales={"x": self.x, "y": self.y},
                               align="middle", default_size=11, colors=["black"])
        self.closed = bq.Label(x=[0], y=[1.4], text=[""], scales={"x": self.x, "y": self.y},
                               align="middle", default_size=11, colors=["#b00000"], font_weight="bold")
        # The axis reads the linear scale: an ordinal axis labels every band whatever tick_values says.
        self.axis = bq.Axis(scale=self.x, label="page offset", label_offset="28px", tick_format="d",
                            tick_values=[0])
        # cells last: on top, so that a click on a page reaches it and not a split line
        self.figure = bq.Figure(marks=[self.summary, self.boundaries, self.regions, self.labels, self.closed,
                                       self.cells], axes=[self.axis],
                                fig_margin=dict(MAPPING_MARGIN),
                                layout={"height": "150px", "width": FIGURE_WIDTH})
        self.figure.add_class(css_class)
        self.view: MappingView | None = None
        if on_page_click is not None:
            self.cells.on_element_click(lambda mark, event: on_page_click(int(event["data"]["x"])))

    def update(self, view: MappingView | None) -> None:
        if view == self.view:
            return  # nothing changed (most clicks change one mapping of several)
        self.view = view
        pages = view.pages if view else 1
        drawn = bool(view and view.drawn)
        with _held(self.cells, self.summary, self.boundaries, self.regions, self.labels, self.closed):
            self.x.min, self.x.max = -0.5, pages - 0.5
            self.cells.visible = drawn
            # a cell narrower than a few pixels would be all outline: draw it as colour alone
            self.cells.stroke = "#888888" if pages <= 64 else None
            self.cells.padding = 0.08 if pages <= 128 else 0.0
            codes = page_codes(view) if drawn else [PAGE_STATES.index("unmapped")]
            if len(self.cells.x) != len(codes):  # the bands change with the page count only
                self.cells.x = list(range(len(codes)))
                self.cells.y = [1] * len(codes)
            self.cells.color = codes
            self._summary(view)
            self._lines(view if drawn else None)
            self._labels(view if drawn else None)
        # never an empty list: bqplot then picks its own ticks, at half pages, which tick_format 'd' prints
        # as -1 0 1 1 2 2 ... (a mapping gone with its process, or summed up per piece)
        self.axis.tick_values = nice_ticks(0, max(pages - 1, 0))

    def _summary(self, view: MappingView | None) -> None:
        """A mapping too long to draw page by page: one bar per state, as long as its page count."""
        if view is None or view.drawn or view.failed:
            self.summary.visible = False
            return
        spans, colours, start = [], [], 0
        for state, count in zip(PAGE_STATES, view.summary):
            if count:
                spans.append([start - 0.5, start + count - 0.5])
                colours.append(STATE_COLOURS[state] if state != "unmapped" else "#f4f4f4")
                start += count
        self.summary.x = spans or [[-1, -1]]
        self.summary.y = [[0.5, 0.5]] * len(self.summary.x)
        self.summary.colors = colours or ["#ffffff"]
        self.summary.visible = True

    def _lines(self, view: MappingView | None) -> None:
        # no line at all is drawn as a hidden placeholder (bqplot wants data), never off the plot
        cuts = [[b - 0.5, b - 0.5] for b in (view.boundaries if view else ())]
        self.boundaries.visible = bool(cuts)
        self.boundaries.x = cuts or [[0, 0]]
        self.boundaries.y = [[0, 1.25]] * len(self.boundaries.x)
        spans = [[f - 0.5, t - 0.5] for f, t in (view.regions if view else ())]
        self.regions.visible = bool(spans)
        self.regions.x = spans or [[0, 0]]
        self.regions.y = [[1.15, 1.15]] * len(self.regions.x)
        # a shared mapping's map is its file's: both mean "reserved"
        shared = view is not None and view.kind.startswith(("shared", "file"))
        self.regions.colors = [MAP_COLOURS["shared" if shared else "private"]]

    def _labels(self, view: MappingView | None) -> None:
        pages = view.pages if view else 1
        wanted = [((s + e - 1) / 2, note, "") for s, e, note in (view.closed if view else ())]
        wanted += [((s + e - 1) / 2, note, note.split()[-1]) for s, e, note in (view.pieces if view else ())
                   if note]
        placed = place_labels(wanted, pages)
        rows = (1.5, 2.0)  # two rows of labels, a line of text apart
        for mark, mine in ((self.closed, [p for p in placed if p[2].startswith("closed")]),
                           (self.labels, [p for p in placed if not p[2].startswith("closed")])):
            mark.visible = bool(mine)
            mine = mine or [(0.0, 0, "")]
            mark.x = [x for x, _, _ in mine]
            mark.y = [rows[row] for _, row, _ in mine]
            mark.text = [text for _, _, text in mine]


class CountersChart:
    """HugePages_Total/Free/Rsvd/Surp over the steps, at their signed values; wraps labelled."""

    def __init__(self) -> None:
        self.x = bq.LinearScale(min=0.5, max=2.5)
        self.y = bq.LinearScale(min=-1, max=1)
        scales = {"x": self.x, "y": self.y}
        # no baseline of its own at 0: the value axis always ticks 0 (its grid line), and a grey line there, as grey
        # as Total's and as short as the steps so far, read as a fifth counter no legend named (issue 25)
        self.lines = [bq.Lines(x=[1], y=[0], scales=scales, colors=[colour], stroke_width=width,
                               line_style=dash, labels=[label], **({"marker": marker, "marker_size": 28}
                                                                   if marker else {}))
                      for label, colour, width, dash, marker in SERIES_STYLES]
        self.parting = bq.Lines(x=[1, 1], y=[0, 1], scales=scales, colors=["#555555"], stroke_width=1,
                                line_style="dash_dotted", visible=False)
        self.parting_label = bq.Label(x=[1], y=[0], text=["sides part"], scales=scales, colors=["#555555"],
                                      default_size=11, align="start", x_offset=4, visible=False)
        self.wrap_marks = bq.Scatter(x=[], y=[], scales=scales, marker="triangle-down",
                                     colors=["#d62728"], default_size=90)
        self.wrap_labels = bq.Label(x=[], y=[], text=[], scales=scales, colors=["#b00000"],
                                    default_size=11, align="start", y_offset=16)
        self.step_axis = bq.Axis(scale=self.x, label="step", tick_format="d", label_offset="28px")
        self.value_axis = bq.Axis(scale=self.y, side="left", tick_format="d")
        self.figure = bq.Figure(marks=[*self.lines, self.parting, self.parting_label,
                                       self.wrap_marks, self.wrap_labels],
                                axes=[self.step_axis, self.value_axis],
                                layout={"height": "240px", "width": FIGURE_WIDTH},
                                fig_margin=dict(COUNTERS_MARGIN))
        self.figure.add_class("hugelab-counters")

    def update(self, side: SideView) -> None:
        steps, series, wrapped = counter_series(side)
        values = [v for s in series for v in s]
        low, high = min(values + [0.0]), max(values + [1.0])
        pad = max(1.0, (high - low) * 0.12)
        low_pad = pad if not wrapped else max(pad, (high - low) * 0.25)  # room for the wrap label
        first, last = steps[0], steps[-1]
        at = side.diverged_at
        parted = at is not None and first <= at <= last
        if parted:  # a line of text's room above the highest line, for "sides part" (it sat on Total)
            pad = max(pad, (high - low + low_pad) * 0.22)
        with _held(*self.lines, self.parting, self.parting_label, self.wrap_marks, self.wrap_labels):
            # half a step of room at each end: the first and last markers are never cut
            self.x.min, self.x.max = first - 0.5, max(last, first + 1) + 0.5
            self.y.min, self.y.max = low - low_pad, high + pad
            self.step_axis.tick_values = nice_ticks(first, last)
            self.value_axis.tick_values = nice_ticks(int(low), int(high), most=6)
            for line, values in zip(self.lines, series):
                line.x = steps
                line.y = values
            if parted and at is not None:
                self.parting.x, self.parting.y = [at, at], [low - low_pad, high + pad]
                self.parting_label.x, self.parting_label.y = [at], [high + pad * 0.6]
                self.parting_label.align = "end" if at > (first + last) / 2 else "start"
                self.parting_label.x_offset = -4 if at > (first + last) / 2 else 4
            self.parting.visible = self.parting_label.visible = parted
            self.wrap_marks.x = [s for s, _, _ in wrapped]
            self.wrap_marks.y = [float(signed(v)) for _, _, v in wrapped]
            latest: dict[str, tuple[int, int]] = {}
            for s, name, value in wrapped:  # one label per counter: its latest wrapped value
                latest[name] = (s, value)
            self.wrap_labels.x = [s for s, _ in latest.values()]
            self.wrap_labels.y = [float(signed(v)) for _, v in latest.values()]
            self.wrap_labels.text = [f"{name.capitalize()} {show(v)}" for name, (_, v) in latest.items()]
            # read leftwards from a marker in the right half, so the label stays inside
            right_half = all(s > (first + last) / 2 for s, _ in latest.values())
            self.wrap_labels.align = "end" if right_half else "start"
