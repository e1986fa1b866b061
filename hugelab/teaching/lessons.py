"""Every predict-then-check question of the notebooks, in one place so that
each answer, hint and reveal is tested (``tests/test_lessons.py``).

An answer is always computed by replaying the trace under the question's
policy, never written by hand. The hints are keyed to the two or three
likeliest wrong answers, each naming the misconception behind it; where a
wrong answer is what another era of the kernel gives, it is computed from
that era too. ``reveal`` is the table up to the step asked about: the
notebook shows it only once the learner has committed.
"""

from __future__ import annotations

from ..model.hstate import show, u64
from ..model.resv_map import ResvMap
from ..replay import ModelReplay, replay
from ..scenarios import load
from ..tools.matrix import BEHAVIOURS, recorded_steps
from ..tools.tables import outcome, table
from ..trace.language import parse_trace
from .predict import Question

SEED = load("seed")
FIELDS = {"Total": "total", "Free": "free", "Rsvd": "rsvd", "Surp": "surp"}


def counter(trace: str, step: int, field: str, policy: str = "modern") -> int:
    """HugePages_<field> after step ``step`` (numbered from 1) of ``trace``."""
    return getattr(replay(trace, policy)[step - 1].counters, FIELDS[field])


def failing_step(trace: str, error: str, policy: str = "modern") -> int:
    """The number of the first step whose outcome is ``error``."""
    return next(n for n, s in enumerate(replay(trace, policy), 1) if s.error == error)


def upto(trace: str, step: int, policy: str = "modern") -> str:
    """The replay table of the first ``step`` steps: what a question's reveal shows."""
    return f"{policy}:\n" + table(replay(trace, policy)[:step])


#: question prompt -> (trace, step, policy) it asks about, for :func:`giveaways`
ASKED: dict[str, tuple[str, int, str]] = {}


def giveaways(q: Question) -> list[str]:
    """What would answer ``q`` if it were on screen before the learner answers: the asked step's row
    as a table prints it, as a side-by-side (T/F/R/S) cell prints it, and a walk-through's heading for it
    (whitespace squashed, as the tests compare)."""
    if q.prompt not in ASKED:  # the reveal's arithmetic
        return [" ".join(line.split()) for line in q.reveal.splitlines() if " = " in line]
    trace, step, policy = ASKED[q.prompt]
    s = replay(trace, policy)[step - 1]
    c = s.counters
    return [" ".join(table([s]).splitlines()[1].split()[1:]),  # the row without its step number
            " ".join(f"{s.op} {c.total}/{c.free}/{show(c.rsvd)}/{c.surp} {outcome(s)}".split()),
            f"step {step}: {s.op} ->"]


def _counter_question(prompt: str, trace: str, step: int, field: str, hints: dict[int, str], why: str,
                      policy: str = "modern") -> Question:
    """A question about one counter after one step. Its reveal is the table up to the step before, then
    the asked counter alone: a reveal never answers another question about the same step."""
    answer = counter(trace, step, field, policy)
    asked = replay(trace, policy)[step - 1]
    reveal = (upto(trace, step - 1, policy) + "\n" if step > 1 else "") + \
        f"after step {step} ({asked.op}): HugePages_{field} = {show(u64(answer))}"
    ASKED[prompt] = (trace, step, policy)
    return Question(prompt, answer, hints, why=why, reveal=reveal)


def _step_question(prompt: str, trace: str, answer: int, hints: dict[int, str], why: str,
                   policy: str = "modern") -> Question:
    """A question whose answer is a step number: the reveal is the table up to that step."""
    ASKED[prompt] = (trace, answer, policy)
    return Question(prompt, answer, hints, why=why, reveal=upto(trace, answer, policy))


# -- 00 start here ---------------------------------------------------------------

def q00_free() -> Question:
    return _counter_question(
        "After step 2 (pool 8, then mmap a 4 private; nothing touched yet), what is HugePages_Free?", SEED, 2, "Free",
        {4: "A reservation is a promise, not a page taken: reserved pages still count in HugePages_Free.",
         0: "Nothing has been touched yet, so no page is in use: every page of the pool is still free.",
         12: "mmap adds no page to the pool: the pool is what `pool 8` set."},
        "Reserving moves nothing out of Free; only faults do.")


def q00_rsvd() -> Question:
    return _counter_question(
        "And HugePages_Rsvd after step 2?", SEED, 2, "Rsvd",
        {0: "A private mapping reserves its whole size at mmap time (since Linux 2.6.27), not at the fault.",
         8: "Only the mapping's own pages are promised, not the whole pool.",
         1: "One reservation per page of the mapping, not one per mapping."},
        "mmap promises one page per page of the mapping.")


# -- 01 the pool and reservations -------------------------------------------------

RESERVE_CONSUME = "pool 8\nmmap a 4 private\ntouch a 0\ntouch a 1 read\n"
LATE = "pool 2\nmmap a 4 private\ntouch a 0\ntouch a 1\ntouch a 2\n"
FOUR = "pool 4\nmmap a 5 private\nmmap b 3 private\nmmap c 2 private\nmmap d 1 private\n"


def q01_free() -> Question:
    return _counter_question(
        "After step 3 (touch a 0), what is HugePages_Free?", RESERVE_CONSUME, 3, "Free",
        {8: "A fault takes a page out of Free: page 0 is now in use.",
         4: "Reservations do not leave Free; only the faulted page does.",
         5: "Free counts free pages, not free pages minus reserved ones."},
        "Free counts pages nobody has faulted in.")


def q01_rsvd() -> Question:
    return _counter_question(
        "...and HugePages_Rsvd after step 3?", RESERVE_CONSUME, 3, "Rsvd",
        {4: "The fault used up the reservation for page 0: one promise kept.",
         0: "Only page 0 was touched; pages 1, 2 and 3 are still promised.",
         2: "One fault uses one reservation, and only page 0 has been touched so far."},
        "A fault consumes exactly the reservation of the page it faults in.")


def q01_read() -> Question:
    return _counter_question(
        "Step 4 only reads page 1 (touch a 1 read). HugePages_Rsvd after step 4?", RESERVE_CONSUME, 4, "Rsvd",
        {counter(RESERVE_CONSUME, 3, "Rsvd"): "A read fault needs a page just as a write does, and uses the "
                                               "reservation just the same.",
         1: "Count the pages touched so far: 0 and 1, two of the four promises used."},
        "Read or write, the first touch of a page takes a page and uses its reservation.")


def q01_sigbus() -> Question:
    answer = failing_step(LATE, "SIGBUS", "unreserved")
    return _step_question(
        "Under unreserved (no reservations at all), at which step does the process die?", LATE, answer,
        {2: "Without reservations mmap cannot fail: it promises nothing, so it checks nothing.",
         3: "Page 0 finds one of the 2 free pages.",
         4: "Page 1 takes the second of the 2 pages: only the third fault finds none."},
        "Without reservations the failure comes at the first fault that finds no page, long after mmap.",
        "unreserved")


def q01_enomem() -> Question:
    return _counter_question(
        "pool 4, then four mmaps of 5, 3, 2 and 1 pages: HugePages_Rsvd after the last (step 5)?", FOUR, 5, "Rsvd",
        {11: "A mapping the pool cannot back fails with ENOMEM and reserves nothing.",
         6: "After b's 3 pages only 1 page is left unpromised: c's 2 cannot be backed, so c fails.",
         3: "d's 1 page still fits: 4 pages, 3 promised."},
        "Each mmap reserves only if free pages nobody else was promised can back all of it.")


# -- 02 the region map ------------------------------------------------------------

SIX = "pool 8\nmmap a 6 private\ntouch a 1\ntouch a 4\nmunmap a 3 3\n"
SHARED = "pool 8\nmmap s 4 shared\ntouch s 0\nmunmap s 1 1\nmunmap s 0 1\nmunmap s 2 2\n"


def example_map() -> ResvMap:
    """A private mapping's map after faults at offsets 0 and 3: [0, 1) and [3, 4)."""
    m = ResvMap()
    m.region_add(0, 1)
    m.region_add(3, 4)
    return m


def q02_count() -> Question:
    m = example_map()
    return Question(
        "A map holds [0, 1) and [3, 4). What is region_count(map, 0, 3)?", m.region_count(0, 3),
        {2: "[0, 3) is half-open: it stops before 3, so offset 3 is not in it.",
         3: "region_count counts the offsets that are in the map, not the width of the window.",
         0: "Offset 0 is in the window [0, 3) and in the map."},
        why="Half-open windows never overlap their neighbours: [0, 3) and [3, 4) share nothing.",
        reveal=f"region_count(map, 0, 3) = {m.region_count(0, 3)}; map = {m.regions()}")


def q02_unused() -> Question:
    steps = replay(SIX, "region-count")
    (close,) = steps[-1].closes
    ASKED["A 6-page private mapping had pages 1 and 4 faulted. munmap a 3 3 unmaps [3, 6): how many "
          "reservations does that close give back?"] = (SIX, 5, "region-count")
    return Question(
        "A 6-page private mapping had pages 1 and 4 faulted. munmap a 3 3 unmaps [3, 6): "
        "how many reservations does that close give back?", close.unused,
        {3: "Page 4 is inside [3, 6) and was faulted: its reservation is used up.",
         1: "Only page 4 of the window was faulted; pages 3 and 5 still hold theirs.",
         4: "Count only the window [3, 6): pages 0, 1 and 2 stay mapped and keep theirs."},
        why="unused = (end - start) - region_count(map, start, end), over the window [3, 6) only.",
        reveal=close.formula + "\n\n" + upto(SIX, 5, "region-count"))


def q02_shared() -> Question:
    return _counter_question(
        "A 4-page shared mapping, page 0 touched, then munmap s 1 1 (step 4). HugePages_Rsvd after it?",
        SHARED, 4, "Rsvd",
        {2: "That is what a private mapping would give back. A shared mapping's reservations belong to the "
            "file, which is still mapped: nothing comes back yet.",
         0: "The file keeps its reservations until its last mapping goes."},
        "A shared mapping's map is on the file and means 'reserved'; unmapping part of it gives nothing back.")


# -- 03 the double credit ---------------------------------------------------------

def q03_split() -> Question:
    return _counter_question(
        "Under double-credit, what is HugePages_Rsvd right after step 4 (munmap a 1 1)?", SEED, 4, "Rsvd",
        {counter(SEED, 4, "Rsvd", "region-count"):
             "That is the right answer on a fixed kernel. Here the removed piece [1, 2) carries a copy of the "
             "whole remaining count.",
         counter(SEED, 3, "Rsvd", "double-credit"):
             "The piece [1, 2) closes at once, and a close hands back the count its VMA carries."},
        "The removed piece hands back the whole copied count, not its own one page.", "double-credit")


def q03_end() -> Question:
    steps = replay(SEED, "double-credit")
    return _counter_question(
        "Under double-credit, what does Rsvd end at after step 6? (As a signed number, or as the kernel prints it.)",
        SEED, 6, "Rsvd",
        {steps[4].counters.rsvd: "That is after step 5: the last piece [2, 4) hands back the copied count too.",
         counter(SEED, 6, "Rsvd", "region-count"): "That is the fixed kernel. Here every piece hands back the "
                                                    "whole copied count.",
         -9: "Start from the 4 reserved at mmap, less the 1 used by the fault, then subtract what the closes "
             "credited."},
        "4 reserved, 1 used, and three closes that each credited the copied count.", "double-credit")


def q03_lost() -> Question:
    trace = load("lost-reservation")
    answer = failing_step(trace, "SIGBUS", "double-credit")
    return _step_question(
        "In lost-reservation under double-credit, at which step does a process die?", trace, answer,
        {6: "b's mmap of 7 succeeds: Rsvd already (wrongly) reads 0, so 7 free pages look unpromised.",
         answer - 1: "b's faults use b's own reservations: they all succeed.",
         3: "main's own fault at step 3 happens before the split: it finds a page."},
        "main's reserved fault at offset 2 finds every free page taken by b.", "double-credit")


# -- 04 the fix -------------------------------------------------------------------

def q04_close() -> Question:
    steps = replay(SEED, "region-count")
    (close,) = steps[5].closes
    return Question(
        "Under region-count, how many reservations does the close of the piece [2, 4) give back (step 6)?",
        close.credit,
        {3: "3 is the count the old kernel copied. Now only the window [2, 4) counts.",
         1: "Neither page 2 nor page 3 was ever touched.",
         0: "Nothing in [2, 4) was faulted: both reservations are unused."},
        why="(4 - 2) - region_count(map, 2, 4): a window with no fault gives back its whole width.",
        reveal=close.formula)


def q04_total() -> Question:
    steps = replay(SEED, "region-count")
    return Question(
        "In total, how many reservations do the three closes of the seed give back under region-count?",
        sum(c.credit for s in steps for c in s.closes),
        {sum(c.credit for s in replay(SEED, "double-credit") for c in s.closes):
             "That is the double credit: every piece handing back the copied count.",
         4: "Page 0 used its reservation at the fault: it has nothing to give back."},
        why="4 reserved - 1 consumed: the unused reservations come back exactly once.",
        reveal="\n".join([*(f"step {n}: close [{c.start}, {c.end}): {c.formula}"
                            for n, s in enumerate(steps, 1) for c in s.closes),
                          f"given back in total: {sum(c.credit for s in steps for c in s.closes)}"]))


def q04_mprotect() -> Question:
    trace = load("mprotect-split")
    return _counter_question(
        "mprotect-split under double-credit: HugePages_Rsvd after step 7 (munmap a 3 1)? "
        "(Signed, or as the kernel prints it.)", trace, 7, "Rsvd",
        {counter(trace, 7, "Rsvd", "region-count"): "That is the fix's answer. Under double-credit the piece "
                                                     "[2, 4) kept its own copied count, and munmap a 3 1 copies it "
                                                     "once more into [3, 4).",
         counter(trace, 6, "Rsvd", "double-credit"): "The piece [3, 4) closes here and hands back a count."},
        "A split copies whatever count the VMA holds at that moment; each close hands it all back.", "double-credit")


# -- 05 today's kernel ----------------------------------------------------------

FORK = "pool 8\nmmap a 4 private\ntouch a 0\nfork c\nin c touch a 0\nin c touch a 1\nexit c\n"


def q05_child_rsvd() -> Question:
    return _counter_question(
        "Step 6: the child c touches page 1 of the parent's mapping (never touched before). Rsvd after it?",
        FORK, 6, "Rsvd",
        {counter(FORK, 5, "Rsvd") - 1: "A child holds no reservation: its fault takes an unreserved page and "
                                       "leaves the parent's promise for page 1 alone.",
         counter(FORK, 5, "Rsvd") + 1: "Nothing gives a reservation back here: the parent still holds its "
                                       "promises for pages 1, 2 and 3."},
        "Only the owner (the process that called mmap) holds reservations.")


def q05_child_free() -> Question:
    return _counter_question(
        "Step 5: the child writes page 0, which it shares with main. HugePages_Free after it?", FORK, 5, "Free",
        {counter(FORK, 4, "Free"): "A write to a page shared after fork copies it (copy-on-write): a new page.",
         counter(FORK, 4, "Free") - 2: "One copy, one page."},
        "Copy-on-write takes one new page for the writer.")


def q05_cow() -> Question:
    trace = load("fork-cow-full-pool")
    answer = failing_step(trace, "SIGBUS")
    return _step_question(
        "fork-cow-full-pool: at which step does the child die?", trace, answer,
        {answer - 1: "The owner's write at that step succeeds: its copy-on-write is guaranteed.",
         answer + 1: "The child dies at its own next fault, before main unmaps.",
         4: "fork itself takes no page and cannot fail here."},
        "The owner keeps the page; the child pays at its next fault in that mapping.")


def q05_surplus() -> Question:
    trace = load("overcommit-surplus")
    return _counter_question(
        "pool 2 overcommit 4, then mmap a 4 private (step 2): HugePages_Surp?", trace, 2, "Surp",
        {4: "Only the pages the pool lacks are borrowed: 4 to reserve, 2 free already.",
         0: "A reservation must be backed by pages: surplus pages join the pool at mmap, not at the fault."},
        "Surplus pages come in to back reservations, and leave when freed.")


def q05_shrink() -> Question:
    trace = load("shrink-under-reservations")
    return _counter_question(
        "shrink-under-reservations: pool 6, a 4-page mapping with page 0 touched, then pool 0 (step 4). "
        "HugePages_Total after it?", trace, 4, "Total",
        {0: "The kernel never takes away a page that is in use or that backs a reservation.",
         6: "Free pages that nobody was promised do leave the pool at once.",
         1: "The 3 unused reservations are promises on free pages: those pages stay too."},
        "A shrink keeps every page in use or reserved, counted as surplus until it is freed.")


def q05_dontneed() -> Question:
    trace = load("dontneed-restore")
    return _counter_question(
        "dontneed-restore on today's kernel: HugePages_Rsvd after step 4 (madvise a 0 1 dontneed)?", trace, 4, "Rsvd",
        {counter(trace, 3, "Rsvd"): "Since Linux 6.9 the page's reservation comes back when MADV_DONTNEED "
                                    "drops the owner's page.",
         0: "Only page 0's reservation comes back; page 1's was never used."},
        "The v6.9 restore: the owner can fault page 0 in again with a reservation.")


def q05_wrap() -> Question:
    trace = load("fork-unmap-wrap")
    return _counter_question(
        "fork-unmap-wrap: main unmaps the whole mapping while the child still maps page 0 (step 5). "
        "HugePages_Rsvd after it? (Signed, or as the kernel prints it.)", trace, 5, "Rsvd",
        {0: "The close hands back the whole mapping at once, page 0 included, but page 0 is still mapped by the "
            "child, so its +1 has not come yet.",
         1: "Page 1's reservation comes back, and page 0's is handed back early too."},
        "The v6.9 restore: handed back at unmap, put back on Rsvd only when the page is freed.")


LOST = load("modern-lost-reservation")


def q05_lost_wrap() -> Question:
    return _counter_question(
        "modern-lost-reservation: HugePages_Rsvd after step 7 (munmap m0 0 1)? (Signed, or as the kernel prints it.)",
        LOST, 7, "Rsvd",
        {0: "Page 0 is still mapped by p1 and p2: its restore +1 comes only when it is freed.",
         1: "Nothing was outstanding: the close hands back page 0's reservation early, before its +1."},
        "The same early hand-back as fork-unmap-wrap.")


def q05_lost_free() -> Question:
    return _counter_question(
        "modern-lost-reservation: HugePages_Free after step 11 (exit p2, page 0 freed)?", LOST, 11, "Free",
        {1: "The pool was shrunk to 0 at step 10: page 0 was surplus, so it leaves the pool as it is freed.",
         2: "pool 0 at step 10 already took the free page away."},
        "Rsvd comes back to 1 here, with no free page behind it: the reservation is lost.")


# -- many-kernels (after 05): the answers are the records measured on each real kernel ---------

def _recorded_question(prompt: str, series: str, key: str, hints: dict[int, str], why: str) -> Question:
    """HugePages_Rsvd at a behaviour's telling step, as Linux ``series`` recorded it (hugelab/recorded/).

    The giveaways are that kernel's policy's rows, which reproduce the records step for step
    (``tests/test_matrix.py``); the reveal is the records up to the step."""
    behaviour = next(b for b in BEHAVIOURS if b.key == key)
    steps = recorded_steps(series, key)
    answer = behaviour.rsvd(steps)
    ASKED[prompt] = (behaviour.trace, behaviour.step, f"linux-{series}")
    reveal = (f"measured on Linux {series}:\n" + table(steps[:behaviour.step - 1]) + "\n"
              f"after step {behaviour.step} ({steps[behaviour.step - 1].op}): HugePages_Rsvd = {show(u64(answer))}")
    return Question(prompt, answer, hints, why=why, reveal=reveal)


def q07_dontneed_61() -> Question:
    return _recorded_question(
        "dontneed on Linux 6.1: HugePages_Rsvd right after step 4 (madvise a 0 1 dontneed)?", "6.1", "dontneed",
        {2: "That is what 6.12 and 6.18 show: the v6.9 restore gives the reservation back. 6.1 is older.",
         0: "Page 1 was never touched: its reservation is still there."},
        "Without the v6.9 restore the dropped page's offset stays consumed in the private resv_map: only the "
        "untouched page 1 still holds a reservation.")


def q07_fork_612() -> Question:
    return _recorded_question(
        "fork-unmap on Linux 6.12: HugePages_Rsvd after step 5, the owner's munmap while the child still maps "
        "page 0? (Signed, or as the kernel prints it.)", "6.12", "fork-unmap",
        {1: "The close hands back page 1's reservation, the one never used.",
         -1: "That is 6.18. 6.12 restores a reservation only when no other process still maps the page: the "
             "child does."},
        "Page 0's reservation stays used (the child maps the page); the close hands back only page 1's.")


def q07_fork_618() -> Question:
    return _recorded_question(
        "fork-unmap on Linux 6.18: HugePages_Rsvd after the same munmap (step 5)? (Signed, or as the kernel "
        "prints it.)", "6.18", "fork-unmap",
        {0: "That is 6.12's answer. 6.18 restores page 0's reservation even though the child still maps it.",
         1: "The close hands back both pages now, page 0 included, and page 0's +1 waits until the child "
            "frees it."},
        "The owner's unmap un-consumes offset 0, the close hands back both pages, and the +1 comes only when "
        "the child lets go: one below zero in between.")


# -- 06 lab ---------------------------------------------------------------------------

#: the file the 06 explorer maps by clicks: new file, shared mmap file (4 pages), write 0, read 1, munmap
FILE_CLICKS = ("pool 8\nfile f1\nmmap a 4 shared file f1\ntouch a 0\ntouch a 1 read\nmunmap a 0 4\n"
               "truncate f1 1\n")
#: the generated exercise 06 checks two steps of (``hugelab exercise --seed 1``)
EXERCISE_SEED = 1


def q06_file_munmap() -> Question:
    return _counter_question(
        "After munmap a 0 4 (step 6: nothing maps f1 any more): HugePages_Rsvd?", FILE_CLICKS, 6, "Rsvd",
        {counter(FILE_CLICKS, 3, "Rsvd"): "Page 0 and page 1 each used a reservation when they arrived.",
         0: "A shared mapping reserves for the file: munmap gives nothing back."},
        "The file's map still holds offsets 2 and 3 as reserved, with no page: reservations belong to the file "
        "and outlive every mapping.")


def q06_file_truncate() -> Question:
    before, after = counter(FILE_CLICKS, 6, "Rsvd"), counter(FILE_CLICKS, 7, "Rsvd")
    return Question(
        "Then truncate f1 1 (step 7) cuts f1 to 1 page: how many reservations does it give back?", before - after,
        {3: "Three entries go ([1, 4)), but page 1 had one: its reservation was used when the page came.",
         0: "truncate is not munmap: the offsets it cuts off leave the file's map, and their reservations with "
            "them."},
        why="hugetlb_unreserve_pages gives back the entries removed minus the pages removed with them.",
        reveal=f"after step 6 (munmap a 0 4): HugePages_Rsvd {before}\n"
               f"after step 7 (truncate f1 1): HugePages_Rsvd {after}, given back = {before - after}")


def _exercise() -> tuple[str, tuple]:
    from .exercise import make_exercise  # the generator, only when a 06 question is asked
    ex = make_exercise(EXERCISE_SEED)
    return "".join(f"{s.op}\n" for s in ex.steps), ex.steps


def q06_exercise_split() -> Question:
    trace, steps = _exercise()
    n = next(n for n in range(2, len(steps) + 1) if steps[n - 1].op.split()[0] in ("munmap", "mprotect"))
    before = steps[n - 2].counters.rsvd
    return _counter_question(
        f"Exercise {EXERCISE_SEED}, step {n} ({steps[n - 1].op}): HugePages_Rsvd?", trace, n, "Rsvd",
        {before - 1: "m1 is shared: the reservation of the page unmapped belongs to its file (the mapping's "
                     "inode), and munmap gives nothing back.",
         before + 1: "munmap never reserves: it only lets go."},
        "Unmapping part of a shared mapping gives back no reservation: they stay with its (hidden) file.")


def q06_exercise_free() -> Question:
    trace, steps = _exercise()
    n = len(steps)
    before = steps[n - 2].counters.free
    return _counter_question(
        f"Exercise {EXERCISE_SEED}, last step ({steps[-1].op}): HugePages_Free?", trace, n, "Free",
        {before - 1: "m1's page 0 was unmapped at step 5: p1's touch finds no mapping there (SIGSEGV) and takes "
                     "no page.",
         before + 1: "The page faulted at step 4 is still mapped by main and, since the fork, by p1: it is not "
                     "freed."},
        "Free moves only when pages are faulted in or freed.")


# -- 08 files and mounts -------------------------------------------------------------

OUTLIVES = load("file-reservation-outlives-mapping")
#: the same file mapped shared (s) and private (p): the two meanings of a map entry
TWO_MAPS = ("pool 8\nfile f\nmmap s 2 shared file f\ntouch s 0\nmmap p 2 private file f\ntouch p 0 read\n"
            "touch p 0\ntouch p 1 read\nmunmap p 0 2\nmunmap s 0 2\nclose f\nunlink f\n")
TRUNCATE = ("pool 8\nfile f\nmmap a 4 shared file f\ntouch a 0\ntouch a 1 read\nmunmap a 0 4\n"
            "mmap c 6 shared file f\nmunmap c 0 6\ntruncate f 3\ntruncate f 0\nclose f\nunlink f\n")
PUNCH = ("pool 8\nfile f\nmmap a 4 shared file f\ntouch a 0\ntouch a 1\npunch f 1 2\ntouch a 1\nmunmap a 0 4\n"
         "fallocate f 4 2\nclose f\nunlink f\n")
CAPPED = ("pool 8\nmount q size=3\nfile f on q\nmmap a 2 shared file f\nmmap b 2 shared file f\n"
          "mmap c 2 private file f\nmmap d 1 private file f\nclose f\nunlink f\n")
MIN_SIZE = ("pool 8\nmount q size=6 min_size=2\nfile f on q\nmmap a 1 shared file f\nmmap b 3 shared file f\n"
            "mmap p 4 private file f\nmmap p2 3 private file f\ntouch p2 0\nmunmap p2 0 3\nmunmap a 0 1\n"
            "munmap b 0 3\ntruncate f 0\nclose f\nunlink f\numount q\n")
SEGMENT = "pool 8\nshmget s 3\nshmat s a\ntouch a 0\nshmrm s\nmunmap a 0 3\n"


def map_entries(trace: str, step: int, file: str, mapping: str) -> tuple[int, int]:
    """After step ``step``: how many offsets ``file``'s (inode's) map holds (reserved), and how many the
    private mapping ``mapping``'s resv_map holds (consumed)."""
    run = ModelReplay("modern")
    for number, op in enumerate(parse_trace(trace), 1):
        if number > step:
            break
        run.feed(op)
    model = run.model
    private = next(vma.private_data for proc in model.procs.values() for name, vma in proc.all_vmas()
                   if name == mapping and isinstance(vma.private_data, ResvMap))
    return len(model.inodes[file].resv_map), len(private)


def statfs(trace: str, step: int, mount: str) -> tuple[int, int]:
    """(blocks, free blocks) that statfs reports for the size= mount ``mount`` after step ``step``."""
    mounts = replay(trace)[step - 1].mounts
    assert mounts is not None, "a size= mount is needed for statfs"
    return mounts[mount]


def q08_outlives() -> Question:
    return _counter_question(
        "A 4-page shared mapping of file f, page 0 touched, then munmap a 0 4 (step 5). HugePages_Rsvd after it?",
        OUTLIVES, 5, "Rsvd",
        {0: "That is what a private mapping's close would do. A shared mapping's reservations belong to the "
            "file, and the file f is still there.",
         counter(OUTLIVES, 3, "Rsvd"): "The touch at step 4 used one of the four reservations: its page is in "
                                      "f's page cache."},
        "munmap leaves the file alone: its reservations stay until a truncate or its eviction.")


def q08_second() -> Question:
    before = counter(OUTLIVES, 5, "Rsvd")
    return _counter_question(
        "Step 6 maps 6 pages of the same file: mmap b 6 shared file f. HugePages_Rsvd after it?", OUTLIVES, 6, "Rsvd",
        {before + 6: "f's map already holds [0, 4) from step 3: a shared mapping reserves only the offsets the "
                     "file's map lacks.",
         before + 5: "Offset 0 has its page, but offsets 1, 2 and 3 are reserved in f's map too: only [4, 6) is "
                     "new.",
         6: "The munmap at step 5 gave nothing back: the file's reservations are still there, and b adds to them."},
        "A second mapping of the file reserves only [4, 6): 2 more.")


def q08_shared_entries() -> Question:
    inode, _ = map_entries(TWO_MAPS, 7, "f", "p")
    return Question(
        "After step 7 (p writes page 0), how many offsets does f's own map (the inode's) hold?", inode,
        {1: "An entry in the file's map means 'reserved', and it stays when the page arrives: offset 0 is still "
            "in it.",
         0: "s reserved [0, 2) in the file's map at step 3, and nothing has taken those entries away."},
        why="The file's map holds [0, 2): both offsets s reserved, one with its page in the page cache.",
        reveal=f"after step 7 (touch p 0): f's map (reserved) holds {inode} offsets = [(0, 2)]")


def q08_private_entries() -> Question:
    _, private = map_entries(TWO_MAPS, 7, "f", "p")
    return Question(
        "...and how many offsets does p's private resv_map hold after step 7?", private,
        {2: "p reserved 2 pages at mmap, but a private map records what was *consumed*, not what was reserved.",
         0: "The write copied page 0 into a page of p's own, which used p's reservation: the map records that."},
        why="Only the copy-on-write at step 7 consumed a reservation of p: offset 0.",
        reveal=f"after step 7 (touch p 0): p's resv_map (consumed) holds {private} offset = [(0, 1)]")


def q08_private_write_free() -> Question:
    return _counter_question(
        "Step 7: p writes page 0 (touch p 0), which s faulted into f's page cache at step 4 and p read at step 6. "
        "HugePages_Free after it?", TWO_MAPS, 7, "Free",
        {counter(TWO_MAPS, 6, "Free"): "A write to a private mapping must not change the file: the kernel copies "
                                       "the cached page into a new page of p's own.",
         counter(TWO_MAPS, 6, "Free") - 2: "One copy, one page."},
        "A private write copies the file's page: one new page, and p's reservation for it is consumed.")


def q08_truncate() -> Question:
    return _counter_question(
        "Step 9: truncate f 3 cuts f down to 3 pages. HugePages_Rsvd after it?", TRUNCATE, 9, "Rsvd",
        {counter(TRUNCATE, 8, "Rsvd"): "truncate is not munmap: it removes the file's entries of [3, inf), and "
                                       "with them their reservations.",
         0: "Only offsets 3, 4 and 5 are cut off; offset 2 keeps its reservation (0 and 1 have pages).",
         counter(TRUNCATE, 8, "Rsvd") - 1: "Three entries are cut off, none of them with a page: all three come "
                                           "back."},
        "truncate gives back the reservations of the offsets cut off that have no page.")


def q08_truncate_free() -> Question:
    return _counter_question(
        "Step 10: truncate f 0. HugePages_Free after it?", TRUNCATE, 10, "Free",
        {counter(TRUNCATE, 9, "Free"): "truncate frees the file's pages past the new size: the pages in f's page "
                                       "cache go back to the pool, although nothing maps them.",
         counter(TRUNCATE, 9, "Free") + 1: "Both cached pages, 0 and 1, are past the new size 0."},
        "truncate frees the pages it cuts off, and gives back the reservations of the offsets without one.")


def q08_punch() -> Question:
    return _counter_question(
        "Step 6: punch f 1 2 punches a hole over pages [1, 3). HugePages_Rsvd after it?", PUNCH, 6, "Rsvd",
        {counter(PUNCH, 5, "Rsvd") - 1: "Offset 2 is in the hole too, but has no page: it keeps its reservation.",
         counter(PUNCH, 5, "Rsvd") + 1: "The page at offset 1 goes, and its entry with it: nothing to give back "
                                        "there, its reservation was used by the fault.",
         0: "A hole punch removes pages with their entries; offsets with no page keep theirs (unlike truncate)."},
        "Entries {0, 1, 2, 3}, pages at 0 and 1: page 1 goes with its entry, offsets 2 and 3 keep theirs.")


def q08_statfs() -> Question:
    answer = statfs(CAPPED, 5, "q")[1]
    return Question(
        "mount q size=3, then two shared mappings of the same 2 pages of f (steps 4 and 5). "
        "How many pages does statfs report free on q after step 5?", answer,
        {0: "b maps the same offsets [0, 2) of the same file: f's map already holds them, so nothing new "
            "is charged to the mount.",
         3: "A shared mapping charges the mount at mmap, when it reserves, not at the fault."},
        why="Only a's mmap charged q: 3 - 2.",
        reveal="\n".join(f"after step {n} ({s.op}): statfs free on q = {statfs(CAPPED, n, 'q')[1]} "
                         f"of {statfs(CAPPED, n, 'q')[0]}" for n, s in enumerate(replay(CAPPED)[:5], 1) if s.mounts))


def q08_capped() -> Question:
    answer = failing_step(CAPPED, "ENOMEM")
    return _step_question(
        "At which step does an mmap fail with ENOMEM?", CAPPED, answer,
        {answer - 1: "b maps offsets f's map already holds: nothing new to reserve or to charge.",
         answer + 1: "d's 1 page fits in what is left of q's size.",
         4: "a's 2 pages fit in q's size=3."},
        "A private mapping of a file reserves its whole size at mmap, charged to the mount: 2 more do not fit "
        "in the 1 left.")


def q08_min_size() -> Question:
    return _counter_question(
        "Step 4 (mmap a 1 shared file f, on the mount with min_size=2). HugePages_Rsvd after it?", MIN_SIZE, 4,
        "Rsvd",
        {counter(MIN_SIZE, 3, "Rsvd") + 1: "The mount already holds two reservations for its files: a's page "
                                           "comes out of them, not out of the pool.",
         counter(MIN_SIZE, 3, "Rsvd") - 1: "A reservation handed from the mount's minimum to the file is still "
                                           "a reservation: Rsvd counts it once, before and after."},
        "The mount's minimum lends its reservations to the file: Rsvd does not move.")


def q08_shmat() -> Question:
    return _counter_question(
        "pool 8, shmget s 3, then shmat s a (step 3). HugePages_Rsvd after it?", SEGMENT, 3, "Rsvd",
        {6: "shmat reserves nothing: shmget reserved the whole segment already.",
         0: "shmget reserves the whole segment at once, like a shared mmap."},
        "A segment is reserved at shmget; attaching maps it and reserves nothing.")


def q08_shmrm() -> Question:
    return _counter_question(
        "Then touch a 0 and shmrm s (step 5), with a still attached. HugePages_Rsvd after it?", SEGMENT, 5, "Rsvd",
        {0: "IPC_RMID destroys the segment only when the last attachment goes: a is still attached.",
         counter(SEGMENT, 3, "Rsvd"): "The touch at step 4 used one of the three reservations."},
        "The segment lives while attached: 3 reserved, 1 used.")


# -- 08 self-test -----------------------------------------------------------------

SELF = "pool 6\nmmap a 4 private\ntouch a 1\nmunmap a 2 1\nfork b\nin b touch a 0\nmunmap a 0 4\nexit b\n"


def self_test() -> list[Question]:
    """Questions with no table on screen: the trace is given as text only."""
    return [
        _counter_question("Step 3 (touch a 1): HugePages_Free?", SELF, 3, "Free",
                          {6: "A fault takes a page out of Free.", 2: "Reservations do not leave Free."},
                          "Free counts pages nobody has faulted in."),
        _counter_question("Step 4 (munmap a 2 1) on today's kernel: HugePages_Rsvd?", SELF, 4, "Rsvd",
                          {3: "Page 2 was never touched: its reservation comes back.",
                           0: "Only the window [2, 3) closes; the other pieces keep theirs."},
                          "unused = (3 - 2) - region_count(map, 2, 3)."),
        _counter_question("Step 4 under double-credit: HugePages_Rsvd? (Signed, or as the kernel prints it.)",
                          SELF, 4, "Rsvd",
                          {counter(SELF, 4, "Rsvd"): "That is the fixed kernel: under double-credit the piece "
                                                     "[2, 3) carries a copy of the whole count.",
                           counter(SELF, 3, "Rsvd", "double-credit"): "The piece closes at once and hands back "
                                                                      "its count."},
                          "The closing piece hands back the whole copied count.", "double-credit"),
        _counter_question("Step 6 (the child b writes page 0, never touched): HugePages_Rsvd today?", SELF, 6, "Rsvd",
                          {counter(SELF, 5, "Rsvd") - 1: "A child holds no reservation: it uses none.",
                           counter(SELF, 5, "Rsvd") - 2: "b uses no reservation, and copy-on-write of a page "
                                                         "never uses one either."},
                          "Only the owner holds reservations."),
        _counter_question("Step 7 (main unmaps all of a) today: HugePages_Free?", SELF, 7, "Free",
                          {counter(SELF, 6, "Free") + 1: "b inherited page 1 at fork and still maps it: "
                                                         "a page is freed only when its last user goes.",
                           6: "Both pages are still mapped by b: page 1 since the fork, page 0 since its write."},
                          "A page is freed when its last user goes."),
        _counter_question("Step 7 today: HugePages_Rsvd? (Signed, or as the kernel prints it.)", SELF, 7, "Rsvd",
                          {0: "Page 1 is still mapped by b: the close hands its reservation back now, but the "
                              "+1 comes only when b lets the page go.",
                           2: "main's close hands back what main still reserves, and more."},
                          "The v6.9 restore again: Rsvd wraps until b exits."),
    ]


#: explanations the notebooks show folded, after the questions they would otherwise answer
WHY = {
    "cow-full-pool": (
        "The child's faults take pages without touching Rsvd: it has no reservation. When the pool has no "
        "spare page, the owner's copy-on-write still succeeds: the kernel takes the page away from the child, "
        "which dies with SIGBUS at its next fault there."),
    "dontneed-restore": (
        "In 2.6.27 MADV_DONTNEED was not even allowed on hugetlb (EINVAL); today it drops the page, and its "
        "reservation returns, so the next fault there uses a reservation again."),
    "dontneed-6.1": (
        "On 6.1 page 0's offset stays consumed in the private resv_map after the madvise, so Rsvd stays one "
        "lower than on 6.12 until munmap, and the fault at step 5 takes a page without a reservation. 6.12 "
        "gives the reservation back at the madvise, as 6.18 does."),
    "file-outlives": (
        "A shared mapping of a file reserves what the file's map does not hold yet, and records it there. The "
        "reservation belongs to the file: munmap gives nothing back, and a second mapping reserves only the "
        "offsets that are new. The truncate at step 8 gives the rest back; the next sections take truncate "
        "and eviction one at a time."),
    "two-maps": (
        "p's read of page 0 maps the cached page: nothing is taken. Its write must not reach the file, so the "
        "kernel copies the page into a new page of p's own (copy-on-write, as after fork in notebook 05), and "
        "that copy uses one of p's reservations. One structure, two meanings: f's map lists what is reserved "
        "for the file (an entry stays when its page arrives, so page 0 still has one), p's map lists what p "
        "has consumed. Rsvd counts the file's entries that have no page yet, plus each private mapping's "
        "pages not consumed."),
    "reserve-consume": (
        "The mmap moves nothing out of Free: it only promises. Each fault, read or write, takes a page out "
        "of Free and uses up one promise, so Rsvd drops with it. Free minus Rsvd is what a fault without a "
        "reservation may still take."),
    "fork-unmap-wrap": (
        "Hunting with hugelab, then asking the kernel, showed what happens here: the reservation is handed "
        "back at once, but put back on Rsvd only when the child lets go of the page, so Rsvd wraps in "
        "between. The real Linux 6.18 does exactly this."),
    "lost-walk": (
        "main unmaps page 0 while p1 and p2 still map it. The v6.9 restore hands main's reservation back at "
        "once (Rsvd goes below zero) and marks the page restore_reserve, to put the +1 back when the page is "
        "freed. p1's new mapping reserves onto that deficit without any page held back for it; the pool "
        "shrink takes the one free page, since nothing says it is promised; and when p2 exits and page 0 is "
        "freed, the +1 arrives with no page behind it. p1's reserved fault finds nothing: SIGBUS."),
}


ALL = {name: fn for name, fn in globals().items() if name.startswith("q0") and callable(fn)}
