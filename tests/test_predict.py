"""Predict, then check: the logic behind every exercise widget, without a browser."""

import pytest

from hugelab.teaching.predict import GENERIC_HINT, Question, parse_number, same_number


def test_the_kernels_printed_form_of_a_wrapped_value_is_the_same_answer():
    q = Question("Rsvd at the end?", answer=-6, hints={-3: "three pieces, each 3"}, why="4 - 1 - 9.")
    for typed in ("-6", "18446744073709551610", "18446744073709551610 (= -6)", " 18_446_744_073_709_551_610 "):
        right, said = q.check(typed)
        assert right, typed
        assert "18446744073709551610" in said and "unsigned long" in said
    # and the other way round: the answer kept as the kernel prints it
    assert Question("?", answer=18446744073709551610).check("-6")[0]
    # a hint keyed to a signed value fires for its printed form
    assert q.check("18446744073709551613") == (False, "Not 18446744073709551613. three pieces, each 3")


def test_a_hint_keyed_to_the_answer_is_refused_in_either_form():
    with pytest.raises(ValueError, match="never be shown"):
        Question("?", answer=3, hints={3: "x"})
    with pytest.raises(ValueError, match="never be shown"):
        Question("?", answer=-1, hints={18446744073709551615: "x"})


def test_other_wrong_answers_get_the_generic_hint_which_gives_no_arithmetic_away():
    q = Question("?", answer=2, hints={3: "the copied count"})
    assert q.check("0") == (False, "Not 0. " + GENERIC_HINT)
    assert not any(ch.isdigit() for ch in GENERIC_HINT)


def test_what_is_not_a_number_is_said_so():
    q = Question("?", answer=2)
    assert q.check("two") == (False, "Type a whole number (you typed 'two').")
    assert parse_number("1.5") is None and parse_number("") is None


def test_give_up_states_both_forms_of_a_wrapped_answer():
    assert Question("?", answer=-6, why="4 - 1 - 9.").give_up() == (
        "The answer is -6, which the kernel prints as 18446744073709551610. 4 - 1 - 9.")
    assert Question("?", answer=4).give_up() == "The answer is 4."


def test_same_number_is_modulo_two_to_the_64_only_for_values_a_counter_can_hold():
    assert same_number(-1, 2**64 - 1) and not same_number(2**64, 0) and not same_number(1, 2)
