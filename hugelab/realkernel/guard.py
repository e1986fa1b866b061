"""The real kernel's limits, checked on a whole trace before anything runs.

:func:`check_trace` refuses, with one line naming the trace line, a trace
that would ask this machine for more huge pages than
:func:`hugelab.limits.kernel_max_hugepages` allows, start more processes
than :data:`~hugelab.limits.KERNEL_MAX_PROCESSES` (or than the open-file
limit can serve), make more VMAs in one process than
:func:`hugelab.limits.kernel_max_trace_vmas` allows, make more mounts,
files or segments than ``KERNEL_MAX_MOUNTS``, ``KERNEL_MAX_FILES`` and
``KERNEL_MAX_SEGMENTS`` allow, or place mappings
outside :data:`~hugelab.limits.KERNEL_ADDRESS_RANGE`. It reads /proc/meminfo
and /proc/sys/vm/max_map_count, and writes nothing.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator

from .. import limits
from ..trace.language import MAIN, FileOp, Fork, Memfd, Mmap, Mount, Mprotect, Munmap, Pool, Shmat, Shmget, Trace

#: the most VMAs one line can add to a process: a new mapping one, a munmap
#: one (a hole in one VMA leaves two), an mprotect two (the middle of one
#: VMA becomes three); madvise, touch and v2's file operations split nothing
VMAS_ADDED = {Mmap: 1, Shmat: 1, Munmap: 1, Mprotect: 2}

#: what a kernel replay makes, by the lines that make one: what it is called, and the most allowed
MADE = {Mount: ("mounts", limits.KERNEL_MAX_MOUNTS),
        FileOp: ("files and memfds (each a descriptor the replay holds open)", limits.KERNEL_MAX_FILES),
        Memfd: ("files and memfds (each a descriptor the replay holds open)", limits.KERNEL_MAX_FILES),
        Shmget: ("System V segments", limits.KERNEL_MAX_SEGMENTS)}


class KernelLimitError(RuntimeError):
    """The trace goes past a real-kernel limit; one line, exit status 3."""


def _extents(trace: Trace) -> Iterator[tuple[Mmap | Shmat, int]]:
    """Each mapping of ``trace`` (an mmap, or a System V segment attached) and its pages."""
    segment_pages = {op.segment: op.pages for op in trace if isinstance(op, Shmget)}
    for op in trace:
        if isinstance(op, Mmap):
            yield op, op.pages
        elif isinstance(op, Shmat):
            yield op, segment_pages[op.segment]


def mapping_addresses(trace: Trace, hpage: int) -> dict[str, int]:
    """Where each mapping of ``trace`` goes: its own range, one guard page apart, never reused."""
    addresses: dict[str, int] = {}
    next_address = limits.KERNEL_ADDRESS_RANGE[0]
    for op, pages in _extents(trace):
        addresses[op.name] = next_address
        next_address += (pages + 1) * hpage
    return addresses


def check_trace(trace: Trace, hpage: int) -> None:
    """Raise :class:`KernelLimitError` if replaying ``trace`` on this kernel would pass a limit."""
    most = limits.kernel_max_hugepages(hpage)
    most_vmas = limits.kernel_max_trace_vmas()
    processes = 1
    vmas = 0  # at most this many VMAs in any one process so far (a child starts with its parent's)
    made = {what: 0 for what, _ in MADE.values()}
    for op in trace:
        if type(op) in MADE:
            what, most_made = MADE[type(op)]
            made[what] += 1
            if made[what] > most_made:
                raise KernelLimitError(f"line {op.line}: a kernel replay makes at most {most_made:,} {what}")
        vmas += VMAS_ADDED.get(type(op), 0)
        if vmas > most_vmas:
            raise KernelLimitError(
                f"line {op.line}: the trace may make more than {most_vmas:,} VMAs in one process by here; a kernel "
                f"replay allows at most that many (the smaller of {limits.KERNEL_MAX_TRACE_VMAS:,} and "
                f"vm.max_map_count less {limits.KERNEL_OWN_VMAS:,} for the replaying process's own)")
        if isinstance(op, Pool) and op.pages + op.overcommit > most:
            raise KernelLimitError(
                f"line {op.line}: '{op.text}' asks for up to {op.pages + op.overcommit} huge pages; on this machine "
                f"a kernel replay may use at most {most} (the smaller of {limits.KERNEL_MAX_HUGEPAGES} and "
                f"{limits.KERNEL_MEMAVAILABLE_FRACTION:.0%} of MemAvailable); nothing was changed")
        if isinstance(op, Fork):
            processes += 1
            if processes > limits.KERNEL_MAX_PROCESSES:
                raise KernelLimitError(f"line {op.line}: a kernel replay starts at most "
                                       f"{limits.KERNEL_MAX_PROCESSES} processes ({MAIN} and its forks)")
    low, high = limits.KERNEL_ADDRESS_RANGE
    end = low
    for op, pages in _extents(trace):
        end += (pages + 1) * hpage
        if end > high:
            raise KernelLimitError(
                f"line {op.line}: the trace's mappings need more than the {(high - low) >> 40} TiB of address "
                f"space a kernel replay uses ([{low:#x}, {high:#x})); map fewer pages")
    ensure_file_descriptors(processes, made[MADE[FileOp][0]])


def ensure_file_descriptors(processes: int, files: int = 0) -> None:
    """Raise the soft open-file limit if ``processes`` trace processes and ``files`` open files need it;
    refuse if the hard one is too low."""
    need = processes * limits.KERNEL_FDS_PER_PROCESS + files + limits.KERNEL_FDS_SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard == resource.RLIM_INFINITY or hard >= need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        else:
            raise KernelLimitError(f"this trace starts {processes} processes, which needs about {need} open files; "
                                   f"the limit here is {hard} (ulimit -n)")
