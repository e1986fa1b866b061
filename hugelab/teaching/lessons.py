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

from typing import TypeVar

from ..model.hstate import show, signed, u64
from ..model.resv_map import ResvMap
from ..replay import ModelReplay, replay
from ..scenarios import load
from ..tools.matrix import BEHAVIOURS, recorded_steps
from ..tools.tables import outcome, table
from ..trace.language import parse_trace
from ..trace.shrink import shrink
from .predict import Choice, Option, Question, Row

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


Q = TypeVar("Q", Question, Row, Choice)

#: question prompt -> phrases that state its answer in other words (registered by :func:`_tells`)
TOLD: dict[str, tuple[str, ...]] = {}


def _tells(q: Q, *phrases: str) -> Q:
    """Register ``phrases`` as saying ``q``'s answer in other words: a concept row, a sentence or another
    question that says one of them on screen before ``q`` is answered gives ``q`` away."""
    TOLD[q.prompt] = phrases
    return q


def giveaways(q: Question | Row | Choice) -> list[str]:
    """What would answer ``q`` if it were on screen before the learner answers: the asked step's row
    as a table prints it, as a side-by-side (T/F/R/S) cell prints it, and a walk-through's heading for it
    (whitespace squashed, as the tests compare); for a why question (whose options are all on screen by
    design), the explanation it gives once answered; for any question, the phrases :func:`_tells`
    registered for it (its answer in other words)."""
    told = list(TOLD.get(q.prompt, ()))
    if isinstance(q, Choice):
        return [" ".join(q.why.split())] + told
    if q.prompt not in ASKED:  # the reveal's arithmetic
        return [" ".join(line.split()) for line in q.reveal.splitlines() if " = " in line] + told
    trace, step, policy = ASKED[q.prompt]
    s = replay(trace, policy)[step - 1]
    c = s.counters
    return [" ".join(table([s]).splitlines()[1].split()[1:]),  # the row without its step number
            " ".join(f"{s.op} {c.total}/{c.free}/{show(c.rsvd)}/{c.surp} {outcome(s)}".split()),
            f"step {step}: {s.op} ->"] + told


#: counter question prompt -> the counter it asks ("Rsvd"), for :func:`stated`
FIELD: dict[str, str] = {}

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def stated(q: Question | Row | Choice) -> list[str]:
    """What would answer ``q`` if another question's words (its prompt, options, hints or explanation) or
    ``q``'s own prompt said it: :func:`giveaways`, and the sentences that say a counter's change in words,
    relative to the step before ("gives back one", "Rsvd does not move", "one below zero"), and for a why
    question about a step that fails, the step's outcome. The tests look for each as whole words."""
    found = giveaways(q)
    if q.prompt not in ASKED:
        return found
    trace, step, policy = ASKED[q.prompt]
    steps = replay(trace, policy)
    if isinstance(q, Choice):
        error = steps[step - 1].error
        return found + ([error] if error else [])
    field = FIELD.get(q.prompt)
    if field is None or not isinstance(q, Question):
        return found
    after = signed(u64(q.answer))
    if after < 0:
        found += [f"{NUMBER_WORDS[-after] if -after < len(NUMBER_WORDS) else -after} below zero",
                  f"{-after} below zero", f"{field} wraps", f"{field} goes below zero"]
    if step > 1:
        before = signed(u64(getattr(steps[step - 2].counters, FIELDS[field])))
        change = before - after
        if change == 0:
            found += [f"{field} does not move", f"{field} did not move", f"{field} stays",
                      f"{field} does not change", f"{field} did not change"]
        elif change > 0 and field == "Rsvd":
            for said in {str(change), NUMBER_WORDS[change] if change < len(NUMBER_WORDS) else str(change)}:
                found += [f"{verb} back {said}" for verb in ("gives", "gave", "hands", "handed", "give", "hand")]
    return found


def _counter_question(prompt: str, trace: str, step: int, field: str, hints: dict[int, str], why: str,
                      policy: str = "modern") -> Question:
    """A question about one counter after one step. Its reveal is the table up to the step before, then
    the asked counter alone: a reveal never answers another question about the same step."""
    answer = counter(trace, step, field, policy)
    asked = replay(trace, policy)[step - 1]
    reveal = (upto(trace, step - 1, policy) + "\n" if step > 1 else "") + \
        f"after step {step} ({asked.op}): HugePages_{field} = {show(u64(answer))}"
    ASKED[prompt] = (trace, step, policy)
    FIELD[prompt] = field
    return Question(prompt, answer, hints, why=why, reveal=reveal)


def _step_question(prompt: str, trace: str, answer: int, hints: dict[int, str], why: str,
                   policy: str = "modern") -> Question:
    """A question whose answer is a step number: the reveal is the table up to that step."""
    ASKED[prompt] = (trace, answer, policy)
    return Question(prompt, answer, hints, why=why, reveal=upto(trace, answer, policy))


def _row_question(prompt: str, trace: str, step: int, hints: dict[str, dict[int, str]], why: str,
                  policy: str = "modern") -> Row:
    """Predict the whole row after one step: its reveal is the table up to the step before, then that row."""
    asked = replay(trace, policy)[step - 1]
    c = asked.counters
    ASKED[prompt] = (trace, step, policy)
    reveal = (upto(trace, step - 1, policy) + "\n" if step > 1 else "") + \
        f"after step {step} ({asked.op}): Total {c.total}  Free {c.free}  Rsvd {show(c.rsvd)}  Surp {c.surp}"
    return Row(prompt, (c.total, c.free, c.rsvd, c.surp), hints, why=why, reveal=reveal)


def _why(prompt: str, right: str, wrong: list[tuple[str, str]], why: str, at: int = 0, reveal: str = "",
         asks: tuple[str, int, str] | None = None) -> Choice:
    """A why question: the right explanation at position ``at`` among the wrong ones, each wrong one
    (a usual misconception) with its hint. Its reveal is the explanation, shown only once committed.
    ``asks``: the (trace, step, policy) it asks about, when it asks what a step does."""
    if asks is not None:
        ASKED[prompt] = asks
    options = [Option(text, hint) for text, hint in wrong]
    options.insert(at, Option(right))
    return Choice(prompt, tuple(options), at, why=why, reveal=reveal or why)


# -- 00 start here ---------------------------------------------------------------

def q00_row() -> Row:
    return _row_question(
        "After step 2 (pool 8, then mmap a 4 private; nothing touched yet): Total, Free, Rsvd and Surp?", SEED, 2,
        {"Free": {4: "A reservation is a promise, not a page taken: reserved pages still count in HugePages_Free.",
                  0: "Nothing has been touched yet, so no page is in use: every page of the pool is still free."},
         "Rsvd": {0: "A private mapping reserves its whole size at mmap time (since Linux 2.6.27), not at the fault.",
                  8: "Only the mapping's own pages are promised, not the whole pool.",
                  1: "One reservation per page of the mapping, not one per mapping."},
         "Total": {12: "mmap adds no page to the pool: the pool is what `pool 8` set.",
                   4: "Total counts the whole pool, whoever has reserved or used its pages."},
         "Surp": {4: "Surplus pages are borrowed only when the pool cannot back a reservation: 8 pages back 4."}},
        "The pool of 8, nothing borrowed; the mapping's 4 pages promised, none of them faulted in yet.")


def q00_why_free() -> Choice:
    return _tells(_why(
        "Suppose step 2 had mapped the whole pool instead (mmap a 8 private). What would Free and Rsvd read "
        "after it, and why?",
        "Free 8 and Rsvd 8: all 8 are promised, and a promise takes no page.",
        [("Free 0 and Rsvd 8: a page promised to a mapping is no longer free for anyone.",
          "Free counts pages nobody has faulted in, and nothing has been. Rsvd is the promised part of Free."),
         ("Free 8 and Rsvd 0: the kernel cannot promise the whole pool, so it reserves nothing.",
          "A promise needs free pages nobody else was promised, and all 8 are: the whole pool can be promised."),
         ("Free 4 and Rsvd 8: the kernel sets half of the promised pages aside at once.",
          "Nothing is set aside at mmap, however large the mapping: Free moves only at a fault.")],
        "However many pages are promised, only faults take pages out of Free.", at=0),
        "takes none", "Free stays", "a reservation takes no page", "reserving takes no page")


def q00_why_touch() -> Choice:
    return _tells(_why(
        "Step 3 wrote page 0. Had step 4 written page 0 again (touch a 0), which counters would it change, "
        "and why?",
        "None: page 0 is in memory now, and only its first touch was a fault.",
        [("Free and Rsvd, down by one each: every write takes a page.",
          "A page once faulted in stays mapped: writing it again finds it there and takes nothing."),
         ("Rsvd only: the second write uses up another of the mapping's reservations.",
          "Page 0 had one promise, kept at its first touch; pages 1 to 3 keep theirs until their own faults."),
         ("Free only: page 0's reservation is used, so this page comes unreserved from the pool.",
          "No second page is needed: the first one is still mapped, and the write goes to it.")],
        "A touch faults only a page that is not in memory: the second write found page 0 there.", at=2),
        "touched again", "written again", "a second touch", "a second write")


# -- 01 the pool and reservations -------------------------------------------------

RESERVE_CONSUME = "pool 6\nmmap a 4 private\ntouch a 3\ntouch a 0\ntouch a 1 read\n"
LATE = "pool 2\nmmap a 4 private\ntouch a 0\ntouch a 1\ntouch a 2\n"
FOUR = "pool 4\nmmap a 5 private\nmmap b 3 private\nmmap c 2 private\nmmap d 1 private\n"
#: FOUR's mappings in the opposite order
FOUR_REVERSED = "pool 4\nmmap d 1 private\nmmap c 2 private\nmmap b 3 private\nmmap a 5 private\n"


def q01_free() -> Question:
    return _counter_question(
        "After step 4 (touch a 0), what is HugePages_Free?", RESERVE_CONSUME, 4, "Free",
        {counter(RESERVE_CONSUME, 3, "Free"): "That is after step 3. Page 0's fault takes one more page out of Free.",
         counter(RESERVE_CONSUME, 2, "Free"): "A fault takes a page out of Free: pages 3 and 0 are in use now.",
         counter(RESERVE_CONSUME, 4, "Free") - counter(RESERVE_CONSUME, 4, "Rsvd"):
             "Free counts free pages, not free pages minus reserved ones: reserved pages stay in Free."},
        "Two faults so far (pages 3 and 0): two pages out of the pool of 6.")


def q01_rsvd() -> Question:
    return _counter_question(
        "...and HugePages_Rsvd after step 4?", RESERVE_CONSUME, 4, "Rsvd",
        {counter(RESERVE_CONSUME, 2, "Rsvd"): "Each fault used up the reservation of its page: two promises kept.",
         counter(RESERVE_CONSUME, 3, "Rsvd"): "That is after step 3: page 0's fault used its reservation too.",
         0: "Only pages 3 and 0 were touched: pages 1 and 2 are still promised."},
        "4 promised at the mmap, 2 of them kept by the faults at pages 3 and 0.")


def q01_row() -> Row:
    return _row_question(
        "Step 5 only reads page 1 (touch a 1 read). The whole row after it?", RESERVE_CONSUME, 5,
        {"Free": {counter(RESERVE_CONSUME, 4, "Free"): "A read fault needs a page as much as a write does: "
                                                       "page 1 leaves Free."},
         "Rsvd": {counter(RESERVE_CONSUME, 4, "Rsvd"): "A read fault uses the page's reservation just as a "
                                                       "write does.",
                  0: "Count the pages touched so far: 3, 0 and 1, three of the four promises used."}},
        "Read or write, the first touch of a page takes a page and uses its reservation.")


def q01_sigbus() -> Question:
    answer = failing_step(LATE, "SIGBUS", "unreserved")
    return _step_question(
        "Under unreserved (no reservations at all), at which step does the process die?", LATE, answer,
        {2: "Without reservations mmap cannot fail: it promises nothing, so it checks nothing.",
         3: "Page 0 finds one of the 2 free pages.",
         4: "Page 1 takes the second of the 2 pages: only the third fault finds none."},
        "Two pages for three faults: the third finds the pool empty. The SIGBUS row reads Free 2 because the "
        "process is dead: a dead process's pages go back to the pool.",
        "unreserved")


def q01_why_reserve() -> Choice:
    return _tells(_why(
        "Linux 2.6.27 started reserving a private mapping's pages at mmap. What does the same trace (pool 2, "
        "a 4-page mapping, three writes) do on a kernel that reserves, and why?",
        "The mmap fails with ENOMEM: 2 pages cannot back a promise of 4, so no touch runs.",
        [("It dies with SIGBUS at step 5, as before: reserving changes only what Rsvd reads.",
          "A reservation is checked when it is made: a promise the pool cannot back is refused at the mmap."),
         ("The mmap reserves the 2 pages there are, and the process dies at the fault of page 2.",
          "A mapping is reserved whole or not at all: there is no half promise."),
         ("Every step succeeds: the kernel finds the 2 missing pages elsewhere to keep its promise.",
          "Borrowing pages beyond the pool needs overcommit, which `pool 2` does not allow.")],
        "Reserving at mmap turns a late SIGBUS into an early ENOMEM, which the program can handle.", at=0),
        "can still handle the error", "fails at once with ENOMEM", "the same mmap fails", "refused at the mmap",
        "Not enough pages: ENOMEM")


def q01_enomem() -> Question:
    return _counter_question(
        "pool 4, then four mmaps of 5, 3, 2 and 1 pages: HugePages_Rsvd after the last (step 5)?", FOUR, 5, "Rsvd",
        {11: "A mapping the pool cannot back fails with ENOMEM and reserves nothing.",
         6: "Before each mmap, count the free pages nobody was promised yet: does every mapping fit?",
         3: "d's 1 page still fits: 4 pages, 3 promised."},
        "b's 3 and d's 1 are reserved; a and c failed with ENOMEM and reserved nothing.")


def q01_why_enomem() -> Choice:
    return _tells(_why(
        "Had the four mmaps come in the opposite order (1, 2, 3, then 5 pages), which would fail, and why?",
        "The 3 and the 5: after the 1 and the 2, one unpromised page is left.",
        [("Only the 5: each of the others fits in the pool of 4 on its own.",
          "Each mmap must fit in what is still unpromised, not in the whole pool: 1 + 2 leave 1 of the 4."),
         ("The 5 and the 2, as in the trace above: a mapping's size alone decides whether it fits.",
          "The 2 failed above because the 3 came before it; here it comes second, with 3 pages unpromised."),
         ("None: no page has been faulted in, so Free is still 4 at every mmap, and each one fits.",
          "Free alone is not the test: Free minus Rsvd is, and Rsvd grows with each promise.")],
        "Each mmap reserves only if free pages nobody else was promised can back all of it.", at=0,
        reveal=upto(FOUR_REVERSED, 5)),
        "the 3 and the 5 fail", "would fail: the 3")


# -- 02 the region map ------------------------------------------------------------

SIX = "pool 8\nmmap a 6 private\ntouch a 1\ntouch a 4\nmunmap a 3 3\n"
SHARED = "pool 8\nmmap s 4 shared\ntouch s 0\nmunmap s 1 1\nmunmap s 0 1\nmunmap s 2 2\n"
#: a private mapping whose page 1 is only read, then [0, 2) unmapped
READ_CLOSE = "pool 8\nmmap a 4 private\ntouch a 1 read\nmunmap a 0 2\n"


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
        why="[3, 6) held three reservations, and page 4's fault had used one of them.",
        reveal=close.formula)


def q02_shared() -> Question:
    return _tells(_counter_question(
        "On today's kernel: a 4-page shared mapping, page 0 touched, then munmap s 1 1 (step 4). "
        "HugePages_Rsvd after it?",
        SHARED, 4, "Rsvd",
        {2: "That is what a private piece's close would give back, from the mapping's own map. Where does a "
            "shared mapping keep its map?",
         0: "The munmap removed one page of four: what would hand back the promises of the pages still mapped?",
         4: "Page 0's fault used its reservation, shared or not: Rsvd fell to 3 at step 3."},
        "Rsvd stays where it was: the munmap of [1, 2) gave nothing back (the next question asks why)."),
        "gives nothing back")


def q02_row() -> Row:
    return _row_question(
        "The 6-page mapping again (pages 1 and 4 faulted), on today's kernel: the row after munmap a 3 3 (step 5)?",
        SIX, 5,
        {"Free": {counter(SIX, 4, "Free"): "Page 4 is inside [3, 6): unmapping it frees its page.",
                  counter(SIX, 4, "Free") + 3: "Only page 4 of the window had a page; 3 and 5 were never faulted."},
         "Rsvd": {counter(SIX, 4, "Rsvd"): "The close gives back the unused reservations of [3, 6).",
                  counter(SIX, 4, "Rsvd") - 3: "Page 4's reservation was used by its fault: only 3 and 5 give one "
                                               "back."}},
        "The window's page goes back to Free; its unused reservations leave Rsvd.")


def q02_why_count() -> Choice:
    steps = replay(READ_CLOSE, "region-count")
    (close,) = steps[-1].closes
    return _tells(_why(
        f"A 4-page private mapping whose page 1 was only read (touch a 1 read) unmaps [0, 2). The close gives "
        f"back {close.unused}, not 2. Why?",
        "The read was a fault: offset 1 went into the map, counted as used.",
        [("A read takes no page, so the close keeps page 1's reservation for a later write.",
          "hugetlb has no zero page: a read fault takes a page and uses its reservation, as 01 showed."),
         ("region_count counts the free pages of the pool in the window, and one was taken.",
          "The map knows nothing of the pool: it holds offsets of one mapping, and the count is over the "
          "window only."),
         ("A close gives back one page less than its width, for the piece that stays mapped.",
          "[3, 6) of the 6-page mapping gave back 2 because page 4 was faulted: what a piece keeps does not "
          "count.")],
        "(2 - 0) - region_count(map, 0, 2): offset 1 is in the map since its read fault.", at=2,
        reveal=upto(READ_CLOSE, 4, "region-count") + "\n" + close.formula),
        "the read put offset 1", "a read fault puts its offset")


def q02_why_shared() -> Choice:
    return _tells(_why(
        "Why does unmapping part of a shared mapping give no reservation back?",
        "The piece's close has nothing of its own to hand back: the reservations are recorded for the file, "
        "which is still mapped.",
        [("Its close works out (end - start) - region_count(map, start, end) as a private piece's does, and "
          "offset 1 is in the map: 1 - 1 = 0.",
          "In the file's map an entry means reserved, not consumed: that formula would read page 1's promise as "
          "used. A shared piece's close does not look at the file's map at all."),
         ("The unmapped page had been touched, so its reservation was used.",
          "Page 1 was never touched: it still has its reservation."),
         ("munmap never gives back reservations, private or shared: only an exit does.",
          "A private piece's close does give back its unused reservations: the 6-page example above.")],
        "A shared mapping's map is on the file and means 'reserved'.", at=1),
        "unmapping part of the mapping gives nothing back", "not the piece's", "not to any process")


# -- 03 the double credit ---------------------------------------------------------

def q03_split() -> Question:
    return _tells(_counter_question(
        "Under double-credit, what is HugePages_Rsvd right after step 4 (munmap a 1 1)?", SEED, 4, "Rsvd",
        {counter(SEED, 4, "Rsvd", "region-count"):
             "That is the right answer on a fixed kernel. What did the piece [1, 2) carry when it closed?",
         counter(SEED, 3, "Rsvd", "double-credit"):
             "The piece [1, 2) closes at once, at step 4: its close changes Rsvd."},
        "Rsvd read 3 before the split, and the close of [1, 2) credited 3: 3 - 3 = 0.", "double-credit"),
        'each with a copy of the count', 'Rsvd no longer counts them')


def q03_end() -> Question:
    steps = replay(SEED, "double-credit")
    return _tells(_counter_question(
        "Under double-credit, what does Rsvd end at after step 6?",
        SEED, 6, "Rsvd",
        {steps[4].counters.rsvd: "That is after step 5: the last piece [2, 4) closes at step 6 too.",
         counter(SEED, 6, "Rsvd", "region-count"): "That is the fixed kernel, where each piece counts its own "
                                                    "window.",
         -9: "Start from the 4 reserved at mmap, less the 1 used by the fault, then subtract what the closes "
             "credited."},
        "4 reserved and 1 used left 3 before the split; the three closes then took 9: 3 - 9 = -6.", "double-credit"),
        'Rsvd has wrapped', 'six steps Rsvd')


#: lost-reservation, shown in 03 by its steps: its name (and a heading "The consequence: a reservation lost") said
#: whose fault fails, the last step's
AFTER_SPLIT = load("lost-reservation")


def q03_lost() -> Question:
    trace = AFTER_SPLIT
    answer = failing_step(trace, "SIGBUS", "double-credit")
    return _tells(_step_question(
        "After the split, b maps 7 pages and writes them, then main writes its page 2. Under double-credit, at "
        "which step does a process die?", trace, answer,
        {6: "b's mmap of 7 succeeds: Rsvd already (wrongly) reads 0, so 7 free pages look unpromised.",
         answer - 1: "b's faults use b's own reservations: they all succeed.",
         3: "main's own fault at step 3 happens before the split: it finds a page."},
        "main's reserved fault at offset 2 finds every free page taken by b.", "double-credit"),
        'fault later finds none', 'take every free page', 'a reservation lost', 'reservation lost',
        'lost reservation', 'reserved fault always finds')


#: the seed, then a new mapping after the wrap, and a pool shrink
WRAP_THEN = SEED + "mmap b 2 private\ntouch b 0\ntouch b 1\npool 0\n"


def q03_why_copy() -> Choice:
    return _tells(_why(
        "Unmapped whole (munmap a 0 4), the mapping's one close would have handed back its count once, and rightly. "
        "Why do the closes of its three pieces hand back too much?",
        "Every piece carries a copy of the count, and every close hands back the copy it carries.",
        [("Each split reserves the pieces' pages again, and each close gives back those new reservations.",
          "Rsvd did not rise at the split: nothing was reserved again. The extra comes only from the closes."),
         ("Each close gives back its piece's whole size, the pages that were faulted in included.",
          "[1, 2) is one page, yet its close handed back 3: it is not the piece's size that comes back."),
         ("The fault at page 0 is forgotten by the copies, so each piece counts all 4 pages as unused.",
          "The count had gone down to 3 at the fault, before the split: each piece carried 3, not 4.")],
        "One count for the whole mapping, copied into k pieces, is handed back k times.", at=1),
        # 03's feedback once said "three closes that credited 3 each" and its concept table that a split makes
        # the new piece "as a copy of the old VMA": beside "vm_private_data held the count", the why, read off
        'the whole copied count', 'credited the copied count', "credited 3 each", "copy of the old VMA",
        "a copy of the VMA")


def q03_claim() -> Choice:
    return _tells(_why(
        "The commit message says the double credit prevents all later huge page allocations. After the seed, "
        "under double-credit, what happens at steps 7 to 9 (mmap b 2 private, touch b 0, touch b 1)?",
        "All three succeed: b reserves 2 and its faults take 2 pages.",
        [("The mmap fails with ENOMEM: with so much promised, nothing is left to promise.",
          "That is what the message predicts. The test at mmap works in a signed int, where the wrapped count is "
          "negative: the two kernel tests below show it, once you have answered."),
         ("The mmap succeeds, but the faults die with SIGBUS.",
          "b's faults use b's own reservations, so the test made for a fault that holds none does not even run; "
          "and it works in unsigned arithmetic, where free minus a wrapped count is not zero."),
         ("The mmap succeeds, but its Rsvd rise is lost, so Rsvd does not move.",
          "Rsvd is one counter: it still rises by 2, from its wrapped value.")],
        "In the code 84afd99b fixed, a wrapped Rsvd blocks neither mmap nor faults.", at=0,
        reveal=upto(WRAP_THEN, 9, "double-credit")),
        'mmap and faults succeed', 'blocks neither mmap nor faults', 'a wrap does not trip')


def q03_row() -> Row:
    return _row_question(
        "Step 10 lowers the pool to 0 (pool 0). The row after it, under double-credit?", WRAP_THEN, 10,
        {"Total": {counter(WRAP_THEN, 10, "Total", "region-count"):
                       "That is the fixed kernel: b's 2 pages stay, the 6 free ones leave. Here Rsvd is wrapped: "
                       "how many free pages look promised?",
                   0: "A page in use never leaves: b still has 2."},
         "Free": {0: "The free pages leave only if nothing seems to promise them: with Rsvd wrapped, every free "
                     "page looks promised."},
         "Surp": {0: "Every page above the new size 0 is surplus: all the pages that stay.",
                  counter(WRAP_THEN, 10, "Surp", "region-count"): "That is the fixed kernel, where only b's pages "
                                                                  "stay."}},
        "The wrap's one victim: the pool shrink keeps at least reserved + total - free pages, and with a wrapped "
        "Rsvd that is all of them.", "double-credit")


def q03_why_message() -> Choice:
    return _why(
        "The commit message says the wrap 'prevents all subsequent hugepage allocations'; hugelab showed b's mmap "
        "and faults succeed. Which explains both?",
        "It fits 2.6.26's fault test; in the code it fixed, b's faults hold reservations and mmap counts its "
        "shortfall in a signed int.",
        [("hugelab is wrong here: on the real kernel of June 2008, b's mmap and both of its faults failed, as the "
          "message says they would.",
          "hugelab replays the code 84afd99b fixed, test for test, and that code has no 'greater than' test: the "
          "fold below shows both tests, once you have answered."),
         ("On Jon Tollefson's ppc64 the counters are 32 bits wide, so there the wrap behaved differently from "
          "hugelab's model.",
          "unsigned long is 64 bits on ppc64 too: his counter read 2^64 - 2."),
         ("The allocations fail only after a second wrap, and the six steps of the seed wrap Rsvd just once, "
          "not twice.",
          "A counter wraps once below zero; nothing in either test counts wraps.")],
        "Commit messages describe what their author expected; the code of the time is the judge.", at=2)


# -- 04 the fix -------------------------------------------------------------------

#: seven pages, two written, a hole unmapped in the middle, then the whole range: three closes no notebook printed
CLOSES = "pool 8\nmmap a 7 private\ntouch a 1\ntouch a 3\nmunmap a 2 4\nmunmap a 0 7\n"


def printed_closes(trace: str, policy: str = "region-count") -> list[str]:
    """Each close of ``trace`` as the notebooks print it, short enough for one line at 1068 px:
    ``step 5: close [2, 6): 4 pages - 1 consumed = 3``."""
    return [f"step {n}: close [{c.start}, {c.end}): {c.end - c.start} page{'s' * (c.end - c.start != 1)} - "
            f"{c.end - c.start - c.unused} consumed = {c.credit}" for n, s in enumerate(replay(trace, policy), 1)
            for c in s.closes]


def q04_close() -> Question:
    steps = replay(CLOSES, "region-count")
    (close,) = steps[4].closes
    return _tells(Question(
        "Under region-count, how many reservations does the close of the piece [2, 6) give back at step 5 "
        "(munmap a 2 4)?",
        close.credit,
        {counter(CLOSES, 4, "Rsvd", "double-credit"): "That is the count the old kernel copied. Now only the "
                                                       "window [2, 6) counts.",
         4: "Page 3 was written at step 4: its reservation is used up.",
         2: "Only page 3 of the window was touched: pages 2, 4 and 5 still hold theirs."},
        why="(6 - 2) - region_count(map, 2, 6): one fault in a window of four, three reservations left to give back.",
        reveal=close.formula),
        f"step 5: close [{close.start}, {close.end}):")


def q04_total() -> Question:
    steps = replay(CLOSES, "region-count")
    total = sum(c.credit for s in steps for c in s.closes)
    return _tells(Question(
        "In total, how many reservations do the three closes of this trace give back under region-count?",
        total,
        {sum(c.credit for s in replay(CLOSES, "double-credit") for c in s.closes):
             "That is the double credit: every piece handing back the copied count.",
         7: "Pages 1 and 3 used their reservations at their faults: they have nothing to give back."},
        why="7 reserved - 2 consumed: the unused reservations come back exactly once.",
        reveal="\n".join([*printed_closes(CLOSES), f"given back in total: {total}"])),
        f"really unused: {total}", f"given back in total: {total}")


def q04_mprotect() -> Question:
    trace = load("mprotect-split")
    return _counter_question(
        "mprotect-split under double-credit: HugePages_Rsvd after step 7 (munmap a 3 1)?", trace, 7, "Rsvd",
        {counter(trace, 7, "Rsvd", "region-count"): "That is the fix's answer. Under double-credit the piece "
                                                     "[2, 4) kept its own copied count, and munmap a 3 1 copies it "
                                                     "once more into [3, 4).",
         counter(trace, 6, "Rsvd", "double-credit"): "The piece [3, 4) closes here and hands back a count."},
        "A split copies whatever count the VMA holds at that moment; each close hands it all back.", "double-credit")


def q04_why_open() -> Choice:
    return _tells(_why(
        "At the seed's split the count was 3. Why did the fix not share the 3 out between the pieces, rather than "
        "copy it?",
        "The hook gets only the new piece, and 3 does not say on which side the fault was: it cannot tell what "
        "each side holds.",
        [("Dividing a count needs a division, arithmetic that the kernel avoids in the fault path and in every "
          "VMA hook.",
          "Sharing out a whole number is one subtraction. What is missing is information, not arithmetic."),
         ("The sizes of the pieces are not known at the split: the kernel knows only the size of the whole "
          "mapping before the cut.",
          "Each VMA knows its start and end. What it does not know is which of its pages were faulted."),
         ("Sharing it out would be right too, but a map of offsets is faster to look up when each of the pieces "
          "closes later.",
          "It would be wrong: with page 0 faulted, [0, 1) holds 0 and [1, 4) holds 3, but a count of 3 does not "
          "say which side the fault was on.")],
        "A count says how many, not where. The map of consumed offsets says where, so each piece counts its own "
        "window at close.", at=2),
        'which pages were faulted', 'not the other side', 'called with the new piece',
        'one number for the whole mapping', 'not in which piece')


def q04_row() -> Row:
    trace = load("mprotect-split")
    return _row_question(
        "mprotect-split under region-count (the fix): the row after step 7 (munmap a 3 1)?", trace, 7,
        {"Free": {counter(trace, 6, "Free", "region-count") + 1: "Page 3 was never touched: unmapping it frees no "
                                                                  "page."},
         "Rsvd": {counter(trace, 7, "Rsvd", "double-credit"): "That is the old kernel, handing back the count [2, 4) "
                                                              "carried. Under the fix [3, 4) counts its own window.",
                  counter(trace, 6, "Rsvd", "region-count"): "The close of [3, 4) gives back its unused "
                                                             "reservation: page 3 was never touched."}},
        "(4 - 3) - region_count(map, 3, 4) = 1: page 3's unused reservation leaves Rsvd, and no page leaves Free.",
        "region-count")


def q04_why_once() -> Choice:
    return _tells(_why(
        "Under the fix, unmapping the same pieces in any other order gives back the same total. Why does the order "
        "not matter?",
        "A close reads the shared map and removes nothing, so no close changes what a later one counts.",
        [("munmap closes the pieces in address order, lowest first, whatever order the trace unmaps them in.",
          "Each munmap closes what it removes at once: [2, 6) closed at step 5, before [0, 2)."),
         ("Each close subtracts from its own window what the closes before it have already given back.",
          "No close knows what another gave: each reads only its own window of the map."),
         ("The map is freed at the first close, so every later close gives back its whole width instead.",
          "The map is freed by the last close (the last kref), not the first: [0, 2) gave back 1, not 2.")],
        "Closes only read the map, each its own window: which piece closes first changes nothing.", at=0),
        'removes nothing from the map', 'only reads the map')


# -- 05 today's kernel ----------------------------------------------------------

FORK = "pool 8\nmmap a 4 private\ntouch a 0\nfork c\nin c touch a 0\nin c touch a 1\nexit c\n"
COW_FULL = load("fork-cow-full-pool")
#: fork-cow-full-pool made longer: the child maps pages 0 and 1 when main's write of page 0 finds no spare page
#: (step 6), and its next line is a read of page 1, which it still maps: no fault. Its death is at its first fault
#: after losing page 0, two lines further on, not at its next line (the step question must take thought)
COW_LATER = ("pool 3\nmmap a 3 private\ntouch a 0\ntouch a 1\nfork c\ntouch a 0\nin c touch a 1 read\n"
             "touch a 2\nin c touch a 0 read\n")


def q05_row() -> Row:
    return _tells(_row_question(
        "Step 5: the child c writes page 0, which it shares with main since the fork. The row after it?", FORK, 5,
        {"Free": {counter(FORK, 4, "Free"): "A write to a page shared after fork copies it (copy-on-write): a "
                                            "new page.",
                  counter(FORK, 4, "Free") - 2: "One copy, one page."},
         "Rsvd": {counter(FORK, 4, "Rsvd") - 1: "Page 0's reservation was used up at step 3, when main faulted it "
                                                "in: which reservation would the copy use?"}},
        "Copy-on-write takes one new page for the writer."),
        "the child's copy takes an unreserved page", "its copy takes an unreserved page")


def q05_child_rsvd() -> Question:
    return _tells(_counter_question(
        "Step 6: the child c touches page 1 of the parent's mapping (never touched before). Rsvd after it?",
        FORK, 6, "Rsvd",
        {counter(FORK, 5, "Rsvd") - 1: "The reservation for page 1 is main's, kept with main's VMA; the child's "
                                       "copy of the VMA carries none, so its fault takes an unreserved page.",
         counter(FORK, 5, "Rsvd") + 1: "Nothing gives a reservation back here: the parent still holds its "
                                       "promises for pages 1, 2 and 3."},
        "The child's copy of the VMA carries neither the owner's mark nor the resv_map, and a fault uses a "
        "reservation only in a VMA that holds them: main's promise for page 1 is still there for main."),
        "a child's page uses no reservation", "a child holds no reservation", "child holds no reservation",
        "a child's fault uses no reservation", "a child runs unreserved",
        "child's faults take pages without touching Rsvd", "copy of the VMA carries neither",
        "uses a reservation only in a VMA that holds")


def q05_why_fork() -> Choice:
    return _tells(_why(
        "fork-cow-full-pool: after step 3 the pool's one free page is promised to main (Free 1, Rsvd 1), and "
        "yet the fork at step 4 succeeds. Why does the kernel reserve nothing for the child?",
        "A reservation for the child would need a free page nobody else was promised; with none, the fork "
        "itself would fail, for a child that may never touch the mapping.",
        [("The child shares main's reservations: one promise covers both.",
          "Then the child's fault at page 1 in the first trace would have used main's: Rsvd stayed at 3."),
         ("fork borrows a surplus page for the child's reservation.",
          "Surplus pages need overcommit, and this pool has none (pool 2, no overcommit): Surp stays 0."),
         ("The child's reservations are made at its first fault instead.",
          "A reservation made at the fault promises nothing ahead: the fault itself takes a page or fails.")],
        "Only the owner's mmap reserves; fork never needs a free huge page, and the child runs without a "
        "promise.", at=1),
        "fork would fail", "fork would need free pages")


def q05_why_cow() -> Choice:
    # the next section once said "Where the child dies": a sentence naming who dies in the same shortage
    return _tells(_why(
        "fork-cow-full-pool: at step 5 the owner writes page 0, which its child still shares, and the pool has no "
        "free page for the copy. What does the kernel do, and why?",
        "It gives the page to the owner, whose reservation it is, and unmaps it from the child.",
        [("It kills the owner with SIGBUS: a fault that finds no free page fails, whoever makes it.",
          "The owner is not any process: it holds the mapping's reservations, and the kernel keeps that promise."),
         ("It lets the child keep the page and makes the owner wait until some process frees a page.",
          "A fault never waits for another process to free a page: it gets a page at once or fails."),
         ("It borrows a surplus page for the copy.",
          "Surplus pages need overcommit, and this pool has none (pool 2, no overcommit).")],
        "A reservation is the owner's guarantee; a child has no such claim, so it is the one that loses the "
        "page.", at=2, asks=(COW_FULL, 5, "modern")),
        "child dies", "child die", "where the child", "the child loses", "child is killed")


def q05_cow() -> Question:
    answer = failing_step(COW_LATER, "SIGBUS")
    return _tells(_step_question(
        "A pool of 3: main writes pages 0 and 1, forks c, then writes page 0 again (step 6) with no spare page. "
        "At which step does a process die?", COW_LATER, answer,
        {6: "At step 6 the kernel takes page 0 away from the child, but the child is not running there: it finds "
            "out only at a fault of its own.",
         7: "The child lost page 0, not the mapping: page 1 is still mapped in it, and reading a page that is "
            "mapped is no fault.",
         8: "Step 8 is main's own fault, which uses main's reservation for page 2.",
         5: "fork itself takes no page and cannot fail here."},
        "The child dies at its first fault after losing page 0. Its read of page 1 at step 7 finds the page "
        "mapped: no fault."),
        "page 1 is still mapped", "still maps page 1", "read of page 1 finds", "reading a page that is mapped",
        "lost page 0, not the mapping", "its first fault after losing")


def q05_surplus() -> Question:
    trace = load("overcommit-surplus")
    return _counter_question(
        "pool 2 overcommit 4, then mmap a 4 private (step 2): HugePages_Surp?", trace, 2, "Surp",
        {4: "Only the pages the pool lacks are borrowed: 4 to reserve, 2 free already.",
         0: "A reservation must be backed by pages: the pages the pool lacks come in at the mmap."},
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


#: dontneed-restore, shown in 05 by its steps: its name says what becomes of the dropped page's reservation
DROPPED = load("dontneed-restore")


def q05_dontneed() -> Question:
    trace = DROPPED
    return _tells(_counter_question(
        "On today's kernel: HugePages_Rsvd after step 4 (madvise a 0 1 dontneed)?", trace, 4, "Rsvd",
        {counter(trace, 3, "Rsvd"): "The rule applies at step 4: main is the owner and no other process maps "
                                    "page 0, so its offset leaves the resv_map and its reservation is promised "
                                    "again, beside page 1's.",
         0: "Only page 0's reservation comes back; page 1's was never used."},
        "The v6.9 restore: the owner can fault page 0 in again with a reservation."),
        'reservation is handed back', "page's reservation comes back", 'its reservation returns',
        "gives its reservation back", "Rsvd gets its +1 when the page is freed", "Rsvd gets its +1",
        "forgets that the page's offset was consumed", "dontneed-restore")


#: fork-unmap-wrap, shown in 05 by its steps: its name says the answer is below zero
CHILD_MAPS = load("fork-unmap-wrap")


def q05_owner_unmaps() -> Question:
    # a trace named for the wrap, or "(Signed, or as the kernel prints it)", announces a count below zero
    return _tells(_counter_question(
        "main unmaps the whole mapping while the child still maps page 0 (step 5). HugePages_Rsvd after it?",
        CHILD_MAPS, 5, "Rsvd",
        {0: "The close hands back the whole mapping at once, page 0 included, but page 0 is still mapped by the "
            "child, so its +1 has not come yet.",
         1: "Page 1's reservation comes back, and page 0's is handed back early too."},
        "The v6.9 restore: handed back at unmap, put back on Rsvd only when the page is freed."),
        "fork-unmap-wrap", "Signed, or as the kernel prints it")


LOST = load("modern-lost-reservation")


def q05_lost_total() -> Question:
    return _tells(_counter_question(
        "modern-lost-reservation: HugePages_Total after step 10 (pool 0 overcommit 0)?", LOST, 10, "Total",
        {2: "The shrink keeps what the counters say is in use or promised: Rsvd as it reads after step 9. p1's "
            "promise was made onto the -1 of step 7, so Rsvd reads 0 and the free page counts as nobody's.",
         0: "Page 0 is still mapped by p2: a page in use never leaves the pool."},
        "Rsvd reads 0 here, though p1's promise is real: the shrink takes the free page that should back it."),
        "the shrink takes the free page")


def q05_lost_free() -> Question:
    return _counter_question(
        "modern-lost-reservation: HugePages_Free after step 11 (exit p2, page 0 freed)?", LOST, 11, "Free",
        {1: "The pool was shrunk to 0 at step 10: page 0 was surplus, so it leaves the pool as it is freed.",
         2: "pool 0 at step 10 already took the free page away."},
        "Rsvd comes back to 1 here, with no free page behind it: the reservation is lost.")


# -- 07 many kernels: the answers are the records measured on each real kernel ---------

def _recorded_question(prompt: str, series: str, key: str, hints: dict[int, str], why: str) -> Question:
    """HugePages_Rsvd at a behaviour's telling step, as Linux ``series`` recorded it (hugelab/recorded/).

    The giveaways are that kernel's policy's rows, which reproduce the records step for step
    (``tests/test_matrix.py``); the reveal is the records up to the step."""
    behaviour = next(b for b in BEHAVIOURS if b.key == key)
    steps = recorded_steps(series, key)
    answer = behaviour.rsvd(steps)
    ASKED[prompt] = (behaviour.trace, behaviour.step, f"linux-{series}")
    FIELD[prompt] = "Rsvd"
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


def q07_fork_61() -> Question:
    return _recorded_question(
        "fork-unmap on Linux 6.1: HugePages_Rsvd after the owner's munmap (step 5), while the child still maps "
        "page 0? (Signed, or as the kernel prints it.)", "6.1", "fork-unmap",
        {-1: "That is 6.18 (notebook 05): 6.1 is older than the v6.9 restore, so nothing un-consumes offset 0.",
         1: "The close hands back every reservation the mapping still holds: page 1's was never used.",
         2: "Page 0's reservation was used by the owner's fault at step 3: the close cannot hand it back."},
        "With no restore, offset 0 stays consumed: the close hands back page 1's reservation, the last one "
        "left.")


#: 07's case the stable fix's rule is applied to, not told: the child exits first, then the owner drops page 0
EXIT_THEN_DROP = "pool 8\nmmap a 2 private\ntouch a 0\nfork c\nexit c\nmadvise a 0 1 dontneed\n"


def q07_drop_612() -> Question:
    return _tells(_counter_question(
        "exit-then-drop on Linux 6.12, with the stable fix: HugePages_Rsvd after step 6, the owner's madvise "
        "dontneed of page 0?", EXIT_THEN_DROP, 6, "Rsvd",
        {1: "That is 6.1, which has no restore. 6.12 has it, and its stable fix holds it back only while another "
            "process maps the page: who maps page 0 at step 6?",
         0: "The madvise drops page 0 only: page 1 was never touched, and its reservation is still there."},
        "The child's exit at step 5 left page 0 mapped by the owner alone, so the owner's drop leaves it mapped "
        "nowhere: the stable fix lets the restore give its reservation back, as on 6.12 in exercise 1.",
        "linux-6.12"),
        "once the child has exited, the drop", "the drop leaves it mapped nowhere", "c has exited")


def q07_why_612() -> Choice:
    return _why(
        "Why does the stable fix wait until no other process maps the page before it restores the reservation?",
        "The +1 comes back only when the page is freed: restoring while another process maps it leaves Rsvd short.",
        [("A child holds the page's reservation while it maps the page: the fork copied it along with the page "
          "table entry.",
          "A child holds no reservation (notebook 05): its faults never use one."),
         ("The child may write to the page later, and that fault needs the reservation.",
          "The child already maps page 0, so it does not fault there again; and a child's faults never use "
          "reservations."),
         ("Restoring is slow, so the kernel does it once, when the last user goes.",
          "It is about the count, not speed: notebook 05's lost reservation showed what a Rsvd below zero lets "
          "through.")],
        "Give a reservation back only when its page is really free: the mapcount is 0.", at=1)


def q07_why_refault() -> Choice:
    return _why(
        "dontneed on Linux 6.1, which has no v6.9 restore: why does the second touch of page 0 (step 5) still "
        "succeed?",
        "The pool still has free pages nobody is promised: a fault without a reservation may take one.",
        [("6.1 gives page 0's reservation back at the fault, instead of at the madvise, and the fault then uses "
          "it.",
          "No kernel gives a reservation back at a fault: a fault uses one, or takes a page without one."),
         ("The madvise kept the page in memory, and the fault maps it again.",
          "MADV_DONTNEED freed the page: Free went back up at step 4. An anonymous private page that is "
          "dropped is gone."),
         ("The fault uses page 1's reservation.",
          "A reservation is kept for its offset: page 1's stays for page 1, which is never touched here.")],
        "A fault needs a reservation only to be sure of a page: with free pages nobody is promised, it takes one "
        "without.", at=0)


def q07_row() -> Row:
    hunted = next(b for b in BEHAVIOURS if b.key == "hunted")
    before = replay(hunted.trace, "linux-6.18")[hunted.step - 2].counters
    # its tells: 07's "Each kernel's setting" fold said them above the question (a learner opened it after Q5)
    return _tells(_row_question(
        f"hunted, on Linux 6.18: the whole row after step {hunted.step}, the owner's munmap of all of m2?",
        hunted.trace, hunted.step,
        {"Rsvd": {0: "That is 6.12: its stable fix keeps offset 1 consumed while k1 maps page 1. 6.18 restores "
                     "it anyway, as in exercise 2.",
                  before.rsvd: "munmap closes every piece of m2: the close gives back each offset not consumed."},
         "Free": {before.free + 1: "k1 still maps page 1 (it was mapped at the fork): the page is not freed."}},
        "The fork-unmap story on a hunted trace: the restore un-consumes page 1's offset while k1 maps the page, "
        "and the close gives back three reservations when two were left.", "linux-6.18"),
        "Rsvd reads one low until the child lets go", "even if a child still maps the page")


# -- 06 lab ---------------------------------------------------------------------------

#: the generated exercise 06 checks two steps of (``hugelab exercise --seed 1``)
EXERCISE_SEED = 1


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


def q06_row() -> Row:
    trace, steps = _exercise()
    n = next(n for n in range(2, len(steps) + 1) if steps[n - 1].op.split()[0] == "touch")
    before = steps[n - 2].counters
    return _row_question(
        f"Exercise {EXERCISE_SEED}, step {n} ({steps[n - 1].op}): the whole row?", trace, n,
        {"Rsvd": {before.rsvd: "m1 is shared: its fault uses the reservation its file holds for the page."},
         "Free": {before.free: "A fault takes a page, in a shared mapping as in a private one."}},
        "A fault in a shared mapping takes a page and uses the file's reservation for it.")


def q06_why_last_step() -> Choice:
    _trace, steps = _exercise()
    n = len(steps)
    gone = next(k for k in range(1, n) if steps[k - 1].op.split()[0] == "munmap")
    return _tells(_why(
        f"Exercise {EXERCISE_SEED}, last step ({steps[-1].op}): what happens to p1, and why?",
        "It is killed by SIGSEGV: m1's page 0 was unmapped before the fork, so p1 has nothing mapped there.",
        [("It is killed by SIGBUS: a child holds no reservation, so its fault finds no page.",
          "A child's fault without a reservation takes any free page, and the pool still has free pages. "
          "Look at what is mapped at m1's page 0."),
         ("Its fault succeeds: p1 shares m1 with main and takes a free page for page 0.",
          "p1 shares what main still maps of m1 at the fork: which part of m1 was that?"),
         ("Its fault succeeds: the madvise just before dropped page 0, and a dropped page is simply faulted "
          "again.",
          "Which pages did the madvise cover, and were they all mapped? And which page did step 4 touch?")],
        f"Step {n} is a SIGSEGV: nothing is mapped at the address any more (m1's page 0 went at step {gone}). "
        "A SIGBUS would need the page mapped, with no huge page to back it.", at=2,
        asks=(_trace, n, "modern")),
        "why segv")  # the question's name, in the notebook's code, once said its answer


def q06_why_hunt() -> Choice:
    return _tells(_why(
        "hunt replays random traces under double-credit until an invariant breaks. What must a random trace "
        "contain to break one?",
        "A split of a private mapping with unused reservations, then the closes of two of its pieces.",
        [("A fork and a few faults in the child: children run unreserved, which is where reservations go wrong.",
          "The seed has no fork and breaks the invariants: a split is enough."),
         ("A mapping larger than the pool.",
          "Such an mmap fails with ENOMEM and changes nothing."),
         ("Many faults, until the pool runs out and a fault finds no page.",
          "Running out of pages is SIGBUS, a correct outcome: no invariant breaks by it.")],
        "A split and two closes: each piece hands back the copied count. That is why hunt finds the bug in a "
        "few operations.", at=1),
        "2008 bug, rediscovered", "copied count")


def shrunk(trace: str, one: str, other: str) -> str:
    """``trace`` shrunk as ``hunt --kernels`` shrinks a find, with the policies ``one`` and ``other`` standing in
    for the two kernels: the rows must still differ somewhere."""
    return shrink(trace, lambda text: replay(text, one) != replay(text, other))


# -- 08 files and mounts -------------------------------------------------------------

FILE_REMAP = load("file-reservation-outlives-mapping")
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


def q08_after_munmap() -> Question:
    return _tells(_counter_question(
        "A 4-page shared mapping of file f, page 0 touched, then munmap a 0 4 (step 5). HugePages_Rsvd after it?",
        FILE_REMAP, 5, "Rsvd",
        {0: "That is what a private mapping's close would do: give back the pages it never used. This mapping "
            "is shared: whose reservations were they?",
         counter(FILE_REMAP, 3, "Rsvd"): "The touch at step 4 used one of the four reservations: its page is in "
                                      "f's page cache."},
        "Rsvd did not move at the munmap: 3 reserved before, 3 after (a question below asks why)."),
        "reservation that outlives", "reservation outlives")  # 08's heading and its scenario's name


def q08_second() -> Question:
    before = counter(FILE_REMAP, 5, "Rsvd")
    return _counter_question(
        "Step 6 maps 6 pages of the same file: mmap b 6 shared file f. HugePages_Rsvd after it?", FILE_REMAP, 6, "Rsvd",
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
         counter(TWO_MAPS, 6, "Free") - 2: "One write, one copy: one page."},
        "A private write copies the file's page: one new page of p's own.")


def q08_truncate() -> Question:
    return _counter_question(
        "Step 9: truncate f 3 cuts f down to 3 pages. HugePages_Rsvd after it?", TRUNCATE, 9, "Rsvd",
        {counter(TRUNCATE, 8, "Rsvd"): "truncate is not munmap: it removes the file's entries of [3, inf), and "
                                       "with them their reservations.",
         0: "Only offsets 3, 4 and 5 are cut off; offset 2 keeps its reservation (0 and 1 have pages).",
         counter(TRUNCATE, 8, "Rsvd") - 1: "Three entries are cut off, none of them with a page: all three come "
                                           "back."},
        "truncate gives back the reservations of the offsets cut off that have no page.")


def q08_row() -> Row:
    return _tells(_row_question(
        "Step 10: truncate f 0. The whole row after it?", TRUNCATE, 10,
        {"Free": {counter(TRUNCATE, 9, "Free"): "truncate frees the file's pages past the new size: the pages in "
                                                "f's page cache go back to the pool, although nothing maps them.",
                  counter(TRUNCATE, 9, "Free") + 1: "Both cached pages, 0 and 1, are past the new size 0."},
         "Rsvd": {counter(TRUNCATE, 9, "Rsvd"): "Offset 2 has an entry and no page: its reservation comes back."}},
        "truncate frees the pages it cuts off, and gives back the reservations of the offsets without one."),
        "no page and no reservation")


def q08_why_munmap() -> Choice:
    return _tells(_why(
        "Why did munmap a 0 4, which unmapped the whole shared mapping, give no reservation back?",
        "They are entries in f's map, and f still exists (it has a name and is open).",
        [("munmap never gives back reservations.",
          "A private piece's close does (notebooks 02 and 04): this one is shared."),
         ("Page 0 was touched, so the whole mapping's reservations were used.",
          "One fault uses one reservation: pages 1 to 3 were never touched."),
         ("The kernel gives them back lazily, at the next mmap of the file, rather than at every munmap.",
          "An mmap only ever reserves; nothing is handed back at one. Where did step 3 record its "
          "reservations?")],
        "A shared mapping's reservations belong to the file: they outlive every mapping.", at=0),
        "reservations belong to the file", "file's reservations are still there")


def q08_punch() -> Question:
    return _counter_question(
        "Step 6: punch f 1 2 punches a hole over pages [1, 3). HugePages_Rsvd after it?", PUNCH, 6, "Rsvd",
        {counter(PUNCH, 5, "Rsvd") - 1: "Offset 2 is in the hole too, but has no page: it keeps its reservation.",
         counter(PUNCH, 5, "Rsvd") + 1: "The page at offset 1 goes, and its entry with it: nothing to give back "
                                        "there, its reservation was used by the fault.",
         0: "A hole punch removes pages with their entries; offsets with no page keep theirs (unlike truncate)."},
        "Entries {0, 1, 2, 3}, pages at 0 and 1: page 1 goes with its entry, offsets 2 and 3 keep theirs.")


def q08_why_punch() -> Choice:
    return _why(
        "Why does a hole punch keep the reservation of an offset with no page, while truncate gives it back?",
        "A punched file keeps its size, so the offset may still be faulted; truncate removes the offset.",
        [("A punch only frees pages that are mapped, and an offset with no page is mapped by nobody, so the "
          "punch skips it.",
          "A punch frees the file's pages whether or not anything maps them; the question is the offsets "
          "without a page."),
         ("Punching is a newer call, and keeping the entry is an oversight.",
          "It is deliberate: a later fault in the hole must still find its reservation."),
         ("Offsets with no page have no entry, so there is nothing to give back.",
          "A shared mapping's mmap made an entry for every offset: the entry is there, page or not.")],
        "An entry means 'reserved for the file'. A punch takes an entry away only with its page, so an offset "
        "without a page keeps its entry for a later fault; truncate removes the offsets themselves.", at=0)


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
    before = counter(MIN_SIZE, 4, "Rsvd")
    return _counter_question(
        "On the mount with min_size=2, a maps 1 page of f shared (step 4), then b maps 3 (step 5: mmap b 3 shared "
        "file f). HugePages_Rsvd after step 5?", MIN_SIZE, 5, "Rsvd",
        {before + 3: "b maps offsets [0, 3) of f, and f's map holds offset 0 since a's mmap: only 2 are new.",
         before + 2: "Of b's 2 new offsets, the first is lent by the minimum, which a left one page: only the "
                     "other is reserved anew.",
         before: "The minimum had 2 pages and a's page borrowed one: one page is left to lend, not two.",
         before + 4: "min_size reserved its 2 pages at mount time: a charge the minimum lends adds nothing to "
                     "Rsvd."},
        "a's offset and the first of b's two new ones are lent by the minimum; only b's last offset is reserved "
        "anew.")


def q08_shmat() -> Question:
    return _counter_question(
        "pool 8, shmget s 3, then shmat s a (step 3). HugePages_Rsvd after it?", SEGMENT, 3, "Rsvd",
        {6: "shmat reserves nothing: shmget reserved the whole segment already.",
         0: "shmget reserves the whole segment at once, like a shared mmap."},
        "A segment is reserved at shmget; attaching maps it and reserves nothing.")


def q08_shmrm() -> Question:
    return _tells(_counter_question(
        "Then touch a 0 and shmrm s (step 5), with a still attached. HugePages_Rsvd after it?", SEGMENT, 5, "Rsvd",
        {0: "IPC_RMID destroys the segment only when the last attachment goes: a is still attached.",
         counter(SEGMENT, 3, "Rsvd"): "The touch at step 4 used one of the three reservations."},
        "The segment lives while attached: 3 reserved, 1 used."),
        "at the last detach", "once the last attachment goes", "when the last attachment goes")


# -- 08 self-test -----------------------------------------------------------------

SELF = "pool 6\nmmap a 4 private\ntouch a 1\nmunmap a 2 1\nfork b\nin b touch a 0\nmunmap a 0 4\nexit b\n"


#: for each self-test question, in order, the notebook that teaches it: the one to revisit after a miss
SELF_WHERE = ["01", "02 and 04", "03", "05", "05", "05", "05 and 07", "04", "05"]


def self_test() -> list[Question | Row | Choice]:
    """Questions with no table on screen: the trace is given as text only. Each is scored, and a miss names
    the notebook to revisit (:data:`SELF_WHERE`)."""
    return [
        _counter_question("Step 3 (touch a 1): HugePages_Free?", SELF, 3, "Free",
                          {6: "A fault takes a page out of Free.", 2: "Reservations do not leave Free."},
                          "Free counts pages nobody has faulted in."),
        _counter_question("Step 4 (munmap a 2 1) on today's kernel: HugePages_Rsvd?", SELF, 4, "Rsvd",
                          {3: "Page 2 was never touched: its reservation comes back.",
                           0: "Only the window [2, 3) closes; the other pieces keep theirs."},
                          "Page 2 was never touched: its one reservation comes back, and no other."),
        _counter_question("Step 4 under double-credit: HugePages_Rsvd? (Signed, or as the kernel prints it.)",
                          SELF, 4, "Rsvd",
                          {counter(SELF, 4, "Rsvd"): "That is the fixed kernel: under double-credit the one-page "
                                                     "piece [2, 3) hands back more than one reservation.",
                           counter(SELF, 3, "Rsvd", "double-credit"): "The piece closes at once and hands back "
                                                                      "its count."},
                          "The one-page piece [2, 3) hands back all three reservations main still held.",
                          "double-credit"),
        _counter_question("Step 6 (the child b writes page 0, never touched): HugePages_Free?", SELF, 6, "Free",
                          {counter(SELF, 5, "Free"): "Nothing was mapped at page 0 (main never touched it): b's "
                                                     "write needs a page.",
                           counter(SELF, 5, "Free") - 2: "One first touch, one page: page 1 is shared with main "
                                                         "since the fork, and b did not touch it."},
                          "A first touch takes a page, whichever process makes it."),
        _counter_question("Step 7 (main unmaps all of a) today: HugePages_Free?", SELF, 7, "Free",
                          {counter(SELF, 6, "Free") + 1: "b inherited page 1 at fork and still maps it: "
                                                         "a page is freed only when its last user goes.",
                           6: "Both pages are still mapped by b: page 1 since the fork, page 0 since its write."},
                          "A page is freed when its last user goes."),
        _counter_question("Step 7 today: HugePages_Rsvd? (Signed, or as the kernel prints it.)", SELF, 7, "Rsvd",
                          {0: "Page 1 is still mapped by b: the close hands its reservation back now, but the "
                              "+1 comes only when b lets the page go.",
                           2: "main's close hands back what main still reserves, and more."},
                          "The v6.9 restore again: main's close hands page 1's reservation back while b still "
                          "maps the page."),
        _row_question("Step 8 (exit b) today: the whole row?", SELF, 8,
                      {"Free": {counter(SELF, 7, "Free"): "b was the last to map pages 0 and 1: its exit frees both.",
                                counter(SELF, 7, "Free") + 1: "b maps two pages at its exit: page 1 since the fork, "
                                                              "page 0 since its write."},
                       "Rsvd": {counter(SELF, 7, "Rsvd"): "Freeing page 1 brings the restore's +1.",
                                1: "The +1 only cancels the early hand-back: the pool ends bare."}},
                      "Every process gone: a bare pool, Free equal to Total and Rsvd 0."),
        _tells(_why("Step 4 (munmap a 2 1) gives back 1 reservation today, and the whole count under double-credit. "
             "Why the difference?",
             "Today the close looks up [2, 3) in the map of consumed offsets; under double-credit the piece "
             "carries a copied count.",
             [("Today's kernel gives back reservations only at exit.",
               "Rsvd fell at step 4 today too: a close gives back its unused reservations at once."),
              ("Under double-credit page 2 had been touched.",
               "Only page 1 was touched, under either kernel: the trace is the same."),
              ("Double-credit gives back the whole mapping at the first munmap, on purpose, so that a split "
               "never strands a reservation.",
               "It is not a choice: the count was copied into the piece by the split, and its close hands it "
               "all back.")],
             "A count copied at a split against a map of consumed offsets: the 2008 bug and its fix.", at=1),
               "region_count(map, 2, 3)", "whole copied count", "copy of the whole count"),
        _why("Step 6 again, on a pool with no page to spare: suppose every free page were promised to main "
                    "(Free equal to Rsvd, no overcommit). What would b's write of page 0 do?",
                    "Kill b with SIGBUS: b may take only a page nobody is promised, and there is none.",
                    [("Succeed, using the reservation main holds for page 0: b maps the same mapping.",
                      "At step 6 Rsvd did not move: whose reservations did b's first write use?"),
                     ("Succeed, using one of the reservations b inherited from main at fork.",
                      "Rsvd did not rise at step 5: the fork made no reservation for b."),
                     ("Fail with ENOMEM, and b goes on running: the kernel refuses the page, and the write "
                      "returns an error.",
                      "ENOMEM is what an mmap returns; a fault that finds no page has no return value to fail "
                      "with: it is a signal.")],
                    "A child runs unreserved: its faults take pages, never reservations, so with every free "
                    "page promised it has none to take.", at=0),
    ]


# -- 10 the bug zoo ----------------------------------------------------------------
# Each answer is the model's, under the policy of the kernel the question names; where that kernel was
# measured in a guest, tests/test_zoo.py holds the shipped records to the same policy, step for step.

ZOO_SHMAT = load("shmat-noreserve")
#: fork-unmap-wrap with a child that maps two of the owner's pages (05 and 07 showed the one-page trace)
ZOO_RESTORE_TWO = "pool 8\nmmap a 3 private\ntouch a 0\ntouch a 1\nfork c\nmunmap a 0 3\nexit c\n"
ZOO_ERAS = load("subpool-rollback-eras")
ZOO_LEAK = load("min-size-leak")
ZOO_PUNCH = load("private-refault-after-punch")
ZOO_QUOTA = load("private-close-quota")
ZOO_AVOID = load("avoid-reserve-min-size")


def q10_shmat() -> Question:
    return _tells(_counter_question(
        "shmat-noreserve on a kernel without e656c7a9 (6.1.192 with it taken out): HugePages_Rsvd after step 3, "
        "the shmat of the SHM_NORESERVE segment?", ZOO_SHMAT, 3, "Rsvd",
        {0: "That is today's kernel: shmget's SHM_NORESERVE reached shmat's mmap only with the fix.",
         1: "Nothing has been touched yet: no page is in use."},
        "The segment reserved nothing at shmget, but shmat's mmap of it did not know: it reserved both pages.",
        policy="linux-6.1.192-e656c7a9e596"),
        # the case walked to its end: with SHM_NORESERVE shmget leaves the file's map empty (10's prose once
        # said that for an ordinary segment shmget had put every page in it, leaving one step)
        "shmget has put every page in the file's map", "noreserve segment leaves the file's map empty",
        "leaves the file's map empty", "nothing in the file's map")


def q10_punch() -> Question:
    return _counter_question(
        "private-refault-after-punch before 67961f9d (5.10.262 with it taken out): HugePages_Rsvd after step 6, "
        "the owner's second touch of page 0?", ZOO_PUNCH, 6, "Rsvd",
        {1: "That is 4.7 and later: the map says offset 0 is consumed, so the refault uses no reservation.",
         2: "The first touch consumed offset 0's reservation, and the punch did not give it back."},
        "Before 4.7 every owner fault took one off Rsvd, whatever its map said: page 1's reservation went.",
        policy="linux-5.10.262-67961f9db8c4")


def q10_restore_child() -> Question:
    return _counter_question(
        "fork-unmap-wrap with three pages, two of them faulted before the fork, on Linux 6.12.107 (the v6.9 "
        "restore, no mapcount fix): HugePages_Rsvd after step 6, the owner's munmap while the child maps pages "
        "0 and 1? (Signed, or as the kernel prints it.)", ZOO_RESTORE_TWO, 6, "Rsvd",
        {0: "That is 6.12.118: it restores only when no other process maps the page.",
         -1: "The restore un-consumes each offset the child still maps, not only the first: here two.",
         1: "The close hands back page 2's reservation; but 6.12.107 also restored offsets 0 and 1."},
        "The restore un-consumed offsets 0 and 1 although the child maps both pages: the close gave back three, "
        "two more than Rsvd held, and each +1 waits until the child frees its page.", policy="linux-6.12.107")


def q10_eras_row() -> Row:
    return _row_question(
        "subpool-rollback-eras on Linux 7.3.4: the whole row after step 7, the refused mmap c?", ZOO_ERAS, 7,
        {"Rsvd": {2: "That is 6.18.15 and 7.0.13: their error path let the mount's minimum go. 7.3.4 puts "
                     "everything back as it was before the mmap.",
                  5: "The mmap was refused: nothing it asked for stays reserved."},
         "Free": {1: "Nothing was touched: an mmap only promises pages."}},
        "A refused mmap leaves the counters as they were before it: the mount keeps its minimum on Rsvd.",
        policy="linux-7.3.4")


def q10_eras_end() -> Question:
    rsvd = [counter(ZOO_ERAS, n, "Rsvd", "linux-6.18.15") for n in (6, 7, 8, 11)]
    return _counter_question(
        "subpool-rollback-eras on Linux 6.18.15: HugePages_Rsvd after step 14, the umount? (Signed, or as the "
        "kernel prints it.)", ZOO_ERAS, 14, "Rsvd",
        {0: "That is 7.3.4. On 6.18.15 the refused page stays in the pages in use, so the count never reaches zero.",
         -1: "That is 6.12 and 7.0.13: they give back too much. 6.18.15 gives back too little.",
         2: "Two is the whole minimum. At step 7 the lent page came back while the pages in use were still at "
            "min_size: did it refill the minimum?"},
        f"At step 7 the page the minimum had lent came back while two pages were in use, a's and the refused one, "
        f"not fewer than min_size: it went to the pool, not to the minimum, and Rsvd dropped from {rsvd[0]} to "
        f"{rsvd[1]}; b's munmap took it to {rsvd[2]}. When f1 went (step 11), the charge of a's page came back "
        f"while one page was in use, fewer than min_size: it refilled the minimum, and Rsvd stayed at {rsvd[3]}. The "
        "refused page never leaves the count in use, so at umount the subpool cannot be freed: the one page its "
        "minimum holds stays on Rsvd.",
        policy="linux-6.18.15")


def q10_leak() -> Question:
    return _tells(_counter_question(
        "min-size-leak on Linux 7.3.4: HugePages_Rsvd after step 7, the umount, with nothing left of the "
        "trace?", ZOO_LEAK, 7, "Rsvd",
        {0: "That is 6.12 (and what every kernel should show). 1d3f9bb4 and the 7.3.4 fix changed only the mmap's "
            "error path (hugetlb_reserve_pages): 7.3.4 still has a833a693's error path in alloc_hugetlb_folio.",
         2: "Part of the minimum went back when the file's pages were freed."},
        "1d3f9bb4 and the 7.3.4 fix changed only the mmap's error path (hugetlb_reserve_pages); 7.3.4 still has "
        "a833a693's error path in alloc_hugetlb_folio, the fault's and the fallocate's. One page of the minimum "
        "stays on Rsvd until reboot, with no file and no mount left to give it back.", policy="linux-7.3.4"),
        # 10 once said so around the question: "one leak ... is still open in the newest kernel" in its intro and
        # "Newest kernel measured here: 7.3.4" in the exercise, titled "the open leak"
        "still open in the newest kernel", "still open in 7.3.4", "still open upstream", "open leak",
        "Newest kernel measured here", "still leaks on 7.3.4", "still in 7.3.4",
        # q10_why_leak, once open below it: on 7.3.4 the same failed fallocate leaves the used count one high
        "pages free, one short")


#: min-size-leak's failing fallocate on a mount with a size= and no minimum: the same charge kept, nothing on Rsvd
ZOO_LEAK_NO_MIN = "pool 3\nmount q size=4\nfile f on q\nfallocate f 0 4\nclose f\nunlink f\numount q\n"


def q10_why_leak() -> Choice:
    size, free = statfs(ZOO_LEAK_NO_MIN, 6, "q")
    return _tells(_why(
        f"The same fallocate on Linux 7.3.4, on a mount made with size={size} and no min_size: it fails on the "
        f"fourth page too, and after unlink f statfs shows {free} of {size} pages free, one short. What does the "
        "umount leave on HugePages_Rsvd, and why?",
        "0: the failed page's charge still sticks in the mount's count, but no minimum rides on that count.",
        [("1: the failed page's charge stays with the mount, and a page charged to a mount is a reservation "
          "until it is given back.",
          "A charge is the mount's own count of pages in use; Rsvd moved at a mount only by its min_size, and this "
          "mount has none."),
         (f"{size}: the subpool is never freed, so the {size} pages its size= set aside for the mount stay "
          "reserved.",
          "size= is a cap, not a reservation: the mount put nothing on Rsvd."),
         ("0: umount frees the mount's subpool whatever it still counts, and the failed page's charge goes with "
          "it.",
          "A subpool whose count of pages in use is not zero is never freed, minimum or not. What would its "
          "freeing give back here?")],
        "The leak is in the subpool's count of pages in use; Rsvd shows it only through a minimum that umount can "
        "no longer give back. Without min_size the count still never reaches zero (statfs stays one short while "
        "the mount lives), but nothing stays on Rsvd.", at=2,
        asks=(ZOO_LEAK_NO_MIN, 7, "linux-7.3.4")),
        "without a minimum", "only through a minimum", "leaks nothing on Rsvd")


def q10_why_order() -> Choice:
    return _why(
        "1d3f9bb4 (7.0.13) and the 7.3.4 fix undo the same two things at the refused mmap, in the other order. "
        "Why does 7.0.13 end at -1 and 7.3.4 at 0?",
        "On 7.0.13 the lent page goes to the pool, since the refused one is in use yet; umount then takes all "
        "of min_size.",
        [("7.0.13 gives the lent page back twice: once at the refused mmap, and again when f1 goes.",
          "Each undo step runs once. On 7.0.13, did the lent page go back to the minimum or to the pool?"),
         ("7.3.4 refuses the mmap before the subpool is asked, so the subpool lends nothing and has nothing to "
          "undo.",
          "Both ask the subpool first: its minimum lends its last page before the pool refuses the other."),
         ("On 7.0.13 the refused page stays in the count of pages in use, so the subpool is never freed and its "
          "minimum stays lost.",
          "That is 6.18.15, which ends at 1: 1d3f9bb4 does take the refused page out of the count in use.")],
        "In an error path the order of the undo steps matters as much as the steps.", at=1)


def q10_why_quota() -> Choice:
    return _tells(_why(
        "Before 7251ff78, why does the second private mapping of f fail on a size=2 mount that nothing uses?",
        "The close gave the pool back its reservations, not the mount its quota: two pages still counted.",
        [("The first mapping's reservations stay on Rsvd after munmap, as a shared mapping's stay with its "
          "file.",
          "A private mapping's close gives back what it never used: Rsvd went back to 0 at the munmap."),
         ("The pool has no free page left for a second mapping of two pages.",
          "Free is 4 throughout: nothing was touched, and nothing else holds a reservation."),
         ("A file on a size= mount may be mapped private only once, so that its private copies fit in the "
          "mount.",
          "With the fix, the same second mmap succeeds.")],
        "Two counts had to be given back, the pool's and the mount's; the close gave back one.", at=2),
        "two counts to give back", "two counts had to be given back")


#: explanations the notebooks show folded, after the questions they would otherwise answer
WHY = {
    "seed-copies": (
        "split_vma makes the new piece as a copy of the old VMA, vm_private_data and all: every piece starts "
        "with the mapping's whole remaining count, and every close hands back the count its piece holds."),
    "hunt": "That is the 2008 bug, rediscovered from random traces in a few operations.",
    "truncate": (
        "After `truncate f 0` the file holds no page and no reservation; `close` and `unlink` then evict it (no "
        "name, not open, not mapped), with nothing left to give back."),
    "punch": (
        "punch removes each page of the hole together with its entry (its reservation was used when the page "
        "came). An offset of the hole that had no page keeps its entry, so its reservation stays; a later fault "
        "at a punched offset that lost its page finds no entry: it takes a page without a reservation, and adds "
        "the entry."),
    "cow-full-pool": (
        "The child's faults take pages without touching Rsvd: it has no reservation. When the pool has no "
        "spare page, the owner's copy-on-write still succeeds: the kernel takes the page away from the child, "
        "which dies with SIGBUS at its next fault there."),
    "dropped-page": (
        "In 2.6.27 MADV_DONTNEED was not even allowed on hugetlb (EINVAL); today it drops the page, and its "
        "reservation returns, so the next fault there uses a reservation again."),
    "dontneed-6.1": (
        "On 6.1 page 0's offset stays consumed in the private resv_map after the madvise, so Rsvd reads one "
        "lower than on 6.12 there; 6.12 gives the reservation back at the madvise, as 6.18 does. At step 5 "
        "page 0 is faulted again. On 6.1 its offset is still marked consumed, so the fault takes a page "
        "without a reservation; on 6.12 the fault uses the reservation the madvise gave back. From then on "
        "the two agree, and page 0's reservation never comes back on 6.1."),
    "file-outlives": (
        "A shared mapping of a file reserves what the file's map does not hold yet, and records it there. The "
        "reservation belongs to the file: munmap gives nothing back, and a second mapping reserves only the "
        "offsets that are new. The truncate at step 8 gives the rest back; the next sections take truncate "
        "and eviction one at a time."),
    "min-size": (
        "The mount's files borrow its minimum before they take reservations of their own: a's page comes out of "
        "it (step 4), and of b's two new offsets one takes the minimum's last page (step 5). The private p would "
        "take the mount past size=6: ENOMEM. Charges given back refill the minimum while fewer than 2 pages are "
        "in use: after the truncate at step 12 the mount holds its whole minimum again, until umount."),
    "two-maps": (
        "p's read of page 0 maps the cached page: nothing is taken. Its write must not reach the file, so the "
        "kernel copies the page into a new page of p's own (copy-on-write, as after fork in notebook 05), and "
        "that copy uses one of p's reservations. One structure, two meanings: f's map lists what is reserved "
        "for the file (an entry stays when its page arrives, so page 0 still has one), p's map lists what p "
        "has consumed. Rsvd counts the file's entries that have no page yet, plus each private mapping's "
        "pages not consumed."),
    "unreserved": (
        "Today the same mmap fails at once with ENOMEM, where the program can still handle the error. Under "
        "unreserved the process dies at step 5, and a dead process's pages go back to the pool: Free reads 2 "
        "again in that row."),
    "shared-unmap": (
        "Unmapping part of a shared mapping gives nothing back: the reservations are entries in the file's "
        "map, and the file keeps them (and its pages, in its page cache) while any piece of it is mapped. "
        "When the last piece goes (step 6), the anonymous mapping's file is let go: its pages are freed and "
        "what it still reserves comes back. A named hugetlbfs file outlives its mappings, with its pages and "
        "reservations: notebook 08 shows that."),
    "reserve-consume": (
        "The mmap moves nothing out of Free: it only promises. Each fault, read or write, takes a page out "
        "of Free and uses up one promise, so Rsvd drops with it. Free minus Rsvd is what a fault without a "
        "reservation may still take."),
    "child-maps": (
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


ALL = {name: fn for name, fn in globals().items() if name[:1] == "q" and name[1:3].isdigit() and callable(fn)}
