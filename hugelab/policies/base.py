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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..trace import Fallocate, Madvise, Memfd, Mount, Operation, Punch, TraceError

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


#: trace-v2 features that came after 2008, and the kernel that brought each
FEATURES = {
    "min_size": "hugetlbfs min_size= came with Linux 4.1",
    "fallocate": "fallocate on hugetlbfs came with Linux 4.3",
    "punch": "hole punch (FALLOC_FL_PUNCH_HOLE) on hugetlbfs came with Linux 4.3",
    "madvise remove": "MADV_REMOVE on hugetlbfs came with Linux 4.3 (it punches a hole)",
    "memfd": "memfd_create(MFD_HUGETLB) came with Linux 4.14",
}


def features(op: Operation) -> str | None:
    """The post-2008 feature (a key of FEATURES) that ``op`` needs, if any."""
    if isinstance(op, Mount) and op.min_size is not None:
        return "min_size"
    if isinstance(op, Fallocate):
        return "fallocate"
    if isinstance(op, Punch):
        return "punch"
    if isinstance(op, Madvise) and op.advice == "remove":
        return "madvise remove"
    if isinstance(op, Memfd):
        return "memfd"
    return None


def check_supported(trace: Iterable[Operation], policy: Policy) -> None:
    """Raise TraceError (one line) at the first line ``policy``'s era cannot do."""
    if not policy.missing:
        return
    for op in trace:
        feature = features(op)
        if feature in policy.missing:
            raise TraceError(op.line, f"{FEATURES[feature]}; the {policy.name} policy "
                                      f"({policy.reproduces.split(':')[0]}) does not have it")


class Policy:
    """Base class: documents the hooks. Subclasses are the eras."""

    name = ""
    #: the kernel commit or version this policy reproduces
    reproduces = ""
    #: what a user of that kernel would see
    user_sees = ""
    #: the real kernel series this policy was checked against step for step ("6.12"), if any
    kernel_series = ""
    #: MAP_NORESERVE honoured for hugetlb (since the VM_NORESERVE patch, 2.6.27)
    honours_noreserve = True
    #: MADV_DONTNEED allowed on hugetlb VMAs (since 5.18); EINVAL before
    madvise_dontneed = False
    #: an owner's copy-on-write is guaranteed (04f2cbe3): on failure the page
    #: is taken from the children, which get SIGBUS on their next fault there
    owner_cow_guarantee = True
    #: the trace-v2 features (keys of FEATURES) this era does not have
    missing: frozenset[str] = frozenset()
    #: what mmap returns when a mount's size= refuses it: ENOSPC while
    #: hugetlb_reserve_pages returned the quota's -ENOSPC, ENOMEM today
    over_size_error = "ENOMEM"
    #: a fault that found no page gives its subpool charge back (every era
    #: but 6.15+, where a833a693a490's error path keeps it: kernel-findings 1)
    fault_failure_puts_subpool = True

    def reserve_error(self, why: str) -> str:
        """The errno for a reservation refused by the mount (``"size"``) or the pool."""
        return self.over_size_error if why == "size" else "ENOMEM"

    def reserve_private(self, k: Model, vma: VMA) -> str | None:
        """Reserve for a new private mapping: None, or the errno (nothing changed)."""
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
        """Pages of this private VMA piece that still hold a reservation (the truth)."""
        return sum(1 for idx in range(vma.start, vma.end) if self.reserved_offset(vma, idx))

    def reserved_offset(self, vma: VMA, idx: int) -> bool:
        """Does offset ``idx`` of this private VMA still hold an unused reservation?"""
        return False

    def describe_piece(self, vma: VMA) -> str:
        """What this era keeps in a private VMA piece, in a few words (for pictures)."""
        return ""

    def __repr__(self) -> str:
        return f"<policy {self.name}: {self.reproduces}>"
