"""``hugelab timeline TRACE``: one trace on many kernels, one guest at a time, held against the model.

Each kernel replays the trace in its own QEMU guest (never this machine's
kernel: a timeline trace may mount with ``min_size`` and leak until
reboot), one after the other (2 cores). One row per kernel, oldest first:
the counters and statfs at the end and the first step where it parts from
the row above. Kernels that agree on every step form a group; beside each
group, the commits its kernels carry that not every kernel here carries
(:mod:`hugelab.model.commits`), and whether each kernel's own policy
(``linux-RELEASE``) gives its records step for step. A kernel whose
records differ from its own policy is a finding: printed with the trace
(exit status 1).

Records are cached in the kernel cache's ``timeline`` folder (checked as
the images are: ours, writable by us only) by kernel release and the
trace text's SHA-256, so a second run of the same trace boots nothing.

``--explain A B`` (:func:`explain`) asks the model alone which commits
between two kernels' sets make the difference on a trace.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TextIO

from ..model.commits import COMMITS, find
from ..model.hstate import Counters
from ..model.policies import Policy
from ..model.policies.kernels import build, kernel_policy, parse_name
from ..replay import Step, replay
from ..trace.language import Trace
from .tables import outcome, statfs_text

#: a cached record is a few kilobytes; anything far bigger is not ours
MAX_RECORD_BYTES = 4 << 20
CACHE_FOLDER = "timeline"


#: spec -> (the image's release, a context manager booting it); tests swap in a fake machine
Resolver = Callable[[str], tuple[str, Callable[[], AbstractContextManager]]]


def guest_resolver(spec: str) -> tuple[str, Callable[[], AbstractContextManager]]:
    """The cached (or fetched) image ``spec`` names, and how to boot it; never this machine's kernel."""
    from ..realkernel.guest import Guest
    from ..realkernel.machine import KernelUnavailable
    from ..realkernel.targets import guest_image, is_host
    if is_host(spec):
        raise KernelUnavailable(f"{spec} is this machine's kernel: a timeline runs in guests only "
                                "(name another release of the series, e.g. 6.18.15+deb13-cloud-amd64)")
    image = guest_image(spec)
    return image.release, lambda: Guest(image)


def every_cached() -> list[str]:
    """The releases of every cached kernel image, oldest first (``--all``)."""
    from ..realkernel.images import cached
    return [image.release for image in cached()]


# -- the record cache ---------------------------------------------------------
def trace_key(trace: Trace) -> str:
    return hashlib.sha256(trace.text.encode()).hexdigest()[:32]


def _cache_name(release: str, trace: Trace) -> str:
    return f"{release}-{trace_key(trace)}.json"


def _folder(create: bool):
    from ..realkernel.images import ImageUnavailable, cache_folder
    from ..realkernel.machine import KernelUnavailable
    try:
        return cache_folder(CACHE_FOLDER, create=create)
    except ImageUnavailable as e:  # one line, exit 3, as for the images
        raise KernelUnavailable(str(e)) from None


def step_from_dict(record: dict) -> Step:
    """A step record as ``Step.as_dict`` wrote it (checked as a guest's answer is)."""
    from ..realkernel import guest_records
    return guest_records.steps({"steps": [record]}, 1, "the timeline cache")[0]


def load_cached(release: str, trace: Trace) -> tuple[str, list[Step], Counters | None] | None:
    """(upstream, steps, what the pool kept if it leaked) cached for ``release`` and this trace; None if not."""
    from ..ownfiles import UnsafePath
    from ..realkernel.machine import KernelReplayError, KernelUnavailable
    folder = _folder(create=False)
    if folder is None:
        return None
    with folder:
        try:
            data = folder.read(_cache_name(release, trace), MAX_RECORD_BYTES, owned=True)
        except UnsafePath as e:
            raise KernelUnavailable(f"the timeline cache: {e}") from None
    if data is None:
        return None
    try:
        record = json.loads(data)
        if record.get("trace") != trace.text or record.get("kernel") != release:
            return None  # a hash collision or a stray file: boot again
        leaked = record.get("leaked")
        kept = None if leaked is None else step_from_dict(
            {"line": 1, "op": "teardown", "error": None, "counters": leaked}).counters
        return str(record.get("upstream") or ""), [step_from_dict(s) for s in record["steps"]], kept
    except (ValueError, KeyError, TypeError, AttributeError, KernelReplayError):
        return None  # not a record this version wrote: replay again and overwrite it


def store(release: str, upstream: str, trace: Trace, steps: list[Step], date: str,
          leaked: Counters | None = None) -> None:
    from ..ownfiles import UnsafePath
    from ..realkernel.machine import KernelUnavailable
    record = {"kernel": release, "upstream": upstream, "date": date, "trace": trace.text,
              "steps": [s.as_dict() for s in steps], "leaked": leaked.as_dict() if leaked else None}
    folder = _folder(create=True)
    assert folder is not None
    with folder:
        try:
            folder.write(_cache_name(release, trace), json.dumps(record, indent=1).encode())
        except UnsafePath as e:
            raise KernelUnavailable(f"the timeline cache: {e}") from None


# -- one row per kernel -------------------------------------------------------
@dataclass
class Row:
    kernel: str
    upstream: str
    steps: list[Step]
    cached: bool
    policy: Policy | None = None
    policy_problem: str = ""
    model: list[Step] | None = None
    #: what the pool kept once everything the trace made was gone (None: bare, as it should be)
    leaked: Counters | None = None

    @property
    def predicted(self) -> bool | None:
        return None if self.model is None else self.model == self.steps

    @property
    def name(self) -> str:
        if self.upstream and not self.kernel.startswith(self.upstream):
            return f"{self.kernel} ({self.upstream})"
        return self.kernel


def policy_for(kernel: str, upstream: str) -> Policy:
    """The model's policy for a kernel: the commits its upstream release carries. ValueError (one line)."""
    if upstream:  # what the guest's uname -v said (a Debian ABI name such as 6.1.0-57 hides it)
        return kernel_policy(f"linux-{upstream}")
    return kernel_policy(f"linux-{kernel}")


def records(specs: list[str], trace: Trace, resolver: Resolver = guest_resolver,
            progress: TextIO | None = None, today: Callable[[], str] | None = None) -> list[Row]:
    """Each kernel's records of ``trace``: from the cache, else from its guest (one at a time),
    with the model's run under the kernel's own policy beside them."""
    rows = [found[0] for found in records_many(specs, [trace], resolver, progress, today)]
    for row in rows:
        try:
            row.policy = policy_for(row.kernel, row.upstream)
            row.model = replay(trace, row.policy)
        except ValueError as e:
            row.policy_problem = str(e)
    return rows


def records_many(specs: list[str], traces: list[Trace], resolver: Resolver = guest_resolver,
                 progress: TextIO | None = None, today: Callable[[], str] | None = None) -> list[list[Row]]:
    """For each kernel, a row per trace: cached, else replayed in the kernel's guest.

    One guest at a time, booted only if a trace is not cached. A trace after which the pool is
    not bare (a leak) keeps its records and what the pool kept; the guest starts afresh for the
    next one (:meth:`hugelab.realkernel.guest.Guest.replay`).
    """
    import datetime

    from ..realkernel.machine import KernelLeaked
    today = today or (lambda: datetime.date.today().isoformat())
    table = []
    for spec in specs:
        release, boot = resolver(spec)
        found: dict[int, Row] = {}
        for i, trace in enumerate(traces):
            hit = load_cached(release, trace)
            if hit is not None:
                found[i] = Row(release, hit[0], hit[1], cached=True, leaked=hit[2])
        todo = [i for i in range(len(traces)) if i not in found]
        if todo:
            if progress:
                print(f"  booting {release} for {len(todo)} trace(s)...", file=progress, flush=True)
            with boot() as guest:
                for i in todo:
                    leaked = None
                    try:
                        steps = guest.replay(traces[i])
                    except KernelLeaked as e:
                        steps, leaked = list(e.steps), e.counters
                    store(release, guest.upstream, traces[i], steps, today(), leaked)
                    found[i] = Row(release, guest.upstream, steps, cached=False, leaked=leaked)
        table.append([found[i] for i in range(len(traces))])
    return table


def first_difference(a: list[Step], b: list[Step]) -> int | None:
    """The first step (1-based) where two runs differ; None if they agree on every step."""
    for number, (x, y) in enumerate(zip(a, b), 1):
        if x != y:
            return number
    return None if len(a) == len(b) else min(len(a), len(b)) + 1


def step_text(step: Step) -> str:
    c = step.counters
    mounts = statfs_text(step)
    wrapped = f" (Rsvd {c.rsvd - (1 << 64)}: wrapped)" if c.rsvd >= 1 << 63 else ""
    return f"{c.total}/{c.free}/{c.rsvd}/{c.surp}{wrapped} {outcome(step)}" + (f", {mounts}" if mounts else "")


def _sort_key(row: Row) -> tuple[int, ...]:
    from ..model.commits import version
    try:
        return version(row.upstream or row.kernel)
    except ValueError:
        return (999,)


def timeline(specs: list[str], trace: Trace, out: TextIO, progress: TextIO | None = None,
             resolver: Resolver = guest_resolver, statfs: bool = False) -> int:
    """Print the timeline; 1 if a kernel disagrees with its own policy (a finding), else 0.

    ``statfs`` (``--files``): each row also shows the statfs of the trace's sized mounts at the end.
    """
    rows = sorted(records(specs, trace, resolver, progress), key=_sort_key)
    print(f"{len(trace.ops)} operations on {len(rows)} kernels (T/F/R/S = HugePages_Total/Free/Rsvd/Surp):\n",
          file=out)
    groups: list[list[Row]] = []
    for row in rows:
        same = next((g for g in groups if g[0].steps == row.steps), None)
        if same is None:
            groups.append([row])
        else:
            same.append(row)
    label = {id(r): chr(ord("A") + i) if i < 26 else str(i) for i, g in enumerate(groups) for r in g}
    width = max(len(r.name) for r in rows)
    for previous, row in zip([None, *rows], rows):
        end = row.steps[-1] if row.steps else None
        cells = [label[id(row)], row.name.ljust(width), "cached" if row.cached else "booted"]
        end_text = step_text(end) if end else "no step"
        if not statfs and end and end.mounts:
            end_text = end_text.split(",")[0]
        cells.append(f"end {end_text}")
        if row.leaked:
            c = row.leaked
            cells.append(f"LEAKED {c.total}/{c.free}/{c.rsvd}/{c.surp} after teardown")
        if previous is not None:
            at = first_difference(previous.steps, row.steps)
            cells.append("same as above" if at is None else
                         f"parts at step {at}: {step_text(row.steps[at - 1]) if at <= len(row.steps) else 'none'}")
        elif len(rows) > 1:  # the first row: its own value where the next one parts from it
            at = first_difference(row.steps, rows[1].steps)
            if at is not None and at <= len(row.steps):
                cells.append(f"at step {at}: {step_text(row.steps[at - 1])}")
        print("  ".join(cells), file=out)
    print("\ngroups (kernels that agree on every step) and the model:", file=out)
    everywhere = frozenset.intersection(*(r.policy.commits for r in rows if r.policy)) if any(
        r.policy for r in rows) else frozenset()
    for group in groups:
        print(f"  {label[id(group[0])]}: {', '.join(r.name for r in group)}", file=out)
        for row in group:
            if row.policy is None:
                print(f"     {row.name}: no policy ({row.policy_problem})", file=out)
                continue
            own = sorted((c for c in COMMITS if c.id in row.policy.commits - everywhere), key=COMMITS.index)
            says = " ".join(f"+{c.short}" for c in own) or "(no commit the others lack)"
            verdict = "predicts it" if row.predicted else "DOES NOT predict it"
            print(f"     {row.policy.name} {says}: {verdict}", file=out)
    findings = [r for r in rows if r.predicted is False]
    for row in findings:
        assert row.model is not None and row.policy is not None
        at = first_difference(row.steps, row.model)
        assert at is not None
        kernel = step_text(row.steps[at - 1]) if at <= len(row.steps) else "no step"
        model = step_text(row.model[at - 1]) if at <= len(row.model) else "no step"
        print(f"\nFINDING: Linux {row.name} disagrees with its policy {row.policy.name} from step {at} "
              f"({trace.ops[at - 1].text if at <= len(trace.ops) else 'end'}): kernel {kernel}, model {model}. "
              "The trace:", file=out)
        print(trace.text.rstrip("\n"), file=out)
    return 1 if findings else 0


# -- which commits make the difference ------------------------------------------
def explain(trace: Trace, a: str, b: str, out: TextIO) -> int:
    """Which commits between A's and B's sets the model needs for A's run to become B's.

    Each commit in one set and not the other is toggled alone on A's set
    (added if B has it, dropped if not), and the trace replayed; then all
    of them at once (B's set on A's era). ValueError (one line) for a name
    that is not a kernel.
    """
    pa, pb = (kernel_policy(_policy_name(x)) for x in (a, b))
    run_a, run_b = replay(trace, pa), replay(trace, pb)
    at = first_difference(run_a, run_b)
    print(f"{pa.name} and {pb.name} on this trace: "
          + ("the same on every step" if at is None else f"first differ at step {at}"), file=out)
    between = sorted(pa.commits ^ pb.commits, key=lambda cid: COMMITS.index(find(cid)))
    if not between:
        print("  their commit sets are the same", file=out)
        return 0
    release = parse_name(pa.name)[0]
    makes = []
    for cid in between:
        sign = "+" if cid in pb.commits else "-"
        ids = pa.commits | {cid} if sign == "+" else pa.commits - {cid}
        run = replay(trace, build(f"{pa.name}{sign}{find(cid).short}", release, frozenset(ids), ""))
        if run == run_b:
            verdict = f"makes {pa.name}'s run {pb.name}'s"
            makes.append(cid)
        elif run == run_a:
            verdict = "changes nothing on this trace"
        else:
            verdict = f"changes the run from step {first_difference(run_a, run)}, not into {pb.name}'s"
        print(f"  {sign}{find(cid).short:12}  {verdict}  ({find(cid).subject})", file=out)
    whole = replay(trace, build(f"{pa.name} with {pb.name}'s commits", release, pb.commits, ""))
    if not makes and at is not None:
        print(f"  no one commit does it alone; all {len(between)} together "
              + ("do" if whole == run_b else "do not (the eras differ)"), file=out)
    return 0


def _policy_name(kernel: str) -> str:
    return kernel if kernel.startswith("linux-") else f"linux-{kernel}"
