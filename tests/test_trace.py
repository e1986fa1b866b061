"""The trace parser: valid text, and every kind of bad line named by number."""

import pytest

from hugelab import TraceError, parse_trace, replay
from hugelab.trace.language import Fork, Mmap, Mprotect, Touch


def test_ops_keep_their_line_numbers_and_text_without_comments():
    trace = parse_trace("# comment\n\npool 8\nmmap a 4 private   # four pages\nin main touch  a 0 read\n")
    assert [op.line for op in trace] == [3, 4, 5]
    assert [op.text for op in trace] == ["pool 8", "mmap a 4 private", "in main touch a 0 read"]
    assert trace.ops[1] == Mmap(4, "mmap a 4 private", "main", "a", 4, False, False)
    assert trace.ops[2] == Touch(5, "in main touch a 0 read", "main", "a", 0, False)


def test_a_forked_child_knows_its_parents_mappings_by_name():
    trace = parse_trace("mmap a 2 shared noreserve\nfork c\nin c mprotect a 0 2 none\n")
    assert isinstance(trace.ops[1], Fork)
    assert trace.ops[2] == Mprotect(3, "in c mprotect a 0 2 none", "c", "a", 0, 2, "none")


@pytest.mark.parametrize("text, line, words", [
    ("pool 8\nfrobnicate a\n", 2, "unknown operation 'frobnicate'"),
    ("pool eight\n", 1, "must be a whole number, not 'eight'"),
    ("pool -1\n", 1, "must be a whole number"),
    ("mmap a 4 private\ntouch b 0\n", 2, "no mapping 'b'"),
    ("in ghost mmap a 1 private\n", 1, "no process 'ghost'"),
    ("mmap a 4 private\ntouch a 4\n", 2, "outside mapping 'a', which has 4 pages"),
    ("mmap a 4 private\nmunmap a 3 2\n", 2, "pages [3, 5) are outside"),
    ("mmap a 4 private\nmmap a 2 shared\n", 2, "created twice"),
    ("fork c\nfork c\n", 2, "process 'c' is created twice"),
    ("mmap a 4 public\n", 1, "expected 'private' or 'shared'"),
    ("mmap a 4 private\nmprotect a 0 1 rwx\n", 2, "protection must be r, rw or none"),
    ("mmap a 4 private\nmadvise a 0 1 willneed\n", 2, "the advice is 'dontneed' or 'remove', not 'willneed'"),
    ("mmap a 4\n", 1, "wrong number of words for mmap"),
    ("mmap a 1 private\nfork c\nin c mmap b 1 private\ntouch b 0\n", 4, "process 'main' has no mapping 'b'"),
    ("in c exit c\n", 1, "does not take 'in PROC'"),
    ("pool 4 overcommitt 2\n", 1, "expected 'pool N' or 'pool N overcommit M'"),
])
def test_bad_text_is_rejected_with_its_line_and_reason(text, line, words):
    with pytest.raises(TraceError) as caught:
        parse_trace(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_lines_naming_a_failed_mapping_or_a_dead_process_are_skipped():
    steps = replay("pool 1\nmmap a 4 private\ntouch a 0\nfork c\nexit c\nin c touch a 0\n")
    assert [s.error for s in steps] == [None, "ENOMEM", "skipped", None, None, "skipped"]
    assert not steps[2].ok and steps[2].counters == steps[1].counters


def test_kernel_rejections_are_outcomes_not_text_errors():
    steps = replay("pool 2\nmmap a 0 private\nmmap b 2 private\nmunmap b 0 0\nmunmap b 0 1\nmprotect b 0 2 r\n"
                   "touch b 0\n")
    assert [s.error for s in steps] == [None, "EINVAL", None, "EINVAL", None, "ENOMEM", "SIGSEGV"]


def test_the_grammar_table_gives_the_parser_its_messages_and_help_its_lines():
    from hugelab.trace.language import GRAMMAR, OPERATIONS, grammar_help
    assert len(GRAMMAR.splitlines()) == len(OPERATIONS)
    for op, syntax in OPERATIONS.items():
        assert syntax.usage in GRAMMAR and syntax.means in grammar_help()
        too_many = "pool 2\nmmap a 2 private\nfork c\n" + " ".join([op] + ["x"] * (syntax.most + 1)) + "\n"
        with pytest.raises(TraceError) as caught:
            parse_trace(too_many)
        assert str(caught.value) == f"line 4: wrong number of words for {op}: expected '{syntax.usage}'"
        if not syntax.in_proc:
            with pytest.raises(TraceError, match=f"'{op}' does not take 'in PROC'"):
                parse_trace(f"in main {op} 1\n")
    *most, last = OPERATIONS
    with pytest.raises(TraceError, match="expected " + ", ".join(most) + " or " + last):
        parse_trace("frobnicate a\n")
