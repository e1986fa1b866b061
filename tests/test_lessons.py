"""Every notebook question: its answer comes from a replay, each likely wrong
answer gets its own hint (in either form of a wrapped value), and the reveal
holds the row that answers it."""

import pytest

from hugelab.model.hstate import u64
from hugelab.teaching import lessons
from hugelab.teaching.predict import GENERIC_HINT, ROW_FIELDS, Choice, Question, Row

EVERY = {name: fn() for name, fn in lessons.ALL.items()}
EVERY.update({f"self_test[{i}]": q for i, q in enumerate(lessons.self_test())})
#: the questions with one number for an answer
QUESTIONS = {name: q for name, q in EVERY.items() if isinstance(q, Question)}
ROWS = {name: q for name, q in EVERY.items() if isinstance(q, Row)}
CHOICES = {name: q for name, q in EVERY.items() if isinstance(q, Choice)}


def test_every_notebook_asks_its_questions_from_the_lessons_module():
    assert len(QUESTIONS) >= 25


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_each_likely_wrong_answer_gets_its_own_hint(name):
    q = QUESTIONS[name]
    assert len(q.hints) >= 2, "two or three likely wrong answers each deserve a hint"
    assert len(set(q.hints.values())) == len(q.hints), "each wrong answer its own hint"
    for wrong, hint in q.hints.items():
        right, said = q.check(str(wrong))
        assert not right and said == f"Not {wrong}. {hint}"
        assert hint != GENERIC_HINT
        if wrong < 0:  # typed as the kernel prints it, the same hint
            assert q.check(str(u64(wrong)))[1].endswith(hint)


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_the_answer_is_accepted_in_every_form_and_revealed_only_by_the_reveal(name):
    q = QUESTIONS[name]
    assert q.check(str(q.answer))[0]
    if q.answer >= 2**63:  # a wrapped counter: the signed value is right too, and explained
        right, said = q.check(str(q.answer - 2**64))
        assert right and "unsigned long" in said
    assert q.reveal
    assert str(q.answer) in q.reveal


def test_hints_name_the_misconception_not_the_arithmetic_of_the_answer():
    for name, q in QUESTIONS.items():
        for hint in q.hints.values():
            assert f"= {q.answer}" not in hint, name


def test_the_answers_are_the_replays_not_hand_written():
    assert QUESTIONS["q03_end"].answer == u64(-6)
    assert QUESTIONS["q03_split"].answer == lessons.counter(lessons.SEED, 4, "Rsvd", "double-credit")
    assert QUESTIONS["q05_lost_free"].answer == lessons.counter(lessons.LOST, 11, "Free")


def test_the_many_kernels_answers_are_the_records_each_kernels_policy_reproduces():
    from hugelab.replay import replay
    from hugelab.tools.matrix import BEHAVIOURS, recorded_steps
    for name, series, key in [("q07_dontneed_61", "6.1", "dontneed"), ("q07_fork_61", "6.1", "fork-unmap")]:
        b = next(b for b in BEHAVIOURS if b.key == key)
        measured, model = recorded_steps(series, key), replay(b.trace, f"linux-{series}")
        assert QUESTIONS[name].answer == b.rsvd(measured) == b.rsvd(model)
    assert QUESTIONS["q07_fork_61"].answer == 0


def test_07_asks_6_12_a_case_its_text_does_not_state():
    """07 states the stable fix's rule on the fork-unmap trace, where the child still maps page 0; asking 6.12's
    Rsvd there was reading the rule back. Its question is the other side of the rule: the child has exited, so
    the owner's drop restores, as 6.18 does and 6.1 does not."""
    q = QUESTIONS["q07_drop_612"]
    assert q.answer == lessons.counter(lessons.EXIT_THEN_DROP, 6, "Rsvd", "linux-6.18") == 2
    assert lessons.counter(lessons.EXIT_THEN_DROP, 6, "Rsvd", "linux-6.1") == 1


def test_the_two_meanings_questions_read_both_maps_from_the_model():
    from hugelab.teaching.walkthrough import walk
    after = str(walk(lessons.TWO_MAPS)[6])  # step 7: p's private write of the cached page 0
    assert "file f's map: reserved [(0, 2)]" in after and "resv_map of p (owner main): consumed [(0, 1)]" in after
    assert (QUESTIONS["q08_shared_entries"].answer, QUESTIONS["q08_private_entries"].answer) == (2, 1)
    assert QUESTIONS["q08_statfs"].answer == lessons.statfs(lessons.CAPPED, 5, "q")[1] == 1


def test_the_self_test_names_a_notebook_for_every_question():
    assert len(lessons.SELF_WHERE) == len(lessons.self_test())


@pytest.mark.parametrize("name", sorted(ROWS))
def test_a_row_is_the_replays_row_and_each_wrong_field_gets_its_own_hint(name):
    q = ROWS[name]
    trace, step, policy = lessons.ASKED[q.prompt]
    from hugelab.replay import replay
    c = replay(trace, policy)[step - 1].counters
    assert q.answer == (c.total, c.free, c.rsvd, c.surp)
    assert q.check(" ".join(map(str, q.answer)))[0]
    assert q.check("/".join(str(v - 2**64 if v >= 2**63 else v) for v in q.answer))[0]  # signed, T/F/R/S form
    assert sum(len(h) for h in q.hints.values()) >= 2, "two or more likely wrong values each deserve a hint"
    for field, wrongs in q.hints.items():
        for wrong, hint in wrongs.items():
            typed = list(q.answer)
            typed[ROW_FIELDS.index(field)] = wrong
            right, said = q.check(" ".join(map(str, typed)))
            assert not right and hint in said and f"{field} is not {wrong}" in said
    assert q.reveal.splitlines()[-1].startswith(f"after step {step} ")
    assert not q.check("8 8 8")[0] and "four whole numbers" in q.check("8 8 8")[1]


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_a_why_question_has_misconceptions_each_with_its_own_hint(name):
    q = CHOICES[name]
    wrong = [o for n, o in enumerate(q.options) if n != q.answer]
    assert len(wrong) >= 2 and len({o.hint for o in wrong}) == len(wrong)
    for n, option in enumerate(q.options):
        right, said = q.check("abcdefgh"[n])
        assert right == (n == q.answer)
        if not right:
            assert said.endswith(option.hint) and option.hint != GENERIC_HINT
    assert q.why and q.reveal
    assert q.give_up().startswith(f"The answer is {'abcdefgh'[q.answer]})")


def test_the_right_option_is_not_always_in_the_same_place():
    assert len({q.answer for q in CHOICES.values()}) >= 3


def test_no_two_questions_say_the_same_explanation():
    """A question's explanation shows once it is answered: the same words under an earlier question of the
    same notebook would answer a later one (a why question's most of all)."""
    seen: dict[tuple[str, str], str] = {}
    for name, q in EVERY.items():
        notebook = name[:3]  # q03, or self (the self-test)
        if q.why:
            assert (notebook, q.why) not in seen, f"{name} says {seen.get((notebook, q.why))}'s explanation"
            seen[notebook, q.why] = name


def test_no_question_states_its_own_answer():
    """Its prompt is on screen while the learner thinks: 'killed by SIGSEGV. Why?' has told them the outcome."""
    import re
    for name, q in EVERY.items():
        prompt = " ".join(q.prompt.split())
        for said in lessons.stated(q):
            assert not re.search(rf"(?<!\w){re.escape(' '.join(said.split()))}(?!\w)", prompt), \
                f"{name} states its own answer: {said}"


#: the notebooks whose why questions are checked for the longest-option pattern: every numbered one (09 is the
#: self-test, whose questions are lessons.self_test()'s)
BALANCED = ("00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10")


def test_the_right_option_is_seldom_the_longest():
    """A learner who picks the longest option blind was right in most why questions (learner A, 00-05; in 06-10
    in every one): the right option is the longest (or tied for it) in at most a third of them, and in no
    notebook in all of them."""
    by_notebook: dict[str, list[bool]] = {}
    for name, q in CHOICES.items():
        notebook = "09" if name.startswith("self_test") else name[1:3]
        if notebook in BALANCED:
            sizes = [len(o.text) for o in q.options]
            by_notebook.setdefault(notebook, []).append(sizes[q.answer] == max(sizes))
    flags = [longest for found in by_notebook.values() for longest in found]
    assert sorted(by_notebook) == sorted(BALANCED) and len(flags) >= 2 * len(BALANCED), \
        "every notebook asks two why questions"
    assert 3 * sum(flags) <= len(flags), f"the right option is the longest in {sum(flags)} of {len(flags)}"
    for notebook, found in by_notebook.items():
        assert not all(found), f"in {notebook} the right option is the longest in every why question"


def test_no_why_question_registers_its_own_options_words_as_a_tell():
    """A why question's options are on screen while the learner thinks: a phrase registered as telling its answer
    (lessons._tells) that one of its own options says would flag the question's own screen."""
    for name, q in CHOICES.items():
        for tell in lessons.TOLD.get(q.prompt, ()):
            for option in q.options:
                assert tell not in option.text, f"{name}: its option says its own tell {tell!r}"


def test_a_walk_through_is_shown_as_html_that_wraps_between_words_and_prints_as_before():
    """Printed, 05's walk-through broke words at the output's edge at 1068 px ("reservat" / "ion")."""
    from hugelab import scenarios
    from hugelab.teaching.walkthrough import PROSE, Walk, walk

    moments = walk(scenarios.load("modern-lost-reservation"))[:6]
    shown = Walk(moments)
    assert repr(shown) == "\n".join(map(str, moments))  # the plain form nbval compares
    page = shown._repr_html_()
    assert PROSE in page and "<pre" not in page and "word-break:normal" in PROSE
    assert page.count("class='hugelab-moment'") == 6
    assert "a fault without a reservation may take none of them" in page  # a line whole, not folded at 100


@pytest.mark.parametrize("free, rsvd, surp, said", [
    (7, 1, 0, "1 of the 7 free pages is promised; a fault without a reservation may take the other 6"),
    (7, 3, 0, "3 of the 7 free pages are promised; a fault without a reservation may take the other 4"),
    (1, 0, 1, "the 1 free page is not promised: a fault without a reservation may take it; "
              "1 surplus page, above the pool size, leaves as soon as it is free"),
    (8, 0, 0, "none of the 8 free pages is promised: a fault without a reservation may take any of them"),
    (4, 2, 2, "2 of the 4 free pages are promised; a fault without a reservation may take the other 2; "
              "2 surplus pages, above the pool size, leave as soon as they are free"),
])
def test_the_walks_meaning_agrees_in_number(free, rsvd, surp, said):
    """08's walk said "1 of the 7 free pages are promised"; 05's "1 surplus page(s) ... leave"."""
    from hugelab.teaching.walkthrough import meaning

    assert meaning(free, rsvd, surp) == said
