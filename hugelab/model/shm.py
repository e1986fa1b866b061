"""System V shared memory with SHM_HUGETLB: shmget, shmat, IPC_RMID.

A segment is a file on the kernel's own hugetlbfs mount, made by
``shmget`` (kernel: ``newseg`` -> ``hugetlb_file_setup``), which reserves
the whole segment at once in the file's map, unless SHM_NORESERVE.
The file is marked S_PRIVATE, so attaching it (``shmat``: an mmap of the
whole file, shared, read-write) reserves nothing: its faults use the
reservations shmget made. ``IPC_RMID`` removes the segment's id; the
segment is destroyed (its file evicted, its pages freed, what it still
reserves given back) when the last attachment goes (``shm_destroy``).

In hugelab the id is the file's name: ``shmrm`` unlinks it, and the file
lives while any VMA maps it, exactly as a hugetlbfs file does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .hugetlbfs import put_inode
from .inode import hugetlb_reserve_pages
from .vma import HugetlbFile

if TYPE_CHECKING:  # pragma: no cover
    from ..trace.language import Shmat, Shmget
    from .hugetlbfs import Model
    from .mm import Process


@dataclass(eq=False)
class Segment:
    name: str
    pages: int
    file: HugetlbFile


def shmget(m: Model, op: Shmget) -> str | None:
    """``shmget(IPC_PRIVATE, PAGES*2M, IPC_CREAT|SHM_HUGETLB[|SHM_NORESERVE])``."""
    if op.pages == 0:
        return "EINVAL"  # shmget of size 0 (below SHMMIN)
    file = HugetlbFile(op.segment, op.pages, True, False, i_size=op.pages, linked=True, s_private=True)
    noreserve = op.noreserve and m.policy.honours_noreserve
    if not noreserve and not hugetlb_reserve_pages(m.hstate, file, 0, op.pages, shared=True,
                                                   undo=m.policy.reserve_failure_undo):
        return "ENOMEM"
    m.segments[op.segment] = Segment(op.segment, op.pages, file)
    return None


def shmat(m: Model, proc: Process, op: Shmat) -> str | None:
    """``shmat(S, NULL, 0)``: map the whole segment shared, as mapping NAME (``do_shmat``)."""
    segment = m.segments[op.segment]
    if segment.file.evicted:
        return "EINVAL"  # removed and destroyed: the id no longer exists
    return m.do_mmap(proc, op.name, segment.pages, True, False, file=segment.file)


def shmrm(m: Model, name: str) -> str | None:
    """``shmctl(S, IPC_RMID)``: destroyed now if unattached, else at the last detach."""
    file = m.segments[name].file
    if file.evicted:
        return "EINVAL"  # destroyed already: the id is gone
    file.linked = False  # (again, if marked before: still attached, still fine)
    put_inode(m, file)
    return None
