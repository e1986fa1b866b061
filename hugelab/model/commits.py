"""The reservation-accounting commits hugelab knows: a kernel is the set of them it carries.

One :class:`Commit` per change to hugetlb reservation accounting that a
trace can see: its id, subject, the mainline release that first had it,
the stable backports (series, and the first release of the series that
carries it), the policy settings it switches in the model (the rules the
model and the era hooks read) and where in the kernel source it acts.

:func:`commits_of` answers "which of these does Linux 6.12.107 carry, and
why" (mainline, or which backport); :mod:`hugelab.model.policies.kernels`
turns such a set into a policy. Nothing here names a policy: a commit
only sets settings.

How each entry was confirmed (2026-12):

* the 2.6.27 commits: ``mm/hugetlb.c``, ``fs/hugetlbfs/inode.c`` and
  ``include/linux/hugetlb.h`` at v2.6.26, a1e78772, c37f9fb1, 84afd99b and
  v2.6.27, and every commit to those files between the two releases;
* stable backports: Debian's ``changelog.Debian.gz`` of the kernel packages
  booted here (5.10.251, 6.1.190, 6.1.192, 6.12.107, 6.12.118, 7.3.4),
  which list each upstream stable release's commits by subject;
* 7.3.4's ``mm/hugetlb.c`` (Debian's ``linux-source-7.3``) for the
  ``out_put_pages`` path of ``hugetlb_reserve_pages``; stable mails and
  commit lists (``search``) for ids and mainline releases;
* where a first stable release is not known, :attr:`Backport.lacking`
  names the newest release measured without it, and a release between the
  two cannot be resolved (:class:`UnknownRelease`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: the releases hugelab's table covers: a kernel outside both ranges may
#: carry commits not listed here (2.6.28 to 5.9 changed more than this table says)
KNOWN_RANGES = (((2, 6, 26), (2, 6, 27)), ((5, 10), (7, 3, 999)))


class UnknownRelease(ValueError):
    """A release this table cannot answer for; the message says why in one line."""


@dataclass(frozen=True)
class Backport:
    """A commit in a stable series: from ``first`` on.

    When the first release is not known, ``first`` is the earliest release
    known to carry it ("" if none is) and ``lacking`` the newest known not
    to; a release between the two cannot be resolved.
    """

    series: str
    first: str
    lacking: str = ""
    #: the stable branch's own commit id, where known
    stable_id: str = ""


@dataclass(frozen=True)
class Commit:
    """One reservation-accounting commit, and what it changes in the model."""

    #: the mainline id (12 hex digits), or a short name where the mainline id is not confirmed
    id: str
    subject: str
    #: first mainline release carrying it ("2.6.27"); "" when not known to be in a mainline release
    mainline: str
    #: what it changes, in the model's words (the rule, setting or hook)
    changes: str
    #: where in the kernel it acts
    source: str
    backports: tuple[Backport, ...] = ()
    #: the policy settings it sets (attributes of :class:`~hugelab.model.policies.base.Policy`)
    settings: dict[str, object] = field(default_factory=dict)
    #: the era of private reservations it starts: "count" (a1e78772) or "region map" (84afd99b)
    era: str = ""
    #: the trace-v2 features (keys of policies.base.FEATURES) it brings
    features: frozenset[str] = frozenset()

    @property
    def short(self) -> str:
        return self.id[:12]

    @property
    def hashed(self) -> bool:
        """Whether :attr:`id` is the mainline commit's hash (else a short name standing in for it)."""
        return re.fullmatch(r"[0-9a-f]{12}", self.id) is not None


def version(text: str) -> tuple[int, ...]:
    """``(6, 12, 107)`` for ``6.12.107+deb12-cloud-amd64``; ValueError if no version leads it."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        raise ValueError(f"no kernel version in {text!r}")
    return tuple(int(n) for n in m.groups() if n is not None)


def _series(v: tuple[int, ...]) -> tuple[int, ...]:
    # 2.6.x is a series of its own per minor release (2.6.26, 2.6.27)
    return v[:3] if v[:2] == (2, 6) else v[:2]


COMMITS: tuple[Commit, ...] = (
    Commit("a1e78772d72b", "hugetlb: reserve huge pages for reliable MAP_PRIVATE hugetlbfs mappings until fork()",
           "2.6.27",
           "a private mmap reserves its whole length, kept as a count in vm_private_data (copied by a split: "
           "the double credit)",
           "mm/hugetlb.c: hugetlb_reserve_pages, decrement_hugepage_resv_vma, hugetlb_vm_op_close",
           era="count"),
    Commit("04f2cbe35699", "hugetlb: guarantee that COW faults for a process that called mmap(MAP_PRIVATE) on "
           "hugetlbfs will succeed", "2.6.27",
           "owner_cow_guarantee: the owner's copy-on-write takes a page outside the reservations, else "
           "unmaps the page from the children (HPAGE_RESV_UNMAPPED, SIGBUS at their next fault)",
           "mm/hugetlb.c: hugetlb_cow (outside_reserve), unmap_ref_private",
           settings={"owner_cow_guarantee": True}),
    Commit("c37f9fb11c97", "hugetlb: allow huge page mappings to be created without reservations", "2.6.27",
           "honours_noreserve: MAP_NORESERVE (and SHM_NORESERVE) reserve nothing",
           "mm/hugetlb.c: hugetlb_reserve_pages (VM_NORESERVE), decrement_hugepage_resv_vma",
           settings={"honours_noreserve": True}),
    Commit("84afd99b8398", "hugetlb reservations: fix hugetlb MAP_PRIVATE reservations across vma splits",
           "2.6.27",
           "a private mapping keeps a resv_map of consumed offsets shared by its pieces (open takes a "
           "reference); close gives back (end - start) - region_count(map, start, end)",
           "mm/hugetlb.c: resv_map_alloc, hugetlb_vm_op_open, hugetlb_vm_op_close, vma_needs_reservation",
           era="region map"),
    Commit("7f09ca51e9f4", "hugetlb: fix a hugepage reservation check for MAP_SHARED", "2.6.27",
           "shared_fault_has_reserve: a shared mapping's fault may take a page promised to it "
           "(vma_has_reserves is 1 for VM_SHARED); before, it borrowed a surplus page when Free == Rsvd",
           "mm/hugetlb.c: vma_has_private_reserves -> vma_has_reserves, dequeue_huge_page_vma",
           settings={"shared_fault_has_reserve": True}),
    Commit("7251ff78b94c", "hugetlb: quota is not freed for unused reserved private huge pages", "2.6.27",
           "close_puts_quota: closing a private piece gives its unused pages back to the mount's quota too",
           "mm/hugetlb.c: hugetlb_vm_op_close (hugetlb_put_quota)",
           settings={"close_puts_quota": True}),
    Commit("1c5ecae3a93f", "hugetlbfs: add minimum size accounting to subpools", "4.1",
           "min_size: a mount's subpool keeps min_size pages on Rsvd and lends them first",
           "mm/hugetlb.c: hugepage_subpool_get_pages, hugepage_subpool_put_pages",
           features=frozenset({"min_size"})),
    Commit("70c3547e36f5", "hugetlbfs: add hugetlbfs_fallocate()", "4.3",
           "fallocate and hole punch on hugetlbfs (the series' last patch, 'mm: madvise allow remove "
           "operation for hugetlbfs', brings MADV_REMOVE)",
           "fs/hugetlbfs/inode.c: hugetlbfs_fallocate, hugetlbfs_punch_hole",
           features=frozenset({"fallocate", "punch", "madvise remove"})),
    Commit("a88c76954804", "mm: hugetlb: fix hugepage memory leak caused by wrong reserve count", "4.4",
           "surplus_consumes_reserve: a fault with a reservation takes it off Rsvd even when its page came "
           "from the buddy allocator (2.6.27 took it only for a page from the free list)",
           "mm/hugetlb.c: alloc_huge_page (after alloc_buddy_huge_page)",
           settings={"surplus_consumes_reserve": True}),
    Commit("67961f9db8c4", "mm/hugetlb: fix huge page reserve accounting for private mappings", "4.7",
           "owner_fault_checks_map: the owner's fault at an offset its map says is consumed (refault after "
           "truncate or hole punch) uses no reservation; before, every owner fault took one off Rsvd",
           "mm/hugetlb.c: __vma_reservation_common (private maps inverted), vma_has_reserves",
           settings={"owner_fault_checks_map": True}),
    Commit("749df87bd7be", "mm/shmem: add hugetlbfs support to memfd_create()", "4.14",
           "memfd_create(MFD_HUGETLB)", "mm/shmem.c: memfd_create", features=frozenset({"memfd"})),
    Commit("90e7e7f5ef3f", "mm: enable MADV_DONTNEED for hugetlb mappings", "5.18",
           "madvise_dontneed: MADV_DONTNEED zaps hugetlb pages (EINVAL before)",
           "mm/madvise.c: madvise_dontneed_free_valid_vma",
           settings={"madvise_dontneed": True}),
    Commit("e656c7a9e596", "mm: hugetlb pages should not be reserved by shmat() if SHM_NORESERVE", "6.8",
           "shmat_noreserve: shmat's mmap of a SysV segment reserves nothing (VM_NORESERVE for S_PRIVATE "
           "inodes); before, attaching a SHM_NORESERVE segment reserved its pages",
           "fs/hugetlbfs/inode.c: hugetlbfs_file_mmap",
           backports=(Backport("6.1", "6.1.79"), Backport("5.10", "5.10.213")),
           settings={"shmat_noreserve": True}),
    Commit("df7a6d1f6405", "mm/hugetlb: restore the reservation if needed", "6.9",
           "zap_restore: zapping an owner's anonymous page while Surp == 0 marks it restore_reserve and "
           "un-consumes its offset, even while a child still maps the page",
           "mm/hugetlb.c: __unmap_hugepage_range",
           settings={"zap_restore": "even-if-mapped-elsewhere"}),
    Commit("mapcount-fix", "hugetlb: only adjust reservation during unmapping if mapcount is 0", "7.3",
           "zap_restore: the restore runs only when the zap leaves the page mapped nowhere "
           "(mainline id not confirmed here; docs/findings.md §2)",
           "mm/hugetlb.c: __unmap_hugepage_range",
           backports=(Backport("6.12", "6.12.110", stable_id="8ef4eb9ff874"),
                      Backport("6.18", "", lacking="6.18.44")),
           settings={"zap_restore": "if-unmapped-everywhere"}),
    Commit("58db7c5fbe7d", "mm/hugetlb: fix avoid_reserve to allow taking folio from subpool", "6.14",
           "owner_cow_takes_subpool_loan: the owner's copy-on-write on a min_size mount uses the page the "
           "subpool lends (and takes it off Rsvd); before, it forced gbl_chg = 1 and the loan stayed on Rsvd "
           "(one reservation leaked a run: docs/findings.md §6)",
           "mm/hugetlb.c: alloc_hugetlb_folio (avoid_reserve)",
           backports=(Backport("6.13", "6.13.3"), Backport("6.12", "6.12.14"), Backport("6.1", "6.1.191")),
           settings={"owner_cow_takes_subpool_loan": True}),
    Commit("a833a693a490", "mm: hugetlb: fix incorrect fallback for subpool", "6.15",
           "reserve_failure_undo 'put-lent' and fault_failure_puts_subpool False: a refused reservation "
           "gives back only what the subpool's minimum lent (the pages asked of the pool stay in its used "
           "count); a fault that found no page keeps its subpool charge (docs/findings.md §1 and §3)",
           "mm/hugetlb.c: hugetlb_reserve_pages (out_put_pages), alloc_hugetlb_folio (out_subpool_put)",
           backports=(Backport("6.14", "6.14.8"),),
           settings={"reserve_failure_undo": "put-lent", "fault_failure_puts_subpool": False}),
    Commit("1d3f9bb4c8af", "mm/hugetlb: restore failed global reservations to subpool", "7.0",
           "reserve_failure_undo 'put-lent-then-restore-used': the refused pages leave the used count too, "
           "but after the lent part went back while the count was still high, so the lent minimum "
           "returns to the pool (docs/findings.md §4: wraps at the end)",
           "mm/hugetlb.c: hugetlb_reserve_pages (out_put_pages)",
           backports=(Backport("6.19", "6.19.14", lacking="6.19"),
                      Backport("6.18", "6.18.44", lacking="6.18.15")),
           settings={"reserve_failure_undo": "put-lent-then-restore-used"}),
    Commit("rollback-fix", "mm/hugetlb: fix subpool minimum reservation rollback", "",
           "reserve_failure_undo 'restore-used-then-put-lent': the used count is restored first, so the "
           "lent minimum goes back to the subpool (docs/findings.md §4: 0 at the end). Mainline id and "
           "release not confirmed here; Debian's 7.3.4 lists it under upstream 7.3.4",
           "mm/hugetlb.c: hugetlb_reserve_pages (out_put_pages)",
           backports=(Backport("7.3", "7.3.4"),),
           settings={"reserve_failure_undo": "restore-used-then-put-lent"}),
)

BY_ID: dict[str, Commit] = {c.id: c for c in COMMITS}


def find(key: str) -> Commit:
    """A commit by id or a stable branch's id (a unique prefix of 7+ hex digits), or by short name.

    ValueError names the choices.
    """
    key = key.strip().lower()
    if key in BY_ID:
        return BY_ID[key]
    if re.fullmatch(r"[0-9a-f]{7,40}", key):
        found = [c for c in COMMITS if any(i and i.startswith(key[:12]) for i in
                                           (c.id if len(c.id) == 12 else "", *(p.stable_id for p in c.backports)))]
        if len(found) == 1:
            return found[0]
    raise ValueError(f"unknown commit {key!r}; hugelab knows: {', '.join(c.short for c in COMMITS)}")


def in_known_range(v: tuple[int, ...]) -> bool:
    return any(low <= v <= high for low, high in KNOWN_RANGES)


def why_carried(commit: Commit, release: str) -> str | None:
    """Why ``release`` carries ``commit`` ("mainline 6.9", "backport 6.12.110"), or None if it does not.

    Raises :class:`UnknownRelease` when the table cannot tell (between a
    backport's ``lacking`` and ``first``).
    """
    v = version(release)
    series = _series(v)
    if commit.mainline and v >= version(commit.mainline):
        return f"mainline {commit.mainline}"
    for port in commit.backports:
        if _series(version(port.series)) != series:
            continue
        if port.first and v >= version(port.first):
            if port.lacking:  # the first release carrying it is not known
                return f"backport to {port.series}.y ({port.lacking} lacks it)"
            return f"backport {port.first}" + (f" ({port.stable_id})" if port.stable_id else "")
        if port.lacking and v > version(port.lacking):
            known = f"{port.first} does" if port.first else "no release is known to"
            raise UnknownRelease(f"Linux {release}: not known whether it carries {commit.short} "
                                 f"(\"{commit.subject}\"): {port.lacking} does not, {known}")
    return None


def commits_of(release: str) -> dict[str, str]:
    """The commits ``release`` carries, id -> why (in mainline order).

    Raises :class:`UnknownRelease` for a release the table does not cover.
    """
    v = version(release)
    if not in_known_range(v):
        raise UnknownRelease(f"Linux {release}: hugelab's commit table covers 2.6.26-2.6.27 and 5.10-7.3 "
                             "(the releases between changed more than it lists)")
    carried = {}
    for commit in COMMITS:
        why = why_carried(commit, release)
        if why:
            carried[commit.id] = why
    return carried
