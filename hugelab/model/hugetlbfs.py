"""hugetlbfs as a trace sees it: mounts, files, memfds, truncate, fallocate, hole punch.

Each function carries out one v2 trace operation on the model and returns
its outcome (None for success, else the errno name), like the model's own.
The kernel functions they mirror (``fs/hugetlbfs/inode.c``, ``mm/memfd.c``)
are named in each docstring. Pages are counted in huge pages; every range
is half-open, ``[start, end)``, in file offsets.

Who holds a file (so that it lives): its name (until ``unlink``), the
trace's open descriptor (until ``close``), and every VMA that maps it, in
any process. When the last goes, the inode is evicted: its pages are freed
and what its map still reserves goes back (:func:`put_inode`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .inode import LONG_MAX, hugetlbfs_evict_inode, remove_inode_hugepages
from .subpool import HugepageSubpool, hugepage_new_subpool, hugepage_put_subpool
from .vma import VMA, HugetlbFile, Page

if TYPE_CHECKING:  # pragma: no cover
    from ..trace.language import Fallocate, FileOp, Memfd, Mount, Punch, Truncate
    from .hstate import HState
    from .policies import Policy


class Model(Protocol):
    """What these functions use of :class:`hugelab.model.machine.Model` (named, not imported:
    the model imports this module)."""

    hstate: HState
    policy: Policy
    mounts: dict[str, Superblock]
    default_mount: Superblock
    inodes: dict[str, HugetlbFile]
    segments: dict[str, Any]  # name -> shm.Segment (shm imports this module)
    sized_mounts: bool
    statfs_changed: set[str]
    files_shrunk: dict[HugetlbFile, tuple[int, int]]

    def hugetlb_vmdelete_list(self, file: HugetlbFile, start: int, end: int) -> None: ...

    def free_pages(self, pages: list[Page]) -> None: ...

    def do_mmap(self, proc: Any, name: str, pages: int, shared: bool, noreserve: bool,
                file_name: str | None = None, offset: int = 0, file: HugetlbFile | None = None) -> str | None: ...


@dataclass(eq=False)
class Superblock:
    """One hugetlbfs mount (kernel: ``struct hugetlbfs_sb_info``)."""

    name: str
    spool: HugepageSubpool | None
    #: the mount's inodes not yet evicted, named or not, oldest first (a dict
    #: as an ordered set: an eviction takes one out without a walk)
    inodes: dict[HugetlbFile, None] = field(default_factory=dict)

    def statfs(self) -> tuple[int, int] | None:
        """(size, free) in pages for a mount made with size=, else None."""
        if self.spool is None or self.spool.max_hpages is None:
            return None
        return self.spool.statfs()


class MountsStatfs(Mapping[str, tuple[int, int]]):
    """statfs (size, free) by mount name, as a step record carries it: read-only, equal to the dict
    of the same items.

    Compact, because one is kept for every step that changes a mount: the
    names (and where each one's value is) are shared by every record until a
    mount comes or goes, the values are one tuple. For 64 mounts about 600
    bytes, where a dict takes 2.3 KB.
    """

    __slots__ = ("_index", "_names", "_values")
    _names: tuple[str, ...]
    _index: dict[str, int]
    _values: tuple[tuple[int, int], ...]

    def __init__(self, items: Mapping[str, tuple[int, int]], like: MountsStatfs | None = None) -> None:
        names = tuple(items)
        if like is not None and like._names == names:
            self._names, self._index = like._names, like._index
        else:
            self._names, self._index = names, {name: i for i, name in enumerate(names)}
        self._values = tuple(items.values())

    def __getitem__(self, name: str) -> tuple[int, int]:
        return self._values[self._index[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def as_dict(self) -> dict[str, tuple[int, int]]:
        return dict(zip(self._names, self._values))

    def __repr__(self) -> str:
        return repr(self.as_dict())


def mount(m: Model, op: Mount) -> str | None:
    """``mount -t hugetlbfs -o size=,min_size=`` (``hugetlbfs_fill_super``)."""
    if op.size is not None and op.min_size is not None and op.min_size > op.size:
        return "EINVAL"
    spool = None
    if op.size is not None or op.min_size is not None:
        spool = hugepage_new_subpool(m.hstate, op.size, op.min_size)
        if spool is None:  # the minimum cannot be reserved
            return "ENOMEM"
    m.mounts[op.mount] = Superblock(op.mount, spool)
    if spool is not None and op.size is not None:  # statfs shows it from now on
        m.sized_mounts = True
        spool.noted_in = (m.statfs_changed, op.mount)
        m.statfs_changed.add(op.mount)
    return None


def umount(m: Model, name: str) -> str | None:
    """``umount(2)``: EBUSY while a file of the mount is open or mapped.

    Otherwise every file goes with the file system (``kill_litter_super``
    evicts the named ones), then the subpool (``hugepage_put_subpool``).
    """
    sb = m.mounts[name]
    if any(inode.opened or inode.vmas for inode in sb.inodes):
        return "EBUSY"
    for inode in sb.inodes:
        inode.linked = False
        note_shrinking(m, inode)
        hugetlbfs_evict_inode(m.hstate, inode)
    sb.inodes.clear()
    del m.mounts[name]
    m.statfs_changed.add(name)  # gone from statfs
    if sb.spool is not None:
        hugepage_put_subpool(m.hstate, sb.spool)
    return None


def create(m: Model, op: FileOp) -> str | None:
    """``open(O_CREAT|O_EXCL|O_RDWR)`` on a mount (``hugetlbfs_create``): empty, held open."""
    sb = m.mounts[op.mount] if op.mount is not None else m.default_mount
    inode = HugetlbFile(op.file, 0, True, False, spool=sb.spool, opened=1, linked=True)
    inode.sb = sb
    sb.inodes[inode] = None
    m.inodes[op.file] = inode
    return None


def memfd_create(m: Model, op: Memfd) -> str | None:
    """``memfd_create(F, MFD_HUGETLB)``: an unnamed file on the kernel's own mount."""
    inode = HugetlbFile(op.file, 0, True, False, opened=1)
    m.inodes[op.file] = inode
    return None


def close(m: Model, name: str) -> str | None:
    """The trace drops its descriptor; mappings of the file keep it alive."""
    inode = m.inodes[name]
    if not inode.opened:
        return "EBADF"  # closed already
    inode.opened -= 1
    put_inode(m, inode)
    return None


def unlink(m: Model, name: str) -> str | None:
    """``unlink(2)``: the name goes; an open or mapped file lives on."""
    inode = m.inodes[name]
    if not inode.linked:
        return "ENOENT"  # unlinked already
    inode.linked = False
    put_inode(m, inode)
    return None


def put_inode(m: Model, inode: HugetlbFile) -> None:
    """Evict ``inode`` if nothing holds it any more (``iput`` -> ``hugetlbfs_evict_inode``)."""
    if inode.opened or inode.vmas or inode.linked or inode.evicted:
        return
    if inode.page_cache or len(inode.resv_map):
        note_shrinking(m, inode)
        hugetlbfs_evict_inode(m.hstate, inode)
    inode.evicted = True
    if inode.sb is not None:
        inode.sb.inodes.pop(inode, None)


def note_shrinking(m: Model, inode: HugetlbFile) -> None:
    """Note the file's map entries and cached pages before this operation takes some.

    For the explorer's arithmetic (what each ``hugetlb_unreserve_pages``
    gave back), which so looks only at the files an operation shrank.
    """
    m.files_shrunk.setdefault(inode, (len(inode.resv_map), len(inode.page_cache)))


def truncate(m: Model, op: Truncate) -> str | None:
    """``ftruncate(F, PAGES)``: ``hugetlbfs_setattr`` -> ``hugetlb_vmtruncate``, whichever
    way the size moves: set the size, zap every mapping of the pages from
    PAGES on in every process (shared and private alike), drop them from the
    page cache, and give back the reservations of ``[PAGES, LONG_MAX)``.

    Growing reserves nothing; it still drops what lies past the new size, such
    as pages a failed fallocate left beyond the old one (found by random traces
    in a 6.12 guest: ``fallocate f 3 3`` -> ENOSPC with page 3 kept, then
    ``truncate f 2`` frees it).
    """
    inode = m.inodes[op.file]
    inode.i_size = op.pages
    note_shrinking(m, inode)
    m.hugetlb_vmdelete_list(inode, op.pages, LONG_MAX)
    remove_inode_hugepages(m.hstate, inode, op.pages, LONG_MAX, truncate_op=True)
    return None


def fallocate(m: Model, op: Fallocate) -> str | None:
    """``fallocate(F, 0, START, COUNT)`` (``hugetlbfs_fallocate``).

    Each page of ``[START, START+COUNT)`` not yet in the page cache is
    allocated as a shared fault would be (a page with a reservation entry
    uses it; one without takes an unreserved page and gets an entry) and
    added to the cache. The first failure stops with ENOSPC, keeping the
    pages already allocated; only success extends the file's size.
    """
    inode = m.inodes[op.file]
    pseudo = VMA(inode, 0, LONG_MAX, shared=True)  # kernel: a pseudo VMA with VM_SHARED|VM_MAYSHARE
    end = op.start + op.count
    for idx in range(op.start, end):
        if idx in inode.page_cache:
            continue
        if not m.policy.alloc_huge_page(m.hstate, pseudo, idx, False):
            return "ENOSPC"
        inode.page_cache[idx] = Page(anon=False, in_page_cache=True, spool=inode.spool)
    inode.i_size = max(inode.i_size, end)
    return None


def punch_hole(m: Model, inode: HugetlbFile, start: int, end: int) -> None:
    """``FALLOC_FL_PUNCH_HOLE`` over ``[start, end)`` (``hugetlbfs_punch_hole``).

    Every mapping of the range is zapped, private ones too ("not correct,
    but how it has always worked", says the kernel's selftest); each page
    of the cache is removed with its reservation entry; offsets of the
    range without a page keep their reservation.
    """
    if end <= start:
        return
    note_shrinking(m, inode)
    m.hugetlb_vmdelete_list(inode, start, end)
    m.free_pages(remove_inode_hugepages(m.hstate, inode, start, end, truncate_op=False))


def punch(m: Model, op: Punch) -> str | None:
    punch_hole(m, m.inodes[op.file], op.start, op.start + op.count)
    return None


__all__ = ["MountsStatfs", "Superblock", "close", "create", "fallocate", "memfd_create", "mount", "note_shrinking",
           "punch", "punch_hole", "put_inode", "truncate", "umount", "unlink"]
