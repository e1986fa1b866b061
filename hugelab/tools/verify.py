"""``hugelab verify``: random traces on the running kernel and under ``modern``.

Every step must agree: the four counters and the outcome. On the first
mismatch the trace is shrunk (lines dropped while the mismatch persists,
each candidate replayed on the kernel again) and printed ready to paste,
with both sides' counters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TextIO

from ..limits import KERNEL_MAX_RUN_STEPS, run_too_long
from ..model.hstate import Counters
from ..replay import Liveness, Step, replay
from ..trace.generate import random_trace, random_v2_trace
from ..trace.language import FileOp, Mmap, Trace, Umount, parse_trace
from ..trace.shrink import shrink
from .tables import statfs_text


@dataclass
class UmountTally:
    """What the umounts of replayed traces did (trace v2), counted from their step records."""

    #: umounts that failed with EBUSY...
    ebusy: int = 0
    #: ...of which later lines used the mount, a file of it or a mapping of one (and were not skipped)
    used_after: int = 0
    #: umounts that succeeded...
    succeeded: int = 0
    #: ...of which later lines were skipped for naming what it took away
    skipped_after: int = 0
    #: lines skipped because they name what a umount that succeeded took away
    skipped: int = 0

    def add(self, trace: Trace, steps: list[Step]) -> None:
        live = Liveness()
        file_mount = {op.file: op.mount for op in trace if isinstance(op, FileOp)}
        mapping_file = {op.name: op.file for op in trace if isinstance(op, Mmap)}
        refused: dict[str, int] = {}  # mount -> its EBUSY umounts not yet followed by a use
        takers: set[int] = set()  # the lines of the umounts whose taking made a later line skip
        for op, step in zip(trace, steps):
            if step.error == "skipped":
                taken = live.taken_by_umount(op)
                if taken is not None:
                    self.skipped += 1
                    takers.add(taken[3])
                live.record_skip(op)
                continue
            file = getattr(op, "file", None) or mapping_file.get(getattr(op, "name", None) or "")
            mount = getattr(op, "mount", None) or file_mount.get(file or "")
            if mount in refused and not isinstance(op, Umount):
                self.used_after += refused.pop(mount)
            if isinstance(op, Umount):
                if step.error == "EBUSY":
                    self.ebusy += 1
                    refused[op.mount] = refused.get(op.mount, 0) + 1
                elif step.error is None:
                    self.succeeded += 1
                    refused.pop(op.mount, None)
            live.record(op, step.error)
        self.skipped_after += len(takers)

    def __str__(self) -> str:
        return (f"umounts: {self.ebusy} failed with EBUSY ({self.used_after} followed by a use of the mount "
                f"or its files), {self.succeeded} succeeded ({self.skipped_after} followed by lines skipped "
                f"for naming what it took: {self.skipped} such lines)")


def side_by_side(kernel: list[Step], model: list[Step]) -> str:
    """Both sides of a replay, one line a step, ``<--`` where they differ."""
    lines = []
    for k, m in zip(kernel, model):
        mark = "" if k == m else "   <-- differs"
        # statfs too, where the trace has sized mounts: kernels can differ only there
        ks, ms = (f" {statfs_text(k)}" if k.mounts else ""), (f" {statfs_text(m)}" if m.mounts else "")
        lines.append(f"  line {k.line:3}  {k.op:32} kernel {k.counters!s:14} {k.error or 'ok':8}{ks}"
                     f" model {m.counters!s:14} {m.error or 'ok'}{ms}{mark}")
    return "\n".join(lines)


def verify(traces: int, length: int, seed: int, out: TextIO, progress: TextIO | None = None,
           policy: str | None = None, kernel: str = "host", files: bool = False,
           min_size: bool | None = None) -> int:
    """Compare ``traces`` random traces with ``policy``; 0 when all match, 1 on a mismatch.

    ``kernel``: ``host`` (the running kernel) or a guest kernel spec (``6.12``,
    see :mod:`hugelab.realkernel.targets`). ``policy`` defaults to the kernel's own:
    the commits it carries (``linux-6.12.118``; one line if the commit table
    cannot name it). Under the kernel's own policy a mismatch is a model bug;
    under another one it shows where that era differs from the kernel.

    ``files``: random trace-v2 traces (files, mounts, memfds, segments mixed
    with v1 operations). ``min_size``: their mounts may have ``min_size=``;
    by default in a guest only, refused on this machine's kernel
    (:func:`hugelab.realkernel.targets.min_size_in_random_traces` says why).
    Without it the same seeds give the same traces
    in a guest and on the host, so a throw-away guest of the same series can
    replay them first. A run longer than ``limits.KERNEL_MAX_RUN_STEPS`` is refused (ValueError).
    """
    refusal = run_too_long(traces, length, on_kernels=True)
    if refusal is not None:
        raise ValueError(refusal)
    from ..model.policies import policy_for_kernel
    from ..realkernel.machine import KernelLeaked, KernelUnavailable
    from ..realkernel.targets import HostKernel, min_size_in_random_traces, open_kernel

    min_size = min_size_in_random_traces([kernel], files, asked=min_size)

    def generate(n: int) -> str:
        rng = random.Random(seed + n)
        return random_v2_trace(rng, length, min_size=min_size) if files else random_trace(rng, length)

    steps = 0
    umounts = UmountTally()
    spent: list[str] = []  # traces after which the guest's pool stayed in use, as the model's teardown says
    with open_kernel(kernel) as machine:
        try:
            own = policy_for_kernel(machine.release, machine.upstream)
        except ValueError as e:
            if policy is None:
                raise KernelUnavailable(f"{e}: name the policy to hold against it (--policy)") from None
            own = ""
        policy = policy or own
        if progress:
            kind = ("trace-v2 traces, " + ("min_size mounts included" if min_size else "no min_size mount")
                    if files else "trace-v1 traces")
            print(f"  Linux {machine.release} against {policy}: {kind}; {traces:,} x {length:,} = "
                  f"{traces * length:,} steps (a run replays at most {KERNEL_MAX_RUN_STEPS:,})", file=progress)
        label = ""

        leaked: list[Counters | None] = [None]  # what a guest's pool kept after the last trace (None: bare)

        def on_kernel(trace: Trace, what: str) -> list[Step]:
            leaked[0] = None
            if isinstance(machine, HostKernel):  # the host names the trace if the pool is not bare after it
                return machine.replay(trace, what)
            try:
                return machine.replay(trace)
            except KernelLeaked as leak:  # a throw-away guest: its records stand; a fresh one takes over
                leaked[0] = leak.counters
                return leak.steps

        def differs(text: str) -> bool:
            trace = parse_trace(text)
            return on_kernel(trace, f"a shrunk form of {label}") != replay(trace, policy)

        for n in range(traces):
            text = generate(n)
            trace = parse_trace(text)
            label = f"random trace {n + 1} (--seed {seed + n} --length {length})"
            real, model = on_kernel(trace, label), replay(trace, policy)
            umounts.add(trace, real)
            if real != model:
                if progress:
                    print(file=progress)
                small = shrink(text, differs, budget=KERNEL_MAX_RUN_STEPS)
                trace = parse_trace(small)
                print(f"MISMATCH with {policy} in trace {n + 1} (seed {seed + n}); shrunk to {len(trace)} lines:\n",
                      file=out)
                print(small, file=out)
                print(side_by_side(on_kernel(trace, f"the shrunk form of {label}"), replay(trace, policy)), file=out)
                return 1
            left = leaked[0]
            if left is not None:  # every step matched; what the pool kept must be what the model's teardown says
                expected = teardown(text, policy)
                if left != expected:
                    print(f"MISMATCH with {policy} after trace {n + 1} (seed {seed + n}): once every process, "
                          f"file, mount and segment was gone the pool showed Total/Free/Rsvd/Surp {left}; the "
                          f"model's teardown ends at {expected}\n", file=out)
                    print(text, file=out)
                    return 1
                spent.append(f"seed {seed + n}: {left}")
            steps += len(trace)
            if progress and ((n + 1) % 10 == 0 or n + 1 == traces):
                print(f"\r  {n + 1}/{traces} traces, {steps} steps: all match so far",
                      end="", file=progress, flush=True)
    if progress:
        print(file=progress)
    against = "" if policy == own else f" (against {policy})"
    kind = " v2" if files else ""
    print(f"verified {traces}{kind} traces, {steps} steps: all match{against}", file=out)
    if files:
        print(f"  {umounts}", file=out)
    if spent:
        print(f"  {len(spent)} trace{'s' if len(spent) > 1 else ''} left the guest's pool in use once everything was "
              f"gone, as the model's teardown says (a fresh guest took over each time): {'; '.join(spent)}",
              file=out)
    return 0


def teardown(text: str, policy: str) -> Counters:
    """The counters the model ends at once ``text``'s processes exit and its files, segments and
    mounts go (what a kernel replay leaves behind when its namespaces are torn down)."""
    from .hunt import _with_exits
    return replay(_with_exits(text), policy)[-1].counters
