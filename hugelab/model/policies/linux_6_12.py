"""``linux-6.12``: Debian 12's Linux 6.12 (checked in a QEMU guest on 6.12.117+deb12-cloud-amd64).

Reproduces: the ``modern`` rules, with the v6.9 reservation restore only
for a page whose last mapping the zap removes. When an owner unmaps (or
MADV_DONTNEEDs) a page that a forked child still maps, 6.12 leaves the
reservation consumed: no restore_reserve mark, the offset stays in the
private resv_map, and the owner's close gives back only the pages never
faulted.

Why: 6.12 has the v6.9 restore (df7a6d1f6405, "mm/hugetlb: restore the
reservation if needed") and, since the stable release 6.12.110, its fix
"hugetlb: only adjust reservation during unmapping if mapcount is 0"
(linux-6.12.y commit 8ef4eb9ff874; listed in Debian's changelog of
6.12.117). In ``__unmap_hugepage_range()`` the restore_reserve mark and the
``vma_needs_reservation``/``vma_add_reservation`` un-consume now happen only
when removing this mapping leaves the folio mapped nowhere. Without that
check (6.18.44, this machine) the owner un-consumes the offset at once, its
close hands the whole mapping back, and the mark reaches Rsvd only when the
child frees the page: Rsvd is one too low in between. Mainline added a
selftest for exactly that shape in 2026 ("selftests/mm: hugetlb_madv_vs_map:
add underflow test").

What a user sees: HugePages_Rsvd never wraps on fork + owner munmap
(``pool 8 / mmap a 2 private / touch a 0 / fork c / munmap a 0 2`` ends
with Rsvd 0, where 6.18 shows 18446744073709551615 until the child exits).
"""

from __future__ import annotations

from .modern import Modern


class Linux612(Modern):
    name = "linux-6.12"
    reproduces = "Linux 6.12 (Debian 12): modern, the zap restore only for a page no one else maps"
    user_sees = "the owner unmapping a page its child still maps keeps the reservation consumed"
    kernel_series = "6.12"
    # a fault that charged a mount and found no page gives the charge back
    # (docs/findings.md §1: statfs free 2 here, where 6.18.44 shows 1)
    fault_failure_puts_subpool = True
    # ... and so does a refused mmap reservation (free 4 after a failed
    # 3-page mmap on a size=4 mount, where 6.18.15 shows 1)
    reserve_failure_puts_subpool = True
    zap_restore = "if-unmapped-everywhere"


POLICY = Linux612()
