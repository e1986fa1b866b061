"""The kernel model: hugetlb reservation accounting as ``mm/hugetlb.c`` and ``fs/hugetlbfs`` do it.

One module per kernel concept, named in the kernel's own terms:

- :mod:`.hstate`: the pool of one page size (``struct hstate``) and its counters, ``mm/hugetlb.c``.
- :mod:`.resv_map`: the reservation map (``struct resv_map``) and its region calls
  (``region_add``, ``region_chg``, ``region_del``, ``region_count``), ``mm/hugetlb.c``.
- :mod:`.reservation`: a VMA's view of its reservation map (``vma_needs_reservation`` and
  friends), ``mm/hugetlb.c``.
- :mod:`.vma`: huge pages, the files behind mappings and ``struct vm_area_struct``.
- :mod:`.mm`: a process and its address space (``task_struct`` + ``mm_struct``).
- :mod:`.subpool`: a mount's page budget (``struct hugepage_subpool``), ``mm/hugetlb.c``.
- :mod:`.inode`: a hugetlbfs inode's map, pages and size, ``fs/hugetlbfs/inode.c``.
- :mod:`.hugetlbfs`: mounts, files, memfds, truncate, fallocate, hole punch, ``fs/hugetlbfs/inode.c``.
- :mod:`.shm`: System V segments with SHM_HUGETLB, ``ipc/shm.c``.
- :mod:`.invariants`: what the counters must always satisfy.
- :mod:`.policies`: one object per kernel era, each naming the commit or release it reproduces.
- :mod:`.machine`: :class:`Model`, the modelled machine a trace drives (processes, mappings,
  faults, the pool) for one policy; the real kernels in :mod:`hugelab.realkernel` are machines
  behind the same seam.

This package is the wing's face: notebooks and tests import what they use from here.
"""

from .hstate import Counters, show, u64
from .machine import Model
from .policies import DEFAULT, POLICIES, get_policy
from .resv_map import ResvMap

__all__ = ["DEFAULT", "POLICIES", "Counters", "Model", "ResvMap", "get_policy", "show", "u64"]
