"""A VMA's reservation map, and the one dispatch that reads and changes it for a fault.

The kernel finds a VMA's map in one place (``vma_resv_map``) and touches it,
one page at a time, through one function (``__vma_reservation_common``)
behind four names. hugelab does the same, so that every era asks the same
question the same way:

==========================  =========================  ==========================
call                        shared map (*reserved*)    private map (*consumed*)
==========================  =========================  ==========================
``vma_needs_reservation``   ``region_chg``             ``region_chg``, inverted
``vma_commit_reservation``  ``region_add``             ``region_add``, inverted
``vma_end_reservation``     ``region_abort``           ``region_abort``
``vma_add_reservation``     ``region_add``             ``region_abort`` + ``region_del``
==========================  =========================  ==========================

Each returns what the kernel's returns: for needs (and commit), 1 when the
page at ``idx`` has no reservation to use, 0 when it has one. A private
map's entries mean the opposite of a shared map's (an entry is a
reservation already used), hence the inversion. A VMA with no map (a
forked child's private VMA, a MAP_NORESERVE private mapping, any private
VMA before 84afd99b) never has a reservation: 1.

Every call covers the one page ``[idx, idx + 1)``.
"""

from __future__ import annotations

from .resv_map import ResvMap
from .vma import VMA

# kernel: enum vma_resv_mode (VMA_DEL_RESV, for error paths hugelab has not, is left out)
VMA_NEEDS_RESV, VMA_COMMIT_RESV, VMA_END_RESV, VMA_ADD_RESV = range(4)


def vma_resv_map(vma: VMA) -> ResvMap | None:
    """The map that holds ``vma``'s reservations, if it has one (kernel: ``vma_resv_map``).

    Shared: the file's map (kernel: the inode's). Private: the map the owner's
    VMA pieces share since 84afd99b; None for a child, a MAP_NORESERVE
    mapping, or an era that keeps a count instead.
    """
    if vma.shared:
        return vma.file.resv_map
    resv = vma.private_data
    return resv if isinstance(resv, ResvMap) else None


def vma_reservation_common(vma: VMA, idx: int, mode: int) -> int:
    """One page's reservation call, ``mode`` one of ``VMA_*_RESV`` (kernel: ``__vma_reservation_common``)."""
    resv = vma_resv_map(vma)
    if resv is None:
        return 1
    shared = vma.shared
    end = idx + 1
    if mode == VMA_NEEDS_RESV:
        ret = resv.region_chg(idx, end)
    elif mode == VMA_COMMIT_RESV:
        ret = resv.region_add(idx, end)
    elif mode == VMA_END_RESV:
        resv.region_abort(idx, end)
        ret = 0
    elif mode == VMA_ADD_RESV:
        if shared:
            ret = resv.region_add(idx, end)
        else:
            resv.region_abort(idx, end)
            ret = resv.region_del(idx, end)
    else:
        raise ValueError(f"not a vma_resv_mode: {mode!r}")
    if shared:
        return ret
    # A private map records what was consumed: an entry means no reservation left.
    return 0 if ret > 0 else 1


# The four names the kernel calls (static inline wrappers of the one function there too).


def vma_needs_reservation(vma: VMA, idx: int) -> int:
    """1 when a fault at ``idx`` has no reservation to use, 0 when it has one; announces an add
    (kernel: ``vma_needs_reservation``)."""
    return vma_reservation_common(vma, idx, VMA_NEEDS_RESV)


def vma_commit_reservation(vma: VMA, idx: int) -> int:
    """The fault got its page: record ``idx`` in the map, the add announced by needs
    (kernel: ``vma_commit_reservation``)."""
    return vma_reservation_common(vma, idx, VMA_COMMIT_RESV)


def vma_end_reservation(vma: VMA, idx: int) -> int:
    """The fault failed: forget the add announced by needs (kernel: ``vma_end_reservation``)."""
    return vma_reservation_common(vma, idx, VMA_END_RESV)


def vma_add_reservation(vma: VMA, idx: int) -> int:
    """Give ``idx`` its reservation back; private: the offset is no longer consumed
    (kernel: ``vma_add_reservation``)."""
    return vma_reservation_common(vma, idx, VMA_ADD_RESV)
