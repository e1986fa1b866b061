"""The ``hugelab`` command line (also ``python -m hugelab``).

Exit status: 0 success; 1 a check found a difference (``verify``) or a kernel
leaked (``replay --kernel``: the table, then a line saying what stayed); 2 a bad
trace or bad arguments, with one line saying what (``line N: ...`` for a
trace); 3 the real kernel cannot be used here, with one line saying why.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from . import __version__, interrupts, scenarios
from .limits import (
    APP_KERNEL_IDLE_SECONDS,
    APP_MIN_IDLE_SECONDS,
    KERNEL_MAX_RUN_STEPS,
    MAX_GENERATED_LENGTH,
    MAX_GENERATED_TRACES,
    MAX_RUN_STEPS,
    echo,
    echo_number,
    run_too_long,
)
from .model.policies import DEFAULT, KERNEL_NAMES, POLICIES
from .replay import as_trace, replay
from .tools.tables import compare_table, differ_line, table
from .trace.language import Trace, TraceError, grammar_help


class UsageError(Exception):
    """Bad arguments: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _read_trace(source: str) -> Trace:
    from .trace.source import SourceError, read_file, read_stdin
    try:
        text = read_stdin(sys.stdin.buffer) if source == "-" else read_file(source)
    except FileNotFoundError:
        if source not in scenarios.names():
            raise UsageError(f"no trace file {echo(source)} (and no scenario of that name: "
                             f"see 'hugelab scenarios')") from None
        text = scenarios.load(source)
    except SourceError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"cannot read {echo(source)}: {e.strerror}") from None
    trace = as_trace(text)
    if not trace.ops:  # as the explorer says: there is nothing to replay
        raise TraceError(1, "the trace has no operation")
    return trace


def _cmd_replay(args) -> int:
    trace = _read_trace(args.trace)
    leak = None
    if args.kernel:
        from .realkernel import KernelLeaked
        from .realkernel.targets import replay_on_kernel
        try:
            steps = replay_on_kernel(trace, args.kernel, label=f"trace {echo(args.trace)}")
        except KernelLeaked as e:  # the table first: it shows the way to the leak
            steps, leak = e.steps, e
    else:
        steps = replay(trace, args.policy)
    if args.json:
        for s in steps:
            print(s.to_json())
    else:
        print(table(steps))
    if leak is not None:
        sys.stdout.flush()
        where = ""
        if leak.step is not None:
            op = trace.ops[leak.step - 1]
            where = (f"; the first {leak.step} lines leak on their own: step {leak.step} "
                     f"(line {op.line}: {echo(op.text)}) leaked")
        print(f"hugelab: the kernel leaked: once every process, file, mount and segment of the trace was gone "
              f"the pool showed Total/Free/Rsvd/Surp = {leak.counters}{where}", file=sys.stderr)
        return 1
    return 0


def _cmd_compare(args) -> int:
    policies = args.policy or ["double-credit", "region-count"]
    if len(policies) < 2:
        raise UsageError("compare needs two policies: --policy A --policy B")
    text, differ = compare_table(_read_trace(args.trace), policies)
    print(text)
    print(differ_line(differ))
    return 0


def _cmd_scenarios(args) -> int:
    if args.name:
        try:
            print(scenarios.load(args.name), end="")
        except KeyError as e:
            raise UsageError(e.args[0]) from None
        return 0
    width = max(len(n) for n in scenarios.names())
    for name in scenarios.names():
        print(f"{name.ljust(width)}  {scenarios.describe(name)[:100]}")
    return 0


def _cmd_verify(args) -> int:
    from .tools.verify import verify
    if args.min_size is not None and not args.files:
        raise UsageError("--min-size and --no-min-size go with --files (trace-v2 traces)")
    _within_run_bound(args, on_kernels=True)
    return verify(args.traces, args.length, args.seed, out=sys.stdout, progress=sys.stderr, policy=args.policy,
                  kernel=args.kernel, files=args.files, min_size=args.min_size)


def _within_run_bound(args, on_kernels: bool) -> None:
    """Refuse, in one line, a run longer than hugelab's bound for it (before anything runs)."""
    refusal = run_too_long(args.traces, args.length, on_kernels)
    if refusal is not None:
        raise UsageError(refusal)


def _cmd_hunt(args) -> int:
    _within_run_bound(args, on_kernels=bool(args.kernels))
    if args.kernels:
        from .tools.hunt_kernels import hunt_kernels
        specs = [s.strip() for s in args.kernels.split(",") if s.strip()]
        if len(specs) != 2:
            raise UsageError("--kernels takes two kernels, e.g. --kernels 6.12,6.18")
        return hunt_kernels(specs, args.traces, args.length, args.seed, out=sys.stdout, progress=sys.stderr,
                            files=args.files)
    from .tools.hunt import hunt
    return hunt(args.policy, args.traces, args.length, args.seed, out=sys.stdout, files=args.files)


def _cmd_kernels(args) -> int:
    from .realkernel.catalog import kernels
    fetch = [spec.strip() for specs in args.fetch for spec in specs.split(",") if spec.strip()]
    return kernels(fetch, out=sys.stdout, every=args.all)


def _cmd_export_c(args) -> int:
    trace = _read_trace(args.trace)
    if args.kselftest:
        from .realkernel.kselftest_c import export_kselftest
        text = export_kselftest(trace, args.expect)
    else:
        from .realkernel.export_c import export_c
        text = export_c(trace, args.expect)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    return 0


def _cmd_run(args) -> int:
    from pathlib import Path

    from .realkernel.programs import ProgramError, run_program
    specs = [s.strip() for specs in args.kernel for s in specs.split(",") if s.strip()]
    if not specs:
        raise UsageError("run needs --kernel K (a guest kernel: 6.12, a release name...; several: A,B)")
    try:
        return run_program(Path(args.program), specs, args.args, sys.stdout, args.timeout)
    except ProgramError as e:
        raise UsageError(str(e)) from None


def _cmd_timeline(args) -> int:
    from .tools import timeline
    trace = _read_trace(args.trace)
    if args.explain:
        try:
            return timeline.explain(trace, args.explain[0], args.explain[1], sys.stdout)
        except ValueError as e:
            raise UsageError(str(e)) from None
    specs = [s.strip() for specs in args.kernels for s in specs.split(",") if s.strip()]
    if args.all:
        specs += [k for k in timeline.every_cached() if k not in specs]
    if not specs:
        raise UsageError("timeline needs --kernels A,B,... or --all (every cached kernel; "
                         "'hugelab kernels --fetch' adds more)")
    return timeline.timeline(specs, trace, sys.stdout, progress=sys.stderr, statfs=args.files)


def _cmd_zoo(args) -> int:
    from .teaching import zoo
    if not args.name:
        print(zoo.listing())
        return 0
    bug = zoo.BY_NAME.get(args.name)
    if bug is None:
        raise UsageError(f"no bug {echo(args.name)} in the zoo; choose one of: {', '.join(zoo.BY_NAME)}")
    print(zoo.describe(bug, width=100))
    return 0


def _difficulty(args):
    from .teaching.difficulty import ANY, PRESETS, Difficulty
    base = PRESETS[args.difficulty] if args.difficulty else ANY
    return Difficulty(*(getattr(base, a) if getattr(args, a) is None else getattr(args, a)
                        for a in ("forks", "failures", "surplus")))


def _cmd_exercise(args) -> int:
    from .teaching.exercise import DEFAULT_LENGTH, command
    if args.sheet and (args.key or args.answers):
        raise UsageError("--sheet prints the questions and --key the answers: choose one")
    if args.pair and args.policy:
        raise UsageError("--pair sets the policies (double-credit and region-count): leave out --policy")
    setting = ([f"--{a}/--no-{a}" for a in ("forks", "failures", "surplus") if getattr(args, a) is not None]
               + (["--difficulty"] if args.difficulty else []))
    given = [flag for flag, set_ in (("--seed", args.seed is not None), ("--length", args.length is not None),
                                     ("--policy", args.policy is not None), ("--pair", args.pair),
                                     ("--key", args.key or args.answers), ("--sheet", args.sheet),
                                     ("--out", args.out is not None)) if set_] + setting
    if args.check and given:
        raise UsageError(f"--check reads the exercise (seed, length, policies, difficulty) from each sheet: "
                         f"leave out {' and '.join(given)}")
    if args.csv and not args.check:
        raise UsageError("--csv goes with --check SHEET...: the grades of those sheets")
    if args.check and (len(args.check) > 1 or args.csv or args.roster or args.secret_file):
        return _grade_class(args)
    if args.roster or args.out:
        return _class_sheets(args, _difficulty(args))
    if args.secret_file:
        raise UsageError("--secret-file goes with --roster or --check")
    return command(args.seed or 0, args.length or DEFAULT_LENGTH, args.policy or DEFAULT, args.pair,
                   args.key or args.answers, args.check[0] if args.check else None, sys.stdout, sys.stderr,
                   difficulty=_difficulty(args))


def _roster(args):
    from .teaching.grading import RosterError, read_roster, read_secret
    try:
        secret = read_secret(args.secret_file) if args.secret_file else None
        return (read_roster(args.roster, secret) if args.roster else None), secret
    except RosterError as e:
        raise UsageError(str(e)) from None


def _class_sheets(args, difficulty) -> int:
    """``exercise --roster R --out DIR``: a sheet (or key) per student, each of its student's seed."""
    from pathlib import Path

    from .teaching.exercise import DEFAULT_LENGTH, make_exercise
    from .teaching.grading import class_sheets
    if not (args.roster and args.out):
        raise UsageError("a class's sheets need --roster ROSTER.csv and --out DIR")
    if args.seed is not None:
        raise UsageError("--roster gives each student's seed: leave out --seed")
    roster, _ = _roster(args)
    assert roster is not None
    length, policy = args.length or DEFAULT_LENGTH, args.policy or DEFAULT

    def make(seed):
        return make_exercise(seed, length, policy, args.pair, difficulty)
    try:
        written = class_sheets(roster, make, Path(args.out), key=args.key or args.answers)
    except ValueError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"cannot write into {echo(args.out)}: {e.strerror}") from None
    print(f"hugelab: {len(written)} {'keys' if args.key or args.answers else 'sheets'} in {args.out}")
    return 0


def _grade_class(args) -> int:
    """``exercise --check SHEET... [--roster R] [--secret-file S] [--csv OUT]``: every sheet graded."""
    from .teaching.grading import grade, summary, write_csv
    from .trace.source import SourceError, read_file
    roster, secret = _roster(args)

    def read(path: str) -> str:
        try:
            return read_file(path)
        except (SourceError, TraceError) as e:
            raise ValueError(str(e)) from None
    rows = grade(args.check, roster, secret, read)
    if args.csv:
        try:
            with (open(args.csv, "w", encoding="utf-8", newline="") if args.csv != "-" else
                  contextlib.nullcontext(sys.stdout)) as out:
                write_csv(rows, out)
        except OSError as e:
            raise UsageError(f"cannot write {echo(args.csv)}: {e.strerror}") from None
    else:
        for row in rows:
            if row.score is not None:
                print(f"== {row.file}\n{row.score.report()}", end="")
    print(summary(rows), end="", file=sys.stderr if args.csv == "-" else sys.stdout)
    return 1 if any(row.flags for row in rows) else 0


def _cmd_app(args) -> int:
    from .app import serve
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535 (0: any free port), not {echo_number(args.port)}")
    if args.idle_seconds < APP_MIN_IDLE_SECONDS:
        raise UsageError(f"--idle-seconds must be at least {APP_MIN_IDLE_SECONDS}, "
                         f"not {echo_number(args.idle_seconds)}")
    return serve(args.port, allow_root=args.allow_root, idle_seconds=args.idle_seconds)


def _cmd_lab(args) -> int:
    from .teaching.lab import copy_only, run
    if args.copy_only:
        return copy_only(args.dir)
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, not {echo_number(args.port)}")
    return run(args.dir, args.port, browser=not args.no_browser, allow_root=args.allow_root, terminals=args.terminals,
               nbgrader=args.nbgrader)


def _cmd_assignments(args) -> int:
    from pathlib import Path

    from .teaching.nbgrader_source import write
    return write(Path(args.dir), args.only, sys.stdout, sys.stderr)


def _cmd_print(args) -> int:
    from pathlib import Path

    from .teaching import printing
    from .teaching.exercise import DEFAULT_LENGTH, Student, make_exercise
    if args.what != "notebooks" and args.names:
        raise UsageError(f"print {args.what} takes no names (those are for: print notebooks NN ...)")
    if args.what != "sheets" and (args.seed or args.roster or args.pair or args.difficulty):
        raise UsageError("--seed, --roster, --pair and --difficulty go with: print sheets")
    try:
        if args.what == "key":
            page = printing.key_html(with_answers=not args.blank)
        elif args.what == "notebooks":
            from .teaching.lab import CourseMissing, course_dir
            try:
                paths = printing.numbered_notebooks(course_dir(), args.names)
            except CourseMissing as e:
                raise UsageError(str(e).removeprefix("hugelab: ")) from None
            page = printing.notebooks_html(paths, key=args.key)
        else:
            length, policy = args.length or DEFAULT_LENGTH, args.policy or DEFAULT
            students = None
            if args.roster:
                roster, _ = _roster(args)
                assert roster is not None
                seeds = [e.seed for e in roster.entries]
                students = [Student(e.name or None, e.id) for e in roster.entries]
            else:
                seeds = args.seed or [0]
            try:
                exercises = [make_exercise(seed, length, policy, args.pair, _difficulty(args)) for seed in seeds]
            except ValueError as e:
                raise UsageError(str(e)) from None
            page = printing.sheets_html(exercises, key=args.key, students=students)
        printing.to_pdf(page, Path(args.out))
    except printing.PrintError as e:
        print(f"hugelab: {e}", file=sys.stderr)
        return 2
    print(f"hugelab: {args.out}")
    return 0


def _cmd_course(args) -> int:
    from .teaching.lab import copy_only
    return copy_only(args.dir)


def _policy(name: str) -> str:
    """``--policy``'s type: a named policy or a kernel release with commit edits (one line if neither)."""
    from .model.policies import get_policy
    try:
        get_policy(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return name


def _cmd_policies(args) -> int:
    from .tools.policies import report
    return report(args.release, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hugelab", description="How Linux counts hugetlb reservations: replay, compare, verify.")
    parser.add_argument("--version", action="version", version=f"hugelab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    policy_help = f"one of {', '.join(POLICIES)} (default {DEFAULT}), or {KERNEL_NAMES} (see 'hugelab policies')"

    p = sub.add_parser("replay", help="replay a trace and show the counters after each step",
                       epilog=grammar_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", help="a trace file, - for standard input, or a scenario name")
    p.add_argument("--policy", default=DEFAULT, type=_policy, help=policy_help)
    p.add_argument("--kernel", nargs="?", const="host", metavar="KERNEL",
                   help="replay on a real kernel: alone, this machine's (root); or 6.1, 6.12, a release name "
                        "or a kernel image path, booted in a QEMU guest (see 'hugelab kernels')")
    p.add_argument("--json", action="store_true", help="one JSON step record per line: line, op, ok, error, counters "
                   "(and mounts, the statfs of size= mounts, once a trace v2 makes one)")
    p.set_defaults(run=_cmd_replay)

    p = sub.add_parser("compare", help="replay a trace under two policies side by side")
    p.add_argument("trace")
    p.add_argument("--policy", action="append", type=_policy,
                   help="give twice (default double-credit, region-count)")
    p.set_defaults(run=_cmd_compare)

    p = sub.add_parser("scenarios", help="list the shipped scenarios, or print one")
    p.add_argument("name", nargs="?")
    p.set_defaults(run=_cmd_scenarios)

    p = sub.add_parser("policies", help="the eras, named kernels and reservation commits; for a release, "
                                        "the commits it carries and why")
    p.add_argument("release", nargs="?", help="a kernel release (6.12.107, 6.12.107+deb12-cloud-amd64, or a "
                                              "policy name such as linux-6.18.44+rollback-fix)")
    p.set_defaults(run=_cmd_policies)

    p = sub.add_parser("verify", help="random traces on the kernel and under modern, step by step")
    p.add_argument("--traces", type=int, default=100,
                   help=f"how many random traces (traces x length: at most {KERNEL_MAX_RUN_STEPS:,} steps a run)")
    p.add_argument("--length", type=int, default=30, help="lines in each trace")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--policy", default=None, type=_policy,
                   help="the model to hold against the kernel (default: its own commits, e.g. linux-6.12.118; "
                        "older ones show how they differ)")
    p.add_argument("--kernel", default="host", metavar="KERNEL",
                   help="host (default: this machine's kernel, root) or 6.1, 6.12, ... in a QEMU guest")
    p.add_argument("--files", action="store_true",
                   help="random trace-v2 traces (files, mounts, memfds, segments mixed with v1 operations)")
    p.add_argument("--min-size", action=argparse.BooleanOptionalAction, default=None,
                   help="with --files: mounts may have min_size= (default: in a guest yes; refused on this "
                        "machine's kernel, where such traces can leak reservations until reboot)")
    p.set_defaults(run=_cmd_verify)

    p = sub.add_parser("hunt", help="search random traces for a broken invariant under a policy")
    p.add_argument("--policy", default="double-credit", type=_policy)
    p.add_argument("--traces", type=int, default=2000,
                   help=f"how many random traces (traces x length: at most {MAX_RUN_STEPS:,} steps a run, "
                        f"{KERNEL_MAX_RUN_STEPS:,} with --kernels)")
    p.add_argument("--length", type=int, default=12, help="lines in each trace")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kernels", metavar="A,B",
                   help="hunt for a trace on which two real kernels disagree (e.g. 6.12,6.18), not a policy")
    p.add_argument("--files", action="store_true",
                   help="trace v2: files, mounts, memfds and segments (min_size mounts too, but never on "
                        "this machine's kernel)")
    p.set_defaults(run=_cmd_hunt)

    p = sub.add_parser("kernels", help="the kernels a replay can boot in a QEMU guest: cached and fetchable")
    p.add_argument("--fetch", metavar="KERNEL", action="append", default=[],
                   help="download kernels (6.1, 6.12, a release name; several: A,B or --fetch again) "
                        "into the cache")
    p.add_argument("--all", action="store_true", help="list every release on offer, not only each series' newest")
    p.set_defaults(run=_cmd_kernels)

    p = sub.add_parser("export-c", help="a standalone C program that replays a trace and checks /proc/meminfo")
    p.add_argument("trace")
    p.add_argument("--expect", default=DEFAULT, type=_policy,
                   help="the policy whose counters the program expects (default modern)")
    p.add_argument("-o", "--output", help="write the program here (default: standard output)")
    p.add_argument("--kselftest", action="store_true",
                   help="a short test for tools/testing/selftests/mm (kselftest helpers, TAP, straight-line C, "
                        "labelled counters); one-process traces")
    p.set_defaults(run=_cmd_export_c)

    p = sub.add_parser("run", help="run a C reproducer (built statically) or a static program in QEMU guests",
                       epilog="e.g. hugelab run repro.c --kernel 6.12,7.3 -- --may-leak")
    p.add_argument("program", help="a .c file (built with cc -static) or a static executable")
    p.add_argument("--kernel", action="append", default=[], metavar="K",
                   help="the guest kernel (6.12, a release name; A,B or again: one guest after the other)")
    p.add_argument("--timeout", type=float, default=120, help="seconds the program may take (default 120)")
    p.add_argument("args", nargs="*", help="the program's own arguments, after --")
    p.set_defaults(run=_cmd_run)

    # a sheet's policy line names one of the named policies (the checker rebuilds the sheet from it)
    sheet_policy_help = f"one of {', '.join(POLICIES)} (default {DEFAULT})"
    p = sub.add_parser("timeline", help="one trace on many kernels in guests (one at a time), grouped, "
                                        "each held against its own commits' policy")
    p.add_argument("trace", help="a trace file, - for standard input, or a scenario name")
    p.add_argument("--kernels", action="append", default=[], metavar="A,B,...",
                   help="guest kernels (6.12, release names; again or comma-separated), oldest first")
    p.add_argument("--all", action="store_true", help="every kernel in the cache (see 'hugelab kernels')")
    p.add_argument("--files", action="store_true", help="rows show the statfs of the trace's sized mounts too")
    p.add_argument("--explain", nargs=2, metavar=("A", "B"),
                   help="the model only: which commits between A's and B's sets make A's run B's "
                        "(each toggled alone on A's set)")
    p.set_defaults(run=_cmd_timeline)

    p = sub.add_parser("zoo", help="the bug zoo: reservation bugs from 2008 to today, each with its commits, "
                                   "trace and symptom, with the bug and without")
    p.add_argument("name", nargs="?", help="show this bug whole (default: list them)")
    p.set_defaults(run=_cmd_zoo)

    p = sub.add_parser("exercise", help="a sheet of ? to predict, its key, or score filled-in sheets",
                       epilog="teachers: --sheet for the students, --key for you, --check FILE to score "
                              "a filled-in sheet (exit 0 all right, 1 some wrong, 2 a sheet that cannot be read); "
                              "a class: --roster R.csv --secret-file S --out DIR (a sheet per student, seeded "
                              "from the id), then --check DIR/*.txt --roster R.csv --secret-file S --csv "
                              "grades.csv (exit 0 nothing flagged, 1 some sheet flagged)")
    p.add_argument("--seed", type=int, help="which exercise (the same seed, the same trace; default 0)")
    p.add_argument("--sheet", action="store_true", help="the questions, ? to fill in (the default)")
    p.add_argument("--key", action="store_true", help="the same sheet, filled in")
    p.add_argument("--answers", action="store_true", help=argparse.SUPPRESS)  # older name of --key
    p.add_argument("--check", metavar="SHEET", nargs="+", help="score filled-in sheets, line by line")
    p.add_argument("--csv", metavar="OUT", help="with --check: one row per sheet (and per roster student "
                   "without one) into OUT (- for standard output)")
    p.add_argument("--roster", metavar="CSV", help="the class: a CSV with an id column (name and seed "
                   "optional); with --out a sheet per student, with --check each sheet graded against its "
                   "student's seed")
    p.add_argument("--secret-file", metavar="FILE", help="the course's secret: a student's seed is derived "
                   "from the id and this (unless the roster has a seed column)")
    p.add_argument("--out", metavar="DIR", help="with --roster: write the sheets (or --key: the keys) here")
    p.add_argument("--policy", choices=list(POLICIES), help=sheet_policy_help)
    p.add_argument("--pair", action="store_true", help="double-credit and region-count side by side, "
                                                        "on a trace where the double credit shows")
    p.add_argument("--length", type=int, help="steps in the trace (4 to 40; default 8)")
    p.add_argument("--difficulty", choices=["basic", "fork", "full"],
                   help="every sheet of one shape: basic (no fork, no failing step, no surplus), fork "
                        "(exactly one fork), full (one fork, a failing step, surplus pages)")
    for aspect, what in (("forks", "exactly one fork, or none"), ("failures", "a failing step, or none"),
                         ("surplus", "surplus pages, or none")):
        p.add_argument(f"--{aspect}", action=argparse.BooleanOptionalAction, default=None,
                       help=f"{what} (overrides --difficulty)")
    p.set_defaults(run=_cmd_exercise)

    p = sub.add_parser("app", help="start the split explorer as a Voila app on loopback")
    p.add_argument("--port", type=int, default=8866, help="0: any free port (the URL printed says which)")
    p.add_argument("--allow-root", action="store_true", help="run as root anyway (the kernels run as root too)")
    p.add_argument("--idle-seconds", type=int, default=APP_KERNEL_IDLE_SECONDS,
                   help=f"a learner's kernel idle this long is stopped (default {APP_KERNEL_IDLE_SECONDS}; "
                        f"at least {APP_MIN_IDLE_SECONDS})")
    p.set_defaults(run=_cmd_app)

    p = sub.add_parser("lab", help="copy the course's notebooks into DIR and open them in JupyterLab")
    p.add_argument("dir", nargs="?", default="hugelab-course",
                   help="where the course goes (default ./hugelab-course); your edited notebooks are kept")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true", help="only print the URL")
    p.add_argument("--copy-only", action="store_true", help="copy the course into DIR and start no server "
                   "(as 'hugelab course DIR')")
    p.add_argument("--allow-root", action="store_true", help="run as root anyway (the notebooks run as root too)")
    p.add_argument("--terminals", action="store_true", help="let JupyterLab open terminals (off by default)")
    p.add_argument("--nbgrader", action="store_true", help="show nbgrader's menu and panels, for a teacher "
                   "(hidden from learners by default)")
    p.set_defaults(run=_cmd_lab)

    p = sub.add_parser("assignments", help="graded notebooks for nbgrader: one source notebook per numbered "
                       "notebook, made from the course's questions (COURSE/source/hugelab-NN)")
    p.add_argument("dir", help="the nbgrader course folder (made if missing)")
    p.add_argument("--only", nargs="+", metavar="NN", help="only these notebooks (00 to 09)")
    p.set_defaults(run=_cmd_assignments)

    p = sub.add_parser("print", help="PDF for paper: the notebooks with blanks (or --key), exercise sheets, "
                       "the course key", epilog="print notebooks [NN ...] | print sheets --seed N ... (or --roster R "
                       "--secret-file S) | print key; --key fills in the answers")
    p.add_argument("what", choices=["notebooks", "sheets", "key"])
    p.add_argument("names", nargs="*", metavar="NN", help="notebooks: which (default every numbered one)")
    p.add_argument("--out", required=True, metavar="FILE.pdf")
    p.add_argument("--key", action="store_true", help="answers filled in (notebooks, sheets)")
    p.add_argument("--blank", action="store_true", help="key: the questions only, boxes to write in")
    p.add_argument("--seed", type=int, action="append", help="sheets: a sheet of this seed (repeat for more)")
    p.add_argument("--roster", metavar="CSV", help="sheets: one per student (name, id, seed from the id)")
    p.add_argument("--secret-file", metavar="FILE", help="sheets: the course's secret, with --roster")
    p.add_argument("--policy", choices=list(POLICIES), help=sheet_policy_help)
    p.add_argument("--pair", action="store_true", help="sheets: double-credit and region-count")
    p.add_argument("--length", type=int, help="sheets: steps (4 to 40; default 8)")
    p.add_argument("--difficulty", choices=["basic", "fork", "full"], help="sheets: one shape for all")
    for aspect in ("forks", "failures", "surplus"):
        p.add_argument(f"--{aspect}", action=argparse.BooleanOptionalAction, default=None, help=argparse.SUPPRESS)
    p.set_defaults(run=_cmd_print)

    p = sub.add_parser("course", help="copy the course's notebooks into DIR, start nothing (for a JupyterHub)")
    p.add_argument("dir", nargs="?", default="hugelab-course",
                   help="where the course goes (default ./hugelab-course); your edited notebooks are kept")
    p.set_defaults(run=_cmd_course)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; with ``argv`` None the process is hugelab, and ends here.

    Then the first catchable signal interrupts and later ones are ignored
    (a burst cannot cut a cleanup short), and the process exits at once
    with the status, without interpreter shutdown: that shutdown puts the
    default handlers back, and a late signal of a burst would kill the
    process after it has said what it put back.
    """
    if argv is None:
        interrupts.install()
    status = _run(argv)
    if argv is not None:
        return status
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def _run(argv: Sequence[str] | None) -> int:
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        tail: list[str] = []
        if words[:1] == ["run"] and "--" in words:  # the program's own arguments (argparse mixes them up)
            words, tail = words[:words.index("--")], words[words.index("--") + 1:]
        args = build_parser().parse_args(words)
        if tail:
            args.args = tail
        for name, most in (("traces", MAX_GENERATED_TRACES), ("length", MAX_GENERATED_LENGTH)):
            value = getattr(args, name, None)
            if value is not None and not 1 <= value <= most:
                raise UsageError(f"--{name} must be between 1 and {most:,} (hugelab's limit)")
        return args.run(args)
    except (TraceError, UsageError) as e:
        print(f"hugelab: {e}" if isinstance(e, UsageError) else str(e), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt as e:
        from .realkernel import KernelInterrupted
        if isinstance(e, KernelInterrupted):  # says what the session read back, nothing more
            print(f"hugelab: interrupted by {e}: {e.outcome}", file=sys.stderr)
        else:
            print("hugelab: interrupted", file=sys.stderr)
        # 128 + the signal's number, as a shell reports a process its signal ended (SIGTERM: 143)
        return 128 + e.signum if isinstance(e, interrupts.Interrupted) else 128 + signal.SIGINT
    except Exception as e:  # the kernel cannot be used: one line, not a traceback
        from .realkernel import KernelReplayError, KernelUnavailable
        if isinstance(e, KernelUnavailable):
            print(f"hugelab: cannot use the kernel: {e}", file=sys.stderr)
            return 3
        if isinstance(e, KernelReplayError):
            print(f"hugelab: kernel replay failed: {e}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
