"""A Fenwick tree of seats per join index: a party's first seat in O(log n).

The roster's seat numbers close up whenever an earlier party leaves (SPEC §2), so
a seat is a prefix sum over join order; keeping it as a tree makes that sum cost
the same on the 10th join as on the 100,000th.
"""

from __future__ import annotations


class SeatIndex:
    """Counts occupied seats by join index, so a party's first seat costs O(log n)."""

    def __init__(self) -> None:
        self.tree = [0] * 64

    @classmethod
    def of_counts(cls, counts: dict[int, int]) -> SeatIndex:
        """The tree of seats per join index, built in O(n) (a snapshot's load, not n adds)."""
        made = cls()
        size = len(made.tree)
        top = max(counts, default=0) + 1
        while size <= top:
            size *= 2
        tree = [0] * size
        for index, seats in counts.items():
            tree[index + 1] += seats
        for i in range(1, size):
            parent = i + (i & -i)
            if parent < size:
                tree[parent] += tree[i]
        made.tree = tree
        return made

    def add(self, index: int, delta: int) -> None:
        i = index + 1
        if i >= len(self.tree):
            self._grow(i)
        tree = self.tree
        while i < len(tree):
            tree[i] += delta
            i += i & -i

    def prefix(self, index: int) -> int:
        """How many seats the members with join index <= ``index`` occupy."""
        i = min(index + 1, len(self.tree) - 1)
        total = 0
        tree = self.tree
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    def _grow(self, needed: int) -> None:
        size = len(self.tree)
        while size <= needed:
            size *= 2
        counts = [0] * size
        old = self.tree
        # recover point counts from the old tree, then rebuild in O(n)
        for i in range(1, len(old)):
            counts[i] = self._point(old, i)
        tree = counts[:]
        for i in range(1, size):
            parent = i + (i & -i)
            if parent < size:
                tree[parent] += tree[i]
        self.tree = tree

    @staticmethod
    def _point(tree: list[int], i: int) -> int:
        value = tree[i]
        stop = i - (i & -i)
        j = i - 1
        while j > stop:
            value -= tree[j]
            j -= j & -j
        return value
