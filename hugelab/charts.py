"""bqplot charts for the explorer. The only module that imports bqplot.

Each chart is built once; ``update`` changes its marks' data in place.
Pure functions (:func:`counter_series`, :func:`page_codes`) compute what
the marks show, so tests can check them without a browser.
"""

from __future__ import annotations

import bqplot as bq

from .explorer import PAGE_STATES, MappingView, SideView
from .hstate import show
from .invariants import WRAPPED

STATE_COLOURS = {"reserved": "#f2b134", "faulted": "#3b7dd8", "unreserved": "#d9d9d9", "unmapped": "#ffffff"}
SERIES = ("total", "free", "rsvd", "surp")
SERIES_COLOURS = ["#444444", "#2ca02c", "#d62728", "#9467bd"]


def page_codes(view: MappingView | None) -> list[int]:
    """One colour code per page: the index of its state in PAGE_STATES."""
    return [PAGE_STATES.index(s) for s in view.states] if view else []


def counter_series(side: SideView) -> tuple[list[int], list[list[float]], list[tuple[int, str, int]]]:
    """Steps, the four counters per step, and the wrapped points.

    A counter that went below zero is not drawn at 1.8e19: its line stops
    there, and the point is listed as ``(step, counter, printed value)`` so
    the chart marks it at the bottom edge with the value the kernel prints
    and what it means.
    """
    steps = list(range(1, len(side.steps) + 1))
    series: list[list[float]] = [[] for _ in SERIES]
    wrapped: list[tuple[int, str, int]] = []
    for i, step in enumerate(side.steps, start=1):
        for k, name in enumerate(SERIES):
            value = getattr(step.counters, name)
            if value >= WRAPPED:
                series[k].append(float("nan"))
                wrapped.append((i, name, value))
            else:
                series[k].append(float(value))
    return steps, series, wrapped


class MappingChart:
    """A row of cells, one per huge page; VMA boundaries; the resv_map's regions."""

    def __init__(self, on_page_click=None) -> None:
        # Bars want an ordinal scale (one band per page); the split lines and
        # regions use a linear scale over the same width, -0.5 .. pages - 0.5,
        # so that offset b - 0.5 falls exactly between bands b - 1 and b.
        self.bands = bq.OrdinalScale()
        self.x = bq.LinearScale(min=-0.5, max=3.5)
        self.y = bq.LinearScale(min=0, max=1.6)
        colour = bq.OrdinalColorScale(domain=list(range(len(PAGE_STATES))),
                                      colors=[STATE_COLOURS[s] for s in PAGE_STATES])
        self.cells = bq.Bars(x=[0], y=[1], color=[3], scales={"x": self.bands, "y": self.y, "color": colour},
                             padding=0.08, stroke="#888888", tooltip=bq.Tooltip(fields=["x"], labels=["page"]))
        self.boundaries = bq.Lines(x=[[-1, -1]], y=[[0, 1.25]], scales={"x": self.x, "y": self.y},
                                   colors=["black"], stroke_width=3, line_style="dashed")
        self.regions = bq.Lines(x=[[-1, -1]], y=[[1.4, 1.4]], scales={"x": self.x, "y": self.y},
                                colors=["#3b7dd8"], stroke_width=6)
        self.labels = bq.Label(x=[0], y=[1.1], text=[""], scales={"x": self.x, "y": self.y},
                               align="middle", default_size=12, colors=["black"])
        self.axis = bq.Axis(scale=self.bands, label="page offset")
        # cells last: on top, so that a click on a page reaches it and not a split line
        self.figure = bq.Figure(marks=[self.boundaries, self.regions, self.labels, self.cells], axes=[self.axis],
                                fig_margin={"top": 10, "bottom": 35, "left": 10, "right": 10},
                                layout={"height": "150px", "width": "100%"}, title="")
        if on_page_click is not None:
            self.cells.on_element_click(lambda mark, event: on_page_click(int(event["data"]["x"])))

    def update(self, view: MappingView | None) -> None:
        pages = view.pages if view else 1
        with self.cells.hold_sync(), self.boundaries.hold_sync(), self.regions.hold_sync(), self.labels.hold_sync():
            self.x.min, self.x.max = -0.5, pages - 0.5
            codes = page_codes(view) or [PAGE_STATES.index("unmapped")]
            self.cells.x = list(range(len(codes)))
            self.cells.y = [1] * len(codes)
            self.cells.color = codes
            cuts = [[b - 0.5, b - 0.5] for b in (view.boundaries if view else ())] or [[-1, -1]]
            self.boundaries.x = cuts
            self.boundaries.y = [[0, 1.25]] * len(cuts)
            spans = [[f - 0.5, t - 0.5] for f, t in (view.regions if view else ())] or [[-1, -1]]
            self.regions.x = spans
            self.regions.y = [[1.4, 1.4]] * len(spans)
            pieces = [(s, e, note) for s, e, note in (view.pieces if view else ()) if note] or [(-1, -1, "")]
            self.labels.x = [(s + e - 1) / 2 for s, e, _ in pieces]
            self.labels.y = [1.12] * len(pieces)
            self.labels.text = [note for _, _, note in pieces]
        step = max(1, pages // 16)  # at most 16 labelled pages
        self.axis.tick_values = list(range(0, pages, step))
        self.figure.title = f"mapping {view.name}: {pages} pages" if view else "no mapping yet"


class CountersChart:
    """HugePages_Total/Free/Rsvd/Surp over the steps; wrapped values marked at the edge."""

    def __init__(self) -> None:
        self.x = bq.LinearScale(min=1)
        self.y = bq.LinearScale(min=-1)
        self.lines = bq.Lines(x=[1], y=[[0], [0], [0], [0]], scales={"x": self.x, "y": self.y},
                              colors=SERIES_COLOURS, labels=["Total", "Free", "Rsvd", "Surp"],
                              display_legend=True, marker="circle", marker_size=16)
        self.wrap_marks = bq.Scatter(x=[], y=[], scales={"x": self.x, "y": self.y}, marker="triangle-down",
                                     colors=["#d62728"], default_size=80)
        self.wrap_labels = bq.Label(x=[], y=[], text=[], scales={"x": self.x, "y": self.y}, colors=["#d62728"],
                                    default_size=11, align="start", y_offset=-14)
        self.step_axis = bq.Axis(scale=self.x, label="step", tick_format="d")
        self.figure = bq.Figure(marks=[self.lines, self.wrap_marks, self.wrap_labels],
                                axes=[self.step_axis,
                                      bq.Axis(scale=self.y, side="left", tick_format="d")],
                                legend_location="top-right", layout={"height": "260px", "width": "100%"},
                                fig_margin={"top": 15, "bottom": 35, "left": 45, "right": 10})

    def update(self, side: SideView) -> None:
        steps, series, wrapped = counter_series(side)
        finite = [v for s in series for v in s if v == v]
        top = max(finite + [1.0])
        edge = -0.6  # wrapped values sit here: below zero, where they belong
        with self.lines.hold_sync(), self.wrap_marks.hold_sync(), self.wrap_labels.hold_sync():
            self.x.max = max(len(steps), 2)
            every = max(1, len(steps) // 10)  # whole steps only, at most about 10 ticks
            self.step_axis.tick_values = list(range(1, len(steps) + 1, every))
            self.y.min, self.y.max = -1.0, top * 1.4 + 1  # headroom for the legend
            if len(steps) == 1:  # one point would squeeze the four series into one: repeat it
                steps, series = steps * 2, [v * 2 for v in series]
            self.lines.x = steps
            self.lines.y = series
            self.wrap_marks.x = [s for s, _, _ in wrapped]
            self.wrap_marks.y = [edge] * len(wrapped)
            latest: dict[str, tuple[int, int]] = {}
            for s, name, value in wrapped:  # one label per counter: its latest wrapped value
                latest[name] = (s, value)
            self.wrap_labels.x = [s for s, _ in latest.values()]
            self.wrap_labels.y = [edge] * len(latest)
            self.wrap_labels.text = [f"{name.capitalize()} {show(v)}" for name, (_, v) in latest.items()]
            # read leftwards from a marker in the right half, so the label stays inside
            right_half = all(s > (len(steps) + 1) / 2 for s, _ in latest.values())
            self.wrap_labels.align = "end" if right_half else "start"
