"""ipywidgets for the explorer. The only module that imports ipywidgets.

Compound widgets are ``VBox``/``HBox`` subclasses built once; callbacks call
:class:`hugelab.explorer.Explorer` and push its views into the charts. No
exception ever escapes a callback: a bad action or a bad loaded trace shows
its message (``line N: ...``) in the widget.
"""

from __future__ import annotations

import functools
import html

import ipywidgets as w

from .charts import CountersChart, MappingChart
from .explorer import Explorer, SideView, arithmetic
from .hstate import show
from .policies import POLICIES
from .trace import TraceError

LEGEND = ("<span style='background:#f2b134;padding:0 6px'>&nbsp;</span> reserved, not faulted &nbsp; "
          "<span style='background:#3b7dd8;padding:0 6px'>&nbsp;</span> faulted (reservation consumed) &nbsp; "
          "<span style='background:#d9d9d9;padding:0 6px'>&nbsp;</span> no reservation &nbsp; "
          "<span style='border:1px solid #888;padding:0 5px'>&nbsp;</span> unmapped &nbsp; "
          "<b>- - -</b> VMA split &nbsp; <span style='color:#3b7dd8'><b>&#9473;&#9473;</b></span> resv_map region")


def guarded(method):
    """Run a callback; show any problem in the widget instead of raising it."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            result = method(self, *args, **kwargs)
            self.message.value = ""
            return result
        except TraceError as e:
            self.message.value = f"<span style='color:#b00'>{html.escape(str(e))}</span>"
        except Exception as e:
            self.message.value = f"<span style='color:#b00'>hugelab could not do that: {html.escape(repr(e))}</span>"
        return None

    return run


class PolicySide(w.VBox):
    """One policy's view: mapping cells, counters chart, status line, arithmetic."""

    def __init__(self, policy: str, on_policy, on_page_click) -> None:
        self.choice = w.Dropdown(options=list(POLICIES), value=policy, description="policy",
                                 layout=w.Layout(width="260px"))
        self.choice.observe(lambda change: on_policy(change["new"]), names="value")
        self.mapping = MappingChart(on_page_click=on_page_click)
        self.counters = CountersChart()
        self.numbers = w.HTML()
        self.status = w.HTML()
        self.arithmetic = w.HTML()
        super().__init__([self.choice, self.numbers, self.status, self.mapping.figure, self.counters.figure,
                          self.arithmetic], layout=w.Layout(width="50%", border="1px solid #ddd", padding="4px"))

    def update(self, view: SideView) -> None:
        c = view.counters
        self.numbers.value = (f"<b>Total</b> {c.total} &nbsp; <b>Free</b> {c.free} &nbsp; "
                              f"<b>Rsvd</b> {html.escape(show(c.rsvd))} &nbsp; <b>Surp</b> {c.surp}")
        bad = view.steps[-1].error not in (None, "skipped") or view.problems
        colour = "#b00" if bad else "#060"
        problems = "".join(f"<br>&#9888; {html.escape(p)}" for p in view.problems)
        self.status.value = (f"<span class='hugelab-status' style='color:{colour}'>"
                             f"{html.escape(view.status)}{problems}</span>")
        self.mapping.update(view.mapping)
        self.counters.update(view)
        rows = "".join(f"<li>{html.escape(line)}</li>" for line in arithmetic(view.closes))
        self.arithmetic.value = f"<b>At every close</b><ul style='margin:0'>{rows}</ul>"


class SplitExplorer(w.VBox):
    """Split and fault a mapping; watch two policies count it, side by side."""

    def __init__(self, policies: tuple[str, str] = ("double-credit", "region-count"), pool: int = 8,
                 pages: int = 4) -> None:
        self.explorer = Explorer(policies, pool)
        self.message = w.HTML()
        self.pool = w.IntSlider(value=pool, min=0, max=64, description="pool")
        self.size = w.IntSlider(value=pages, min=1, max=64, description="pages")
        self.kind = w.ToggleButtons(options=["private", "shared"], value="private", style={"button_width": "70px"})
        self.range = w.IntRangeSlider(value=(1, 2), min=0, max=pages, description="range [f, t)")
        self.page = w.IntSlider(value=0, min=0, max=pages - 1, description="page")
        self.prot = w.Dropdown(options=["r", "rw", "none"], value="r", description="prot",
                               layout=w.Layout(width="140px"))
        self.step = w.IntSlider(value=1, min=1, max=1, description="step")
        self.trace = w.Textarea(description="trace", layout=w.Layout(width="48%", height="140px"))
        self.load_box = w.Textarea(placeholder="paste a trace here, then press load",
                                   layout=w.Layout(width="48%", height="140px"))
        buttons = {}
        for label, action in [("reset", self.on_reset), ("mmap", self.on_mmap), ("fault", self.on_fault),
                              ("munmap", self.on_munmap), ("mprotect", self.on_mprotect), ("fork", self.on_fork),
                              ("exit child", self.on_exit_child), ("undo", self.on_undo), ("load", self.on_load)]:
            button = w.Button(description=label, layout=w.Layout(width="90px"))
            button.on_click(lambda _b, action=action: action())
            buttons[label] = button
        self.buttons = buttons
        self.sides = [PolicySide(p, functools.partial(self.on_policy, i), self.on_page_click)
                      for i, p in enumerate(policies)]
        self.step.observe(self._on_step, names="value")
        self._updating = False
        controls = w.VBox([
            w.HBox([self.pool, buttons["reset"], self.size, self.kind, buttons["mmap"]]),
            w.HBox([self.page, buttons["fault"], buttons["fork"], buttons["exit child"]]),
            w.HBox([self.range, buttons["munmap"], self.prot, buttons["mprotect"]]),
            w.HBox([self.step, buttons["undo"]]),
        ])
        super().__init__([controls, self.message, w.HTML(LEGEND), w.HBox(self.sides),
                          w.HBox([self.trace, w.VBox([self.load_box, buttons["load"]])])])
        self.refresh()

    # -- events ------------------------------------------------------------------
    @guarded
    def on_reset(self):
        self.explorer.reset(self.pool.value)
        self.refresh()

    @guarded
    def on_mmap(self):
        self.explorer.mmap(self.size.value, shared=self.kind.value == "shared")
        self.refresh()

    @guarded
    def on_fault(self):
        self.explorer.fault(self.page.value)
        self.refresh()

    @guarded
    def on_page_click(self, page: int):
        self.explorer.fault(page)
        self.refresh()

    @guarded
    def on_munmap(self):
        start, end = self.range.value
        self.explorer.munmap(start, end - start)
        self.refresh()

    @guarded
    def on_mprotect(self):
        start, end = self.range.value
        self.explorer.mprotect(start, end - start, self.prot.value)
        self.refresh()

    @guarded
    def on_fork(self):
        self.explorer.fork()
        self.refresh()

    @guarded
    def on_exit_child(self):
        self.explorer.exit_child()
        self.refresh()

    @guarded
    def on_undo(self):
        self.explorer.undo()
        self.refresh()

    @guarded
    def on_load(self):
        self.explorer.load(self.load_box.value)
        self.refresh()

    @guarded
    def on_policy(self, side: int, policy: str):
        self.explorer.set_policy(side, policy)
        self.refresh()

    @guarded
    def _on_step(self, change):
        if not self._updating:
            self.explorer.scrub(change["new"])
            self.refresh()

    # -- views --------------------------------------------------------------------
    def refresh(self) -> None:
        e = self.explorer
        self._updating = True
        try:
            self.step.max = max(len(e.history), 1)
            self.step.value = e.cursor
            pages = e.mapping_pages
            if pages:
                self.range.max = pages
                self.page.max = pages - 1
            self.trace.value = e.trace_text()
        finally:
            self._updating = False
        for side, view in zip(self.sides, (e.view(0), e.view(1))):
            side.update(view)


class Predict(w.VBox):
    """A number to predict, a check button, and feedback at once."""

    def __init__(self, question) -> None:
        self.question = question
        # continuous_update=False: the value arrives on Enter (or on leaving
        # the box), so the check runs then, not at every keystroke
        self.entry = w.Text(placeholder="your number", continuous_update=False, layout=w.Layout(width="200px"))
        self.check = w.Button(description="check", button_style="info", layout=w.Layout(width="80px"))
        self.feedback = w.HTML()
        self.check.on_click(lambda _b: self.on_check())
        self.entry.observe(lambda _change: self.on_check(), names="value")
        super().__init__([w.HTML(f"<b>Predict:</b> {html.escape(question.prompt)}"),
                          w.HBox([self.entry, self.check]), self.feedback])

    def on_check(self) -> None:
        try:
            right, message = self.question.check(self.entry.value)
        except Exception as e:
            right, message = False, f"hugelab could not check that: {e!r}"
        colour = "#060" if right else "#b00"
        self.feedback.value = f"<span class='hugelab-feedback' style='color:{colour}'>{html.escape(message)}</span>"
