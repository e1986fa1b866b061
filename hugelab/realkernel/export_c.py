"""``hugelab export-c``: a trace as a standalone C program, for kernel developers.

The program needs nothing but a C compiler and libc (``cc -O2 -o repro
repro.c``; ``-static`` to run it in a minimal guest). Run as root on a
machine with an idle huge page pool, it replays the trace with plain system
calls, in the style of the kernel's selftests, exactly as hugelab's own
real-kernel harness does (:mod:`hugelab.realkernel.machine`, ``worker``,
``fsworker``):

* every trace process is a real process (forked where the trace forks);
  every mapping (an anonymous ``MAP_HUGETLB`` mmap, an mmap of a file at its
  offset, or a ``shmat``) goes at an address of its own from
  :data:`~hugelab.limits.KERNEL_ADDRESS_RANGE`, one guard page apart, never
  reused; a touch is a one-byte write or read;
* trace v2's files, mounts, memfds and System V segments are the program's
  own: it enters private mount and IPC namespaces (``unshare(CLONE_NEWNS |
  CLONE_NEWIPC)``, ``/`` made private), mounts a tmpfs over a temporary
  directory and its hugetlbfs mounts (``size=``, ``min_size=`` in bytes)
  inside; files are created ``O_EXCL`` and held open, memfds are
  ``memfd_create(MFD_HUGETLB)``; ``truncate`` is ``ftruncate``, ``fallocate``
  and ``punch`` are ``fallocate`` (``FALLOC_FL_PUNCH_HOLE |
  FALLOC_FL_KEEP_SIZE``), ``madvise ... remove`` is ``MADV_REMOVE``;
  ``shmget`` is ``SHM_HUGETLB`` (``| SHM_NORESERVE``); a trace process maps a
  file by opening ``/proc/PID/fd/N`` of the program's descriptor (or its
  name once closed).

After every step it reads ``HugePages_Total/Free/Rsvd/Surp`` from
``/proc/meminfo`` and, where the trace mounts with ``size=``, each such
mount's statfs (``f_blocks``, ``f_bfree``: the step record's ``mounts``), and
compares them and the outcome (an errno name, a signal, ``skipped``) with
what the hugelab model computed under ``--expect POLICY``. It prints TAP,
naming what differs; a last test checks that the pool is bare once every
process, file, mount and segment is gone. Exit 1 on any mismatch, 0 when
all pass, 2 when it cannot run. Before changing anything it refuses: a trace
with a ``min_size`` mount unless run with ``--may-leak`` (Linux 6.15 and
later can keep such a mount's reservations until reboot), a pool line above
:data:`KERNEL_MAX_POOL` pages or :data:`~hugelab.limits.KERNEL_MEMAVAILABLE_FRACTION`
of MemAvailable, not root, a pool in use. It sets ``nr_hugepages`` and
``nr_overcommit_hugepages`` as the trace says and puts both back as it found
them; SIGINT, SIGTERM and SIGHUP stop it after cleaning up.

Lines the replay skips (a process that died, a mapping, file, mount or
segment whose creation failed, or a mount a ``umount`` that succeeded took
away with its files and their mappings) are skipped by the program too,
from the outcomes it sees, exactly as :class:`hugelab.replay.Liveness`
does; a ``umount`` refused with EBUSY takes nothing.
"""

from __future__ import annotations

import errno
import re
from importlib import resources

from .. import limits
from ..model.policies import Policy
from ..replay import Step, replay
from ..trace.language import (
    ROW_OF,
    Fallocate,
    FileOp,
    Fork,
    Madvise,
    Memfd,
    Mmap,
    Mount,
    Mprotect,
    Munmap,
    Operation,
    Pool,
    Punch,
    Shmat,
    Shmget,
    Touch,
    Trace,
    TraceError,
    Truncate,
)
from .guard import VMAS_ADDED

#: the largest pool (plus overcommit) a generated program will ask the kernel for: the
#: harness's own cap (the program runs on machines hugelab cannot read beforehand, so the
#: fixed cap here, and the MemAvailable share checked by the program itself)
KERNEL_MAX_POOL = limits.KERNEL_MAX_HUGEPAGES
#: errno names every program can print (plus any its expectations name)
ERRNOS = ("EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "EBADF", "EAGAIN", "ENOMEM", "EACCES",
          "EFAULT", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE",
          "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS", "ERANGE", "ENAMETOOLONG", "ENOSYS", "EOVERFLOW",
          "EOPNOTSUPP", "EIDRM", "EDQUOT", "EHWPOISON")
PROT = {"none": 0, "r": 1, "rw": 2}

def template() -> str:
    """The C program's text, with ``@NAME@`` fields to fill in: ``repro_template.c`` beside this module
    (C kept as C, so an editor and a reviewer read it as the program it is)."""
    return resources.files(__package__).joinpath("repro_template.c").read_text(encoding="utf-8")

DEFAULT_MOUNT = ".trace"  # as hugelab.realkernel.fsworker names it


def _c_string(text: str) -> str:
    out = []
    for byte in text.encode():
        ch = chr(byte)
        out.append(ch if 32 <= byte < 127 and ch not in '"\\?' else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


class _Names:
    """Index of every process, mapping, file, mount and segment a trace names, in order of creation."""

    def __init__(self, trace: Trace) -> None:
        ops = list(trace)
        self.procs = {p: i for i, p in enumerate(["main"] + [op.child for op in ops if isinstance(op, Fork)])}
        self.maps = {op.name: i for i, op in enumerate(op for op in ops if isinstance(op, Mmap | Shmat))}
        self.files = {op.file: i for i, op in enumerate(op for op in ops if isinstance(op, FileOp | Memfd))}
        mounts = [op.mount for op in ops if isinstance(op, Mount)]
        self.default = -1
        if any(isinstance(op, FileOp) and op.mount is None for op in ops):
            self.default = len(mounts)
            mounts.append(DEFAULT_MOUNT)
        self.mounts = {m: i for i, m in enumerate(mounts)}
        self.segments = {op.segment: i for i, op in enumerate(op for op in ops if isinstance(op, Shmget))}
        # what a umount that succeeds takes: each file's mount ('file F on M'; -1: none the trace
        # unmounts) and each mapping's file (-1: not a file's)
        self.file_on = [self.mounts[op.mount] if isinstance(op, FileOp) and op.mount is not None else -1
                        for op in ops if isinstance(op, FileOp | Memfd)]
        self.map_file = [self.files[op.file] if isinstance(op, Mmap) and op.file is not None else -1
                         for op in ops if isinstance(op, Mmap | Shmat)]
        # each mapping's own address range, in huge pages: as hugelab.realkernel.guard.mapping_addresses
        pages = {op.segment: op.pages for op in ops if isinstance(op, Shmget)}
        self.offsets, self.span = [], 0
        for op in ops:
            if isinstance(op, Mmap | Shmat):
                self.offsets.append(self.span)
                self.span += (op.pages if isinstance(op, Mmap) else pages[op.segment]) + 1


def _row(op: Operation, names: _Names) -> tuple[str, list[int]]:
    """The C op and its fields: proc, map, file, mount, seg, a, b, c, d (-1 / 0 where unused)."""
    def index(space: dict[str, int], attr: str) -> int:
        name = getattr(op, attr, None)
        return -1 if name is None else space[name]

    proc, file, mount, seg = (index(names.procs, "proc"), index(names.files, "file"), index(names.mounts, "mount"),
                              index(names.segments, "segment"))
    mapping = names.maps[op.name] if isinstance(op, Mmap | Shmat | Touch | Munmap | Mprotect | Madvise) else -1
    a = b = c = d = 0
    kind = ROW_OF[type(op)].c  # the C program's step, OP_<kind>
    if isinstance(op, Pool):
        a, b = op.pages, op.overcommit
    elif isinstance(op, Mmap):
        a, b, c, d = op.pages, int(op.shared), int(op.noreserve), op.offset
    elif isinstance(op, Touch):
        a, b = op.page, int(op.write)
    elif isinstance(op, Munmap | Mprotect | Madvise):
        a, b = op.start, op.count
        if isinstance(op, Mprotect):
            c = PROT[op.prot]
        elif isinstance(op, Madvise):
            c = int(op.advice == "remove")
    elif isinstance(op, Fork):
        a = names.procs[op.child]
    elif isinstance(op, Mount):
        a = -1 if op.size is None else op.size
        b = -1 if op.min_size is None else op.min_size
    elif isinstance(op, Truncate):
        a = op.pages
    elif isinstance(op, Fallocate | Punch):
        a, b = op.start, op.count
    elif isinstance(op, Shmget):
        a, b = op.pages, int(op.noreserve)
    return kind, [proc, mapping, file, mount, seg, a, b, c, d]


def _statfs_row(step: Step, names: _Names) -> str:
    cells = ["{0, 0UL, 0UL}"] * len(names.mounts) or ["{0, 0UL, 0UL}"]
    for name, (size, free) in (step.mounts or {}).items():
        cells[names.mounts[name]] = f"{{1, {size}UL, {free}UL}}"
    return f"\t{{{int(step.mounts is None)}, {{{', '.join(cells)}}}}},"


def export_c(trace: Trace, policy: str | Policy = "modern") -> str:
    """The C program for ``trace``, expecting the counters (and statfs, outcomes) ``policy`` gives.

    Raises :class:`~hugelab.trace.language.TraceError` (one line, naming the trace line) for a pool above
    :data:`KERNEL_MAX_POOL`, more processes or VMAs than the harness allows, or a line ``policy``'s era lacks.
    """
    processes, vmas = 1, 0
    for op in trace:
        vmas += VMAS_ADDED.get(type(op), 0)  # in one process at most, counted as the harness does
        if vmas > limits.KERNEL_MAX_TRACE_VMAS:
            raise TraceError(op.line, f"a C reproducer makes at most {limits.KERNEL_MAX_TRACE_VMAS:,} VMAs in one "
                                      "process (as hugelab's kernel replay)")
        if isinstance(op, Pool) and op.pages + op.overcommit > KERNEL_MAX_POOL:
            raise TraceError(op.line, f"a C reproducer asks for at most {KERNEL_MAX_POOL} huge pages")
        if isinstance(op, Fork):
            processes += 1
            if processes > limits.KERNEL_MAX_PROCESSES:
                raise TraceError(op.line, f"a C reproducer starts at most {limits.KERNEL_MAX_PROCESSES} processes")
    expected = replay(trace, policy)
    policy_name = policy if isinstance(policy, str) else policy.name
    names = _Names(trace)
    rows, statfs = [], []
    for op, step in zip(trace, expected):
        kind, values = _row(op, names)
        k = step.counters
        rows.append(f"\t{{{op.line}, {_c_string(op.text)}, OP_{kind}, {', '.join(map(str, values))}, "
                    f"{_c_string(step.error or 'ok')}, {{{k.total}UL, {k.free}UL, {k.rsvd}UL, {k.surp}UL}}}},")
        statfs.append(_statfs_row(step, names))
    wanted = list(ERRNOS) + sorted({s.error for s in expected if s.error and s.error.startswith("E")} - set(ERRNOS))
    errnos = "\n".join(f"#ifdef {name}\n\t{{ {name}, \"{name}\" }},\n#endif" for name in wanted
                       if hasattr(errno, name) or name in ERRNOS)
    mount = trace.min_size_mount()
    min_size = mount.line if mount else 0
    uses_namespaces = bool(names.files or names.mounts or names.segments)
    fields = {
        "POLICY": policy_name, "CAP": str(KERNEL_MAX_POOL),
        "MEMAVAILABLE_PERCENT": str(round(limits.KERNEL_MEMAVAILABLE_FRACTION * 100)),
        "NPROCS": str(len(names.procs)), "NMAPS": str(max(1, len(names.maps))),
        "NFILES": str(max(1, len(names.files))), "NMOUNTS": str(max(1, len(names.mounts))),
        "NSEGS": str(max(1, len(names.segments))), "NSTEPS": str(len(rows)),
        "DEFAULT_MOUNT": str(max(0, names.default)), "USES_NAMESPACES": str(int(uses_namespaces)),
        "SIZED_MOUNTS": str(int(trace.sized_mounts)), "MIN_SIZE_LINE": str(min_size),
        "MAPPING_BASE": hex(limits.KERNEL_ADDRESS_RANGE[0]), "MAPPING_END": hex(limits.KERNEL_ADDRESS_RANGE[1]),
        "MAPPING_SPAN": str(names.span), "TRACE_VMAS": str(vmas), "OWN_VMAS": str(limits.KERNEL_OWN_VMAS),
        "OFFSETS": ", ".join(map(str, names.offsets)) or "0",
        "MOUNT_NAMES": ", ".join(map(_c_string, names.mounts)) or '"-"',
        "FILE_NAMES": ", ".join(map(_c_string, names.files)) or '"-"',
        "FILE_ON": ", ".join(map(str, names.file_on)) or "-1",
        "MAP_FILE": ", ".join(map(str, names.map_file)) or "-1",
        "ERRNOS": errnos,
        "TRACE_COMMENT": "\n".join(f" *   {line}" for line in trace.text.splitlines()).replace("*/", "* /"),
        "STEPS": "\n".join(rows), "STATFS": "\n".join(statfs),
    }
    # one pass, so that a trace's own text (an '@NAME@' in a comment) is never substituted
    return re.sub(r"@([A-Z_]+)@", lambda m: fields[m.group(1)], template())
