"""``linux-6.18``: Linux 6.18 (checked on this project's machine, 6.18.44); the same rules as ``modern``.

Reproduces: ``modern`` exactly. ``modern`` stays the name for "today's
kernel"; this name says which kernel that was measured on, next to
``linux-6.1`` and ``linux-6.12``.

Where it differs from 6.12: the v6.9 restore also runs for a page that a
forked child still maps (6.18.44 lacks the fix "hugetlb: only adjust
reservation during unmapping if mapcount is 0", which 6.12 has since
6.12.110, linux-6.12.y commit 8ef4eb9ff874; see ``linux-6.12``). The owner's zap un-consumes the offset at once
(its close then hands the whole mapping back) but the restore_reserve mark
reaches Rsvd only when the child frees the page, so Rsvd reads one too low
in between: 18446744073709551615 after ``pool 8 / mmap a 2 private /
touch a 0 / fork c / munmap a 0 2``, 0 again after ``exit c``.
"""

from __future__ import annotations

from .modern import Modern


class Linux618(Modern):
    name = "linux-6.18"
    reproduces = "Linux 6.18 (this machine): the same rules as modern"
    user_sees = "what /proc/meminfo shows on 6.18, step for step"
    kernel_series = "6.18"


POLICY = Linux618()
