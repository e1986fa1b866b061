"""What every policy is: the hooks the model calls, and the record of a close.

A policy is one era of the kernel's hugetlb reservation code. The model
(:mod:`hugelab.model.machine`) does everything the eras share (page tables, forks,
splits, faults, the pool's bookkeeping) and asks the policy only where the
eras differ. Each hook receives what it works on, the pool (``HState``) and
the VMA, never the model:

==================  ==============================  ========================================
hook                kernel                          what the era decides
==================  ==============================  ========================================
``reserve_private`` ``hugetlb_reserve_pages``       what a private mmap reserves, and where
                                                    it keeps that (``vm_private_data``)
``open``            ``hugetlb_vm_op_open``          what a VMA split does with it
``close``           ``hugetlb_vm_op_close``         what a closing VMA piece gives back
``alloc_huge_page`` ``alloc_huge_page``             whether a fault uses a reservation,
                    (``alloc_hugetlb_folio``, 6.x)  and what it records
``zap_hook``        ``__unmap_hugepage_range``      what unmapping a page does to
                                                    reservations
``page_state``      (none: a picture)               what an offset of a VMA looks like
``page_counts``     (none: a picture)               the same, counted over a whole VMA
==================  ==============================  ========================================

The model never asks a policy its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ...trace.language import Fallocate, Madvise, Memfd, Mount, Operation, Punch, TraceError
from ..hstate import HState
from ..subpool import put_pages
from ..vma import VMA, Page

#: what one offset of a mapping looks like (the explorer adds "unmapped")
PageState = Literal["reserved", "faulted", "unreserved"]
#: when unmapping an owner's faulted private page gives its reservation back (the v6.9
#: restore, df7a6d1f6405), in the words the notebooks print: one value per real kernel
ZapRestore = Literal["never", "if-unmapped-everywhere", "even-if-mapped-elsewhere"]
ZAP_RESTORE: dict[str, str] = {
    "never": "never: the page's offset stays consumed, so not even munmap gives its reservation back (no v6.9 restore)",
    "if-unmapped-everywhere": "only if no other process still maps the page (6.12.110's fix)",
    "even-if-mapped-elsewhere": "even if a child still maps the page: Rsvd reads one low until the child lets go",
}
#: what ``hugetlb_reserve_pages`` does with the mount's subpool after the global
#: pool refused a reservation (``out_put_pages``), in four eras
ReserveFailureUndo = Literal["put-all", "put-lent", "put-lent-then-restore-used", "restore-used-then-put-lent"]
RESERVE_FAILURE_UNDO: dict[str, str] = {
    "put-all": "every page back to the subpool, its answer ignored (until 6.15; 2008: the quota)",
    "put-lent": "only the pages the subpool's minimum lent; the refused ones stay used (a833a693a490)",
    "put-lent-then-restore-used": "the lent pages while the used count is still high, then the refused "
                                  "ones leave the used count: the loan goes to the pool (1d3f9bb4c8af)",
    "restore-used-then-put-lent": "the refused pages leave the used count, then the lent ones go back to "
                                  "the subpool (\"fix subpool minimum reservation rollback\")",
}
#: what ``zap_hook`` returns: called as ``(idx, page)`` for each page unmapped
ZapPage = Callable[[int, Page], None]


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
    #: the commits of hugelab.model.commits this policy carries (ids); empty for 2.6.26
    commits: frozenset[str] = frozenset()

    # -- settings: what each commit switches (hugelab.model.commits names the
    # commit; the defaults are 2.6.26's, before any of them) -------------------
    #: MAP_NORESERVE honoured for hugetlb (c37f9fb1, 2.6.27)
    honours_noreserve = False
    #: an owner's copy-on-write is guaranteed (04f2cbe3): on failure the page
    #: is taken from the children, which get SIGBUS on their next fault there
    owner_cow_guarantee = False
    #: a shared mapping's fault may take a free page promised to it (7f09ca51)
    shared_fault_has_reserve = False
    #: closing a private piece gives its unused pages back to the mount's quota too (7251ff78)
    close_puts_quota = False
    #: a fault with a reservation takes it off Rsvd even for a buddy page (a88c76954804)
    surplus_consumes_reserve = False
    #: the owner's fault asks its map whether the offset still has a reservation (67961f9db8c4)
    owner_fault_checks_map = False
    #: MADV_DONTNEED allowed on hugetlb VMAs (90e7e7f5ef3f, 5.18); EINVAL before
    madvise_dontneed = False
    #: shmat's mmap of a SysV segment reserves nothing (e656c7a9e596)
    shmat_noreserve = False
    #: when zapping an owner's page gives its reservation back (one of ZAP_RESTORE;
    #: df7a6d1f6405, then the mapcount fix)
    zap_restore: ZapRestore = "never"
    #: the owner's copy-on-write uses the page a min_size subpool lends (58db7c5fbe7d)
    owner_cow_takes_subpool_loan = False
    #: a fault that found no page gives its subpool charge back (every era but
    #: a833a693a490's, which keeps it: docs/findings.md §1)
    fault_failure_puts_subpool = True
    #: what hugetlb_reserve_pages' error path does after the pool refused (one of RESERVE_FAILURE_UNDO)
    reserve_failure_undo: ReserveFailureUndo = "put-all"
    #: the trace-v2 features (keys of FEATURES) this era does not have (each came with a commit)
    missing: frozenset[str] = frozenset(FEATURES)

    def reserve_private(self, hstate: HState, vma: VMA) -> str | None:
        """Reserve for a new private mapping: None, or the errno (nothing changed).

        kernel: the private half of ``hugetlb_reserve_pages`` (charged to the
        file's mount first, as the shared half is).
        """
        raise NotImplementedError

    def open(self, vma: VMA) -> None:
        """A split made ``vma`` as a copy of another piece (kernel: ``hugetlb_vm_op_open``)."""

    def close(self, hstate: HState, proc: str, vma: VMA) -> Close | None:
        """``vma`` goes away; give back what it still reserves (kernel: ``hugetlb_vm_op_close``)."""
        raise NotImplementedError

    def give_back(self, hstate: HState, vma: VMA, reserve: int) -> None:
        """A private close's ``hugetlb_acct_memory(-reserve)``: ``reserve`` reservations leave Rsvd.

        With ``close_puts_quota`` (7251ff78, 2.6.27, weeks after 84afd99b) the close also gives them
        back to the file's mount (``hugetlb_put_quota``), and Rsvd loses only what the mount does not
        keep: the close hooks as 84afd99b and its parent wrote them stay as they were.
        """
        hstate.hugetlb_acct_memory(-(put_pages(vma.file.spool, reserve) if self.close_puts_quota else reserve))

    def alloc_huge_page(self, hstate: HState, vma: VMA, idx: int, avoid_reserve: bool) -> bool:
        """Find a page for a fault at offset ``idx``; False means none (SIGBUS).

        kernel: ``alloc_huge_page`` (``alloc_hugetlb_folio`` in 6.x).
        ``avoid_reserve``: the owner's copy-on-write, which must not use the
        reservation (the page it copies already did).
        """
        raise NotImplementedError

    def zap_hook(self, hstate: HState, vma: VMA) -> ZapPage | None:
        """Pages of ``vma`` are about to be unmapped (zapped) while the pool is as it is now.

        Return None when zapping changes no reservation, else a function
        ``(idx, page) -> None`` called for each page unmapped (kernel: the
        per-page part of ``__unmap_hugepage_range``).
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

    def page_state(self, vma: VMA, idx: int) -> PageState:
        """What offset ``idx`` of ``vma`` looks like in this era.

        ``faulted``: a page is there (mapped by this VMA, or in the shared
        file's page cache). ``reserved``: a fault there would use a
        reservation. ``unreserved``: it would take any page it can find.
        """
        if idx in vma.ptes or (vma.shared and idx in vma.file.page_cache):
            return "faulted"
        if vma.shared:  # a shared map's entries mean "reserved"
            reserved = not vma.noreserve and vma.file.resv_map.region_count(idx, idx + 1) > 0
        else:
            reserved = self.reserved_offset(vma, idx)
        return "reserved" if reserved else "unreserved"

    def page_counts(self, vma: VMA) -> tuple[int, int]:
        """(faulted, reserved) pages of ``vma``: :meth:`page_state` counted over it.

        Costs what the piece holds (its pages, its map's regions), not its
        length: a mapping of 99,999,999 pages is summed up this way.
        """
        if vma.shared:
            cache = vma.file.page_cache
            present = {i for i in cache if vma.start <= i < vma.end} | set(vma.ptes)
            if vma.noreserve:
                return len(present), 0
            resv = vma.file.resv_map
            reserved = resv.region_count(vma.start, vma.end) - sum(1 for i in present if resv.region_count(i, i + 1))
            return len(present), reserved
        unused = self.unused_reservation(vma)
        return len(vma.ptes), unused - sum(1 for i in vma.ptes if self.reserved_offset(vma, i))

    def describe_piece(self, vma: VMA) -> str:
        """What this era keeps in a private VMA piece, in a few words (for pictures)."""
        return ""

    def __repr__(self) -> str:
        return f"<policy {self.name}: {self.reproduces}>"
