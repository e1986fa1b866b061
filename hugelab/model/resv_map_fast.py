"""The reservation map kept for speed: :class:`FastResvMap`, what the model's maps are.

The same calls with the same answers as :class:`~hugelab.model.resv_map.ResvMap`
(read that one: it is the kernel's region list, ``struct resv_map``, each
call walking it), kept in a structure whose calls cost about the same with
100 regions as with 100,000 (``benchmarks/bench_resv_map.py``); random
traces make maps that large, and a walk of the list per fault would then
dominate a replay. ``tests/test_resv_map.py`` holds the two equal, call by
call, on random sequences.

The regions ``[from, to)`` are kept as a *blocked sorted list*: consecutive
runs of at most ``2 * load`` regions, each run two plain lists (starts,
ends). Finding an offset is two C-level bisections (which run, then where
in it); the pages held by whole runs before a point come from a Fenwick tree
over the runs' page totals. So a call costs a few bisections, a logarithmic
walk of the Fenwick tree and an edit of one short run, whatever the number
of regions. A run that grows past ``2 * load`` is cut in two, and that (like
emptying a run) rebuilds the run index: linear in the number of runs, and
amortized over the ``load`` or so calls it takes to fill or empty a run.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from .resv_map import ResvMap


def _pages(starts: list[int], ends: list[int]) -> int:
    return sum(ends) - sum(starts)


def resv_map_alloc() -> ResvMap:
    """A new, empty map, as the model makes them (kernel: ``resv_map_alloc``): a :class:`FastResvMap`."""
    return FastResvMap()


class FastResvMap(ResvMap):
    """:class:`ResvMap`'s calls and answers over a blocked sorted list (a subclass, so that
    ``isinstance(x, ResvMap)`` holds for both); it keeps no ``entries``."""

    def __init__(self, load: int = 64) -> None:
        self.refs = 1  # kref: one per VMA piece that points at this map
        self.adds_in_progress = 0
        self._load = load  # small values are for tests that cross run edges
        # Run k holds the regions _starts[k][i], _ends[k][i]. There is always
        # at least one run; only a lone run may be empty.
        self._starts: list[list[int]] = [[]]
        self._ends: list[list[int]] = [[]]
        self._totals: list[int] = [0]  # pages in each run
        self._firsts: list[int] = [0]  # first start of each run, to bisect
        self._tree: list[int] = [0, 0]  # Fenwick tree over _totals (1-based)
        self._size = 0  # pages in the map

    # -- finding things ----------------------------------------------------
    def _locate(self, x: int) -> tuple[int, int]:
        """(run, index) of the last region starting at or before ``x``.

        The index is -1 when no region starts at or before ``x``.
        """
        k = bisect_right(self._firsts, x) - 1
        if k < 0:
            return 0, -1
        return k, bisect_right(self._starts[k], x) - 1

    def _run_count(self, k: int, f: int, t: int) -> int:
        """Pages of run ``k`` inside ``[f, t)``; sums only the regions inside."""
        starts, ends = self._starts[k], self._ends[k]
        i = bisect_right(starts, f) - 1  # the last region starting at or before f
        j = bisect_left(starts, t) - 1  # the last region starting before t
        if j < 0:
            return 0
        if i == j:
            return max(0, min(ends[i], t) - f)
        # i < j: region i (if any) ends before region i+1 starts, so before t
        covered = max(0, ends[i] - f) if i >= 0 else 0
        covered += sum(ends[i + 1:j]) - sum(starts[i + 1:j])
        return covered + min(ends[j], t) - starts[j]

    def _runs_before(self, k: int) -> int:
        """Pages of runs ``0 .. k-1`` (a Fenwick prefix sum)."""
        tree, total = self._tree, 0
        while k:
            total += tree[k]
            k &= k - 1
        return total

    # -- queries -----------------------------------------------------------
    def region_count(self, f: int, t: int) -> int:
        """Pages of ``[f, t)`` that are in the map."""
        if t <= f:
            return 0
        firsts = self._firsts
        kt = bisect_left(firsts, t) - 1  # the last run starting before t
        if kt < 0:
            return 0
        kf = max(bisect_right(firsts, f) - 1, 0)
        if kf == kt:  # one run: the Fenwick tree is not needed
            return self._run_count(kt, f, t)
        between = self._runs_before(kt) - self._runs_before(kf + 1) if kt > kf + 1 else 0
        return self._run_count(kf, f, t) + between + self._run_count(kt, f, t)

    def regions(self) -> list[tuple[int, int]]:
        """The regions ``[from, to)`` in order (for pictures and tests)."""
        return [r for starts, ends in zip(self._starts, self._ends) for r in zip(starts, ends)]

    def __len__(self) -> int:
        """Number of pages in the map."""
        return self._size

    # -- changes -----------------------------------------------------------
    def region_add(self, f: int, t: int) -> int:
        """Add ``[f, t)``, coalescing with touching regions; pages added."""
        if self.adds_in_progress:
            self.adds_in_progress -= 1
        if t <= f:
            return 0
        k0, i0 = self._locate(f)
        # A region starting at or before f that reaches f touches [f, t).
        if i0 >= 0 and self._ends[k0][i0] >= f:
            f = self._starts[k0][i0]
        else:
            i0 += 1
        # Every region starting in [f, t] overlaps or touches: absorb them.
        k1, i1 = self._locate(t)
        if (k1, i1) >= (k0, i0):
            t = max(t, self._ends[k1][i1])
        return self._replace(k0, i0, k1, i1 + 1, [f], [t])

    def region_del(self, f: int, t: int) -> int:
        """Remove ``[f, t)`` from the map; pages removed."""
        if t <= f:
            return 0
        keep_starts: list[int] = []
        keep_ends: list[int] = []
        k0, i0 = self._locate(f)
        if i0 >= 0 and self._ends[k0][i0] > f:
            if self._starts[k0][i0] < f:  # it straddles f: keep its part below f
                keep_starts.append(self._starts[k0][i0])
                keep_ends.append(f)
        else:
            i0 += 1
        k1, i1 = self._locate(t - 1)  # the last region starting inside [f, t)
        if (k1, i1) < (k0, i0):
            return 0
        if self._ends[k1][i1] > t:  # it straddles t: keep its part above t
            keep_starts.append(t)
            keep_ends.append(self._ends[k1][i1])
        return -self._replace(k0, i0, k1, i1 + 1, keep_starts, keep_ends)

    def _replace(self, k0: int, i0: int, k1: int, i1: int,
                 new_starts: list[int], new_ends: list[int]) -> int:
        """Replace the regions from (k0, i0) up to, not including, (k1, i1).

        Returns the change in pages.
        """
        starts = self._starts
        if k0 == k1:
            changes = [(k0, self._edit_run(k0, i0, i1, new_starts, new_ends))]
        else:  # the edit spans runs: trim the first and the last, empty those between
            changes = [(k0, self._edit_run(k0, i0, len(starts[k0]), new_starts, new_ends))]
            changes += [(k, self._edit_run(k, 0, len(starts[k]), [], [])) for k in range(k0 + 1, k1)]
            changes.append((k1, self._edit_run(k1, 0, i1, [], [])))
        delta = 0
        for k, change in changes:
            self._totals[k] += change
            delta += change
        self._size += delta
        if any(not starts[k] or len(starts[k]) > 2 * self._load for k, _ in changes):
            self._reindex()
        else:
            for k, change in changes:
                self._firsts[k] = starts[k][0]
                self._tree_add(k, change)
        return delta

    def _edit_run(self, k: int, i: int, j: int, new_starts: list[int], new_ends: list[int]) -> int:
        """Replace regions ``i .. j-1`` of run ``k``; the change in pages."""
        run_s, run_e = self._starts[k], self._ends[k]
        delta = _pages(new_starts, new_ends) - _pages(run_s[i:j], run_e[i:j])
        run_s[i:j] = new_starts
        run_e[i:j] = new_ends
        return delta

    def _tree_add(self, k: int, delta: int) -> None:
        """Run ``k`` gained ``delta`` pages: update the Fenwick tree."""
        tree, i = self._tree, k + 1
        while delta and i < len(tree):
            tree[i] += delta
            i += i & -i

    def _reindex(self) -> None:
        """Drop empty runs, cut long ones in two, rebuild the run index.

        Linear in the number of runs (not regions): only a cut run is summed.
        """
        starts, ends, totals = [], [], []
        for run_s, run_e, total in zip(self._starts, self._ends, self._totals):
            if len(run_s) > 2 * self._load:
                half = len(run_s) // 2
                head_s, head_e = run_s[:half], run_e[:half]
                head = _pages(head_s, head_e)
                starts.append(head_s)
                ends.append(head_e)
                totals.append(head)
                run_s, run_e, total = run_s[half:], run_e[half:], total - head
            if run_s:
                starts.append(run_s)
                ends.append(run_e)
                totals.append(total)
        if not starts:
            starts, ends, totals = [[]], [[]], [0]
        self._starts, self._ends, self._totals = starts, ends, totals
        self._firsts = [run[0] if run else 0 for run in starts]
        tree = [0, *totals]
        for i in range(1, len(tree)):
            parent = i + (i & -i)
            if parent < len(tree):
                tree[parent] += tree[i]
        self._tree = tree
