"""The trace language, v1 and v2: what a user writes to drive the model or a real kernel.

- :mod:`.language`: the grammar, parsing and checking of a trace (text errors name the line).
- :mod:`.source`: reading a trace's text from a file or standard input, within bounds.
- :mod:`.generate`: random traces for verify, hunt, exercises and tests.
- :mod:`.shrink`: shrinking a trace while a failure persists.
"""

from .language import GRAMMAR, Trace, TraceError, format_ops, parse_trace

__all__ = ["GRAMMAR", "Trace", "TraceError", "format_ops", "parse_trace"]
