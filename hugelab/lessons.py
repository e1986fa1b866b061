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

from .hstate import show, u64
from .predict import Question
from .replay import replay
from .resv_map import ResvMap
from .scenarios import load
from .tables import outcome, table

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
