"""Sets of half-open intervals ``[start, end)`` over integer epoch seconds.

The availability solver works on plain ints rather than datetimes: comparisons and arithmetic on
ints are several times faster, and every instant it handles is a whole second anyway.

An `IntervalSet` is immutable and always normalised: its intervals are sorted, non-empty, and
neither overlap nor touch (``[1, 3)`` and ``[3, 5)`` are stored as ``[1, 5)``), so two sets are
equal exactly when they cover the same instants.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from operator import itemgetter

__all__ = ["Interval", "IntervalSet", "at_least", "intersect_all", "union_all"]

Interval = tuple[int, int]

_start = itemgetter(0)
_end = itemgetter(1)


def _coalesce(ordered: Iterable[Interval]) -> tuple[Interval, ...]:
    """Merge intervals already sorted by start, dropping empty ones."""
    out: list[Interval] = []
    current_start = current_end = 0
    open_ = False
    for start, end in ordered:
        if start >= end:
            continue
        if open_ and start <= current_end:
            if end > current_end:
                current_end = end
        else:
            if open_:
                out.append((current_start, current_end))
            current_start, current_end, open_ = start, end, True
    if open_:
        out.append((current_start, current_end))
    return tuple(out)


class IntervalSet:
    """An immutable, normalised set of half-open integer intervals."""

    __slots__ = ("_hash", "_items")

    _items: tuple[Interval, ...]
    _hash: int | None

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        # Pairs may come as lists; store tuples so that equality and hashing work.
        self._items = _coalesce(sorted((s, e) for s, e in intervals))
        self._hash = None

    @classmethod
    def from_sorted_disjoint(cls, intervals: Iterable[Interval]) -> IntervalSet:
        """Trust `intervals` to be normalised already (sorted, non-empty, apart); no checks."""
        result = cls.__new__(cls)
        result._items = intervals if isinstance(intervals, tuple) else tuple(intervals)
        result._hash = None
        return result

    # -- container protocol ------------------------------------------------------------------

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return self._items

    def __iter__(self) -> Iterator[Interval]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._items)
        return self._hash

    def __repr__(self) -> str:
        return f"IntervalSet({list(self._items)!r})"

    def __contains__(self, point: object) -> bool:
        if not isinstance(point, int):
            return False
        i = bisect_right(self._items, point, key=_start) - 1
        return i >= 0 and point < self._items[i][1]

    # -- set operations ----------------------------------------------------------------------

    def union(self, other: IntervalSet) -> IntervalSet:
        if not other._items:
            return self
        if not self._items:
            return other
        # Timsort finds the two sorted runs and merges them in linear time.
        return IntervalSet.from_sorted_disjoint(_coalesce(sorted(self._items + other._items)))

    def intersection(self, other: IntervalSet) -> IntervalSet:
        a, b = self._items, other._items
        out: list[Interval] = []
        i = j = 0
        while i < len(a) and j < len(b):
            a_start, a_end = a[i]
            b_start, b_end = b[j]
            start = a_start if a_start > b_start else b_start
            end = a_end if a_end < b_end else b_end
            if start < end:
                out.append((start, end))
            if a_end < b_end:
                i += 1
            else:
                j += 1
        # Pieces of two normalised sets are already sorted and apart: each lies inside one
        # interval of a and one of b, and consecutive pieces are separated by a gap of one of them.
        return IntervalSet.from_sorted_disjoint(tuple(out))

    def difference(self, other: IntervalSet) -> IntervalSet:
        b = other._items
        if not b or not self._items:
            return self
        out: list[Interval] = []
        j = 0
        for start, end in self._items:
            # Intervals of b that end before this one starts cannot cut it or any later one.
            while j < len(b) and b[j][1] <= start:
                j += 1
            k = j
            cursor = start
            while k < len(b) and b[k][0] < end:
                b_start, b_end = b[k]
                if b_start > cursor:
                    out.append((cursor, b_start))
                if b_end > cursor:
                    cursor = b_end
                if cursor >= end:
                    break
                k += 1
            if cursor < end:
                out.append((cursor, end))
        return IntervalSet.from_sorted_disjoint(tuple(out))

    def __or__(self, other: object) -> IntervalSet:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self.union(other)

    def __and__(self, other: object) -> IntervalSet:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self.intersection(other)

    def __sub__(self, other: object) -> IntervalSet:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self.difference(other)

    # -- windows -----------------------------------------------------------------------------

    def _span(self, start: int, end: int) -> tuple[int, int]:
        """Indices [lo, hi) of the intervals that share at least one instant with [start, end)."""
        lo = bisect_right(self._items, start, key=_end)
        hi = bisect_left(self._items, end, key=_start, lo=lo)
        return lo, hi

    def clip(self, start: int, end: int) -> IntervalSet:
        """The part of this set inside ``[start, end)``."""
        if start >= end:
            return _EMPTY
        lo, hi = self._span(start, end)
        if lo >= hi:
            return _EMPTY
        inside = list(self._items[lo:hi])
        first_start, first_end = inside[0]
        if first_start < start:
            inside[0] = (start, first_end)
        last_start, last_end = inside[-1]
        if last_end > end:
            inside[-1] = (last_start, end)
        return IntervalSet.from_sorted_disjoint(tuple(inside))

    def complement_within(self, start: int, end: int) -> IntervalSet:
        """The gaps of this set inside ``[start, end)``."""
        if start >= end:
            return _EMPTY
        lo, hi = self._span(start, end)
        out: list[Interval] = []
        cursor = start
        for i in range(lo, hi):
            s, e = self._items[i]
            if s > cursor:
                out.append((cursor, s))
            cursor = e
        if cursor < end:
            out.append((cursor, end))
        return IntervalSet.from_sorted_disjoint(tuple(out))

    def contains_interval(self, start: int, end: int) -> bool:
        """Whether every instant of ``[start, end)`` is in the set (vacuously true when empty)."""
        if start >= end:
            return True
        i = bisect_right(self._items, start, key=_start) - 1
        return i >= 0 and self._items[i][1] >= end

    def overlaps(self, start: int, end: int) -> bool:
        """Whether at least one instant of ``[start, end)`` is in the set."""
        if start >= end:
            return False
        lo, hi = self._span(start, end)
        return lo < hi

    # -- measures and transforms -------------------------------------------------------------

    def total(self) -> int:
        """The number of seconds covered."""
        return sum(e - s for s, e in self._items)

    def shift(self, delta: int) -> IntervalSet:
        if not delta:
            return self
        return IntervalSet.from_sorted_disjoint(tuple((s + delta, e + delta) for s, e in self._items))

    def expand(self, before: int, after: int) -> IntervalSet:
        """Each interval grown by `before` at its start and `after` at its end (buffers).

        Negative amounts shrink each interval on its own; one that vanishes is dropped.
        """
        if not before and not after:
            return self
        # The same amounts for every interval keep starts in order, so one linear pass merges.
        return IntervalSet.from_sorted_disjoint(_coalesce((s - before, e + after) for s, e in self._items))


_EMPTY = IntervalSet.from_sorted_disjoint(())


def union_all(sets: Iterable[IntervalSet]) -> IntervalSet:
    """The instants covered by any of `sets`."""
    # One sort of everything: Timsort merges the already-sorted runs, in C.
    return IntervalSet.from_sorted_disjoint(_coalesce(sorted(chain.from_iterable(s._items for s in sets))))


def intersect_all(sets: Iterable[IntervalSet]) -> IntervalSet:
    """The instants covered by every one of `sets`; there must be at least one set."""
    ordered = sorted(sets, key=len)
    if not ordered:
        raise ValueError("intersect_all() needs at least one set")
    # Smallest first keeps every intermediate result small and stops early once it is empty.
    result = ordered[0]
    for other in ordered[1:]:
        if not result:
            break
        result = result & other
    return result


def at_least(sets: Sequence[IntervalSet], n: int) -> IntervalSet:
    """The instants covered by at least `n` of `sets` (``n >= 1``): the "N of M available" rule."""
    if n < 1:
        raise ValueError(f"at_least() needs n >= 1, got {n}")
    if n > len(sets):
        return _EMPTY
    if n == 1:
        return union_all(sets)
    # Sweep over every endpoint. Within one normalised set the intervals are apart, so the number
    # of sets covering an instant is the number of intervals covering it.
    starts = sorted(chain.from_iterable(map(_start, s._items) for s in sets))
    ends = sorted(chain.from_iterable(map(_end, s._items) for s in sets))
    out: list[Interval] = []
    count = 0
    i = j = 0
    opened = 0
    n_starts = len(starts)
    while j < len(ends):
        x = ends[j] if i >= n_starts or ends[j] <= starts[i] else starts[i]
        before = count
        while j < len(ends) and ends[j] == x:
            count -= 1
            j += 1
        while i < n_starts and starts[i] == x:
            count += 1
            i += 1
        if before < n <= count:
            opened = x
        elif count < n <= before:
            out.append((opened, x))
    # All events at one instant are applied together, so the pieces are already apart.
    return IntervalSet.from_sorted_disjoint(tuple(out))
