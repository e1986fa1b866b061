"""What every policy is: the hooks the model calls, and the record of a close.

A policy is one era of the kernel's hugetlb reservation code. The model
(:mod:`hugelab.model`) does everything the eras share (page tables, forks,
splits, the pool) and asks the policy only where the eras differ:

* ``reserve_private``  what a private mmap reserves, and where it keeps it;
* ``open``             what a VMA split does with that (kernel: ``vm_ops->open``);
* ``close``            what a closing VMA piece gives back (``vm_ops->close``);
* ``alloc_huge_page``  whether a fault uses a reservation, and what it records;
* ``zap``              what unmapping an instantiated page does to reservations.

The model never asks a policy its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Model
    from ..vma import VMA


@dataclass(frozen=True)
class Close:
    """The arithmetic behind one VMA close: what was unused, what was credited.

    ``unused`` is the truth (pages of ``[start, end)`` with a reservation not
    yet consumed); ``credit`` is what the policy handed back to Rsvd. They
    differ only where a policy is wrong.
    """

    proc: str
    mapping: str
    start: int
    end: int
    unused: int
    credit: int
    formula: str


class Policy:
    """Base class: documents the hooks. Subclasses are the eras."""

    name = ""
    #: the kernel commit or version this policy reproduces
    reproduces = ""
    #: what a user of that kernel would see
    user_sees = ""
    #: MAP_NORESERVE honoured for hugetlb (since the VM_NORESERVE patch, 2.6.27)
    honours_noreserve = True
    #: MADV_DONTNEED allowed on hugetlb VMAs (since 5.18); EINVAL before
    madvise_dontneed = False
    #: an owner's copy-on-write is guaranteed (04f2cbe3): on failure the page
    #: is taken from the children, which get SIGBUS on their next fault there
    owner_cow_guarantee = True

    def reserve_private(self, k: Model, vma: VMA) -> bool:
        """Reserve for a new private mapping; False means ENOMEM (nothing changed)."""
        raise NotImplementedError

    def open(self, vma: VMA) -> None:
        """A split made ``vma`` as a copy of another piece."""

    def close(self, k: Model, proc: str, vma: VMA) -> Close | None:
        """``vma`` goes away; give back what it still reserves."""
        raise NotImplementedError

    def alloc_huge_page(self, k: Model, vma: VMA, idx: int, cow_from_owner: bool) -> bool:
        """Find a page for a fault at offset ``idx``; False means none (SIGBUS)."""
        raise NotImplementedError

    def zap_hook(self, k: Model, vma: VMA):
        """Pages of ``vma`` are about to be unmapped (zapped) while the pool is as it is now.

        Return None when zapping changes no reservation, else a function
        ``(idx, page) -> None`` called for each page unmapped.
        """
        return None

    def unused_reservation(self, vma: VMA) -> int:
        """Pages of this private VMA piece that still hold a reservation (the truth).

        A policy that keeps reservations says how to count them without
        visiting every offset (a mapping may have 2^36 pages); none here.
        """
        return 0

    def reserved_offset(self, vma: VMA, idx: int) -> bool:
        """Does offset ``idx`` of this private VMA still hold an unused reservation?"""
        return False

    def describe_piece(self, vma: VMA) -> str:
        """What this era keeps in a private VMA piece, in a few words (for pictures)."""
        return ""

    def __repr__(self) -> str:
        return f"<policy {self.name}: {self.reproduces}>"
