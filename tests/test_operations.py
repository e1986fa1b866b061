"""One home per operation: every row of the language's table has every back end.

A row (``hugelab.trace.language.OPERATIONS``) names an operation's grammar, its parsed form and
parser, which real-kernel worker carries it out, the C program's step and the generators' weights;
the model (``hugelab.model.machine.HANDLERS``), the workers (``worker.COMMANDS``,
``fsworker.COMMANDS``), the C template's ``enum op`` and switch, and the generators look it up.
Adding an operation means a row and its handlers: these tests fail while one is missing.
"""

import random
import re
import typing

import pytest

from hugelab.model.machine import HANDLERS
from hugelab.realkernel import fsworker, worker
from hugelab.realkernel.export_c import export_c, template
from hugelab.trace import generate
from hugelab.trace.language import OPERATIONS, ROW_OF, Op, Operation, OperationRow, parse_trace

WORKERS = {"process": set(worker.COMMANDS), "files": set(fsworker.COMMANDS), "session": {"pool"}}


def missing_back_ends(row: OperationRow, c_text: str) -> list[str]:
    """Which homes ``row``'s operation lacks, in words (empty when it has them all)."""
    missing = []
    if row.op not in HANDLERS:
        missing.append("the model's handler (hugelab.model.machine.HANDLERS)")
    if row.op not in WORKERS.get(row.kernel, set()):
        missing.append(f"the real-kernel {row.kernel!r} worker's command")
    handled = f"case OP_{row.c}:" in c_text or f"op == OP_{row.c})" in c_text
    if not re.search(rf"\benum op \{{[^}}]*\bOP_{row.c}\b", c_text) or not handled:
        missing.append(f"the C program's step OP_{row.c} (repro_template.c's enum op and switch)")
    if not row.v1_weight and not any(row.v2_weights.values()):
        missing.append("a weight in the random generators")
    return missing


def test_every_operation_has_every_back_end():
    c_text = template()
    assert {op: missing_back_ends(row, c_text) for op, row in OPERATIONS.items()} == \
        {op: [] for op in OPERATIONS}


def test_a_pretend_operation_without_handlers_is_caught():
    row = OperationRow("frobnicate", "NAME", 1, 1, True, "frobnicate a mapping", Op,
                       OPERATIONS["touch"].parse, "process", "FROBNICATE", 0, {})
    assert len(missing_back_ends(row, template())) == 4


def test_the_table_covers_the_language():
    forms = set(typing.get_args(Operation))
    assert set(ROW_OF) == forms and len(ROW_OF) == len(OPERATIONS)
    assert all(op == row.op for op, row in OPERATIONS.items())
    # nothing a back end answers is a trace operation no row names (the harness's own aside)
    harness_own = {"spawn", "statfs", "path", "shmid"}
    assert set(worker.COMMANDS) | set(fsworker.COMMANDS) - harness_own <= set(OPERATIONS)
    assert set(HANDLERS) == set(OPERATIONS)


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_each_row_parses_its_own_usage_example(op):
    """A line written from the row's usage parses to the row's form, through the row's parser."""
    examples = {"pool": "pool 8 overcommit 1", "mmap": "mmap a2 2 shared file f offset 1", "touch": "touch a 0 read",
                "munmap": "munmap a 0 1", "mprotect": "mprotect a 0 1 r", "madvise": "madvise a 0 1 remove",
                "fork": "fork c2", "exit": "exit c", "mount": "mount q2 size=4 min_size=1", "umount": "umount q",
                "file": "file g on q", "memfd": "memfd h", "close": "close f", "unlink": "unlink f",
                "truncate": "truncate f 1", "fallocate": "fallocate f 0 1", "punch": "punch f 0 1",
                "shmget": "shmget t 2 noreserve", "shmat": "shmat s b", "shmrm": "shmrm s"}
    before = "mount q\nfile f on q\nmmap a 2 shared\nshmget s 1\nfork c\n"
    trace = parse_trace(before + examples[op] + "\n")
    assert type(trace.ops[-1]) is OPERATIONS[op].form


def test_the_c_program_emits_every_operation():
    text = ("pool 8\nmount q size=6\nfile f on q\nmemfd g\nmmap a 2 private\nmmap b 2 shared file f\ntouch a 0\n"
            "munmap a 1 1\nmprotect b 0 1 r\nmadvise b 1 1 remove\nfork c\nexit c\ntruncate f 1\nfallocate f 2 1\n"
            "punch f 2 1\nshmget s 1\nshmat s d\nshmrm s\nclose g\nclose f\nunlink f\numount q\n")
    trace = parse_trace(text)
    assert {type(op) for op in trace} == set(ROW_OF)
    program = export_c(trace)
    for row in OPERATIONS.values():
        assert f", OP_{row.c}, " in program, row.op


def test_the_generators_write_every_operation():
    seen = set()
    for seed in range(300):
        seen |= {type(op) for op in parse_trace(generate.random_v2_trace(random.Random(seed), 30))}
    assert seen == set(ROW_OF)
    v1 = set()
    for seed in range(100):
        v1 |= {type(op) for op in parse_trace(generate.random_trace(random.Random(seed), 30))}
    assert v1 == {row.form for row in OPERATIONS.values() if row.v1_weight}
