"""The shrinker drops lines while a failure persists, and keeps the text valid."""

from hugelab import parse_trace, replay
from hugelab.trace.shrink import shrink


def test_shrink_keeps_only_the_lines_the_failure_needs():
    text = ("pool 8\nmmap x 2 shared\ntouch x 0\nmmap a 4 private\nfork c\ntouch a 0\nin c touch a 1\n"
            "munmap a 1 1\nexit c\nmunmap a 0 4\n")

    def wraps(t):
        return any(s.counters.rsvd >= 2**63 for s in replay(t, "double-credit"))

    small = shrink(text, wraps)
    assert wraps(small)
    assert small == "pool 8\nmmap a 4 private\nmunmap a 1 1\nmunmap a 0 4\n"
    parse_trace(small)


def test_shrink_never_returns_invalid_text():
    # dropping the mmap would leave 'touch a 0' naming nothing: never tried as a candidate result
    small = shrink("pool 1\nmmap a 1 private\ntouch a 0\n", lambda t: "touch a 0" in t)
    assert small == "mmap a 1 private\ntouch a 0\n"
