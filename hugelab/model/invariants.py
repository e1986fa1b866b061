"""The kernel's intended invariants on the pool counters, checked on step records.

One checker serves the property tests, ``hugelab hunt`` and the widgets'
warning badge. The counters are read as ``/proc/meminfo`` prints them:

* no counter below zero: an ``unsigned long`` that went below zero prints
  as 2^64 - k, so any value of 2^63 or more is a wrapped negative;
* ``free >= rsvd``: every promised page exists;
* after every process has exited, the pool is bare: nothing in use,
  reserved or surplus (Free == Total, Rsvd == 0, Surp == 0).

And one on the model itself, which no real kernel lets us read: Rsvd is exactly the reservations
the mappings, files and mounts still hold (:func:`held_violations`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hstate import Counters, signed

if TYPE_CHECKING:
    from .machine import Model

WRAPPED = 1 << 63


def violations(c: Counters) -> list[str]:
    """What is wrong with these counters, in words (empty when nothing is)."""
    found = []
    for field, value in c.as_dict().items():
        if value >= WRAPPED:
            found.append(f"{field} below zero: {value} is {signed(value)}")
    if c.free < c.rsvd and c.rsvd < WRAPPED:
        found.append(f"free < rsvd: {c.free} free pages cannot back {c.rsvd} reservations")
    return found


def bare_pool_violations(c: Counters) -> list[str]:
    """What keeps the pool from being bare once every process has gone."""
    found = []
    if c.free != c.total:
        found.append(f"{c.total - c.free} pages still in use with no process left")
    if c.rsvd:
        found.append(f"rsvd {c.rsvd} with no mapping left")
    if c.surp:
        found.append(f"surp {c.surp} with no page in use")
    return found


def held_violations(model: Model) -> list[str]:
    """Rsvd against what the model holds: every private piece's unused reservations, every live
    file's reserved offsets with no page, every mount's minimum, less the pages whose reservation
    comes back only when their last user frees them (the v6.9 restore). Holds in every era whose
    policy says what a piece still holds, the double credit's included: its bug is in what a
    close credits, which this counts from the policy's own truth."""
    rsvd = model.hstate.resv_huge_pages
    held = model.outstanding_reservations() - model.pending_restores()
    return [] if rsvd == held else [f"Rsvd {rsvd} but the mappings, files and mounts hold {held}"]
