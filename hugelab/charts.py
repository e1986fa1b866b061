"""bqplot charts for the explorer. The only module that imports bqplot.

Each chart is built once; ``update`` changes its marks' data in place.
Pure functions (:func:`counter_series`, :func:`page_codes`) compute what
the marks show, so tests can check them without a browser.
"""

from __future__ import annotations

import bqplot as bq

from .explorer import PAGE_STATES, MappingView, SideView
from .hstate import signed
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
        self.x = bq.LinearScale(min=-0.5, max=3.5)
        self.y = bq.LinearScale(min=0, max=1.6)
        colour = bq.OrdinalColorScale(domain=list(range(len(PAGE_STATES))),
                                      colors=[STATE_COLOURS[s] for s in PAGE_STATES])
        self.cells = bq.Bars(x=[0], y=[1], color=[3], scales={"x": self.x, "y": self.y, "color": colour},
                             padding=0.08, stroke="#888888", tooltip=bq.Tooltip(fields=["x"], labels=["page"]))
        self.boundaries = bq.Lines(x=[[-1, -1]], y=[[0, 1.25]], scales={"x": self.x, "y": self.y},
                                   colors=["black"], stroke_width=3, line_style="dashed")
        self.regions = bq.Lines(x=[[-1, -1]], y=[[1.4, 1.4]], scales={"x": self.x, "y": self.y},
                                colors=["#3b7dd8"], stroke_width=6)
        self.labels = bq.Label(x=[0], y=[1.1], text=[""], scales={"x": self.x, "y": self.y},
                               align="middle", font_size=12, colors=["black"])
        axis = bq.Axis(scale=self.x, label="page offset", tick_format="d", num_ticks=8)
        self.figure = bq.Figure(marks=[self.cells, self.boundaries, self.regions, self.labels], axes=[axis],
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
                                    font_size=11, align="start", y_offset=-14)
        self.figure = bq.Figure(marks=[self.lines, self.wrap_marks, self.wrap_labels],
                                axes=[bq.Axis(scale=self.x, label="step", tick_format="d"),
                                      bq.Axis(scale=self.y, orientation="vertical", tick_format="d")],
                                legend_location="top-right", layout={"height": "260px", "width": "100%"},
                                fig_margin={"top": 15, "bottom": 35, "left": 45, "right": 10})

    def update(self, side: SideView) -> None:
        steps, series, wrapped = counter_series(side)
        finite = [v for s in series for v in s if v == v]
        top = max(finite + [1.0])
        edge = -0.6  # wrapped values sit here: below zero, where they belong
        with self.lines.hold_sync(), self.wrap_marks.hold_sync(), self.wrap_labels.hold_sync():
            self.x.max = max(len(steps), 2)
            self.y.min, self.y.max = -1.0, top + 1
            self.lines.x = steps
            self.lines.y = series
            self.wrap_marks.x = [s for s, _, _ in wrapped]
            self.wrap_marks.y = [edge] * len(wrapped)
            first: dict[tuple[str, int], int] = {}
            for s, name, value in wrapped:  # label each wrapped value once, where it first appears
                first.setdefault((name, value), s)
            self.wrap_labels.x = list(first.values())
            self.wrap_labels.y = [edge] * len(first)
            self.wrap_labels.text = [f"{name.capitalize()} {v} (= {signed(v)})" for name, v in first]
