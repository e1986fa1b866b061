"""The reservation map (kernel: ``struct resv_map``) and its region calls.

A resv_map is a set of huge-page offsets kept as sorted, disjoint,
coalesced regions ``[from, to)`` (half-open, in huge pages). What an entry
*means* depends on who owns the map, and this is the trap of the whole
subject:

* a **private** mapping's map (hung off the VMA since 84afd99b) records
  offsets whose reservation was **consumed** (the page was instantiated);
* a **shared** mapping's map (hung off the inode) records offsets that are
  **reserved**, now or in the past.

The calls keep the kernel's names and meanings (semantics only; no kernel
code is copied):

* ``region_chg(f, t)``  pages of ``[f, t)`` not yet in the map; the map is
  unchanged, one add is marked in progress.
* ``region_add(f, t)``  add ``[f, t)``; returns the pages newly added.
* ``region_abort(f, t)`` give up an add announced by ``region_chg``.
* ``region_del(f, t)``  remove ``[f, t)``; returns the pages removed.
* ``region_count(f, t)`` pages of ``[f, t)`` that are in the map.

The regions live in a treap keyed by their start, each node carrying the
total length of its subtree, so ``region_count`` is two prefix-sum descents
and ``region_add``/``region_del`` are a split and a merge: logarithmic in
the number of regions (see ``benchmarks/bench_resv_map.py``).
"""

from __future__ import annotations

import random

_priorities = random.Random(84)  # shape only; results never depend on it


class _Node:
    __slots__ = ("start", "end", "prio", "left", "right", "total")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end
        self.prio = _priorities.random()
        self.left: _Node | None = None
        self.right: _Node | None = None
        self.total = end - start


def _update(node: _Node) -> None:
    total = node.end - node.start
    if node.left is not None:
        total += node.left.total
    if node.right is not None:
        total += node.right.total
    node.total = total


def _split(node: _Node | None, key: int) -> tuple[_Node | None, _Node | None]:
    """Split into (regions starting before ``key``, the rest)."""
    if node is None:
        return None, None
    if node.start < key:
        left, right = _split(node.right, key)
        node.right = left
        _update(node)
        return node, right
    left, right = _split(node.left, key)
    node.left = right
    _update(node)
    return left, node


def _merge(left: _Node | None, right: _Node | None) -> _Node | None:
    """Join two treaps; every start in ``left`` is below every start in ``right``."""
    if left is None:
        return right
    if right is None:
        return left
    if left.prio > right.prio:
        left.right = _merge(left.right, right)
        _update(left)
        return left
    right.left = _merge(left, right.left)
    _update(right)
    return right


def _pop_last(node: _Node | None) -> tuple[_Node | None, _Node | None]:
    """Remove the region with the highest start: (rest, removed)."""
    if node is None:
        return None, None
    if node.right is None:
        return node.left, node
    node.right, last = _pop_last(node.right)
    _update(node)
    return node, last


def _last(node: _Node | None) -> _Node | None:
    while node is not None and node.right is not None:
        node = node.right
    return node


def _iter(node: _Node | None):
    stack: list[_Node] = []
    while stack or node is not None:
        while node is not None:
            stack.append(node)
            node = node.left
        node = stack.pop()
        yield node.start, node.end
        node = node.right


class ResvMap:
    """A set of huge-page offsets as regions ``[from, to)``, plus a kref."""

    def __init__(self) -> None:
        self._root: _Node | None = None
        self.refs = 1  # kref: one per VMA piece that points at this map
        self.adds_in_progress = 0

    # -- queries -----------------------------------------------------------
    def region_count(self, f: int, t: int) -> int:
        """Pages of ``[f, t)`` that are in the map.

        One descent: while ``f`` and ``t`` lead the same way nothing inside
        ``[f, t)`` is passed; at the node where they part, the answer is the
        part of its left subtree at or above ``f``, its own part below ``t``,
        and the part of its right subtree below ``t``.
        """
        if t <= f:
            return 0
        node = self._root
        while node is not None:
            if node.start < f:
                if node.end > f:  # this region reaches into [f, t)
                    covered = min(node.end, t) - f
                    return covered + self._below(node.right, t)
                node = node.right
            elif node.start >= t:
                node = node.left
            else:  # f <= node.start < t: the paths part here
                covered = min(node.end, t) - node.start
                left = node.left
                if left is not None:
                    covered += left.total - self._below(left, f)
                return covered + self._below(node.right, t)
        return 0

    @staticmethod
    def _below(node: "_Node | None", x: int) -> int:
        """Pages of the regions in this subtree that lie below ``x``."""
        covered = 0
        while node is not None:
            if node.start < x:
                if node.left is not None:
                    covered += node.left.total
                covered += min(node.end, x) - node.start
                node = node.right
            else:
                node = node.left
        return covered

    def region_chg(self, f: int, t: int) -> int:
        """Pages of ``[f, t)`` not in the map; marks one add in progress."""
        self.adds_in_progress += 1
        return (t - f) - self.region_count(f, t)

    def regions(self) -> list[tuple[int, int]]:
        """The regions ``[from, to)`` in order (for pictures and tests)."""
        return list(_iter(self._root))

    def offsets(self) -> set[int]:
        return {i for f, t in _iter(self._root) for i in range(f, t)}

    def __len__(self) -> int:
        """Number of pages in the map."""
        return self._root.total if self._root is not None else 0

    # -- changes -----------------------------------------------------------
    def region_add(self, f: int, t: int) -> int:
        """Add ``[f, t)``, coalescing with touching regions; pages added."""
        if self.adds_in_progress:
            self.adds_in_progress -= 1
        if t <= f:
            return 0
        before = len(self)
        left, rest = _split(self._root, f)
        # A region starting before f that reaches f touches [f, t): absorb it.
        prev = _last(left)
        if prev is not None and prev.end >= f:
            left, prev = _pop_last(left)
            f = prev.start
            t = max(t, prev.end)
        # Every region starting in [f, t] overlaps or touches: absorb them.
        middle, right = _split(rest, t + 1)
        last = _last(middle)
        if last is not None:
            t = max(t, last.end)
        self._root = _merge(_merge(left, _Node(f, t)), right)
        return len(self) - before

    def region_abort(self, f: int, t: int) -> None:
        """Forget an add announced by ``region_chg`` that will not happen."""
        if self.adds_in_progress:
            self.adds_in_progress -= 1

    def region_del(self, f: int, t: int) -> int:
        """Remove ``[f, t)`` from the map; pages removed."""
        if t <= f:
            return 0
        before = len(self)
        left, rest = _split(self._root, f)
        keep_left: list[_Node] = []
        prev = _last(left)
        if prev is not None and prev.end > f:
            # A region straddles f: keep its part below f (and above t).
            left, prev = _pop_last(left)
            keep_left.append(_Node(prev.start, f))
            if prev.end > t:
                keep_left.append(_Node(t, prev.end))
        middle, right = _split(rest, t)
        last = _last(middle)
        if last is not None and last.end > t:
            keep_left.append(_Node(t, last.end))
        for node in keep_left:
            left = _merge(left, node)
        self._root = _merge(left, right)
        return before - len(self)

    def __repr__(self) -> str:
        inner = ", ".join(f"[{f}, {t})" for f, t in self.regions())
        return f"ResvMap({inner})"
