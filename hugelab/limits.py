"""Every limit hugelab enforces, stated once, each with its reason.

Two sets. The *model's* limits bound what a trace may name: past them the
text is refused (exit status 2, ``line N: ...``) before anything runs. The
*real kernel's* limits are stricter and depend on this machine: past them a
kernel replay is refused (exit status 3) before the lock is taken or any
sysctl written. Nothing else in hugelab writes a cap of its own: import
these.
"""

from __future__ import annotations

from pathlib import Path

# -- the model (and the trace text) ------------------------------------------

#: Largest page count a trace may name: ``pool N``, ``overcommit M``, a
#: mapping's PAGES, a page index, a START or COUNT. 2^36 huge pages of 2 MiB
#: are 128 PiB, more than the largest x86-64 address space (2^57 bytes with
#: 5-level paging), so no mapping a kernel could make is refused; and with at
#: most :data:`MAX_OPS` lines every sum of them stays below 2^63, so a counter
#: wraps only where a policy's arithmetic is wrong, never because the input
#: was taken modulo 2^64 (``pool 10**100`` used to show Total 0).
MAX_PAGES = 1 << 36

#: Most operation lines in one trace (1,000,000: a 100,000-line replay
#: takes about 2 s here, so this bounds a replay to minutes, not hours).
MAX_OPS = 1_000_000

#: Most processes one trace may create with ``fork`` (Linux's pid_max can
#: never exceed 2^22, so no real workload needs more).
MAX_PROCESSES = 1 << 22

#: Longest line, in characters. The longest valid line is a few words; this
#: leaves room for long names and comments while bounding what one line can
#: make the parser hold or an error message echo.
MAX_LINE_CHARS = 4096

#: Largest trace text hugelab reads, in bytes (files, standard input, the
#: explorer's load box). 32 MiB is 10x the 100,000-line benchmark trace; the
#: parsed trace takes about 10x its text in memory. A larger file, or one
#: that never ends (``/dev/zero``, a FIFO nobody closes), is refused.
MAX_TRACE_BYTES = 32 << 20

#: How many characters of a bad word an error message shows.
ECHO_CHARS = 40

#: Most ``mount`` lines in one trace. Once a trace has made a mount with
#: ``size=``, every step record carries the statfs of every such mount
#: still mounted (docs/trace-language.md), so a record grows with the
#: mounts: 64 keep one at about 2 KB of JSON (2,110 bytes measured), where
#: 4,000 mounts made records of 130 KB, and a replay of 4,000 mount lines
#: 52 s and 745 MB. Real programs use a handful of mounts; random traces
#: make about one per 20 lines (so those of 1,300 lines and more stop at 64).
MAX_MOUNTS = 64

#: Most ``file`` and ``memfd`` lines in one trace. Each is an inode with its
#: own reservation map and page cache (about 1.1 KB empty, measured); a kernel replay
#: holds a descriptor for each (:data:`KERNEL_MAX_FILES`). Random traces make
#: about one per 11 lines: some 900 at the longest generated length.
MAX_FILES = 4096

#: Most ``shmget`` lines in one trace: Linux's default ``kernel.shmmni``
#: (SHMMNI, 4096), the most segments a machine holds at once by default.
MAX_SEGMENTS = 4096

#: Longest random trace ``verify``, ``hunt`` and ``exercise`` generate
#: (``--length``), and most traces per run (``--traces``).
MAX_GENERATED_LENGTH = 10_000
MAX_GENERATED_TRACES = 1_000_000

#: Most steps one ``hunt`` run may replay under the model, ``--traces``
#: times ``--length``, and as many again for shrinking what it finds. Measured
#: here, generation and checks included: 1,000,000 trace-v1 steps in 12.5 s
#: of CPU, 500,000 trace-v2 steps (``--files``) in 13.5 s; so two to five
#: minutes of CPU. ``--traces 1000000 --length 10000`` (10^10 steps) is
#: refused, not run for days.
MAX_RUN_STEPS = 10_000_000

#: Most VMAs one process may have: the kernel's ``vm.max_map_count``, whose
#: default is 65530 (``DEFAULT_MAX_MAP_COUNT``: 65535 less a margin for the
#: ELF core dump's section count). The model applies the kernel's own rule
#: (:mod:`hugelab.model.mm`): an mmap fails with ENOMEM once the process has *more*
#: than this many, an mprotect split once it has this many, and a munmap
#: only when it would cut a hole inside one VMA of a process at the limit.
#: It bounds what one process can make: without it, a million mprotect
#: lines made two million VMAs. The model's processes hold nothing but the
#: trace's mappings; a real program also has its text, libraries and stack.
MAX_MAP_COUNT = 65530

#: Most VMAs the whole model holds, all processes together (about 200 bytes
#: each, measured: 1 << 20 of them are some 200 MB). Past it, making one
#: more VMA (an mmap, a split, the VMAs a fork copies) fails with ENOMEM, as
#: the kernel's mmap, split and fork do when they cannot allocate a
#: ``vm_area_struct``; without it every fork of a process at
#: :data:`MAX_MAP_COUNT` costs another 13 MB, with no end. Nearly five times
#: what the 100,000-line benchmark traces reach (220,000 VMAs).
MAX_VMAS = 1 << 20

#: Largest exercise sheet ``exercise --check`` reads, in bytes. The longest sheet (a pair, 40
#: steps each: ``--seed 6 --pair --length 40 --key``) is 6,597 bytes; 1 MiB leaves room for any
#: student's notes in comments, and bounds what checking holds (a 28 MB sheet of blank lines took
#: 509 MB and 21 s; 1 MiB of them takes 37 MB and under a second).
EXERCISE_MAX_SHEET_BYTES = 1 << 20

#: Most steps in the explorer's history: undo and scrubbing back replay it
#: from the start, so each costs up to this many replayed lines.
EXPLORER_MAX_STEPS = 10_000

# -- the app (``hugelab app``) --------------------------------------------------

#: Most notebook kernels the app runs at once: each is a Python process of
#: about 100 MB, and every page load starts one.
APP_MAX_KERNELS = 4
#: A kernel with no activity for this many seconds is shut down...
APP_KERNEL_IDLE_SECONDS = 600
#: ...checked this often.
APP_CULL_INTERVAL_SECONDS = 60
#: The shortest ``hugelab app --idle-seconds`` accepted (a class may want kernels back sooner):
#: the cull then runs every 5 s; much less and the server spends its time culling.
APP_MIN_IDLE_SECONDS = 10
#: Seconds to wait for Voila to stop on SIGTERM before killing it.
APP_STOP_SECONDS = 10

# -- the real kernel (``--kernel``, ``verify``): stricter, from this machine ----

#: Never more huge pages than this, whatever the machine: ``pool N`` plus its
#: ``overcommit M`` (persistent plus surplus pages) on the host kernel. The
#: host is shared with other users; a trace shows the rules with a handful.
KERNEL_MAX_HUGEPAGES = 64

#: ...nor more than this fraction of MemAvailable (no swap here: memory given
#: to the pool is taken from everything else at once).
KERNEL_MEMAVAILABLE_FRACTION = 0.25

#: Most processes one kernel replay starts (the trace's main and its forks).
#: Each is a real process holding pipes; 128 is far above any shipped or
#: generated trace and far below any process limit.
KERNEL_MAX_PROCESSES = 128

#: File descriptors the replaying process needs per trace process (two pipes
#: while starting, then a command pipe, an answer pipe and a pidfd), and
#: how many more it keeps for itself (stdio, /proc reads, Python's own).
KERNEL_FDS_PER_PROCESS = 5
KERNEL_FDS_SPARE = 64

#: The virtual address range ``[from, to)`` where a kernel replay puts its
#: mappings: from 16 TiB, far above a program's text and heap (0x55...) and
#: far below the libraries and stack (0x7f...), to 64 TiB, inside the 47-bit
#: user space of every x86-64 kernel. A trace whose mappings do not fit (each
#: gets its own range plus one guard page) is refused.
KERNEL_ADDRESS_RANGE = (0x1000_0000_0000, 0x4000_0000_0000)

#: Most steps one ``verify`` or ``hunt --kernel`` run may replay on kernels,
#: ``--traces`` times ``--length`` (and as many again for shrinking what it
#: finds): such a run holds the host's pool lock
#: (or a guest) throughout, and a kernel step costs about a millisecond
#: (a pipe round trip to a real process and a read of /proc/meminfo;
#: measured: 20 traces of 50 steps in 1.6 s on the host), so this keeps it
#: to about half an hour.
KERNEL_MAX_RUN_STEPS = 1_000_000

#: Most mounts, files (each a descriptor held open by the replay's own
#: worker) and System V segments a kernel replay makes, checked on the text
#: before anything runs. The mounts are the model's :data:`MAX_MOUNTS`; the
#: files stay far below any open-file limit; the segments leave most of
#: the machine's SHMMNI (4096) to its other programs. The longest random
#: trace (:data:`MAX_GENERATED_LENGTH`) stays within all three.
KERNEL_MAX_MOUNTS = MAX_MOUNTS
KERNEL_MAX_FILES = 2048
KERNEL_MAX_SEGMENTS = 1024

#: Most VMAs a kernel replay's trace may make in one process, counted from the
#: text before anything runs (each mmap or shmat one, each munmap one more,
#: each mprotect two more, and a child starts with its parent's). A trace
#: process on the real kernel is a fork of the replaying Python process and
#: carries its ~150 VMAs too, so it would meet ``vm.max_map_count`` before
#: the model does; and :data:`KERNEL_MAX_PROCESSES` processes of this many
#: stay within the model's :data:`MAX_VMAS`. So no kernel replay reaches
#: either limit, and the model and the kernel never differ by them.
KERNEL_MAX_TRACE_VMAS = MAX_VMAS // KERNEL_MAX_PROCESSES
#: ...nor more than the host's ``vm.max_map_count`` less this many, kept for
#: the replaying process's own mappings (its interpreter, libraries, stacks).
KERNEL_OWN_VMAS = 1024

MAX_MAP_COUNT_SYSCTL = Path("/proc/sys/vm/max_map_count")

MEMINFO = Path("/proc/meminfo")


def kernel_max_hugepages(hugepage_bytes: int, meminfo: Path = MEMINFO) -> int:
    """The most huge pages a kernel replay may ask for on this machine now.

    ``min(KERNEL_MAX_HUGEPAGES, MemAvailable * KERNEL_MEMAVAILABLE_FRACTION /
    hugepage size)``; 0 if MemAvailable cannot be read.
    """
    available = 0
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024
            break
    return max(0, min(KERNEL_MAX_HUGEPAGES, int(available * KERNEL_MEMAVAILABLE_FRACTION) // hugepage_bytes))


def kernel_max_trace_vmas(sysctl: Path = MAX_MAP_COUNT_SYSCTL) -> int:
    """The most VMAs a kernel replay's trace may make in one process on this machine now.

    ``min(KERNEL_MAX_TRACE_VMAS, vm.max_map_count - KERNEL_OWN_VMAS)``; 0 if
    the sysctl cannot be read.
    """
    try:
        host = int(sysctl.read_text())
    except (OSError, ValueError):
        return 0
    return max(0, min(KERNEL_MAX_TRACE_VMAS, host - KERNEL_OWN_VMAS))


def run_too_long(traces: int, length: int, on_kernels: bool) -> str | None:
    """Why one run of ``traces`` random traces of ``length`` lines is refused, in one line; None if it is not.

    ``on_kernels``: ``verify`` and ``hunt --kernels`` (:data:`KERNEL_MAX_RUN_STEPS`);
    else ``hunt`` under the model (:data:`MAX_RUN_STEPS`).
    """
    most = KERNEL_MAX_RUN_STEPS if on_kernels else MAX_RUN_STEPS
    if traces * length <= most:
        return None
    where = "on kernels (it holds the pool lock or a guest throughout)" if on_kernels else "under the model"
    return (f"--traces {traces:,} x --length {length:,} is {traces * length:,} steps; one run replays at most "
            f"{most:,} {where}: ask for fewer or shorter traces")


def echo(word: str, limit: int = ECHO_CHARS) -> str:
    """``repr(word)``, cut to about ``limit`` characters with its length said, for error messages."""
    if len(word) <= limit:
        return repr(word)
    return f"{word[:limit]!r}... ({len(word):,} characters)"


#: How many digits of a number an error message shows whole (2^64 has 20).
ECHO_DIGITS = 20


def echo_number(number: int, limit: int = ECHO_DIGITS) -> str:
    """``number`` as digits, or its first ones and how many there are when it is longer than ``limit``."""
    text = str(number)
    digits = len(text.lstrip("-"))
    if digits <= limit:
        return text
    return f"{text[:limit // 2 + (text[0] == '-')]}... ({digits:,} digits)"


# -- QEMU guests ------------------------------------------------------------------

#: Longest answer line a guest may send, in bytes. A guest replays at ~10 ms a step, so within its
#: 600 s (``guest.TRACE_TIMEOUT``) some 60,000 steps at ~300 bytes a record: 18 MB. Four times that
#: leaves room for records with mounts; past it the guest is cut off, never buffered without end.
GUEST_MAX_ANSWER_BYTES = 64 << 20
