"""The kernel model: processes, mappings, faults and the pool, for one policy.

:class:`Model` carries out one trace operation at a time and answers with
the outcome the kernel would give (``None`` for success, or ``ENOMEM``,
``EINVAL``, ``SIGBUS``, ``SIGSEGV``). What all eras share lives here; where
they differ it calls the policy's hooks (:mod:`hugelab.model.policies.base`).

Trace v2's files, mounts and segments live in :mod:`hugelab.model.hugetlbfs` and
:mod:`hugelab.model.shm`; what they do to a file's reservations is in
:mod:`hugelab.model.inode`, and a mount's budget in :mod:`hugelab.model.subpool`. Every
mapping has a file (an anonymous one gets its own), and a VMA counts the
file's offsets, so a mapping made at ``offset K`` starts at ``K``.

Unmapping follows the kernel's order, which the counters can see: split
the VMAs at the range's edges, zap every page in the range (the policy's
``zap_hook`` runs here, while the pool is as it was), free the pages whose
last user went, then close each VMA piece (the policy's ``close``), and
evict a shared mapping's file when its last VMA is gone.

Each method that mirrors a kernel function names it in its docstring. The
policies get only the pool (``self.hstate``) and the VMA they work on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..limits import MAX_VMAS
from ..trace.language import (
    MAIN,
    OPERATIONS,
    Exit,
    Fork,
    Madvise,
    Mmap,
    Mprotect,
    Munmap,
    Operation,
    Pool,
    Touch,
)
from . import hugetlbfs, shm
from .hstate import Counters, HState
from .inode import free_huge_folios, hugetlb_reserve_pages
from .mm import Process, mmap_may_add_vma, munmap_may_split, split_may_add_vma
from .policies import Close, Policy, get_policy
from .vma import VMA, HugetlbFile, Page


#: v2 operations done by the trace itself, not by a process
class Model:
    """One simulated machine: an hstate, processes, and a policy."""

    def __init__(self, policy: str | Policy = "modern") -> None:
        self.policy = get_policy(policy)
        self.hstate = HState()
        self.procs: dict[str, Process] = {MAIN: Process(MAIN)}
        #: the file behind each mapping name (anonymous mappings get their own)
        self.files: dict[str, HugetlbFile] = {}
        #: v2: mounts by name, files and memfds by name, System V segments by name
        self.mounts: dict[str, hugetlbfs.Superblock] = {}
        self.default_mount = hugetlbfs.Superblock("", None)  # the trace's own, no limits
        self.inodes: dict[str, HugetlbFile] = {}
        self.segments: dict[str, shm.Segment] = {}
        #: has the trace made a mount with size= (step records then carry statfs)
        self.sized_mounts = False
        #: statfs of each size= mount as :meth:`statfs` last answered, and the
        #: names of the mounts made, unmounted or charged since (noted by
        #: hugetlbfs.mount, umount and the subpool itself): each answer re-reads
        #: only those, so a step costs the same with 1 mount or 64
        self._statfs = hugetlbfs.MountsStatfs({})
        self.statfs_changed: set[str] = set()
        #: the file offset each mapping starts at ('mmap ... offset K'); absent: 0
        self.mapping_offset: dict[str, int] = {}
        #: what the last operation's closes computed (for the arithmetic panel)
        self.closes: list[Close] = []
        #: (map entries, cached pages) before the last operation of each file it
        #: truncated, punched or evicted (for the arithmetic panel; hugetlbfs.note_shrinking)
        self.files_shrunk: dict[HugetlbFile, tuple[int, int]] = {}
        #: VMAs in every process together, at most limits.MAX_VMAS
        self.nr_vmas = 0

    def counters(self) -> Counters:
        return self.hstate.counters()

    def statfs(self) -> hugetlbfs.MountsStatfs | None:
        """statfs (size, free) of each mounted mount made with size=, in the order they were mounted;
        None before the first.

        The answer is shared by the step records until a mount changes (a new
        one then): read-only.
        """
        if not self.sized_mounts:
            return None
        if self.statfs_changed:
            answer = self._statfs.as_dict()
            new = []
            for name in self.statfs_changed:
                sb = self.mounts.get(name)
                if sb is None:  # unmounted
                    answer.pop(name, None)
                elif name in answer:
                    answer[name] = sb.statfs()  # type: ignore[assignment]
                else:
                    new.append(name)
            if len(new) > 1:  # asked after several mounts: in the order they were mounted, as self.mounts
                new.sort(key=list(self.mounts).index)
            for name in new:  # a name is never mounted twice: a new one goes last
                answer[name] = self.mounts[name].statfs()  # type: ignore[assignment]
            self._statfs = hugetlbfs.MountsStatfs(answer, self._statfs)
            self.statfs_changed.clear()
        return self._statfs

    def outstanding_reservations(self) -> int:
        """Reservations that should be on Rsvd now, counted from the mappings.

        Private: every owner piece's pages whose reservation is unused (the
        policy's truth, whatever it credits). Shared: offsets a live file
        reserves that have no page yet.
        """
        total = sum(self.policy.unused_reservation(vma)
                    for proc in self.procs.values() for _, vma in proc.all_vmas() if not vma.shared)
        for file in self.live_files():
            total += len(file.resv_map) - sum(1 for i in file.page_cache if file.resv_map.region_count(i, i + 1))
        spools = {id(sb.spool): sb.spool for sb in self.mounts.values() if sb.spool is not None}
        return total + sum(spool.rsv_hpages for spool in spools.values())

    def live_files(self) -> list[HugetlbFile]:
        """Every inode not evicted: mapped, open, named or a segment's."""
        files = {id(f): f for f in self.files.values() if f.shared and f.vmas}
        files.update((id(f), f) for f in self.inodes.values() if not f.evicted)
        files.update((id(s.file), s.file) for s in self.segments.values() if not s.file.evicted)
        return list(files.values())

    def pending_restores(self) -> int:
        """Pages marked restore_reserve that someone still maps (v6.9+).

        Their reservation was already handed back when the owner unmapped
        them, and comes back onto Rsvd only when the page is freed.
        """
        pages = {id(p): p for proc in self.procs.values() for _, vma in proc.all_vmas()
                 for p in vma.ptes.values() if p.restore_reserve}
        return len(pages)

    # -- the one entry point ---------------------------------------------
    def apply(self, op: Operation) -> str | None:
        """Carry out ``op``; return None on success or the outcome's name."""
        self.closes = []
        self.files_shrunk = {}
        in_process = _PROCESS_OPS.get(op.__class__)  # one lookup: this runs once a line
        if in_process is None:
            return _MACHINE_OPS[op.__class__](self, op)
        proc = self.procs[op.proc]  # type: ignore[union-attr]
        error = in_process(self, proc, op)
        if error is not None and error in _SIGNALS:
            self._teardown(self.procs.pop(proc.name))
        return error

    def _pool(self, op: Pool) -> None:
        self.hstate.nr_overcommit_huge_pages = op.overcommit
        self.hstate.set_max_huge_pages(op.pages)

    def _exit(self, op: Exit) -> None:
        self._teardown(self.procs.pop(op.proc))

    def _fork_op(self, proc: Process, op: Fork) -> str | None:
        child = self._fork(proc, op.child)
        if child is None:
            return "ENOMEM"
        self.procs[op.child] = child
        return None

    # Trace offsets count from the mapping's first page; VMAs count file offsets.
    def _touch(self, proc: Process, op: Touch) -> str | None:
        base = self.mapping_offset.get(op.name, 0) if self.mapping_offset else 0
        return self._hugetlb_fault(proc, op.name, base + op.page, op.write)

    def _munmap_op(self, proc: Process, op: Munmap) -> str | None:
        start = self.mapping_offset.get(op.name, 0) + op.start
        return self._munmap(proc, op.name, start, start + op.count)

    def _mprotect_op(self, proc: Process, op: Mprotect) -> str | None:
        start = self.mapping_offset.get(op.name, 0) + op.start
        return self._mprotect(proc, op.name, start, start + op.count, op.prot)

    def _madvise(self, proc: Process, op: Madvise) -> str | None:
        start = self.mapping_offset.get(op.name, 0) + op.start
        if op.advice == "remove":
            return self._madvise_remove(proc, op.name, start, start + op.count)
        return self._madvise_dontneed(proc, op.name, start, start + op.count)

    # -- pages -------------------------------------------------------------
    def _unmap_hugepage_range(self, vma: VMA, start: int, end: int) -> list[Page]:
        """Unmap the pages of ``vma`` in ``[start, end)`` (kernel: ``__unmap_hugepage_range``).

        Returns the pages whose last user went, for the caller to free
        (:meth:`free_pages`) in one batch once every VMA of its operation is
        zapped. A page is mapped at most once per process, so its count
        after this zap is final for the operation.
        """
        ptes = vma.ptes
        if not ptes:
            return []  # nothing mapped: nothing to zap (most VMAs a child inherits)
        if start <= vma.start and vma.end <= end:
            removed = ptes  # the whole table: read, never changed (a fork may share it)
            vma.ptes, vma.ptes_shared = {}, False
        else:
            inside = _offsets_in(ptes, start, end)
            if inside:
                ptes = vma.own_ptes()
            removed = {i: ptes.pop(i) for i in inside}
        zap = self.policy.zap_hook(self.hstate, vma)  # decided once per VMA, as the kernel's test is
        if zap is not None:
            for idx, page in removed.items():
                zap(idx, page)
        unused = []
        for page in removed.values():
            page.mapcount -= 1
            if page.unused():
                unused.append(page)
        return unused

    def free_pages(self, pages: list[Page]) -> None:
        """Free pages nobody maps or caches any more (``free_huge_folio`` each)."""
        free_huge_folios(self.hstate, pages)

    def hugetlb_vmdelete_list(self, file: HugetlbFile, start: int, end: int) -> None:
        """Zap file offsets ``[start, end)`` in every VMA of every process that maps ``file``.

        Mirrors ``hugetlb_vmdelete_list`` over the file's ``i_mmap``: shared
        and private mappings alike; the pages whose last user went are freed
        in one batch after every VMA is zapped.
        """
        unused = []
        for proc in self.procs.values():
            for _, vma in proc.all_vmas():
                if vma.file is file and vma.start < end and start < vma.end:
                    unused += self._unmap_hugepage_range(vma, max(start, vma.start), min(end, vma.end))
        self.free_pages(unused)

    # -- mmap --------------------------------------------------------------
    def _mmap(self, proc: Process, op: Mmap) -> str | None:
        """A new mapping and what it reserves (kernel: ``hugetlbfs_file_mmap`` -> ``hugetlb_reserve_pages``)."""
        if op.pages == 0:
            return "EINVAL"
        return self.do_mmap(proc, op.name, op.pages, op.shared, op.noreserve, op.file, op.offset)

    def do_mmap(self, proc: Process, name: str, pages: int, shared: bool, noreserve: bool,
                file_name: str | None = None, offset: int = 0, file: HugetlbFile | None = None) -> str | None:
        """``mmap`` of ``pages`` huge pages at file offset ``offset`` (``hugetlbfs_file_mmap``).

        Anonymous (no file): the mapping gets a file of its own, as the
        kernel's ``hugetlb_file_setup`` does. A shared mapping reserves what
        the file's map lacks; a private one reserves all its pages (the
        policy's hook); MAP_NORESERVE, or a System V segment's file,
        reserves nothing. A writable mapping extends the file to its end.
        """
        if not mmap_may_add_vma(proc) or self.nr_vmas >= MAX_VMAS:
            return "ENOMEM"  # too many mappings: checked before anything is reserved
        noreserve = noreserve and self.policy.honours_noreserve
        if file is None and file_name is None:
            file = HugetlbFile(name, pages, shared, False, i_size=pages)
        elif file is None:
            file = self.inodes[file_name]  # type: ignore[index]
        vma = VMA(file, offset, offset + pages, name=name, shared=shared, noreserve=noreserve)
        # A System V segment reserved at shmget (kernel: S_PRIVATE adds VM_NORESERVE to
        # its mmaps since e656c7a9e596; before, shmat reserved what the segment's map lacked).
        if not (noreserve or (file.s_private and self.policy.shmat_noreserve)):
            if shared:
                # The file's map holds what is reserved: reserve what it lacks.
                if not hugetlb_reserve_pages(self.hstate, file, offset, offset + pages, shared=True,
                                             undo=self.policy.reserve_failure_undo):
                    return "ENOMEM"  # hugetlbfs_file_mmap: -ENOMEM, the quota's refusal included
            else:
                error = self.policy.reserve_private(self.hstate, vma)
                if error is not None:
                    return error
        file.i_size = max(file.i_size, offset + pages)  # PROT_WRITE: i_size_write(inode, len)
        file.vmas += 1
        self.files[name] = file
        if offset:
            self.mapping_offset[name] = offset
        proc.add_vma(name, vma)
        self.nr_vmas += 1
        return None

    # -- faults ------------------------------------------------------------
    def _hugetlb_fault(self, proc: Process, name: str, idx: int, write: bool) -> str | None:
        """A read or write of page ``idx`` (kernel: ``hugetlb_fault``)."""
        vma = proc.vma_at(name, idx)
        if vma is None or vma.prot == "none" or (write and vma.prot != "rw"):
            return "SIGSEGV"
        page = vma.ptes.get(idx)
        if page is None:
            return self._hugetlb_no_page(vma, idx, write)
        if write and not vma.shared and (page.mapcount > 1 or not page.anon):
            return self._hugetlb_wp(vma, idx, page)
        return None  # mapped already: reuse (a sole user's write just makes it writable)

    def _hugetlb_no_page(self, vma: VMA, idx: int, write: bool = True) -> str | None:
        """Nothing mapped at ``idx``: the page cache's page, or a new one (kernel: ``hugetlb_no_page``).

        A page already in the file's page cache is mapped (a private
        mapping's write then copies it); otherwise, within the file's size,
        a new page: into the page cache for a shared mapping, anonymous for
        a private one. At or beyond the size: SIGBUS.
        """
        if vma.unmapped:
            return "SIGBUS"  # "killed due to inadequate hugepage pool"
        file = vma.file
        page = file.page_cache.get(idx) if file.page_cache else None
        if page is None:
            if idx >= file.i_size:
                return "SIGBUS"  # beyond the end of the file
            if not self.policy.alloc_huge_page(self.hstate, vma, idx, avoid_reserve=False):
                return "SIGBUS"
            page = Page(not vma.shared, 0, False, False, file.spool)  # anon, mapcount, in_page_cache, ...
            if vma.shared:
                page.in_page_cache = True
                file.page_cache[idx] = page
        page.mapcount += 1
        vma.own_ptes()[idx] = page
        if write and not vma.shared and not page.anon:
            return self._hugetlb_wp(vma, idx, page)  # private write to a page-cache page
        return None

    def _hugetlb_wp(self, vma: VMA, idx: int, old: Page) -> str | None:
        """A write this private mapping may not do in place: copy the page (kernel: ``hugetlb_wp``).

        The owner copying its own anonymous page must not use its reservation
        (``outside_reserve``: the page it copies used it); if it finds no page,
        the children lose theirs instead. Copying a page-cache page uses the
        mapping's reservation for that offset, as a first fault would.
        """
        outside_reserve = vma.owner and old.anon and self.policy.owner_cow_guarantee
        if self.policy.alloc_huge_page(self.hstate, vma, idx, outside_reserve):
            old.mapcount -= 1
            vma.own_ptes()[idx] = Page(True, 1, False, False, vma.file.spool)  # anon, mapped once
            return None
        if not outside_reserve:
            return "SIGBUS"
        self._unmap_ref_private(vma, idx, old)
        return None  # the owner is now the page's only user: it keeps it

    def _unmap_ref_private(self, owner_vma: VMA, idx: int, page: Page) -> None:
        """Take ``page`` from every other VMA mapping it; mark those VMAs UNMAPPED.

        kernel: ``unmap_ref_private``.
        """
        for proc in self.procs.values():
            for vma in proc.pieces(owner_vma.name):
                if vma is owner_vma or vma.owner or vma.file is not owner_vma.file:
                    continue
                if vma.ptes.get(idx) is page:
                    del vma.own_ptes()[idx]
                    page.mapcount -= 1
                    vma.unmapped = True

    # -- munmap, mprotect, madvise -------------------------------------------
    def _split(self, proc: Process, name: str, start: int, end: int, checked: bool = True) -> list[VMA] | None:
        """Split the pieces of ``name`` at ``start`` and ``end``; return those inside ``[start, end)``.

        kernel: ``split_vma`` (the new piece is a copy, then ``vm_ops->open``),
        which refuses a split that would pass ``vm.max_map_count``: then None,
        with the split at ``start`` kept if it was made, as the kernel keeps
        it. ``checked=False``: ``__split_vma``, which munmap uses (it checks
        its own rule first, :func:`~hugelab.model.mm.munmap_may_split`). Either way
        the model's whole machine holds at most ``limits.MAX_VMAS``.
        """
        for cut in (start, end):
            vma = proc.vma_at(name, cut)
            if vma is not None and vma.start < cut:
                if (checked and not split_may_add_vma(proc)) or self.nr_vmas >= MAX_VMAS:
                    return None
                upper = vma.split_at(cut)
                self.policy.open(upper)
                proc.add_vma(name, upper)
                self.nr_vmas += 1
        return proc.inside(name, start, end)

    def _munmap(self, proc: Process, name: str, start: int, end: int) -> str | None:
        """Unmap ``[start, end)`` of a mapping (kernel: ``do_vmi_munmap``)."""
        if end == start:
            return "EINVAL"
        first = proc.vma_at(name, start)
        if first is not None and not munmap_may_split(proc, first, start, end):
            return "ENOMEM"  # a hole inside one VMA would pass vm.max_map_count
        inside = self._split(proc, name, start, end, checked=False)
        if inside is None:
            return "ENOMEM"
        self._remove(proc, inside)
        return None

    def _remove(self, proc: Process, vmas: list[VMA], detach: bool = True) -> None:
        """Unmap whole VMAs: zap them all, free pages, then close each one.

        kernel: ``unmap_vmas`` (the zaps, freed in one batch as the mmu_gather
        does), then ``remove_vma`` -> ``vm_ops->close`` for each VMA.

        ``detach=False``: the process is gone already, so its VMA lists are
        left as they are rather than emptied one VMA at a time.
        """
        unused = []
        for vma in vmas:
            unused += self._unmap_hugepage_range(vma, vma.start, vma.end)
        self.free_pages(unused)
        self.nr_vmas -= len(vmas)
        close_vma, hstate = self.policy.close, self.hstate
        for vma in vmas:
            if detach:
                proc.remove(vma.name, vma)
            close = close_vma(hstate, proc.name, vma)
            if close is not None:
                self.closes.append(close)
            file = vma.file
            file.vmas -= 1
            if not file.vmas:
                # The last mapping went (kernel: fput): an anonymous mapping's
                # file, or an unlinked and closed one, is evicted.
                hugetlbfs.put_inode(self, file)

    def _covered(self, proc: Process, name: str, start: int, end: int) -> bool:
        """Is every page of ``[start, end)`` mapped? (The pieces never overlap.)"""
        mapped = sum(max(0, min(end, v.end) - max(start, v.start)) for v in proc.pieces(name))
        return mapped == end - start

    def _mprotect(self, proc: Process, name: str, start: int, end: int, prot: str) -> str | None:
        """Change the protection of ``[start, end)`` (kernel: ``mprotect_fixup``, VMA by VMA)."""
        # The kernel changes VMA after VMA from `start`, and stops with ENOMEM
        # at the first hole: what it changed before the hole stays changed.
        pos = start
        while pos < end:
            vma = proc.vma_at(name, pos)
            if vma is None:
                return "ENOMEM"
            stop = min(end, vma.end)
            if vma.prot != prot:
                pieces = self._split(proc, name, pos, stop)
                if pieces is None:
                    return "ENOMEM"  # vm.max_map_count: what changed before stays changed
                for piece in pieces:
                    piece.prot = prot
            pos = stop
        return None

    def _madvise_dontneed(self, proc: Process, name: str, start: int, end: int) -> str | None:
        """Drop the pages of ``[start, end)``, keep the VMAs (kernel: ``madvise_dontneed_single_vma``)."""
        if end == start:
            return None
        if not self.policy.madvise_dontneed:
            # before 5.18 the first hugetlb VMA of the range refuses (can_madv_lru_vma):
            # EINVAL, unless the range holds no VMA at all (ENOMEM, as for any hole)
            hit = any(v.start < end and start < v.end for v in proc.pieces(name))
            return "EINVAL" if hit else "ENOMEM"
        # No split: the pages go, the VMAs stay; holes are reported after.
        # Unlike munmap and exit, madvise zaps and frees one VMA at a time,
        # so the zap of a later VMA sees the pool after the earlier frees
        # (observable through the v6.9 restore, which needs Surp == 0).
        for vma in list(proc.pieces(name)):
            self.free_pages(self._unmap_hugepage_range(vma, max(start, vma.start), min(end, vma.end)))
        return None if self._covered(proc, name, start, end) else "ENOMEM"

    def _madvise_remove(self, proc: Process, name: str, start: int, end: int) -> str | None:
        """MADV_REMOVE: punch a hole in the file under each VMA of the range (``madvise_remove``).

        VMA by VMA in address order; a private one stops the walk with
        EACCES (the kernel's answer since ``vma_is_shared_maywrite``; the
        contract's table says EINVAL, the kernel wins); holes in the range
        give ENOMEM once the mapped parts are done.
        """
        if end == start:
            return None
        for vma in list(proc.pieces(name)):
            lo, hi = max(start, vma.start), min(end, vma.end)
            if lo >= hi:
                continue
            if not vma.shared:
                return "EACCES"
            hugetlbfs.punch_hole(self, vma.file, lo, hi)
        return None if self._covered(proc, name, start, end) else "ENOMEM"

    # -- processes -----------------------------------------------------------
    def _fork(self, parent: Process, name: str) -> Process | None:
        """A child with a copy of every VMA and page table (kernel: ``dup_mmap``).

        Each copy goes through ``hugetlb_dup_vma_private``: a private VMA of
        the child has no map and no HPAGE_RESV_OWNER. Pages are shared, not
        copied (``copy_hugetlb_page_range``), until a write copies them.
        None, with nothing changed, when the copies would pass the model's
        ``limits.MAX_VMAS`` (the kernel's fork fails with ENOMEM when it
        cannot allocate them). The child has its parent's ``map_count``: no
        limit applies to a fork's copies.
        """
        if self.nr_vmas + parent.map_count > MAX_VMAS:
            return None
        self.nr_vmas += parent.map_count
        child = Process(name, map_count=parent.map_count)
        for mapping, pieces in parent.vmas.items():
            copies = []
            for vma in pieces:  # already in order
                file, ptes = vma.file, vma.ptes
                # The child's private VMAs start with no reservation of their own (not owner, not unmapped).
                copy = VMA(file, vma.start, vma.end, vma.prot, vma.private_data if vma.shared else None,
                           False, False, ptes, vma.name, vma.shared, vma.noreserve)
                if ptes:
                    # The child shares the parent's page table until one of them
                    # changes it (VMA.own_ptes): no copy of every entry per fork.
                    vma.ptes_shared = copy.ptes_shared = True
                    for page in ptes.values():
                        page.mapcount += 1
                else:
                    copy.ptes = {}
                copies.append(copy)
                file.vmas += 1
            child.vmas[mapping] = copies
        return child

    def _teardown(self, proc: Process) -> None:
        """Exit, or death by signal: every mapping goes, as one unmap of everything.

        kernel: ``exit_mmap``.
        """
        self._remove(proc, [vma for pieces in proc.vmas.values() for vma in pieces], detach=False)


def _offsets_in(ptes: dict[int, Page], start: int, end: int) -> list[int]:
    """The offsets in ``ptes`` within ``[start, end)``, walking whichever is smaller, the range or the table."""
    if end - start < len(ptes):
        return [i for i in range(start, end) if i in ptes]
    return [i for i in ptes if start <= i < end]


#: what a signal does to the process that got it: it dies (its mappings go as at exit)
_SIGNALS = ("SIGBUS", "SIGSEGV")

#: The model's handler for every operation of the language, by the operation's word (its row in
#: :data:`hugelab.trace.language.OPERATIONS`). An operation a process does (``in PROC``) is handled
#: as ``(model, process, op)``; the others, on the machine itself (the pool, an exit, v2's files,
#: mounts and segments), as ``(model, op)``. ``tests/test_operations.py`` checks every row has one.
HANDLERS: dict[str, Callable[..., str | None]] = {
    "pool": Model._pool,
    "mmap": Model._mmap,
    "touch": Model._touch,
    "munmap": Model._munmap_op,
    "mprotect": Model._mprotect_op,
    "madvise": Model._madvise,
    "fork": Model._fork_op,
    "exit": Model._exit,
    "mount": hugetlbfs.mount,
    "umount": lambda m, op: hugetlbfs.umount(m, op.mount),
    "file": hugetlbfs.create,
    "memfd": hugetlbfs.memfd_create,
    "close": lambda m, op: hugetlbfs.close(m, op.file),
    "unlink": lambda m, op: hugetlbfs.unlink(m, op.file),
    "truncate": hugetlbfs.truncate,
    "fallocate": hugetlbfs.fallocate,
    "punch": hugetlbfs.punch,
    "shmget": shm.shmget,
    "shmat": shm.shmat,
    "shmrm": lambda m, op: shm.shmrm(m, op.segment),
}

#: the same, by operation class, split by who does it (one dict lookup a line)
_PROCESS_OPS: dict[type, Callable[[Model, Process, Any], str | None]] = {
    row.form: HANDLERS[row.op] for row in OPERATIONS.values() if row.in_proc}
_MACHINE_OPS: dict[type, Callable[[Model, Any], str | None]] = {
    row.form: HANDLERS[row.op] for row in OPERATIONS.values() if not row.in_proc}
