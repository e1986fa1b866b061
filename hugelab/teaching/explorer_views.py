"""What the explorer draws, computed from a model: a mapping as one process sees it, a file as its inode holds it.

Pure Python (no widgets): :mod:`hugelab.teaching.explorer` asks for these views at
every step, and :mod:`hugelab.widgets.charts` turns them into marks. Offsets are
huge pages, every range half-open ``[from, to)``.

Two maps, two meanings (84afd99b): a *shared* mapping's map is its file's
(the inode's), and an entry means *reserved*, whoever maps the file, until a
truncate, a hole punch or the file's eviction takes it
(``hugetlb_unreserve_pages``); a *private* mapping's map is its own, and an
entry means *consumed*. :func:`unreserves` says what a step took out of a
file's map.

Safe with any input: a mapping or a file is drawn page by page only up to
:data:`PAGES_DRAWN` pages; a larger one is summed up with a cost that grows
with its VMA pieces, map regions and pages present, never with its size.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import get_args

from ..model.machine import Model
from ..model.policies import Close, PageState
from ..model.reservation import vma_resv_map
from ..trace.language import Madvise, Mmap, Operation, Punch, Truncate

#: what a page cell shows, in the order of the chart's colours: what a
#: policy answers for an offset of a VMA, and "unmapped" where there is none
PAGE_STATES: tuple[str, ...] = (*get_args(PageState), "unmapped")
#: the largest mapping drawn one cell per page; a larger one is summed up per VMA piece
PAGES_DRAWN = 512
#: at most this many resv_map regions and VMA pieces are drawn for one mapping
SPANS_DRAWN = 512
#: mappings drawn at once (the selected one, then the newest); the others are only named
MAPPINGS_DRAWN = 4



@dataclass(frozen=True)
class MappingView:
    """One mapping as process ``proc`` sees it: a row of cells over offsets ``[0, pages)``.

    ``states`` has one entry per page when the mapping is drawn page by
    page (``pages <= PAGES_DRAWN`` and it exists); otherwise it is empty and
    ``summary`` alone says how many pages are in each state.
    """

    name: str
    proc: str
    pages: int
    #: "private", "shared", "private noreserve" or "shared noreserve"
    kind: str
    #: why nothing is drawn: "mmap failed: ENOMEM", "main killed by SIGBUS at line 5"; "" when it exists
    failed: str
    states: tuple[str, ...]
    #: pages in each of PAGE_STATES, in that order
    summary: tuple[int, int, int, int]
    #: offsets where one VMA piece ends and the next begins (what splits made)
    boundaries: tuple[int, ...]
    #: each VMA piece ``[start, end)`` with what the policy keeps in it
    pieces: tuple[tuple[int, int, str], ...]
    #: the resv_map's regions ``[from, to)``
    regions: tuple[tuple[int, int], ...]
    #: what an entry of that map means for this kind of mapping
    regions_mean: str
    #: the pieces that closed at the step on show: ``[start, end)`` and what they credited
    closed: tuple[tuple[int, int, str], ...]
    #: v2: the file mapped ("" for an anonymous mapping) and the file page of the mapping's page 0
    file: str = ""
    offset: int = 0
    #: is there a map over this mapping, entries or not (a double-credit VMA keeps a count instead)
    has_map: bool = False

    @property
    def drawn(self) -> bool:
        return bool(self.states)


@dataclass(frozen=True)
class FileView(MappingView):
    """A hugetlbfs file (its inode) as a row of cells over file pages ``[0, pages)``.

    The cells: ``faulted`` for a page in the page cache, ``reserved`` for an
    entry of the inode's map with no page yet, ``unreserved`` for a page
    within the file's size with neither, ``unmapped`` past the size.
    ``regions`` are the inode's map: entries mean *reserved*, whoever maps
    the file, and stay when every mapping is gone.
    """

    #: the file's size (i_size) in huge pages
    size: int = 0
    #: what keeps the inode alive: "its name, the trace's descriptor, 2 mappings"
    holders: str = ""
    #: the mount it is on, with statfs for a mount made with size=: "mnt1 (size=6: 3 free)"
    mount: str = ""


def _kind(shared: bool, noreserve: bool) -> str:
    return ("shared" if shared else "private") + (" noreserve" if noreserve else "")


def mapping_view(model: Model, proc: str, op: Mmap, failed: str = "",
                 closes: tuple[Close, ...] = ()) -> MappingView:
    """The view of mapping ``op.name`` in process ``proc`` of ``model``.

    ``failed``: the outcome of its mmap on this side, when it failed: such
    a mapping has no page at all, so nothing is drawn per page.
    """
    name, pages, kind = op.name, op.pages, _kind(op.shared, op.noreserve)
    shared_note = "reserved offsets (shared: the file's map)"
    private_note = "consumed offsets (private: the VMA's map)"
    means = shared_note if op.shared else private_note
    if failed:
        return MappingView(name, proc, pages, kind, failed, (), (0, 0, 0, pages), (), (), (), means, ())
    process = model.procs.get(proc)
    pieces = process.pieces(name) if process else []
    policy = model.policy
    # VMAs count the file's offsets; a mapping made at 'offset K' (trace v2) is drawn from its own page 0
    base = model.mapping_offset.get(name, 0)
    drawn = pages <= PAGES_DRAWN
    states: list[str] = ["unmapped"] * pages if drawn else []
    faulted = reserved = mapped = 0
    for vma in pieces:
        mapped += len(vma)
        if drawn:
            # faulted pages straight from the page table; only the others ask the policy
            present = set(vma.ptes)
            if vma.shared:
                present.update(i for i in vma.file.page_cache if vma.start <= i < vma.end)
            for idx in range(vma.start, vma.end):
                states[idx - base] = "faulted" if idx in present else policy.page_state(vma, idx)
        else:
            f, r = policy.page_counts(vma)
            faulted += f
            reserved += r
    if drawn:
        summary = tuple(states.count(s) for s in PAGE_STATES)
    else:
        summary = (reserved, faulted, mapped - reserved - faulted, pages - mapped)
    boundaries = tuple(a.end - base for a, b in itertools.pairwise(pieces) if a.end == b.start)[:SPANS_DRAWN]
    regions: list[tuple[int, int]] = []
    if op.shared:  # the file's map, while this process maps some of it
        has_map = bool(pieces)
        regions = pieces[0].file.resv_map.regions() if pieces else []
    else:  # the owner's pieces share one map (vma_resv_map finds it); a child's have none
        resv = next((m for m in map(vma_resv_map, pieces) if m is not None), None)
        has_map = resv is not None
        regions = resv.regions() if resv is not None else []
    if base or (regions and regions[-1][1] > pages):  # a file's map: the mapping's window, from its page 0
        end = base + pages
        regions = [(max(f, base) - base, min(t, end) - base) for f, t in regions if f < end and t > base]
    closed = tuple((c.start - base, c.end - base, f"closed: credited {c.credit}") for c in closes
                   if c.mapping == name and c.proc == proc)
    return MappingView(name, proc, pages, kind, "", tuple(states), summary,  # type: ignore[arg-type]
                       boundaries,
                       tuple((v.start - base, v.end - base, policy.describe_piece(v)) for v in pieces[:SPANS_DRAWN]),
                       tuple(regions[:SPANS_DRAWN]), means, closed, op.file or "", op.offset, has_map)


FILE_MAP_MEANS = "reserved offsets (the file's own map: it outlives munmap)"


def file_view(model: Model, name: str, failed: str = "") -> FileView:
    """The view of file ``name`` (its inode) in ``model``: pages, map entries, size, holders.

    ``failed``: why the file is not there on this side (its line failed or
    was skipped). An evicted file is drawn as nothing, and says why.
    """
    inode = model.inodes.get(name)
    if inode is None or failed:
        return FileView(name, "", 1, "file", failed or "never created", (), (0, 0, 0, 1), (), (), (),
                        FILE_MAP_MEANS, ())
    sb = inode.sb
    mount = ""
    if sb is not None and sb.name:
        statfs = sb.statfs()
        mount = sb.name + (f" (size={statfs[0]}: {statfs[1]} free)" if statfs is not None else "")
    if inode.evicted:
        return FileView(name, "", 1, "file", "evicted (no name, descriptor or mapping held it): pages freed, "
                        "reservations given back", (), (0, 0, 0, 1), (), (), (),
                        FILE_MAP_MEANS, (), size=inode.i_size, mount=mount)
    regions = inode.resv_map.regions()
    cache = inode.page_cache
    extent = max(inode.i_size, regions[-1][1] if regions else 0, max(cache) + 1 if cache else 0)
    pages = max(extent, 1)
    states: list[str] = []
    if pages <= PAGES_DRAWN:
        reserved = inode.resv_map.offsets()
        states = ["faulted" if i in cache else "reserved" if i in reserved
                  else "unreserved" if i < inode.i_size else "unmapped" for i in range(pages)]
        summary = tuple(states.count(s) for s in PAGE_STATES)
    else:  # counted, not drawn: cost grows with the map's regions and the cached pages only
        in_map = sum(1 for i in cache if inode.resv_map.region_count(i, i + 1))
        waiting = len(inode.resv_map) - in_map
        rest = pages - len(cache) - waiting
        past_end = min(rest, max(0, pages - inode.i_size))
        summary = (waiting, len(cache), rest - past_end, past_end)
    vmas = inode.vmas
    held = [what for what, there in (("its name", inode.linked), ("the trace's descriptor", inode.opened),
                                     (f"{vmas} mapping{'s' if vmas != 1 else ''}", vmas)) if there]
    return FileView(name, "", pages, "file", "", tuple(states), summary, (), (),  # type: ignore[arg-type]
                    tuple(regions[:SPANS_DRAWN]), FILE_MAP_MEANS, (), size=inode.i_size,
                    holders=", ".join(held), mount=mount)


@dataclass(frozen=True)
class Unreserve:
    """What one step took out of a file's map (``hugetlb_unreserve_pages``), for the arithmetic line.

    ``entries`` map entries went (``region_del``), ``pages`` page-cache pages
    with them; the pages' reservations were used when they arrived, so
    ``entries - pages`` reservations go back to the pool.
    """

    file: str
    #: "truncate f to 1", "f evicted", "hole punch"
    why: str
    start: int
    entries: int
    pages: int


def reserved_without_page(model: Model, name: str) -> int | None:
    """Offsets file ``name``'s map reserves with no page yet (None: no such file, or evicted)."""
    inode = model.inodes.get(name)
    if inode is None or inode.evicted:
        return None
    cached = sum(1 for i in inode.page_cache if inode.resv_map.region_count(i, i + 1))
    return len(inode.resv_map) - cached


def unreserves(model: Model, op: Operation) -> tuple[Unreserve, ...]:
    """What ``op``, just carried out, took out of each named file's map (files, memfds; oldest first).

    From the files the model noted as shrinking (``Model.files_shrunk``, with
    their state before ``op``): the cost grows with those, not with every file.
    """
    noted = [(inode, before) for inode, before in model.files_shrunk.items()
             if model.inodes.get(inode.name) is inode]  # not a mapping's or a segment's own file
    if len(noted) > 1:  # an umount or an exit: in the order the files were made
        order = {inode: i for i, inode in enumerate(model.inodes.values())}
        noted.sort(key=lambda pair: order[pair[0]])
    found = []
    for inode, (entries, pages) in noted:
        name = inode.name
        if inode.evicted:
            why, start, gone, freed = f"{name} evicted (nothing holds it)", 0, entries, pages
        else:
            gone, freed = entries - len(inode.resv_map), pages - len(inode.page_cache)
            start = op.pages if isinstance(op, Truncate) else 0
            if isinstance(op, Truncate):
                why = f"truncate {name} to {op.pages}"
            elif isinstance(op, Punch) or (isinstance(op, Madvise) and op.advice == "remove"):
                why = f"hole punch in {name}, page by page"
            else:
                why = f"{op.text} ({name})"
        if gone > 0 or freed > 0:
            found.append(Unreserve(name, why, start, gone, freed))
    return tuple(found)


def unreserve_line(u: Unreserve) -> str:
    """One file's ``hugetlb_unreserve_pages``: entries removed, pages among them, what went back."""
    entries = f"{u.entries} map entr{'y' if u.entries == 1 else 'ies'}"
    span = f"[{u.start}, \u221e)" if u.why.startswith(("truncate", u.file + " evicted")) else ""
    return (f"{u.why}: hugetlb_unreserve_pages{span and ' ' + span} removed {entries}, {u.pages} with a page "
            f"(freed) -> gave back {u.entries - u.pages}")
