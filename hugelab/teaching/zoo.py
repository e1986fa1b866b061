"""The bug zoo: fifteen years of hugetlb reservation bugs, each with its commits, trace and symptom.

One :class:`Bug` per bug: the commits that brought and fixed it (entries of
:mod:`hugelab.model.commits`, so their mainline releases and stable
backports come from that one table), a shrunk trace (a shipped scenario),
the symptom (one counter, outcome or statfs at one step, as
``/proc/meminfo`` or ``statfs`` shows it) and a kernel on each side.

A side is a real kernel where one before or after the bug can be booted
(the records measured in its QEMU guest ship in ``hugelab/recorded/zoo.json``
with the kernel's release and the date), and the model's policy for that
kernel (``linux-RELEASE``, the commits it carries) always. One side has the
bug, the other not (a kernel before it came, or after its fix); where no such
kernel can be had here (anything before 5.10), the side is the policy of a
reachable kernel with the commit taken out or put in (``linux-5.10.262-67961f9db8c4``)
or one of 2008's eras, and says so: :attr:`Side.measured` tells which.

``hugelab zoo`` lists them; ``hugelab zoo NAME`` shows one, both sides
replayed. Traces marked guests only can leak reservations until reboot: they
are never replayed on this machine's kernel.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .. import scenarios
from ..model.commits import Commit, find
from ..model.hstate import show
from ..replay import Step, replay
from ..trace.language import parse_trace


@dataclass(frozen=True)
class Side:
    """One side of a bug: a policy, and the guest kernel measured for it ("" when the model alone speaks)."""

    policy: str
    kernel: str = ""
    #: said beside the side's value where it is not the clean value it seems (a later bug's symptom)
    note: str = ""

    @property
    def measured(self) -> bool:
        return bool(self.kernel)


@dataclass(frozen=True)
class Bug:
    name: str
    title: str
    #: the commits that brought it (ids in hugelab.model.commits)
    introduced: tuple[str, ...]
    #: the commit that fixed it; "" while it is open
    fixed: str
    #: the shipped scenario holding its shrunk trace
    scenario: str
    #: the step (1-based) where the symptom shows, and what to read there:
    #: "rsvd", "free", "surp", "outcome", or "statfs NAME" (the free pages of mount NAME)
    step: int
    reading: str
    #: a side that has the bug, and one that does not (before it came, or after its fix)
    buggy: Side
    clean: Side
    #: what goes wrong, in the kernel's terms (two or three sentences)
    story: str

    @property
    def guests_only(self) -> bool:
        return parse_trace(scenarios.load(self.scenario)).min_size_mount() is not None

    @property
    def trace(self) -> str:
        return scenarios.load(self.scenario)

    def commits(self) -> tuple[list[Commit], Commit | None]:
        return [find(c) for c in self.introduced], find(self.fixed) if self.fixed else None


BUGS: tuple[Bug, ...] = (
    Bug("double-credit", "Splitting a private mapping credits its reservation twice (2008)",
        ("a1e78772d72b",), "84afd99b8398", "seed", 5, "rsvd",
        Side("double-credit"), Side("linux-2.6.27"),
        "a1e78772 kept a private mapping's reservation as a count in vm_private_data; a split copies the "
        "count into both pieces, and each piece's close gives the whole count back: Rsvd wraps. 84afd99b "
        "gives every piece one shared resv_map of consumed offsets instead (model only: no 2.6.26 guest)."),
    Bug("private-close-quota", "Closing a private mapping keeps its unused pages in the mount's quota (2008)",
        ("a1e78772d72b",), "7251ff78b94c", "private-close-quota", 6, "outcome",
        Side("linux-2.6.27-7251ff78b94c"), Side("linux-2.6.27"),
        "A private mapping of a file on a size= mount charges the mount for every page it reserves; before "
        "7251ff78 the close gave the reservation back to the pool but never to the mount, so the mount "
        "stayed full after the mapping was gone (model only)."),
    Bug("private-refault-after-punch", "A private owner's refault after a hole punch takes a second reservation",
        ("84afd99b8398", "70c3547e36f5"), "67961f9db8c4", "private-refault-after-punch", 6, "rsvd",
        Side("linux-5.10.262-67961f9db8c4"), Side("linux-5.10.262", "5.10.0-46-cloud-amd64"),
        "The owner's fault took one off Rsvd whatever its resv_map said; after a hole punch freed a page "
        "the map still counts as consumed, the refault took a reservation it never had, and the close "
        "gave back one too many: Rsvd wraps at munmap. 67961f9d (4.7) asks the map first."),
    Bug("shmat-noreserve", "shmat of a SHM_NORESERVE segment reserves its pages",
        ("c37f9fb11c97",), "e656c7a9e596", "shmat-noreserve", 3, "rsvd",
        Side("linux-6.1.192-e656c7a9e596"), Side("linux-6.1.192", "6.1.0-57-cloud-amd64"),
        "SHM_NORESERVE made shmget reserve nothing, but shmat's mmap of the segment's file did not pass "
        "VM_NORESERVE on, so attaching it reserved every page after all. e656c7a9 (6.8; 6.1.79, 5.10.213) "
        "marks the mapping of an S_PRIVATE inode noreserve."),
    Bug("dontneed-loses-reservation", "MADV_DONTNEED throws an owner's reservation away",
        ("90e7e7f5ef3f",), "df7a6d1f6405", "dontneed-restore", 4, "rsvd",
        Side("linux-6.1.192", "6.1.0-57-cloud-amd64"), Side("linux-6.12.118", "6.12.118+deb12-cloud-amd64"),
        "Since 5.18 MADV_DONTNEED zaps hugetlb pages; zapping an owner's private page freed it and its "
        "reservation with it, so the refault had none (Rsvd 1, not 2, after the madvise). df7a6d1f (6.9) "
        "marks the zapped page restore_reserve and un-consumes its offset."),
    Bug("restore-while-child-maps", "The v6.9 restore gives back a reservation a child's page still holds",
        ("df7a6d1f6405",), "mapcount-fix", "fork-unmap-wrap", 5, "rsvd",
        Side("linux-6.12.107", "6.12.107+deb12-cloud-amd64"), Side("linux-6.12.118", "6.12.118+deb12-cloud-amd64"),
        "df7a6d1f restores the reservation when the owner unmaps a page, even while a forked child still "
        "maps it; the close then hands the whole mapping back and Rsvd reads 1 - 2 = 2^64-1 until the "
        "child lets go. The mapcount fix restores only when the page is mapped nowhere else."),
    Bug("avoid-reserve-min-size", "The owner's copy-on-write on a min_size mount leaks a reservation",
        ("1c5ecae3a93f",), "58db7c5fbe7d", "avoid-reserve-min-size", 13, "rsvd",
        Side("linux-6.1.190", "6.1.0-54-cloud-amd64"), Side("linux-6.1.192", "6.1.0-57-cloud-amd64"),
        "The owner's copy-on-write while a child maps the page allocates 'avoiding reserves': it forced "
        "gbl_chg = 1, so the page the subpool lent was never taken off Rsvd and came back onto it when "
        "freed: one reservation more after every run. 58db7c5f (6.14; 6.12.14, 6.1.191)."),
    Bug("subpool-error-wrap", "A refused mmap on a min_size mount gives the subpool back too much",
        ("1c5ecae3a93f",), "a833a693a490", "subpool-rollback-eras", 14, "rsvd",
        Side("linux-6.12.118", "6.12.118+deb12-cloud-amd64"),
        Side("linux-6.18.15", "6.18.15+deb13-cloud-amd64",
             note="no wrap, but still a leaked reservation: the next bug, subpool-error-leak"),
        "When the global pool refuses an mmap's reservation, hugetlb_reserve_pages put every page back into "
        "the subpool, also those its minimum had lent: the minimum is counted twice and Rsvd wraps when the "
        "mount goes (era 1). a833a693 (6.15; 6.14.8) gives back only what was lent."),
    Bug("subpool-error-leak", "The subpool's used count stays high after a refused mmap",
        ("a833a693a490",), "1d3f9bb4c8af", "subpool-rollback-eras", 14, "rsvd",
        Side("linux-6.18.15", "6.18.15+deb13-cloud-amd64"),
        Side("linux-7.0.13", "7.0.13+deb13-cloud-amd64",
             note="no leak, but a wrap: the next bug, subpool-rollback-wrap"),
        "a833a693's error path gives back the lent pages but leaves the pages asked of the pool in the "
        "subpool's used count: statfs shows them used, and one reservation stays after umount (era 2). "
        "1d3f9bb4 (7.0; 6.18.y) takes them out of the used count too."),
    Bug("subpool-rollback-wrap", "1d3f9bb4 undoes in the wrong order: the lent minimum goes to the pool",
        ("1d3f9bb4c8af",), "rollback-fix", "subpool-rollback-eras", 14, "rsvd",
        Side("linux-7.0.13", "7.0.13+deb13-cloud-amd64"), Side("linux-7.3.4", "7.3.4+deb13-cloud-amd64"),
        "1d3f9bb4 gives the lent part back while the used count is still high, so the subpool hands it on "
        "to the global pool and the mount's minimum is short: Rsvd wraps at umount (era 3). 'mm/hugetlb: fix "
        "subpool minimum reservation rollback' (7.3.4) restores the used count first (era 4: 0)."),
    Bug("min-size-leak", "A failed fallocate on a min_size mount leaks until reboot (open)",
        ("a833a693a490",), "", "min-size-leak", 7, "rsvd",
        Side("linux-7.3.4", "7.3.4+deb13-cloud-amd64"), Side("linux-6.12.118", "6.12.118+deb12-cloud-amd64"),
        "a833a693 added an error path in alloc_hugetlb_folio that keeps the subpool charge of a fault "
        "whose page never came; the used count never returns to zero, so the subpool is never freed and "
        "its minimum stays on Rsvd after umount. Found by random traces on 6.18.44; still in 7.3.4."),
)

BY_NAME = {bug.name: bug for bug in BUGS}


def reading(step: Step, what: str) -> str:
    """The symptom's value at a step: a counter as /proc/meminfo prints it, the outcome, or a mount's statfs."""
    if what == "outcome":
        return step.error or "ok"
    if what.startswith("statfs "):
        mount = what.split()[1]
        statfs = (step.mounts or {}).get(mount)
        return "unmounted" if statfs is None else f"{statfs[1]} free of {statfs[0]}"
    return str(getattr(step.counters, what))


READING_NAMES = {"rsvd": "HugePages_Rsvd", "free": "HugePages_Free", "surp": "HugePages_Surp",
                 "outcome": "the outcome"}


def reading_name(what: str) -> str:
    return READING_NAMES.get(what) or f"statfs of {what.split()[1]} (free pages)"


@lru_cache(maxsize=1)
def recorded() -> dict:
    """The shipped guest records: {(scenario, kernel): {"date", "upstream", "steps", "leaked"}}."""
    path = resources.files("hugelab.recorded") / "zoo.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {(r["scenario"], r["kernel"]): r for r in data["records"]}


def model_steps(bug: Bug, side: Side) -> list[Step]:
    return replay(bug.trace, side.policy)


def measured_steps(bug: Bug, side: Side) -> list[Step] | None:
    """The records measured in ``side.kernel``'s guest, if shipped."""
    from ..tools.timeline import step_from_dict
    record = recorded().get((bug.scenario, side.kernel)) if side.kernel else None
    return None if record is None else [step_from_dict(s) for s in record["steps"]]


def symptom(bug: Bug, side: Side) -> str:
    """The symptom's value on one side, by the model."""
    return reading(model_steps(bug, side)[bug.step - 1], bug.reading)


def _commit_line(commit: Commit) -> str:
    """A commit as a fold shows it: its hash, releases and subject. A commit hugelab knows by a short name
    only (its mainline hash not identified) is shown by its subject, with the stable ids that are known and
    the words "mainline commit not identified here", never by the name, which reads like a hash."""
    ports = ", ".join((p.first or f"{p.series}.y after {p.lacking}") + (f" as {p.stable_id}" if p.stable_id else "")
                      for p in commit.backports)
    if commit.hashed:
        release = f"v{commit.mainline}" if commit.mainline else "mainline release not confirmed"
        return f"{commit.short} ({release}{'; stable ' + ports if ports else ''}) {commit.subject}"
    where = [f"v{commit.mainline}" if commit.mainline else "", f"stable {ports}" if ports else ""]
    known = "; ".join(w for w in where if w)
    return f"\"{commit.subject}\" ({known + '; ' if known else ''}mainline commit not identified here)"


def _commit_label(commit: Commit) -> str:
    """A commit in one short column: its hash, else a stable branch's hash, else its first stable release."""
    if commit.hashed:
        return commit.short
    port = next((p for p in commit.backports if p.stable_id), None)
    if port is not None:
        return f"{port.stable_id} ({port.series}.y)"
    port = next((p for p in commit.backports if p.first), None)
    return f"a fix in {port.first}" if port is not None else "unidentified"


def listing() -> str:
    width = max(len(b.name) for b in BUGS)
    lines = []
    for bug in BUGS:
        fixed = _commit_label(find(bug.fixed)) if bug.fixed else "OPEN"
        intro = "+".join(_commit_label(find(c)) for c in bug.introduced)
        lines.append(f"{bug.name.ljust(width)}  {intro} -> {fixed:20}  {bug.title}"
                     + ("  [guests only]" if bug.guests_only else ""))
    return "\n".join(lines)


def describe(bug: Bug, width: int | None = None) -> str:
    """One bug, whole: its commits, story, trace, and the symptom on each side (measured and model).

    The story is one line unless ``width`` folds it (the command line's 100): a notebook's fold wraps each line at
    the window's edge, and a story folded at 100 came out ragged there, each short line wrapped again."""
    introduced, fixed = bug.commits()
    out = [f"{bug.name}: {bug.title}", ""]
    out += [f"  introduced: {_commit_line(c)}" for c in introduced]
    out.append(f"  fixed:      {_commit_line(fixed)}" if fixed else "  fixed:      not yet (open upstream)")
    story = textwrap.wrap(bug.story, width, initial_indent="  ", subsequent_indent="  ") if width else \
        ["  " + " ".join(bug.story.split())]
    out += ["", *story, ""]
    if bug.guests_only:
        out.append("  GUESTS ONLY: this trace can leak reservations until reboot; never replay it on a machine "
                   "you need.")
    out.append(f"  trace (scenario {bug.scenario}):")
    out += [f"    {line}" for line in bug.trace.splitlines() if line and not line.startswith("#")]
    step = parse_trace(bug.trace).ops[bug.step - 1].text
    out.append(f"\n  symptom: {reading_name(bug.reading)} after step {bug.step} ({step}):")
    for label, side in (("with the bug", bug.buggy), ("without", bug.clean)):
        model = reading(model_steps(bug, side)[bug.step - 1], bug.reading)
        value = model if bug.reading == "outcome" or not model.isdigit() else show(int(model))
        out.append(f"    {label:12}  model {side.policy}: {value}" + (f" ({side.note})" if side.note else ""))
        measured = measured_steps(bug, side)
        if measured is not None:
            record = recorded()[(bug.scenario, side.kernel)]
            seen = reading(measured[bug.step - 1], bug.reading)
            seen = seen if not seen.isdigit() else show(int(seen))
            leak = record.get("leaked")
            kept = f"; the pool kept {leak['total']}/{leak['free']}/{leak['rsvd']}/{leak['surp']} after teardown" \
                if leak else ""
            upstream = "" if side.kernel.startswith(record["upstream"]) else f" = {record['upstream']}"
            out.append(f"                  measured in a guest, Linux {side.kernel}{upstream} ({record['date']}): "
                       f"{seen}{kept}")
        elif side.kernel:
            out.append(f"                  Linux {side.kernel}: not measured yet (hugelab timeline {bug.scenario} "
                       f"--kernels {side.kernel})")
        else:
            out.append("                  model only (no such kernel can be booted here)")
    return "\n".join(out)


def record(today: str = "", progress=None) -> dict:
    """Measure every side that names a guest kernel (one guest at a time, through the timeline's
    cache) and return the records for ``hugelab/recorded/zoo.json``."""
    from ..tools import timeline
    wanted: dict[str, list[str]] = {}
    for bug in BUGS:
        for side in (bug.buggy, bug.clean):
            if side.kernel and bug.scenario not in wanted.setdefault(side.kernel, []):
                wanted[side.kernel].append(bug.scenario)
    out = []
    for kernel, names in wanted.items():
        traces = [parse_trace(scenarios.load(n)) for n in names]
        (rows,) = timeline.records_many([kernel], traces, progress=progress,
                                        today=(lambda: today) if today else None)
        for name, trace, row in zip(names, traces, rows):
            cached = timeline.load_cached(kernel, trace)
            assert cached is not None
            out.append({"scenario": name, "kernel": kernel, "upstream": row.upstream,
                        "date": _cached_date(kernel, trace),
                        "steps": [s.as_dict() for s in row.steps],
                        "leaked": row.leaked.as_dict() if row.leaked else None})
    return {"how": "a QEMU guest (TCG) per kernel, hugelab.teaching.zoo.record (through hugelab timeline's cache)",
            "records": out}


def _cached_date(kernel: str, trace) -> str:
    from ..tools import timeline
    folder = timeline._folder(create=False)
    assert folder is not None
    with folder:
        data = folder.read(timeline._cache_name(kernel, trace), timeline.MAX_RECORD_BYTES, owned=True)
    assert data is not None
    return json.loads(data)["date"]


if __name__ == "__main__":  # python -m hugelab.teaching.zoo > hugelab/recorded/zoo.json (guests)
    import sys
    print(json.dumps(record(progress=sys.stderr), indent=1))


#: the four eras of the subpool error path (docs/findings.md §4), oldest first
ERAS_KERNELS = ("6.12.118+deb12-cloud-amd64", "6.18.15+deb13-cloud-amd64", "7.0.13+deb13-cloud-amd64",
                "7.3.4+deb13-cloud-amd64")


def measured_or_model(scenario: str, kernel: str) -> tuple[list[Step], str]:
    """A kernel's shipped guest records of a zoo scenario, else its policy's run; and which it is."""
    record = recorded().get((scenario, kernel))
    if record is not None:
        from ..tools.timeline import step_from_dict
        return [step_from_dict(s) for s in record["steps"]], f"measured in a guest, {record['date']}"
    policy = "linux-" + kernel.split("+")[0]
    return replay(scenarios.load(scenario), policy), f"model {policy} (not measured)"
