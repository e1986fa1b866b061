"""``hugelab export-c --kselftest``: a trace as a short test for ``tools/testing/selftests/mm``.

Where :mod:`hugelab.realkernel.export_c` writes a general program (a trace
interpreter around a table, any number of processes), this writes what a
kernel engineer reviews: straight-line C, one block per trace line, the
counters it expects after each as labelled fields (``.rsvd = 2``), the
kselftest helpers (``ksft_test_result``, ``ksft_exit_skip``...) and their TAP.
It takes one-process traces (no ``fork``, ``exit``, ``in P`` or System V
segments: those need the general program) and refuses others in one line.

What the program does is what hugelab's own harness does for the same lines
(:mod:`hugelab.realkernel.fsworker`, ``worker``): hugetlbfs mounts with
``size=``/``min_size=`` in bytes, in a private mount namespace on a tmpfs;
files created ``O_EXCL`` and held open; an mmap at an address of its own,
one guard page from the next; a touch is a one-byte write or read, and a
SIGBUS or SIGSEGV ends the trace's process as it would the harness's (every
mapping goes, later lines of that process are skipped). A mapping or file
whose creation failed makes later lines naming it ``skipped``, from what the
program sees, never from what it expects.

It skips (``KSFT_SKIP``) without changing anything when it is not root, when
the pool is in use, when a pool line asks for more than the harness allows,
and, for a trace with a ``min_size`` mount, unless run with ``--may-leak``
(Linux 6.15 and later can keep such a mount's reservations until reboot).
At the end it unmaps, closes and unmounts everything, puts the pool back to
empty and tests that it is bare, then puts both sysctls back as it found them.

Built in the kernel's tree it includes the real ``kselftest.h``; elsewhere
``cc -I DIR`` with DIR holding :data:`KSELFTEST_H`, hugelab's own small
implementation of the helpers it uses (``hugelab run`` does that).
"""

from __future__ import annotations

import re
from pathlib import Path

from .. import limits
from ..replay import Step, replay
from ..trace.language import (
    MAIN,
    CloseFile,
    Exit,
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
    Shmrm,
    Touch,
    Trace,
    TraceError,
    Truncate,
    Umount,
    Unlink,
)

#: hugelab's own kselftest.h (the helpers a generated test uses), for builds outside the kernel's tree
KSELFTEST_H = Path(__file__).with_name("kselftest.h")
DEFAULT_MOUNT = ".trace"  # as the harness names the mount of 'file F' without 'on M'
PROT = {"none": "PROT_NONE", "r": "PROT_READ", "rw": "PROT_READ | PROT_WRITE"}

#: the program, its ``@NAME@`` fields filled in by :func:`export_kselftest`
TEMPLATE = Path(__file__).with_name("kselftest.c.in")
#: the C helpers, each after a ``// helper: NAME`` line, emitted only when a line needs it
HELPERS = Path(__file__).with_name("kselftest_helpers.c.in")

MAY_LEAK = """\tif (argc < 2 || strcmp(argv[1], "--may-leak"))
\t\tksft_exit_skip("line @LINE@ mounts with min_size=: Linux 6.15+ can keep its reservations until reboot; "
\t\t\t       "run with --may-leak, on a throw-away machine only\\n");
"""

#: which headers each helper or call needs
INCLUDES = {"base": ["errno.h", "sched.h", "stdio.h", "stdlib.h", "string.h", "sys/mount.h", "unistd.h"],
            "mount": ["sys/stat.h", "sys/statfs.h"], "file": ["fcntl.h"], "mmap": ["sys/mman.h"],
            "touch": ["setjmp.h", "signal.h"]}


def _c_string(text: str) -> str:
    out = []
    for byte in text.encode():
        ch = chr(byte)
        out.append(ch if 32 <= byte < 127 and ch not in '"\\?%' else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _ident(prefix: str, name: str, taken: set[str]) -> str:
    """A C identifier for a trace name (``map_a``, ``fd_f3``, ``q``), unique in the program."""
    ident = prefix + re.sub(r"\W", "_", name, flags=re.ASCII)
    if ident[0].isdigit():
        ident = "_" + ident
    while ident in taken:
        ident += "_"
    taken.add(ident)
    return ident


def refusal(trace: Trace) -> tuple[int, str] | None:
    """(line, why) when the kselftest form cannot hold ``trace``: the general program can."""
    closed: set[str] = set()
    for op in trace:
        if isinstance(op, Fork | Exit | Shmget | Shmat | Shmrm):
            return op.line, (f"{op.text.split()[0]}: the kselftest form takes one process and no System V "
                             "segments (export-c without --kselftest takes any trace)")
        if getattr(op, "proc", MAIN) != MAIN:
            return op.line, "'in P': the kselftest form takes one process (export-c without --kselftest does more)"
        if isinstance(op, Pool) and op.pages + op.overcommit > limits.KERNEL_MAX_HUGEPAGES:
            return op.line, f"a test asks for at most {limits.KERNEL_MAX_HUGEPAGES} huge pages"
        if isinstance(op, CloseFile):
            closed.add(op.file)
        elif isinstance(op, Truncate | Fallocate | Punch | Mmap) and getattr(op, "file", None) in closed:
            return op.line, "a file used after 'close': the kselftest form holds its files open (use export-c)"
    return None


class _Emitter:
    """What the program needs for one trace: names, addresses, helpers."""

    def __init__(self, trace: Trace) -> None:
        ops = list(trace)
        taken = {"outcome", "total", "free", "rsvd", "surp", "root", "hpage", "dead", "fault", "main"}
        self.maps = {op.name: _ident("map_", op.name, taken) for op in ops if isinstance(op, Mmap)}
        self.files = {op.file: _ident("fd_", op.file, taken) for op in ops if isinstance(op, FileOp | Memfd)}
        self.sized = list(dict.fromkeys(op.mount for op in ops if isinstance(op, Mount) and op.size is not None))
        self.fields = {m: _ident("", m, taken) for m in self.sized}
        self.at: dict[str, int] = {}  # each mapping's own address, in huge pages from BASE
        self.span = 0
        for op in ops:
            if isinstance(op, Mmap):
                self.at[op.name] = self.span
                self.span += op.pages + 1
        self.mounts = list(dict.fromkeys([op.mount for op in ops if isinstance(op, Mount)] +
                                         [DEFAULT_MOUNT for op in ops if isinstance(op, FileOp) and op.mount is None]))
        self.paths = {op.file: op.mount or DEFAULT_MOUNT for op in ops if isinstance(op, FileOp)}
        self.helpers: set[str] = {"mount"} if self.mounts else set()

    def call(self, op: Operation) -> str:
        """The C expression that carries out ``op`` and gives its outcome (a string)."""
        fd = self.files.get(getattr(op, "file", None) or "", "")
        unless_gone = f'{fd} == -1 ? "skipped" : '  # a file whose creation failed: later lines skip
        if isinstance(op, Pool):
            return f'(sysctl("nr_overcommit_hugepages", {op.overcommit}), sysctl("nr_hugepages", {op.pages}), "ok")'
        if isinstance(op, Mount):
            size = -1 if op.size is None else op.size
            min_size = -1 if op.min_size is None else op.min_size
            return f"do_mount({_c_string(op.mount)}, {size}, {min_size})"
        if isinstance(op, Umount):
            m = _c_string(op.mount)
            return f'(mounted({m}, NULL) ? outcome(umount({m})) : "skipped")'
        if isinstance(op, FileOp):
            self.helpers.add("file")
            return f"do_file(&{fd}, {_c_string(self.paths[op.file])}, {_c_string(op.file)})"
        if isinstance(op, Memfd):
            return f"outcome({fd} = memfd_create({_c_string(op.file)}, MFD_HUGETLB))"
        if isinstance(op, CloseFile):
            self.helpers.add("close")
            return f"({unless_gone}do_close(&{fd}))"
        if isinstance(op, Unlink):
            self.helpers.add("path")
            where = f"{_c_string(self.paths.get(op.file, ''))}, {_c_string(op.file)}"
            return f"({unless_gone}outcome(unlink(path({where}))))"
        if isinstance(op, Truncate):
            return f"({unless_gone}outcome(ftruncate({fd}, {op.pages}UL * hpage)))"
        if isinstance(op, Fallocate | Punch):
            mode = "0" if isinstance(op, Fallocate) else "FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE"
            return f"({unless_gone}outcome(fallocate({fd}, {mode}, {op.start}UL * hpage, {op.count}UL * hpage)))"
        if isinstance(op, Mmap):
            self.helpers.add("mmap")
            flags = ["MAP_SHARED" if op.shared else "MAP_PRIVATE"] + (["MAP_NORESERVE"] if op.noreserve else [])
            if op.file is None:
                flags += ["MAP_ANONYMOUS", "MAP_HUGETLB"]
            call = (f"do_mmap(&{self.maps[op.name]}, {self.at[op.name]}, {op.pages}, {' | '.join(flags)}, "
                    f"{fd or -1}, {op.offset})")
            return f"({unless_gone}{call})" if fd else call
        if isinstance(op, Touch):
            self.helpers |= {"mmap", "touch"}
            return f"do_touch({self.maps[op.name]}, {op.page}, {int(op.write)})"
        if isinstance(op, Munmap | Mprotect | Madvise):
            m = self.maps[op.name]
            where = f"{m} + {op.start}UL * hpage, {op.count}UL * hpage"
            if isinstance(op, Munmap):
                call = f"munmap({where})"
            elif isinstance(op, Mprotect):
                call = f"mprotect({where}, {PROT[op.prot]})"
            else:
                call = f"madvise({where}, {'MADV_REMOVE' if op.advice == 'remove' else 'MADV_DONTNEED'})"
            return f'(dead || !{m} ? "skipped" : outcome({call}))'
        raise TraceError(op.line, f"{op.text.split()[0]}: not in the kselftest form")  # refusal() said so

    def expect(self, step: Step) -> str:
        k = step.counters
        fields = [f".outcome = {_c_string(step.error or 'ok')}"]
        # a wrapped counter (18446744073709551615) is a C unsigned long only with its suffix
        fields += [f".{name} = {value}{'UL' if value >= 2**63 else ''}" for name, value in
                   (("total", k.total), ("free", k.free), ("rsvd", k.rsvd), ("surp", k.surp))]
        fields += [f".{self.fields[m]} = {{ {size}, {free} }}" for m, (size, free) in (step.mounts or {}).items()]
        return "(struct expect){ " + ", ".join(fields) + " }"


def export_kselftest(trace: Trace, policy: str = "modern") -> str:
    """The kselftest for ``trace``, expecting what ``policy`` computes; TraceError (one line) if it cannot be one."""
    refused = refusal(trace)
    if refused:
        raise TraceError(*refused)
    expected = replay(trace, policy)
    e = _Emitter(trace)
    steps, default_made = [], False
    for op, step in zip(trace, expected):
        if isinstance(op, FileOp) and op.mount is None and not default_made:
            default_made = True  # the harness makes its own mount for 'file F' without 'on M', once
            steps.append(f"\tdo_mount({_c_string(DEFAULT_MOUNT)}, -1, -1);")
        steps.append(f"\tcheck({_c_string(op.text)}, {e.call(op)},\n\t      {e.expect(step)});")
    teardown = [f"\tmunmap((void *)BASE, {e.span}UL * hpage);"] if e.maps else []
    teardown += [f"\tif ({fd} >= 0)\n\t\tclose({fd});" for fd in e.files.values()]
    teardown += [f"\tumount({_c_string(m)});" for m in reversed(e.mounts)]
    mount = trace.min_size_mount()
    includes = sorted({h for name in ["base", *e.helpers] for h in INCLUDES.get(name, [])} |
                      ({"fcntl.h"} if any(isinstance(op, Fallocate | Punch) for op in trace) else set()) |
                      ({"sys/mman.h"} if any(isinstance(op, Memfd) for op in trace) else set()))
    state = []
    if "mmap" in e.helpers:
        base = hex(limits.KERNEL_ADDRESS_RANGE[0])
        state += [f"#define BASE {base}UL\t/* mappings go here, a guard page apart */",
                  "static int dead;\t/* the trace's process died of a fault: its later lines are skipped */"]
    if "touch" in e.helpers:
        state.append("static sigjmp_buf fault;")
    state += [f"static char *{m};\t/* mapping {name} */" for name, m in e.maps.items()]
    state += [f"static int {fd} = -1;\t/* file {name} */" for name, fd in e.files.items()]
    sized = e.sized
    fields = {
        "TRACE": "\n".join(f" *   {line}" for line in trace.text.splitlines() if line.strip()).replace("*/", "* /"),
        "STATFS_NOTE": " (and statfs of each size= mount, in huge pages)" if sized else "",
        "POLICY": policy,
        "LEAK_NOTE": "\n * Linux 6.15+ can keep a min_size mount's reservations until reboot: it runs only\n"
                     " * with --may-leak, on a throw-away machine." if mount else "",
        "INCLUDES": "".join(f"#include <{h}>\n" for h in includes),
        "STATFS_FIELDS": "".join(f"\tstruct pages {e.fields[m]};\t/* mount {m} */\n" for m in sized),
        "STATE": "".join(line + "\n" for line in state),
        "HELPERS": "".join("\n" + text.strip("\n").replace("@SPAN@", str(e.span)) + "\n"
                           for name, text in _helpers().items() if name in e.helpers),
        "STATFS_READ": "".join(f"\tstruct pages {e.fields[m]} = {{ 0, 0 }};\n" for m in sized) +
                       "".join(f"\tmounted({_c_string(m)}, &{e.fields[m]});\n" for m in sized),
        "STATFS_SAME": "".join(f" &&\n\t\t   {e.fields[m]}.size == want.{e.fields[m]}.size && "
                               f"{e.fields[m]}.free == want.{e.fields[m]}.free" for m in sized),
        "STATFS_FORMAT": "".join(f", {_c_string(m)[1:-1]} %ld free of %ld" for m in sized),
        "STATFS_ARGS": "".join(f", {e.fields[m]}.free, {e.fields[m]}.size" for m in sized),
        "STATFS_WANT": "".join(f", want.{e.fields[m]}.free, want.{e.fields[m]}.size" for m in sized),
        "MAY_LEAK": MAY_LEAK.replace("@LINE@", str(mount.line)) if mount else "",
        "MAIN_ARGS": "int argc, char **argv" if mount else "void",
        "MOST_POOL": str(max([op.pages + op.overcommit for op in trace if isinstance(op, Pool)] or [0])),
        "PLAN": str(len(trace) + 1),
        "STEPS": "\n".join(steps),
        "TEARDOWN": "".join(line + "\n" for line in teardown),
    }
    # one pass, so that a trace's own text (an '@NAME@' in a comment) is never substituted
    return re.sub(r"@([A-Z_]+)@", lambda m: fields[m.group(1)], TEMPLATE.read_text())


def _helpers() -> dict[str, str]:
    """The helpers' C text by name, in the file's order."""
    parts = re.split(r"^// helper: (\w+)\n", HELPERS.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))
