"""``linux-6.18.15``: Linux 6.18 before the stable fix 1d3f9bb4c8af (measured on Debian's 6.18.15).

Reproduces: ``linux-6.18``, but for the error path of
``hugetlb_reserve_pages`` after the global pool refuses a reservation
(``out_put_pages``). 6.15's a833a693a490 ("mm: hugetlb: fix incorrect
fallback for subpool") gives back to the mount's subpool only the pages its
minimum lent; the pages asked of the global pool stay in the subpool's used
count. "mm/hugetlb: restore failed global reservations to subpool"
(1d3f9bb4c8af, 2026, Cc stable) gives them back too; 6.18.44, this project's
host, has it.

What a user saw: ``mount q size=4 / file f on q / mmap a 3 private file f``
with an empty pool fails with ENOMEM, and statfs then shows 1 page free on
the mount instead of 4, for as long as the mount lives, with nothing
mapped. Found by ``hugelab verify --files`` in a guest running Debian's
6.18.15 (trixie-backports); the pool's counters are not affected without a
``min_size``, so the leak stays in the mount.
"""

from __future__ import annotations

from .linux_6_18 import Linux618


class Linux61815(Linux618):
    name = "linux-6.18.15"
    reproduces = "Linux 6.18.15 (Debian trixie-backports): linux-6.18 without the stable fix 1d3f9bb4c8af"
    user_sees = "an mmap the pool refused leaves the mount's statfs short by the pages asked of the pool"
    kernel_series = ""  # one release measured, not the series
    kernel_releases = ("6.18.15",)
    reserve_failure_puts_subpool = False


POLICY = Linux61815()
