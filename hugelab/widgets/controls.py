"""ipywidgets for the explorer. The only module that imports ipywidgets.

Compound widgets are ``VBox``/``HBox`` subclasses built once; callbacks call
:class:`hugelab.teaching.explorer.Explorer` and push its views into the charts. No
exception ever escapes a callback: a bad action or a bad loaded trace shows
its message (``line N: ...``) next to the control that caused it.
"""

from __future__ import annotations

import functools
import html
import re

import ipywidgets as w

from ..model.hstate import show
from ..model.policies import POLICIES
from ..teaching.explorer import (
    MAPPINGS_DRAWN,
    PAGE_STATES,
    PAGES_DRAWN,
    Explorer,
    FileView,
    MappingView,
    Refused,
    SideView,
    arithmetic,
    dropped_steps,
)
from ..teaching.notebook import printout_html
from ..teaching.predict import Choice, Row, Score, letter
from ..teaching.walkthrough import PROSE, prose_html
from ..trace.language import Mprotect, Pool, Touch
from .charts import MAP_COLOURS, SERIES_STYLES, STATE_COLOURS, CountersChart, MappingChart

#: bqplot figures in one explorer: each side's file chart, mapping charts and counters chart
FIGURES = 2 * (MAPPINGS_DRAWN + 2)
#: the box of what a step did: its least height, its line height (px), and the characters a line holds
#: at a normal notebook's width (a ~1068 px window: each side ~360 px of 13 px text), for its height
STATUS_MIN, STATUS_LINE, STATUS_CHARS = 118, 20, 44
#: the counters line: one widget's height; a value longer than this (a wrapped "18446744073709551610 (= -6)") puts
#: each side's counters on three short lines, "Total Free" / "Rsvd" / "Surp", that fit a side at any usual width
NUMBERS_HEIGHT, LONG_VALUE = 28, 12
#: text that wraps in the explorer (legends, the closes' arithmetic): prose's line gap, not a control's 28 px
LINES = "line-height:1.45"


def _swatch(colour: str, border: str = "#888") -> str:
    return f"<span style='background:{colour};border:1px solid {border};padding:0 6px'>&nbsp;</span>"


def _item(text: str) -> str:
    """One legend entry: it may move to the next line as a whole, never break inside."""
    return f"<span class='hugelab-legend-item' style='white-space:nowrap'>{text}</span>"


LEGEND = " &nbsp; ".join(_item(text) for text in (
    *(f"{_swatch(STATE_COLOURS[s])} {label}" for s, label in zip(
        PAGE_STATES, ("reserved, not faulted", "faulted (a page is there)", "no reservation",
                      "unmapped (or past a file's end)"))),)) + "<br>" + " &nbsp; ".join(_item(text) for text in (
    "<b>- - -</b> VMA split",
    f"<span style='color:{MAP_COLOURS['private']}'><b>&#9473;&#9473;</b></span> private map: offsets "
    "whose reservation was <i>consumed</i>",
    f"<span style='color:{MAP_COLOURS['shared']}'><b>&#9473;&#9473;</b></span> shared or file map: offsets "
    "<i>reserved</i>"))

_SERIES_GLYPHS = {"solid": "&#9473;&#9473;", "dashed": "&#9549;&#9549;", "dotted": "&#9480;&#9480;"}
_MARKER_GLYPHS = {None: "", "square": "&#9632;", "circle": "&#9679;", "triangle-up": "&#9650;"}
# each entry whole: a glyph never sits on one line and its words on the next (a learner saw the "▼" alone)
COUNTER_LEGEND = " &nbsp; ".join(_item(
    f"<span style='color:{colour};{'opacity:.6;' if width > 6 else ''}font-weight:bold'>"
    f"{_SERIES_GLYPHS[dash]}{_MARKER_GLYPHS[marker]}{_SERIES_GLYPHS[dash]}</span> {label}")
    for label, colour, width, dash, marker in SERIES_STYLES) + (
    " &nbsp; " + _item("<span style='color:#d62728'>&#9660;</span> below zero:") + " drawn at its signed value, "
    "labelled with what the kernel prints")

_RED, _GREEN = "#b00000", "#006000"


# A message is a block with prose's line gap: in a widget's 28 px lines, a two-line notice beside a button was cut
# to one line and a half (a learner at 1400 px read "...(from line 7) were" and no more)
def _error(text: str) -> str:
    return f"<div class='hugelab-error' style='color:{_RED};{LINES}'>{html.escape(text)}</div>"


def _notice(text: str) -> str:
    return f"<div class='hugelab-notice' style='color:#805000;{LINES}'>{html.escape(text)}</div>" if text else ""


def guarded(where: str):
    """Run a callback; show its notice, or any problem, in the message beside control ``where``."""

    def wrap(method):
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            box = self.messages[where]
            try:
                result = method(self, *args, **kwargs)
            except ValueError as e:  # TraceError and Refused: the learner's to fix
                box.value = _error(str(e))
                return None
            except Exception as e:
                box.value = _error(f"hugelab could not do that: {e!r}")
                return None
            for other in self.messages.values():
                other.value = ""
            box.value = _notice(result) if isinstance(result, str) else ""
            return result

        return run

    return wrap


class MapPanel(w.VBox):
    """One mapping's caption and chart."""

    def __init__(self, on_page_click) -> None:
        self.caption = w.HTML()
        self.chart = MappingChart(on_page_click=lambda page: on_page_click(self.name, page))
        self.name: str | None = None
        super().__init__([self.caption, self.chart.figure], layout=w.Layout(display="none"))

    def update(self, view: MappingView | None, selected: bool) -> None:
        self.layout.display = "none" if view is None else ""
        if view is None:
            return
        self.name = view.name
        weight = "bold" if selected else "normal"
        title, line = caption(view, selected), map_line(view)
        # the title is the same on both sides, so it wraps alike; the map line (the policy's own) is one
        # short line, or a blank one: the two sides' charts stay in line
        self.caption.value = (f"<div class='hugelab-caption' style='line-height:20px'>"
                              f"<div style='font-weight:{weight}'>{html.escape(title)}</div>"
                              f"<div class='hugelab-map-line' style='font-size:12px'>"
                              f"{html.escape(line) if line else '&nbsp;'}</div></div>")
        self.chart.update(view)


class FilePanel(w.VBox):
    """The selected file's caption and chart: its inode's page cache and map."""

    def __init__(self) -> None:
        self.caption = w.HTML()
        self.chart = MappingChart(css_class="hugelab-file")
        super().__init__([self.caption, self.chart.figure], layout=w.Layout(display="none"))

    def update(self, view: FileView | None) -> None:
        self.layout.display = "none" if view is None else ""
        if view is None:
            return
        self.caption.value = "".join(
            f"<div class='hugelab-file-caption' style='line-height:20px'>{html.escape(line)}</div>"
            for line in file_caption(view))
        self.chart.update(view)


def file_caption(view: FileView) -> tuple[str, ...]:
    """What the file's chart is, in three short lines: the file; what holds it; what its map line means."""
    where = f", on {view.mount}" if view.mount else ""
    head = f"file {view.name} ({view.size} page{'s' if view.size != 1 else ''}{where})"
    if view.failed:
        return head, view.failed
    if not view.drawn:
        counts = ", ".join(f"{n} {s}" for s, n in zip(PAGE_STATES, view.summary) if n)
        return head, f"too long to draw page by page; pages by state: {counts}"
    held = f"held by {view.holders}" if view.holders else "held by nothing"
    line = "map line: the file's own map, offsets reserved (outlive munmap)"
    return head, held, line if view.regions else "its map is empty: no offset reserved"


def unmapped(view: MappingView) -> bool:
    """Is nothing of the mapping mapped any more (munmap took every page)?"""
    pages = view.summary[PAGE_STATES.index("unmapped")] if not view.drawn else view.states.count("unmapped")
    return not view.failed and view.pages > 0 and pages == view.pages


#: the selected mapping's title mark: a dot, not "\u25b6", which reads as a closed fold (a learner tried to open it)
SELECTED = "\u25cf "


def caption(view: MappingView, selected: bool) -> str:
    """What a mapping's chart is: name, kind, size, who sees it, what is not drawn (the same on both sides)."""
    of = f" of {view.file}" + (f" from page {view.offset}" if view.offset else "") if view.file else ""
    text = f"{view.name} ({view.kind}, {view.pages} pages{of}) as {view.proc} sees it"
    if selected:
        text = SELECTED + text
    if view.failed:
        return text + f": {view.failed}, nothing mapped"
    if unmapped(view):
        return text + ": unmapped, nothing of it is mapped any more"
    if not view.drawn:
        counts = ", ".join(f"{n} {s}" for s, n in zip(PAGE_STATES, view.summary) if n)
        return text + f": too long to draw page by page; pages by state: {counts}"
    return text


def map_line(view: MappingView) -> str:
    """What the policy's map line over the mapping means; with no map, what the pieces keep instead.

    One short line, so that the two sides' charts stay in line: "map line:
    consumed offsets"; "... (none yet)" for a map with no entry; "no map:
    each piece keeps its count (label over it)" where the policy keeps a
    count per piece (double-credit: the twin of the other side's map line);
    "" where nothing is kept (a child's view) or nothing is drawn.
    """
    if view.failed or not view.drawn or unmapped(view):
        return ""
    mean = view.regions_mean.split(" (")[0]
    if view.regions:
        return f"map line: {mean}"
    if view.has_map:
        return f"map line: {mean} (none yet)"
    kept = next((note.split()[0] for _, _, note in view.pieces if note), "")
    return f"no map: each piece keeps its {kept} (label over it)" if kept else ""


class PolicySide(w.VBox):
    """One policy's view: what this step did, the mappings, the counters chart, the arithmetic."""

    def __init__(self, policy: str, on_policy, on_page_click) -> None:
        self.choice = w.Dropdown(options=list(POLICIES), value=policy, description="policy",
                                 layout=w.Layout(width="260px"))
        self.choice.observe(lambda change: on_policy(change["new"]), names="value")
        self.numbers = w.HTML(layout=w.Layout(height=f"{NUMBERS_HEIGHT}px"))  # one line, or three (show_numbers)
        self.counter_items: list[tuple[str, str]] = []
        self.long_counters = False
        # the same height on both sides (the taller side's text, see SplitExplorer.refresh): a warning on
        # one side never pushes its charts out of line, and no line is cut
        self.status = w.HTML(layout=w.Layout(height=f"{STATUS_MIN}px", overflow="auto", border="1px solid #eee",
                                             padding="2px 4px"))
        self.status.add_class("hugelab-status-box")
        self.status_lines = 0
        self.file = FilePanel()
        self.maps = [MapPanel(on_page_click) for _ in range(MAPPINGS_DRAWN)]
        self.more = w.HTML(layout=w.Layout(height="22px"))
        self.counters = CountersChart()
        self.arithmetic = w.HTML()
        super().__init__([self.choice, self.numbers, self.status, self.file, *self.maps, self.more,
                          w.HTML(f"<div style='{LINES}'><small>{COUNTER_LEGEND}</small></div>"), self.counters.figure,
                          self.arithmetic],
                         layout=w.Layout(width="50%", border="1px solid #ddd", padding="4px"))
        self.add_class("hugelab-side")

    @property
    def mapping(self) -> MappingChart:
        """The chart of the selected mapping."""
        return self.maps[0].chart

    def update(self, view: SideView, step: int) -> None:
        self.update_charts(view)
        self.update_text(view, step)

    def update_charts(self, view: SideView) -> None:
        self.file.update(view.file)
        for i, panel in enumerate(self.maps):
            panel.update(view.mappings[i] if i < len(view.mappings) else None, selected=i == 0)
        self.counters.update(view)

    def show_numbers(self, stacked: bool) -> None:
        """The counters on one line, or (``stacked``: a value too long for one line on either side) on three short
        ones, each counter whole: wrapped by the browser, the line overlapped the step log under it at 1068 px.
        SplitExplorer.refresh stacks both sides alike, so their charts stay in line."""
        items = [f"<span style='white-space:nowrap'><b>{name}</b> {html.escape(value)} </span>"
                 for name, value in self.counter_items]
        lines = [items[:2], items[2:3], items[3:]] if stacked else [items]
        self.numbers.value = (f"<div class='hugelab-numbers' style='line-height:{STATUS_LINE}px'>"
                              + "<br>".join("&nbsp; ".join(line) for line in lines) + "</div>")
        self.numbers.layout.height = f"{len(lines) * STATUS_LINE + 8 if stacked else NUMBERS_HEIGHT}px"

    def update_text(self, view: SideView, step: int) -> None:
        c = view.counters
        self.counter_items = [("Total", str(c.total)), ("Free", str(c.free)), ("Rsvd", show(c.rsvd)),
                              ("Surp", str(c.surp))]
        self.long_counters = any(len(value) > LONG_VALUE for _name, value in self.counter_items)
        self.show_numbers(self.long_counters)
        bad = view.steps[-1].error not in (None, "skipped") or view.problems
        rows = [f"<span class='hugelab-status' style='color:{_RED if bad else _GREEN}'>"
                f"{html.escape(view.status)}</span>"]
        rows += [f"<span class='hugelab-close' style='color:{_RED if 'over-credited' in a else '#000'}'>"
                 f"{html.escape(a)}</span>" for a in view.action]
        if view.hint:
            rows.append(f"<span class='hugelab-hint' style='color:#805000'>hint: {html.escape(view.hint)}</span>")
        rows += [f"<span style='color:{_RED}'>&#9888; {html.escape(p)}</span>" for p in view.problems]
        if view.diverged_at == step:
            rows.append("<b class='hugelab-parted'>&#9873; the two sides part here: their counters differ "
                        "from this step on</b>")
        self.status.value = f"<div style='line-height:{STATUS_LINE}px;overflow-wrap:anywhere'>{'<br>'.join(rows)}</div>"
        self.status_lines = sum(-(-len(html.unescape(re.sub("<[^>]*>", "", row))) // STATUS_CHARS) for row in rows)
        hidden = list(view.more[:20]) + ([f"and {len(view.more) - 20} more"] if len(view.more) > 20 else [])
        self.more.value = (f"<small>not drawn: {html.escape(', '.join(hidden))} (choose one in "
                           "<i>mapping</i> to draw it)</small>" if hidden else "")
        items = "".join(f"<li>{html.escape(line)}</li>" for line in arithmetic(view.closes))
        self.arithmetic.value = f"<b>At every close so far</b><ul style='margin:0;{LINES}'>{items}</ul>"


#: The explorer drawn from a notebook's saved widget state (trusted, before its cell runs): ipywidgets marks every
#: view with no kernel behind it "disconnected" and draws a red broken-link icon before each (dozens, one per box and
#: text, "an error?"). This one line says plainly what the learner sees instead, and only then: its <style> hides
#: those icons inside an explorer, and hides the line itself while the explorer is live. A text about a control
#: the saved picture lacks (the trace's "load box below": no box is saved) is a .hugelab-live-only, hidden then.
SAVED_NOTE = (
    "<style>.hugelab-explorer.jupyter-widgets-disconnected::before,"
    ".hugelab-explorer .jupyter-widgets-disconnected::before{display:none}"
    ".hugelab-saved-note:not(.jupyter-widgets-disconnected){display:none}"
    ".hugelab-live-only.jupyter-widgets-disconnected{display:none}</style>"
    f"<div style='padding:4px 8px;background:#fff7e0;border:1px solid #e0c060;{LINES}'><b>The explorer as it was "
    "saved:</b> its charts, not its controls (those need Python). Run this cell (Shift+Enter) to use it.</div>")


class _Explains:
    """A hugelab widget's plain text: where its view cannot be drawn (the page reloaded after the kernel that
    made it restarted, GitHub, nbviewer), JupyterLab shows this instead of "SplitExplorer(children=(VBox(...".
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}: run this cell to use it (a widget that needs a running kernel)"


class SplitExplorer(_Explains, w.VBox):
    """Every trace operation by clicks; watch two policies count it, side by side."""

    def __init__(self, policies: tuple[str, str] = ("double-credit", "region-count"), pool: int = 8,
                 pages: int = 4, files: bool = False) -> None:
        self.explorer = Explorer(policies, pool)
        #: show the controls of mounts and files (trace v2) from the start; without it they appear once
        #: the history has a file or a mount (a loaded trace), so 03 and 04 show only what they teach
        self.files = files
        self._updating = False
        #: the explorer's process rows the process menu shows (rebuilt only when they change)
        self._process_rows: object = None
        self._file_rows: object = None  # and the file menu
        narrow = w.Layout(width="100px")
        self.pool = w.IntSlider(value=pool, min=0, max=64, description="pool")
        self.overcommit = w.IntSlider(value=0, min=0, max=64, description="overcommit")
        self.size = w.IntSlider(value=pages, min=1, max=PAGES_DRAWN, description="pages")
        # never squeezed by its row (squeezed, its two buttons wrap onto two lines)
        self.kind = w.ToggleButtons(options=["private", "shared"], value="private", style={"button_width": "80px"},
                                    layout=w.Layout(flex="0 0 auto"))
        self.noreserve = w.Checkbox(value=False, description="noreserve", indent=False, layout=narrow)
        self.process = w.Dropdown(options=["main"], value="main", description="process",
                                  layout=w.Layout(width="330px"))
        self.mapping_choice = w.Dropdown(options=[], description="mapping", layout=w.Layout(width="280px"))
        self.page = w.IntSlider(value=0, min=0, max=max(pages - 1, 0), description="page")
        self.access = w.ToggleButtons(options=["write", "read"], value="write", style={"button_width": "64px"},
                                      tooltips=["touch NAME PAGE", "touch NAME PAGE read"],
                                      layout=w.Layout(flex="0 0 auto"))
        self.range = w.IntRangeSlider(value=(1, 2), min=0, max=pages, description="range [f, t)")
        self.prot = w.Dropdown(options=["r", "rw", "none"], value="r", description="prot",
                               layout=w.Layout(width="140px"))
        # trace v2: mounts and files (never min_size: it can leak reservations on 6.18)
        self.mount_size = w.IntSlider(value=4, min=1, max=PAGES_DRAWN, description="size=")
        self.mount_choice = w.Dropdown(options=[("the trace's own", "")], value="", description="on",
                                       layout=w.Layout(width="240px"))
        self.file_choice = w.Dropdown(options=[], description="file", layout=w.Layout(width="300px"))
        self.offset = w.IntSlider(value=0, min=0, max=PAGES_DRAWN, description="offset",
                                  tooltip="the file page the mapping starts at")
        self.truncate_to = w.IntSlider(value=0, min=0, max=PAGES_DRAWN, description="truncate to")
        self.step = w.IntSlider(value=1, min=1, max=1, description="step")
        self.step_label = w.HTML()
        self.trace = w.Textarea(description="trace", disabled=True,
                                layout=w.Layout(width="98%", height="140px"))
        self.load_box = w.Textarea(placeholder="paste a trace here, then press load (this replaces the history)",
                                   description="load", layout=w.Layout(width="98%", height="140px"))
        # beside its control, as wide as the row leaves it, never cut: a long one makes its row a line taller
        self.messages = {k: w.HTML(layout=w.Layout(flex="1 1 0", min_width="120px"))
                         for k in ("pool", "mmap", "file", "mmap file", "truncate", "fault", "range",
                                   "history", "load")}
        # the process row is full (two dropdowns, two buttons): its message, a fork's "choose c1 in
        # 'process'" above all, gets a line of its own under the row instead of a cut corner beside it
        self.messages["process"] = w.HTML(layout=w.Layout(width="98%", margin="0 0 0 8px"))
        self.message = self.messages["load"]
        actions = [("set pool", self.on_set_pool), ("reset", self.on_reset), ("mmap", self.on_mmap),
                   ("fork", self.on_fork), ("exit", self.on_exit), ("fault", self.on_fault),
                   ("munmap", self.on_munmap), ("mprotect", self.on_mprotect), ("dontneed", self.on_dontneed),
                   ("undo", self.on_undo), ("redo", self.on_redo), ("load", self.on_load),
                   ("mount", self.on_mount), ("umount", self.on_umount), ("new file", self.on_new_file),
                   ("mmap file", self.on_mmap_file), ("truncate", self.on_truncate), ("close", self.on_close),
                   ("unlink", self.on_unlink)]
        self.buttons = {}
        for label, action in actions:
            button = w.Button(description=label, layout=narrow)
            button.on_click(lambda _b, action=action: action())
            self.buttons[label] = button
        b = self.buttons
        b["set pool"].tooltip = "add a 'pool N' line here: resize the pool, keep the history"
        b["reset"].tooltip = "start a new history with this pool"
        b["dontneed"].tooltip = "madvise NAME START COUNT dontneed"
        b["mount"].tooltip = "mount M size=N: a hugetlbfs mount; its files reserve and hold at most N pages"
        b["umount"].tooltip = "umount the mount chosen in 'on' (EBUSY while a file of it is open or mapped)"
        b["new file"].tooltip = "file F [on M]: a new empty file on the mount chosen in 'on', held open"
        b["mmap file"].tooltip = "mmap NAME PAGES private|shared file F offset K: map the chosen file from page K"
        b["truncate"].tooltip = "truncate F PAGES: drop the file's pages and map entries from PAGES on"
        b["close"].tooltip = "close F: drop the trace's descriptor (mappings keep the file alive)"
        b["unlink"].tooltip = "unlink F: remove the name; the file goes when nothing holds it"
        self.sides = [PolicySide(p, functools.partial(self.on_policy, i), self.on_page_click)
                      for i, p in enumerate(policies)]
        self.step.observe(self._on_step, names="value")
        self.process.observe(self._on_process, names="value")
        self.mapping_choice.observe(self._on_mapping, names="value")
        self.file_choice.observe(self._on_file, names="value")
        self.range.observe(self._on_range, names="value")
        m = self.messages
        self.file_rows = [
            w.HBox([self.mount_size, b["mount"], b["umount"], self.mount_choice, b["new file"], m["file"]]),
            w.HBox([self.file_choice, self.offset, b["mmap file"], m["mmap file"]]),
            w.HBox([self.truncate_to, b["truncate"], b["close"], b["unlink"], m["truncate"]])]
        for row in self.file_rows:
            row.add_class("hugelab-file-controls")
        controls = w.VBox([
            w.HBox([self.pool, self.overcommit, b["set pool"], b["reset"], m["pool"]]),
            w.HBox([self.size, self.kind, self.noreserve, b["mmap"], m["mmap"]]),
            *self.file_rows,
            w.HBox([self.process, self.mapping_choice, b["fork"], b["exit"]]),
            m["process"],
            w.HBox([self.page, self.access, b["fault"], m["fault"]]),
            w.HBox([self.range, b["munmap"], self.prot, b["mprotect"], b["dontneed"], m["range"]]),
            w.HBox([self.step, self.step_label, b["undo"], b["redo"], m["history"]]),
        ])
        # A narrow notebook (1068 px with the file browser open leaves ~640 px) squeezed every control of a
        # row: buttons cut to "set p...", "mu...", sliders to a dot. Rows wrap instead, and no control shrinks.
        rows = [row for row in controls.children if isinstance(row, w.HBox)] + self.file_rows
        for row in rows:
            row.layout.flex_flow = "row wrap"
            for child in row.children:
                if child not in self.messages.values() and child.layout.flex is None:
                    child.layout.flex = "0 0 auto"
        note = w.HTML(SAVED_NOTE)
        note.add_class("hugelab-saved-note")
        trace_note = w.HTML("<small>the trace so far (every click is one line; copy it, edit it in the "
                            "load box below):</small>")
        trace_note.add_class("hugelab-live-only")  # its boxes are controls: the saved picture has neither
        super().__init__([note, controls, w.HTML(f"<div style='{LINES}'><small>{LEGEND}</small></div>"),
                          w.HBox(self.sides), trace_note, self.trace,
                          self.load_box, w.HBox([b["load"], m["load"]])])
        self.add_class("hugelab-explorer")
        self.refresh()

    # -- events ------------------------------------------------------------------
    @guarded("pool")
    def on_set_pool(self):
        return self._act(lambda: self.explorer.set_pool(self.pool.value, self.overcommit.value))

    @guarded("pool")
    def on_reset(self):
        self.explorer.reset(self.pool.value, self.overcommit.value)
        self.refresh()

    @guarded("mmap")
    def on_mmap(self):
        return self._act(lambda: self.explorer.mmap(self.size.value, shared=self.kind.value == "shared",
                                                    noreserve=self.noreserve.value))

    @guarded("mmap file")
    def on_mmap_file(self):
        return self._act(lambda: self.explorer.mmap_file(self.size.value, shared=self.kind.value == "shared",
                                                         offset=self.offset.value, noreserve=self.noreserve.value,
                                                         file=self.file_choice.value))

    @guarded("file")
    def on_mount(self):
        before = len(self.explorer.history) - self.explorer.cursor
        name = self.explorer.mount(self.mount_size.value)
        self.refresh()
        self.mount_choice.value = name  # the next new file goes on it
        dropped = f" ({dropped_steps(self.explorer.cursor - 1, before)})" if before else ""
        return f"mounted {name}: 'new file' now makes its files on {name}{dropped}"

    @guarded("file")
    def on_umount(self):
        if not self.mount_choice.value:
            raise Refused("choose a mount in 'on' first (the trace's own cannot be unmounted)")
        return self._act(lambda: self.explorer.umount(self.mount_choice.value))

    @guarded("file")
    def on_new_file(self):
        return self._act(lambda: self.explorer.create_file(self.mount_choice.value or None))

    @guarded("truncate")
    def on_truncate(self):
        return self._act(lambda: self.explorer.truncate(self.truncate_to.value, self.file_choice.value))

    @guarded("truncate")
    def on_close(self):
        return self._act(lambda: self.explorer.close_file(self.file_choice.value))

    @guarded("truncate")
    def on_unlink(self):
        return self._act(lambda: self.explorer.unlink(self.file_choice.value))

    @guarded("fault")
    def on_fault(self):
        return self._act(lambda: self.explorer.fault(self.page.value, write=self.access.value == "write"))

    @guarded("fault")
    def on_page_click(self, name: str, page: int):
        self.explorer.select(name)
        return self._act(lambda: self.explorer.fault(page, write=self.access.value == "write"))

    def _span(self) -> tuple[int, int]:
        start, end = self.range.value
        return start, end - start

    @guarded("range")
    def on_munmap(self):
        return self._act(lambda: self.explorer.munmap(*self._span()))

    @guarded("range")
    def on_mprotect(self):
        return self._act(lambda: self.explorer.mprotect(*self._span(), self.prot.value))

    @guarded("range")
    def on_dontneed(self):
        return self._act(lambda: self.explorer.madvise_dontneed(*self._span()))

    @guarded("process")
    def on_fork(self):
        parent = self.explorer.actor
        child = self.explorer.fork()
        self.refresh()
        # the instruction first, short: the box beside 'process' holds two lines at 1068 px
        return f"choose {child} in 'process' to act as it ({parent} forked it)"

    @guarded("process")
    def on_exit(self):
        return self._act(lambda: self.explorer.exit())

    @guarded("history")
    def on_undo(self):
        return self._act(lambda: self.explorer.undo())

    @guarded("history")
    def on_redo(self):
        return self._act(lambda: self.explorer.redo())

    @guarded("load")
    def on_load(self):
        self.explorer.load(self.load_box.value)
        self.match_controls()
        self.refresh()
        return f"loaded {len(self.explorer.history)} lines"

    @guarded("history")
    def on_policy(self, side: int, policy: str):
        if self._updating:
            return
        try:
            self.explorer.set_policy(side, policy)
        except ValueError:  # an era without what the history uses: the menu goes back
            self._updating = True
            try:
                self.sides[side].choice.value = self.explorer.policies[side]
            finally:
                self._updating = False
            raise
        self.refresh()

    @guarded("history")
    def _on_step(self, change):
        if not self._updating:
            self.explorer.scrub(change["new"])
            self.refresh()

    @guarded("process")
    def _on_process(self, change):
        if not self._updating and change["new"] is not None:
            self.explorer.act_as(change["new"])
            self.refresh()

    @guarded("truncate")
    def _on_file(self, change):
        if not self._updating and change["new"] is not None:
            self.explorer.select_file(change["new"])
            self.refresh()

    @guarded("process")
    def _on_mapping(self, change):
        if not self._updating and change["new"] is not None:
            self.explorer.select(change["new"])
            self.refresh()

    def _on_range(self, change):
        """No empty range: [f, f) would be EINVAL for munmap and nothing for the others."""
        start, end = change["new"]
        if start == end:
            self.range.value = (start, end + 1) if end < self.range.max else (start - 1, end)

    # -- views --------------------------------------------------------------------
    def _act(self, action) -> str:
        """Take one action (a trace line), show its outcome; return its notice."""
        notice = action()
        self.refresh()
        return notice

    def match_controls(self) -> None:
        """Set every control to what the history on show says: pool, mapping kind and size, last choices."""
        ops = self.explorer.builder.ops[: self.explorer.cursor]

        def last(kind):
            return next((op for op in reversed(ops) if isinstance(op, kind)), None)

        pool, mprotect, touch = last(Pool), last(Mprotect), last(Touch)
        mmap = self.explorer.mmap_op(self.explorer.selected) if self.explorer.selected else None
        if pool is not None:
            for slider, value in ((self.pool, pool.pages), (self.overcommit, pool.overcommit)):
                slider.max = max(slider.max, value)
                slider.value = value
        if mmap is not None:
            self.size.max = max(PAGES_DRAWN, mmap.pages)
            self.size.value = max(mmap.pages, 1)
            self.kind.value = "shared" if mmap.shared else "private"
            self.noreserve.value = mmap.noreserve
        if mprotect is not None:
            self.prot.value = mprotect.prot
        if touch is not None:
            self.access.value = "write" if touch.write else "read"

    def refresh(self) -> None:
        e = self.explorer
        # the charts first, then the words, then the controls: the browser applies messages in
        # order, so what the learner is watching changes first
        views = [e.view(i) for i in range(len(self.sides))]
        for side, view in zip(self.sides, views):
            side.update_charts(view)
        for side, view in zip(self.sides, views):
            side.update_text(view, e.cursor)
        height = f"{max(STATUS_MIN, max(side.status_lines for side in self.sides) * STATUS_LINE + 8)}px"
        stacked = any(side.long_counters for side in self.sides)
        for side in self.sides:
            side.status.layout.height = height
            side.show_numbers(stacked)
        shown = "" if self.files or e.builder.file_names or e.mounts else "none"
        for row in self.file_rows:
            row.layout.display = shown
        self._updating = True
        try:
            n = len(e.history)
            self.step.max = max(n, 1)
            self.step.value = e.cursor
            later = f" &middot; {n - e.cursor} later step{'s' if n - e.cursor > 1 else ''} to redo" \
                if e.cursor < n else ""
            self.step_label.value = f"<b class='hugelab-step'>step {e.cursor} of {n}</b>{later}"
            self.buttons["redo"].disabled = e.cursor >= n
            self.buttons["undo"].disabled = not e.can_undo
            rows = e.processes
            if rows is not self._process_rows:  # a process was made or went: new options
                self._process_rows = rows
                procs = tuple((f"{p} ({state})" if state else p, p) for p, state in rows)
                if tuple(self.process.options) != procs:
                    self.process.options = procs
            self.process.value = e.actor
            maps = tuple((f"{name} ({op.pages} pages, {'shared' if op.shared else 'private'}"
                          + (f", {op.file}" if op.file else "") + ")", name)
                         for name in e.mapping_choices(e.actor) for op in [e.mmap_op(name)])
            if tuple(self.mapping_choice.options) != maps:
                self.mapping_choice.options = maps
            self.mapping_choice.value = e.selected
            file_rows = e.file_rows
            if file_rows is not self._file_rows:  # a file was made, closed, unlinked or unmounted
                self._file_rows = file_rows
                files = tuple((f"{name} ({gone})" if gone else name, name) for name, gone in file_rows)
                if tuple(self.file_choice.options) != files:
                    self.file_choice.options = files
            self.file_choice.value = e.file
            mounts = (("the trace's own", ""), *((f"{name} (size={size})" if size is not None else name, name)
                                                 for name, size in e.mounts))
            if tuple(self.mount_choice.options) != mounts:
                chosen = self.mount_choice.value
                self.mount_choice.options = mounts
                self.mount_choice.value = chosen if chosen in {value for _, value in mounts} else ""
            pages = e.mapping_pages
            if pages:
                self._fit_sliders(pages)
            self.trace.value = e.trace_text()
        finally:
            self._updating = False

    def _fit_sliders(self, pages: int) -> None:
        """Page and range sliders span the selected mapping: [0, pages)."""
        if self.page.max != pages - 1:
            self.page.value = min(self.page.value, pages - 1)
            self.page.max = pages - 1
        if self.range.max != pages:
            start, end = self.range.value
            if pages < self.range.max:
                end = min(end, pages)
                start = min(start, end - 1)
            self.range.max = pages
            self.range.value = (start, end)


# A question's words, feedback and explanations are the course's prose (teaching.walkthrough.PROSE): it
# wraps between words, with prose's line gap (a widget's HTML has the 28 px line height of a control: a
# wrapped label left "5)?" alone under a tall gap), never mid-word ("so it is th" / "e one").


def _prompt(kind: str, prompt: str) -> str:
    return f"<div class='hugelab-prompt' style='{PROSE}'><b>{kind}</b> {prompt}</div>"


class Letters(w.HBox):
    """A why question's letters. A click picks a letter (it shows as picked) and answers nothing: the
    "check" beside the letters judges the letter picked, so that a learner commits deliberately.

    Each letter is a button, not a toggle. A button's click reaches the kernel as a message of its own,
    in the order the learner clicked, so a "check" is judged on the letter clicked last before it. A
    toggle's value travels as a state update, which the browser holds while an earlier update of the same
    widget is unacknowledged: under load the "check" click overtook the pick, and the letter picked before
    was judged.
    """

    def __init__(self, count: int) -> None:
        self._value: str | None = None
        self.buttons = [w.Button(description=letter(n), layout=w.Layout(width="36px")) for n in range(count)]
        for button in self.buttons:
            button.on_click(lambda b: setattr(self, "value", b.description))
        super().__init__(self.buttons)
        self.add_class("hugelab-letters")

    @property
    def value(self) -> str | None:
        """The letter picked, None before any."""
        return self._value

    @value.setter
    def value(self, picked: str | None) -> None:
        if self.disabled:
            return  # a final question's letter stays as it was checked
        self._value = picked
        for button in self.buttons:
            button.button_style = "primary" if button.description == picked else ""

    @property
    def disabled(self) -> bool:
        return bool(self.buttons) and all(b.disabled for b in self.buttons)

    @disabled.setter
    def disabled(self, off: bool) -> None:
        for button in self.buttons:
            button.disabled = off


class Predict(_Explains, w.VBox):
    """A question to predict, a check button, feedback at once; the answer only after a try.

    A :class:`~hugelab.teaching.predict.Question` takes a number, a
    :class:`~hugelab.teaching.predict.Row` the four counters of a step in one box, a
    :class:`~hugelab.teaching.predict.Choice` one lettered option, picked among :class:`Letters` and then
    checked (its options are written out in full above the letters, so no label is ever cut). The
    question's ``reveal`` (the table that answers it) is not in the page until the learner commits: it
    appears after a right answer, or when the learner, having tried at least once, presses "show answer".
    ``on_first(right)`` is called once, with whether the first answer was right (a "show answer" before any
    right answer counts as a miss). ``final`` (the self-test): the first answer closes the question, so that
    a learner cannot try again until right.
    """

    def __init__(self, question, on_first=None, after: Predict | None = None, final: bool = False) -> None:
        self.question = question
        self.on_first = on_first
        self.final = final
        self.answered = False
        self._entered = False  # Enter was pressed and its value has not arrived yet
        self._judged: str | None = ""  # the value last judged (the box starts empty)
        #: called once this question is committed (its first answer, or "show answer")
        self.listeners: list = []
        #: called once this question opens (the one above it answered)
        self.opening: list = []
        self.check = w.Button(description="check", button_style="info", layout=w.Layout(width="80px"))
        self.show = w.Button(description="show answer", layout=w.Layout(width="110px", display="none"))
        self.feedback = w.HTML()
        self.reveal = w.HTML()
        self.check.on_click(lambda _b: self.on_check())
        self.show.on_click(lambda _b: self.on_show())
        prompt = html.escape(question.prompt).replace("\n", "<br>")
        if isinstance(question, Choice):
            kind = "Why?"
            self.entry = Letters(len(question.options))
            options = "".join(f"<div class='hugelab-option' style='{PROSE};margin:3px 0'><b>{letter(n)})</b> "
                              f"{html.escape(o.text)}</div>" for n, o in enumerate(question.options))
            head = [w.HTML(_prompt(kind, prompt)), w.HTML(f"<div class='hugelab-options'>{options}</div>")]
        else:
            kind = "Predict the row:" if isinstance(question, Row) else "Predict:"
            holder = "Total Free Rsvd Surp" if isinstance(question, Row) else "your number"
            # continuous_update=False: the value arrives on Enter or on leaving the box. Only a deliberate act
            # judges it: "check", or Enter. Leaving the box (a stray Tab, a click elsewhere) judged a partly
            # typed number, and in the self-test that first answer was final.
            self.entry = w.Text(placeholder=holder, continuous_update=False,
                                layout=w.Layout(width="240px" if isinstance(question, Row) else "200px"))
            self.entry.on_msg(self._on_entry_msg)
            self.entry.observe(self._on_value, names="value")
            head = [w.HTML(_prompt(kind, prompt))]
        self.add_class("hugelab-predict")
        self.body = w.VBox([*head, w.HBox([self.entry, self.check, self.show]), self.feedback, self.reveal])
        # A question asked after another in the same place opens once that one is answered: its words
        # ("Free still counts every page...") would otherwise answer the one above.
        self.waiting = w.HTML(f"<i class='hugelab-waiting' style='{PROSE}'>The next question opens once you have "
                              "answered the one above.</i>")
        # Only the question right under the open one says so: with three in a row, the third waiting too
        # repeated the same sentence under the second's.
        if after is not None and not after.answered:
            self.body.layout.display = "none"
            after.listeners.append(self._open)
            if after.body.layout.display == "none":
                self.waiting.layout.display = "none"
                after.opening.append(self._wait)
        else:
            self.waiting.layout.display = "none"
        super().__init__([self.waiting, self.body])

    def _wait(self) -> None:
        if self.body.layout.display == "none":
            self.waiting.layout.display = None

    def _open(self) -> None:
        self.waiting.layout.display = "none"
        self.body.layout.display = None
        for opened in self.opening:
            opened()

    def _first(self, right: bool) -> None:
        if not self.answered:
            self.answered = True
            if self.on_first is not None:
                self.on_first(right)
            for listener in self.listeners:
                listener()

    def _on_entry_msg(self, _widget, content, _buffers) -> None:
        """Enter in the box. The browser sends Enter before the value it carries (its "change" event comes
        after the keypress), so a new value is judged when it arrives; a value already here, now."""
        if content.get("event") != "submit":
            return
        if self.entry.value != self._judged:
            self.on_check()
        else:
            self._entered = True

    def _on_value(self, _change) -> None:
        if self._entered:
            self.on_check()

    def on_check(self) -> None:
        self._entered = False
        self._judged = self.entry.value
        if self.final and self.answered:
            return  # the first answer stands (a value that arrives after it changes nothing)
        if self.entry.value is None or not str(self.entry.value).strip():
            if isinstance(self.question, Choice):
                self.feedback.value = (f"<div class='hugelab-feedback' style='{PROSE}'>Pick a letter, then "
                                       "press check.</div>")
            return
        try:
            right, message = self.question.check(self.entry.value)
        except Exception as e:
            right, message = False, f"hugelab could not check that: {e!r}"
        colour = _GREEN if right else _RED
        why = getattr(self.question, "why", "")
        if right and why and why.strip() in (self.question.reveal or ""):
            message = message.replace(f" {why}", "")  # the reveal below says it: once is enough
        self.feedback.value = (f"<div class='hugelab-feedback' style='color:{colour};{PROSE}'>"
                               f"{prose_html(message)}</div>")
        if message.startswith(("Type ", "Pick ")):
            return  # not an answer yet: no try counted
        self._first(right)
        if right:
            self._reveal()
        else:
            self.show.layout.display = None  # a try was made: the answer may be shown
        self._close()

    def on_show(self) -> None:
        self._first(False)
        message = self.question.give_up()
        why = getattr(self.question, "why", "")
        if why and why.strip() in (self.question.reveal or ""):
            message = message.replace(f" {why}", "")  # the reveal below says it (09 showed it twice)
        self.feedback.value = f"<div class='hugelab-feedback' style='{PROSE}'>{prose_html(message)}</div>"
        self._reveal()
        self._close()

    def _close(self) -> None:
        """A final question, once answered: no more answers, and its feedback says so."""
        if not self.final:
            return
        self.entry.disabled = self.check.disabled = True
        note = (f"<div class='hugelab-final' style='{PROSE}'><i>Your answer is final: this question takes one, "
                "and the score counts it.</i></div>")
        if note not in self.feedback.value:
            self.feedback.value += note

    def _reveal(self) -> None:
        if not self.question.reveal:
            return
        if isinstance(self.question, Choice) and "\n" not in self.question.reveal:
            # an explanation: prose, wrapping between words (a why question's table keeps its lines, below)
            self.reveal.value = (f"<div class='hugelab-reveal hugelab-explanation' style='{PROSE}'>"
                                 f"{html.escape(self.question.reveal)}</div>")
        else:  # a table (then the asked step): the course's HTML table, a row one line, and lines between words
            self.reveal.value = (f"<div class='hugelab-reveal' style='line-height:1.3'>"  # not a control's 28 px
                                 f"{printout_html(self.question.reveal)}</div>")


#: what the self-test says above its first question
SELF_TEST_RULE = ("Each question takes one answer: your first check (a number typed and then 'check' or Enter, a "
                  "letter picked and then 'check', or 'show answer') is final, and the score counts it.")


class SelfTest(_Explains, w.VBox):
    """Questions with a running score: right the first time or not, and for each miss the notebook to
    revisit (:class:`hugelab.teaching.predict.Score`)."""

    def __init__(self, questions, where: list[str]) -> None:
        self.score = Score(where)
        self.total = w.HTML()
        self.add_class("hugelab-selftest")
        boxes: list[Predict] = []
        for n, q in enumerate(questions, 1):  # one at a time: a later question's words answer earlier ones
            boxes.append(Predict(q, on_first=functools.partial(self._record, n), after=boxes[-1] if boxes else None,
                                 final=True))
        self.predicts = boxes
        self._show()
        rule = w.HTML(f"<div class='hugelab-selftest-rule' style='{PROSE}'><i>{SELF_TEST_RULE}</i></div>")
        super().__init__([rule, *(w.VBox([w.HTML(f"<b>Question {n}</b>"), b]) for n, b in enumerate(boxes, 1)),
                          self.total])

    def _record(self, number: int, right: bool) -> None:
        self.score.record(number, right)
        self._show()

    def _show(self) -> None:
        # the course's prose (in bold with a widget's line gap, 09's score read as a heading with wide-spaced lines)
        self.total.value = f"<div class='hugelab-score' style='{PROSE}'>{html.escape(self.score.summary())}</div>"


def ask(*questions) -> None:
    """Show ``questions`` one after another: each opens once the one before it is answered."""
    from IPython.display import display

    last: Predict | None = None
    for q in questions:
        last = Predict(q, after=last)
        display(last)
