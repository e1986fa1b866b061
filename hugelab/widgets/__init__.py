"""The widgets and charts (ipywidgets, bqplot): they only translate events into calls on
:mod:`hugelab.teaching.explorer` and :mod:`hugelab.teaching.predict`, and views into marks.
The only part of hugelab that imports a widget or chart library."""

from .controls import FIGURES, Predict, SelfTest, SplitExplorer, ask

__all__ = ["FIGURES", "Predict", "SelfTest", "SplitExplorer", "ask"]
