"""``linux-6.1``: Debian 12's Linux 6.1 (checked in a QEMU guest on 6.1.0-56-cloud-amd64).

Reproduces: the ``modern`` rules without the v6.9 reservation restore.
MADV_DONTNEED works on hugetlb VMAs (5.18), and a fault that uses a
reservation takes it off Rsvd whether its page came from the pool or from
the buddy allocator, as on every later kernel. But zapping a page an owner
instantiated gives nothing back: its offset stays consumed in the private
resv_map, so after ``madvise(MADV_DONTNEED)`` the next fault at that offset
finds no reservation and needs an unreserved page.

Why: the restore is df7a6d1f6405 (Breno Leitao, "mm/hugetlb: restore the
reservation if needed", merged for v6.9, with its own selftest
``hugetlb_madv_vs_map.c``). It is not in 6.1, and Debian's 6.1.y does not
carry it as a backport (not in the changelog of 6.1.192-2, the package
behind 6.1.0-56-cloud-amd64): measured in the guest, ``pool 4 / mmap a 2 private /
touch a 0 / madvise a 0 1 dontneed`` leaves HugePages_Rsvd at 1 (2 on 6.12
and 6.18).

What a user sees: after MADV_DONTNEED of a faulted private page, Rsvd stays
one lower than the mapping's unused reservation until munmap, and the page
faulted back in is an unreserved one (it may fail with SIGBUS when every
free page is reserved).
"""

from __future__ import annotations

from .modern import Modern


class Linux61(Modern):
    name = "linux-6.1"
    reproduces = "Linux 6.1 (Debian 12): modern without the v6.9 zap restore (df7a6d1f6405)"
    user_sees = "MADV_DONTNEED of a faulted private page gives its reservation back only at munmap"
    kernel_series = "6.1"
    # a fault that charged a mount and found no page gives the charge back
    # (docs/findings.md §1: statfs free 2 here, where 6.18.44 shows 1)
    fault_failure_puts_subpool = True
    # ... and so does a refused mmap reservation (free 4 after a failed
    # 3-page mmap on a size=4 mount, where 6.18.15 shows 1)
    reserve_failure_puts_subpool = True
    zap_restore = "never"


POLICY = Linux61()
