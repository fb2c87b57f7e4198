"""Interval sets over integer seconds, checked against a model of plain sets of points."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import reduce
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openslot.engine.intervals import IntervalSet, at_least, intersect_all, union_all

PROPERTY = settings(max_examples=300, deadline=None, database=None)

# The model: a set of half-open intervals is the set of integer points it covers. Points in a
# small range make collisions, adjacency and containment common.
LOW, HIGH = 0, 200
WINDOW = range(LOW, HIGH)


def points(s: IntervalSet) -> set[int]:
    return {p for start, end in s for p in range(start, end)}


def from_points(covered: set[int]) -> IntervalSet:
    return IntervalSet((p, p + 1) for p in covered)


def assert_normalised(s: IntervalSet) -> None:
    items = s.intervals
    assert isinstance(items, tuple)
    for start, end in items:
        assert type(start) is int
        assert type(end) is int
        assert start < end
    for (_, end), (start, _) in pairwise(items):
        # Sorted, disjoint and not touching: [1, 3) and [3, 5) would be one interval.
        assert end < start


pairs = st.lists(
    st.tuples(st.integers(LOW, HIGH), st.integers(LOW, HIGH)),
    max_size=8,
)
interval_sets = pairs.map(IntervalSet)
bounds = st.integers(LOW - 10, HIGH + 10)


# ---------------------------------------------------------------------------------------------
# unit cases


def test_construction_normalises() -> None:
    s = IntervalSet([(5, 7), (1, 3), (3, 5), (10, 10), (12, 11), (20, 30), (22, 25)])
    assert s.intervals == ((1, 7), (20, 30))
    assert list(s) == [(1, 7), (20, 30)]
    assert len(s) == 2
    assert s
    assert not IntervalSet()
    assert not IntervalSet([(3, 3), (5, 1)])
    assert IntervalSet([[1, 2], [2, 3]]).intervals == ((1, 3),)  # type: ignore[list-item]
    assert IntervalSet(iter([(1, 2)])).intervals == ((1, 2),)


def test_from_sorted_disjoint_is_trusted() -> None:
    items = ((1, 2), (4, 6))
    s = IntervalSet.from_sorted_disjoint(items)
    assert s.intervals is items
    assert s == IntervalSet([(4, 6), (1, 2)])
    assert IntervalSet.from_sorted_disjoint([(1, 2)]).intervals == ((1, 2),)


def test_equality_hash_repr() -> None:
    a = IntervalSet([(1, 3), (3, 5)])
    b = IntervalSet([(1, 5)])
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != IntervalSet([(1, 4)])
    assert a != [(1, 5)]
    assert repr(a) == "IntervalSet([(1, 5)])"
    assert repr(IntervalSet()) == "IntervalSet([])"


def test_is_immutable() -> None:
    s = IntervalSet([(1, 2)])
    with pytest.raises(AttributeError):
        s.other = 1  # type: ignore[attr-defined]


def test_set_operations() -> None:
    a = IntervalSet([(0, 10), (20, 30)])
    b = IntervalSet([(5, 25), (30, 35)])
    assert (a | b).intervals == ((0, 35),)
    assert a.union(b) == a | b
    assert (a & b).intervals == ((5, 10), (20, 25))
    assert a.intersection(b) == a & b
    assert (a - b).intervals == ((0, 5), (25, 30))
    assert a.difference(b) == a - b
    assert (b - a).intervals == ((10, 20), (30, 35))
    # Touching is not overlapping.
    assert not (IntervalSet([(0, 5)]) & IntervalSet([(5, 10)]))
    assert (IntervalSet([(0, 5)]) - IntervalSet([(5, 10)])).intervals == ((0, 5),)


def test_operators_refuse_other_types() -> None:
    s = IntervalSet([(1, 2)])
    with pytest.raises(TypeError):
        s | [(1, 2)]  # type: ignore[operator]
    with pytest.raises(TypeError):
        s & 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        s - None  # type: ignore[operator]


def test_difference_one_interval_spanning_many() -> None:
    a = IntervalSet([(0, 100)])
    b = IntervalSet([(10, 20), (30, 40), (90, 120)])
    assert (a - b).intervals == ((0, 10), (20, 30), (40, 90))
    c = IntervalSet([(0, 5), (10, 15), (20, 25)])
    assert (c - IntervalSet([(3, 22)])).intervals == ((0, 3), (22, 25))


def test_windows() -> None:
    s = IntervalSet([(10, 20), (30, 40)])
    assert s.clip(15, 35).intervals == ((15, 20), (30, 35))
    assert s.clip(0, 100) == s
    assert not s.clip(20, 30)
    assert not s.clip(35, 35)
    assert s.complement_within(0, 50).intervals == ((0, 10), (20, 30), (40, 50))
    assert s.complement_within(15, 35).intervals == ((20, 30),)
    assert not s.complement_within(12, 18)
    assert s.complement_within(20, 30).intervals == ((20, 30),)
    assert not s.complement_within(50, 40)


def test_contains_and_overlaps() -> None:
    s = IntervalSet([(10, 20), (30, 40)])
    assert s.contains_interval(10, 20)
    assert s.contains_interval(12, 18)
    assert not s.contains_interval(9, 20)
    assert not s.contains_interval(10, 21)
    assert not s.contains_interval(15, 35)
    assert s.contains_interval(25, 25)  # the empty interval is in every set
    assert not IntervalSet().contains_interval(1, 2)
    assert s.overlaps(19, 30)
    assert not s.overlaps(20, 30)  # touching on both sides
    assert not s.overlaps(0, 10)
    assert not s.overlaps(15, 15)
    assert not IntervalSet().overlaps(0, 100)
    assert 10 in s
    assert 19 in s
    assert 20 not in s
    assert 9 not in s
    assert "10" not in s


def test_measures_and_transforms() -> None:
    s = IntervalSet([(10, 20), (30, 40)])
    assert s.total() == 20
    assert IntervalSet().total() == 0
    assert s.shift(5).intervals == ((15, 25), (35, 45))
    assert s.shift(0) is s
    assert s.expand(5, 5).intervals == ((5, 45),)
    assert s.expand(0, 9).intervals == ((10, 29), (30, 49))
    assert s.expand(0, 10).intervals == ((10, 50),)
    assert s.expand(3, 0).intervals == ((7, 20), (27, 40))
    assert s.expand(-2, -3).intervals == ((12, 17), (32, 37))
    assert not s.expand(-5, -5)


def test_many_set_operations() -> None:
    a = IntervalSet([(0, 10), (20, 30)])
    b = IntervalSet([(5, 25)])
    c = IntervalSet([(8, 22), (28, 40)])
    assert union_all([a, b, c]).intervals == ((0, 40),)
    assert union_all([]) == IntervalSet()
    assert intersect_all([a, b, c]).intervals == ((8, 10), (20, 22))
    assert intersect_all([a]) == a
    assert intersect_all(iter([a, b])) == a & b
    with pytest.raises(ValueError):
        intersect_all([])


def test_at_least() -> None:
    a = IntervalSet([(0, 10)])
    b = IntervalSet([(5, 15)])
    c = IntervalSet([(8, 20)])
    assert at_least([a, b, c], 1).intervals == ((0, 20),)
    assert at_least([a, b, c], 2).intervals == ((5, 15),)
    assert at_least([a, b, c], 3).intervals == ((8, 10),)
    assert not at_least([a, b, c], 4)
    assert not at_least([], 1)
    # Hand-overs at one instant do not split the result.
    assert at_least([IntervalSet([(0, 5)]), IntervalSet([(5, 10)])], 1).intervals == ((0, 10),)
    assert at_least([IntervalSet([(0, 5)]), IntervalSet([(5, 10)]), IntervalSet([(0, 10)])], 2).intervals == (
        (0, 10),
    )
    # The same set twice counts twice.
    assert at_least([a, a], 2) == a
    with pytest.raises(ValueError):
        at_least([a], 0)


def test_large_sets_are_fast_enough() -> None:
    rng = random.Random(7)
    week = 7 * 24 * 3600
    sets = []
    for _ in range(50):
        starts = sorted(rng.randrange(0, week, 900) for _ in range(400))
        sets.append(IntervalSet((s, s + rng.choice((900, 1800, 3600))) for s in starts))
    union = union_all(sets)
    assert union == reduce(IntervalSet.union, sets)
    assert at_least(sets, 1) == union
    assert at_least(sets, len(sets)) == intersect_all(sets)
    gaps = union.complement_within(0, week)
    assert gaps.total() + union.clip(0, week).total() == week
    assert_normalised(at_least(sets, 10))


# ---------------------------------------------------------------------------------------------
# against the model


@PROPERTY
@given(pairs)
def test_construction_matches_model(raw: list[tuple[int, int]]) -> None:
    s = IntervalSet(raw)
    assert_normalised(s)
    assert points(s) == {p for start, end in raw for p in range(start, end)}
    assert s == from_points(points(s))
    assert IntervalSet.from_sorted_disjoint(s.intervals) == s
    assert s.total() == len(points(s))
    assert bool(s) == bool(points(s))


@PROPERTY
@given(interval_sets, interval_sets)
def test_binary_operations_match_model(a: IntervalSet, b: IntervalSet) -> None:
    for result, expected in [
        (a | b, points(a) | points(b)),
        (a & b, points(a) & points(b)),
        (a - b, points(a) - points(b)),
        (a.union(b), points(a) | points(b)),
        (a.intersection(b), points(a) & points(b)),
        (a.difference(b), points(a) - points(b)),
    ]:
        assert_normalised(result)
        assert points(result) == expected


@PROPERTY
@given(interval_sets, bounds, bounds)
def test_windows_match_model(s: IntervalSet, start: int, end: int) -> None:
    window = set(range(start, end))
    clipped = s.clip(start, end)
    gaps = s.complement_within(start, end)
    assert_normalised(clipped)
    assert_normalised(gaps)
    assert points(clipped) == points(s) & window
    assert points(gaps) == window - points(s)
    assert s.contains_interval(start, end) == (window <= points(s))
    assert s.overlaps(start, end) == bool(window & points(s))


@PROPERTY
@given(interval_sets, st.integers(-10, 10), st.integers(-10, 10), st.integers(-300, 300))
def test_transforms_match_model(s: IntervalSet, before: int, after: int, delta: int) -> None:
    expanded = s.expand(before, after)
    assert_normalised(expanded)
    assert points(expanded) == {p for start, end in s for p in range(start - before, end + after)}
    shifted = s.shift(delta)
    assert_normalised(shifted)
    assert points(shifted) == {p + delta for p in points(s)}


@PROPERTY
@given(interval_sets, st.integers(LOW - 10, HIGH + 10))
def test_membership_matches_model(s: IntervalSet, point: int) -> None:
    assert (point in s) == (point in points(s))


@PROPERTY
@given(st.lists(interval_sets, max_size=6), st.integers(1, 7))
def test_at_least_matches_model(sets: list[IntervalSet], n: int) -> None:
    result = at_least(sets, n)
    assert_normalised(result)
    counts: dict[int, int] = {}
    for s in sets:
        for p in points(s):
            counts[p] = counts.get(p, 0) + 1
    assert points(result) == {p for p, count in counts.items() if count >= n}


# ---------------------------------------------------------------------------------------------
# laws


@PROPERTY
@given(interval_sets, interval_sets, interval_sets)
def test_laws(a: IntervalSet, b: IntervalSet, c: IntervalSet) -> None:
    assert a | b == b | a
    assert a & b == b & a
    assert (a | b) | c == a | (b | c)
    assert (a & b) & c == a & (b & c)
    assert a & (b | c) == (a & b) | (a & c)
    assert a | (b & c) == (a | b) & (a | c)
    assert a | a == a
    assert a & a == a
    assert not (a - a)
    assert a - IntervalSet() == a
    assert IntervalSet() - a == IntervalSet()
    assert (a - b) | (a & b) == a
    assert not ((a - b) & b)
    assert a - (b | c) == (a - b) & (a - c)


@PROPERTY
@given(interval_sets, interval_sets)
def test_de_morgan_within_a_window(a: IntervalSet, b: IntervalSet) -> None:
    def complement(s: IntervalSet) -> IntervalSet:
        return s.complement_within(LOW, HIGH)

    assert complement(a | b) == complement(a) & complement(b)
    assert complement(a & b) == complement(a) | complement(b)
    assert complement(complement(a)) == a.clip(LOW, HIGH)
    assert complement(a) == IntervalSet([(LOW, HIGH)]) - a


@PROPERTY
@given(st.lists(interval_sets, min_size=1, max_size=6))
def test_many_set_operations_fold_the_binary_ones(sets: Sequence[IntervalSet]) -> None:
    assert union_all(sets) == reduce(IntervalSet.union, sets)
    assert intersect_all(sets) == reduce(IntervalSet.intersection, sets)
    assert at_least(sets, 1) == union_all(sets)
    assert at_least(sets, len(sets)) == intersect_all(sets)
    assert_normalised(union_all(sets))
    assert_normalised(intersect_all(sets))
