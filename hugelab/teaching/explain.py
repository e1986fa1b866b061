"""Why a counter or an outcome is what it is after one step: the words the
exercise checker says to a wrong answer.

One sentence per operation kind and counter, stating the rule the kernel
follows (as the course teaches it), plus what moved at this step.
"""

from __future__ import annotations

from ..model.hstate import Counters, signed
from ..replay import Step
from .predict import parse_number, same_number

FIELDS = ("Total", "Free", "Rsvd", "Surp")

_RULES = {
    "pool": {
        "Total": "pool N sets the persistent pool to N pages; pages in use or reserved stay, "
                 "counted as surplus, until they are freed.",
        "Free": "growing the pool adds free pages; shrinking it removes only free pages nobody has reserved.",
        "Rsvd": "resizing the pool changes no promise already made.",
        "Surp": "pages the pool keeps above N (in use or reserved) count as surplus until freed.",
    },
    "mmap": {
        "Total": "when the free pages cannot back a new reservation, surplus pages join the pool "
                 "(if overcommit allows).",
        "Free": "a reservation takes no page: Free moves only when surplus pages join, or pages are "
                "faulted in or freed.",
        "Rsvd": "mmap reserves one page per page of the mapping, private or shared (none with noreserve, "
                "none when it fails).",
        "Surp": "surplus pages come in only to back a reservation the free pages cannot.",
    },
    "touch": {
        "Total": "a fault with no free page it may take can borrow a surplus page (overcommit).",
        "Free": "a fault takes one page out of Free; touching a page this process already maps takes none.",
        "Rsvd": "only a fault that uses a reservation takes one off Rsvd: the owner's first touch of a reserved page "
                "(a child's fault, a copy-on-write and a noreserve fault use none).",
        "Surp": "a fault borrows a surplus page only when no free page is left for it.",
    },
    "munmap": {
        "Total": "a freed surplus page leaves the pool at once.",
        "Free": "a page goes back to Free when its last user unmaps it (a child may still map it).",
        "Rsvd": "each VMA piece that closes gives back the reservations it still holds unused.",
        "Surp": "a freed surplus page leaves the pool at once.",
    },
    "mprotect": {field: "mprotect changes the protection (and may split the VMA): no page moves and no "
                        "reservation changes." for field in FIELDS},
    "fork": {field: "fork copies the mappings into the child without any reservation and takes no page."
             for field in FIELDS},
    "madvise": {
        "Total": "a freed surplus page leaves the pool at once.",
        "Free": "MADV_DONTNEED unmaps the pages; a page nobody else maps is freed.",
        "Rsvd": "since Linux 6.9 an owner's page unmapped by MADV_DONTNEED gives its reservation back "
                "(when the pool has no surplus pages); older eras refuse the call.",
        "Surp": "a freed surplus page leaves the pool at once.",
    },
}
_RULES["exit"] = {field: "exit unmaps everything the process maps: " + rule[0].lower() + rule[1:]
                  for field, rule in _RULES["munmap"].items()}

_OUTCOMES = {
    "ok": "the call succeeds here.",
    "ENOMEM": "ENOMEM: at mmap, the pool cannot back the whole reservation (free pages nobody reserved, plus the "
              "surplus pages overcommit allows); at mprotect or madvise, part of the range is not mapped.",
    "EINVAL": "EINVAL: the kernel refuses the call itself (MADV_DONTNEED on hugetlb before Linux 5.18, "
              "or a zero-length request).",
    "SIGBUS": "SIGBUS: the fault finds no page it may take (every free page is promised to others, or the "
              "owner's copy-on-write took this page from the child).",
    "SIGSEGV": "SIGSEGV: nothing is mapped at that page, or its protection forbids the access.",
}


def kind(op: str) -> str:
    """The operation word of a trace line: 'in p1 touch a 0' -> 'touch'."""
    words = op.split()
    return words[2] if words[0] == "in" else words[0]


def explain(step: Step, before: Counters, field: str, wrote: str, policy: str) -> str:
    """Why ``field`` reads what it does after ``step`` (the learner wrote ``wrote``)."""
    op = kind(step.op)
    if field == "outcome":
        return _OUTCOMES.get(step.error or "ok", "")
    i = FIELDS.index(field)
    was, now = signed(before[i]), signed(step.counters[i])
    said = []
    value = parse_number(wrote)
    if wrote == "?":
        said.append("Not answered.")
    elif value is not None and same_number(value, before[i]) and was != now:
        said.append(f"That is the value before this step; it goes {was} -> {now} here.")
    elif was != now:
        said.append(f"It goes {was} -> {now} at this step.")
    else:
        said.append(f"This step leaves it at {now}.")
    if step.error not in (None, "ok") and op in ("mmap", "touch"):
        said.append(f"The {op} failed ({step.error}), and a failed call changes no counter.")
    else:
        said.append(_RULES[op][field][0].upper() + _RULES[op][field][1:])
    if field == "Rsvd" and op in ("munmap", "exit") and policy == "double-credit":
        said.append("Under double-credit every piece of a split hands back the whole count it copied.")
    if now < 0:
        said.append(f"Below zero: the kernel prints 2^64 - {-now}.")
    return " ".join(said)
