"""The availability solver: against the brute-force oracle, general properties, and hand-worked cases."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise

from hypothesis import given, settings, target
from hypothesis import strategies as st

from openslot.engine.availability import (
    AvailabilityQuery,
    Available,
    Group,
    Member,
    ResponseFormat,
    solve,
)
from openslot.engine.intervals import IntervalSet
from tests.engine.oracle import MINUTE, brute_solve, can_attend, query_window

PROPERTY = settings(max_examples=150, deadline=None, database=None)

Result = tuple[int, int, tuple[str, ...]]

PERIODS = ResponseFormat.PERIODS
SLOTS = ResponseFormat.SLOTS
OVERLAPPING = ResponseFormat.OVERLAPPING_SLOTS
DEFAULT_STEP = 15 * MINUTE


def normalised(results: Sequence[Available]) -> list[Result]:
    """Results with participants as a sorted tuple: the order of members is not part of the answer."""
    return [(r.start, r.end, tuple(sorted(r.subs))) for r in results]


# ---------------------------------------------------------------------------------------------
# Random queries on a minute grid

# A Monday midnight UTC, on the grid of every start interval used here.
BASE = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())
SPAN = 2 * 24 * 60  # minutes


def _at_minute(minutes: int) -> int:
    return BASE + minutes * MINUTE


def _spans(
    *, min_size: int, max_size: int, low: int, high: int, max_length: int
) -> st.SearchStrategy[list[tuple[int, int]]]:
    pairs = st.lists(
        st.tuples(st.integers(low, high), st.integers(1, max_length)), min_size=min_size, max_size=max_size
    )
    return pairs.map(lambda ps: [(_at_minute(a), _at_minute(a + length)) for a, length in ps])


busy_spans = _spans(min_size=0, max_size=5, low=-180, high=SPAN + 180, max_length=240)
random_spans = _spans(min_size=0, max_size=4, low=0, high=SPAN, max_length=900)
# Working-hours-like blocks, at most one a day, so that different members' available times overlap.
_block = st.tuples(st.integers(300, 780), st.integers(120, 720))
day_spans = st.tuples(st.none() | _block, _block, st.none() | _block).map(
    lambda blocks: [
        (_at_minute(day * 1440 + a), _at_minute(day * 1440 + a + length))
        for day, block in zip((0, 1, 1), blocks, strict=True)
        if block is not None
        for a, length in [block]
    ]
)
available_spans = st.sampled_from(["none", "none", "days", "random"]).flatmap(
    lambda kind: {"none": st.none(), "days": day_spans, "random": random_spans}[kind]
)
period_spans = st.sampled_from(["whole", "days", "random"]).flatmap(
    lambda kind: {
        "whole": st.just([(_at_minute(0), _at_minute(SPAN))]),
        "days": day_spans,
        "random": _spans(min_size=1, max_size=3, low=0, high=SPAN - 30, max_length=1440),
    }[kind]
)
minutes_duration = st.sampled_from([15, 30, 45, 60, 90, 120]) | st.integers(1, 240)
minutes_buffer = st.sampled_from([0, 0, 5, 10, 15, 30]) | st.integers(0, 120)


@st.composite
def queries(
    draw: st.DrawFn,
    *,
    formats: Sequence[ResponseFormat] = tuple(ResponseFormat),
    periods_start_interval: bool = True,
    candidates: bool = True,
) -> AvailabilityQuery:
    """A small random query. A sub always names the same member, who may be in several groups."""
    groups: list[Group] = []
    created: list[Member] = []
    for _ in range(draw(st.integers(1, 3))):
        members: list[Member] = []
        for _ in range(draw(st.integers(1, 5))):
            # Now and then the same person again, from an earlier group.
            earlier = [m for m in created if m not in members]
            if earlier and draw(st.integers(0, 7)) == 3:
                members.append(draw(st.sampled_from(earlier)))
                continue
            busy = draw(busy_spans)
            available = draw(available_spans)
            member = Member(
                sub=f"m{len(created)}",
                busy=IntervalSet(busy),
                available=None if available is None else IntervalSet(available),
            )
            created.append(member)
            members.append(member)
        required = draw(st.none() | st.integers(1, len(members) + 1))
        groups.append(Group(tuple(members), required))
    response_format = draw(st.sampled_from(formats))
    step = draw(st.sampled_from([None, 5, 15, 30, 60]))
    if response_format is PERIODS and not periods_start_interval:
        step = None
    candidate_starts = None
    if candidates and draw(st.integers(0, 5)) == 3:
        # Mostly daytime starts on a five-minute grid, where the day blocks are; some anywhere.
        daytime = st.tuples(st.integers(0, 1), st.integers(60, 240)).map(lambda p: p[0] * 1440 + p[1] * 5)
        picked = draw(st.lists(daytime | st.integers(-60, SPAN), max_size=12))
        candidate_starts = tuple(_at_minute(m) for m in picked)
    return AvailabilityQuery(
        groups=tuple(groups),
        query_periods=IntervalSet(draw(period_spans)),
        duration=draw(minutes_duration) * MINUTE,
        buffer_before=draw(minutes_buffer) * MINUTE,
        buffer_after=draw(minutes_buffer) * MINUTE,
        start_interval=None if step is None else step * MINUTE,
        response_format=response_format,
        max_results=draw(st.just(512) | st.integers(1, 8)),
        candidate_starts=candidate_starts,
    )


def _members(query: AvailabilityQuery) -> dict[str, Member]:
    return {member.sub: member for group in query.groups for member in group.members}


def _needed(group: Group) -> int:
    size = len(group.members)
    return size if group.required is None else min(group.required, size)


def _inside(start: int, end: int, intervals: IntervalSet) -> bool:
    return any(low <= start and end <= high for low, high in intervals)


# ---------------------------------------------------------------------------------------------
# The solver against the oracle


@settings(PROPERTY, max_examples=250)
@given(queries(periods_start_interval=False))
def test_solver_matches_oracle(query: AvailabilityQuery) -> None:
    expected = brute_solve(query)
    # Steer part of the search towards queries with many results.
    target(float(len(expected)), label="results")
    assert normalised(solve(query)) == normalised(expected)


@settings(PROPERTY)
@given(queries(formats=[PERIODS], candidates=False))
def test_periods_with_start_interval_match_oracle(query: AvailabilityQuery) -> None:
    assert normalised(solve(query)) == normalised(brute_solve(query))


@settings(PROPERTY, max_examples=100)
@given(queries(formats=[PERIODS], candidates=False), st.sampled_from([5, 15, 30, 60]))
def test_periods_with_start_interval_no_longer_than_duration(query: AvailabilityQuery, step: int) -> None:
    """Where the solver agrees with the oracle today: bounds when step <= duration; participants ⊇."""
    query = replace(query, start_interval=step * MINUTE, duration=max(query.duration, step * MINUTE))
    got = normalised(solve(query))
    expected = normalised(brute_solve(query))
    assert [r[:2] for r in got] == [r[:2] for r in expected]
    for (_, _, subs), (_, _, expected_subs) in zip(got, expected, strict=True):
        assert set(expected_subs) <= set(subs)


# ---------------------------------------------------------------------------------------------
# Properties


@PROPERTY
@given(queries())
def test_results_are_well_formed(query: AvailabilityQuery) -> None:
    results = solve(query)
    duration = query.duration
    window = IntervalSet(query_window(query))
    members = _members(query)
    assert len(results) <= query.max_results
    for result in results:
        assert result.start < result.end
        assert _inside(result.start, result.end, window)
        assert len(set(result.subs)) == len(result.subs)
        assert set(result.subs) <= members.keys()
    starts = [r.start for r in results]
    assert starts == sorted(starts)

    if query.candidate_starts is not None:
        assert len(set(starts)) == len(starts)
        assert set(starts) <= set(query.candidate_starts)
        assert all(r.end - r.start == duration for r in results)
    elif query.response_format is PERIODS:
        assert all(r.end - r.start >= duration for r in results)
        # Maximal: apart, not even touching.
        assert all(a.end < b.start for a, b in pairwise(results))
        if query.start_interval:
            assert all(r.start % query.start_interval == 0 for r in results)
    else:
        step = query.start_interval or DEFAULT_STEP
        assert all(r.end - r.start == duration for r in results)
        assert all(r.start % step == 0 for r in results)
        if query.response_format is SLOTS:
            assert all(a.end <= b.start for a, b in pairwise(results))
        else:
            assert all(a.start < b.start for a, b in pairwise(results))


@PROPERTY
@given(queries(formats=[SLOTS, OVERLAPPING]))
def test_slots_list_exactly_the_members_free_for_them(query: AvailabilityQuery) -> None:
    """Each listed member is free (buffers included), each unlisted one is not, and every group has
    its quota; checked from the definitions, not the oracle's grid."""
    window = query_window(query)
    for result in solve(query)[:25]:
        listed = set(result.subs)
        for group in query.groups:
            free = {m.sub for m in group.members if can_attend(m, result.start, query, window)}
            assert free == {m.sub for m in group.members} & listed
            assert len(free) >= _needed(group)
            for member in group.members:
                if member.sub in listed:
                    guarded = (result.start - query.buffer_before, result.end + query.buffer_after)
                    assert not member.busy.overlaps(*guarded)
                    if member.available is not None:
                        assert member.available.contains_interval(result.start, result.end)


@PROPERTY
@given(queries(formats=[PERIODS], candidates=False))
def test_periods_participants_and_busy_time(query: AvailabilityQuery) -> None:
    window = query_window(query)
    members = _members(query)
    everyone_required = all(g.required is None or g.required >= len(g.members) for g in query.groups)
    for result in solve(query)[:10]:
        latest = result.end - query.duration
        for sub in result.subs:
            # Some meeting inside the period suits this member.
            member = members[sub]
            assert any(
                can_attend(member, start, query, window) for start in range(result.start, latest + 1, MINUTE)
            )
        if everyone_required:
            # Then everyone is free for the whole period, buffers included.
            assert set(result.subs) == members.keys()
            for member in members.values():
                assert not member.busy.overlaps(
                    result.start - query.buffer_before, result.end + query.buffer_after
                )
                if member.available is not None:
                    assert member.available.contains_interval(result.start, result.end)


def _scrambled(query: AvailabilityQuery, rng: random.Random) -> AvailabilityQuery:
    """The same query with members and groups reordered and every interval set given as
    duplicated, overlapping and split pieces."""

    def pieces(intervals: IntervalSet) -> IntervalSet:
        out: list[tuple[int, int]] = []
        for low, high in intervals:
            cut = rng.randrange(low, high + 1, MINUTE)
            out += [(low, cut), (cut, high), (low, high), (max(low, cut - MINUTE), high)]
        rng.shuffle(out)
        return IntervalSet(out)

    groups = []
    for group in query.groups:
        members = [
            replace(m, busy=pieces(m.busy), available=None if m.available is None else pieces(m.available))
            for m in group.members
        ]
        rng.shuffle(members)
        groups.append(replace(group, members=tuple(members)))
    rng.shuffle(groups)
    candidates = query.candidate_starts
    if candidates is not None:
        doubled = list(candidates) * 2
        rng.shuffle(doubled)
        candidates = tuple(doubled)
    return replace(
        query, groups=tuple(groups), query_periods=pieces(query.query_periods), candidate_starts=candidates
    )


@PROPERTY
@given(queries(), st.randoms(use_true_random=False))
def test_invariant_under_reordering_and_duplication(query: AvailabilityQuery, rng: random.Random) -> None:
    assert normalised(solve(_scrambled(query, rng))) == normalised(solve(query))


@PROPERTY
@given(queries(), st.integers(1, 10))
def test_max_results_keeps_the_earliest(query: AvailabilityQuery, limit: int) -> None:
    everything = solve(replace(query, max_results=512))
    assert solve(replace(query, max_results=limit)) == everything[:limit]


@PROPERTY
@given(queries(formats=[SLOTS], candidates=False))
def test_formats_agree(query: AvailabilityQuery) -> None:
    query = replace(query, max_results=512)
    slots = solve(query)
    overlapping = solve(replace(query, response_format=OVERLAPPING))
    periods = solve(replace(query, response_format=PERIODS))
    # Non-overlapping slots are some of the overlapping ones, the first one included (up to where
    # max_results cut the overlapping ones off).
    if len(overlapping) == query.max_results:
        slots = [slot for slot in slots if slot.start <= overlapping[-1].start]
    assert set(slots) <= set(overlapping)
    assert slots[:1] == overlapping[:1]
    # Each slot lies in a period, whose participants include the slot's.
    for slot in overlapping:
        holders = [p for p in periods if p.start <= slot.start and slot.end <= p.end]
        assert len(holders) == 1
        assert set(slot.subs) <= set(holders[0].subs)
    # Asking for exactly those starts gives the same slots back, whatever the query periods were.
    candidates = tuple(slot.start for slot in overlapping)
    assert solve(replace(query, candidate_starts=candidates)) == overlapping


# ---------------------------------------------------------------------------------------------
# Hand-worked cases, all on Monday 2026-03-02 (UTC)


def t(clock: str) -> int:
    hours, minutes = map(int, clock.split(":"))
    return int(datetime(2026, 3, 2, hours, minutes, tzinfo=UTC).timestamp())


def spans(*pairs: tuple[str, str]) -> IntervalSet:
    return IntervalSet((t(a), t(b)) for a, b in pairs)


def hm(minutes: int) -> int:
    return minutes * MINUTE


ALICE = Member("alice", busy=spans(("10:00", "11:00"), ("13:00", "14:00")))
BOB = Member("bob", busy=spans(("12:00", "13:30"), ("15:30", "16:00")))
WORKDAY = spans(("09:00", "17:00"))


def pair_query(**changes: object) -> AvailabilityQuery:
    query = AvailabilityQuery(groups=(Group((ALICE, BOB)),), query_periods=WORKDAY, duration=hm(60))
    return replace(query, **changes)


def expect(query: AvailabilityQuery, *expected: tuple[str, str, tuple[str, ...]]) -> None:
    """Golden results, also checked against the oracle so that the two cannot drift apart."""
    wanted = [(t(a), t(b), subs) for a, b, subs in expected]
    assert normalised(solve(query)) == wanted
    assert normalised(brute_solve(query)) == wanted


BOTH = ("alice", "bob")


def test_two_people_periods() -> None:
    # Both free: 09–10, 11–12, 14–15:30, 16–17.
    expect(
        pair_query(),
        ("09:00", "10:00", BOTH),
        ("11:00", "12:00", BOTH),
        ("14:00", "15:30", BOTH),
        ("16:00", "17:00", BOTH),
    )
    expect(pair_query(duration=hm(90)), ("14:00", "15:30", BOTH))
    expect(pair_query(duration=hm(91)))


def test_two_people_slots() -> None:
    # Starts 14:00–14:30 are valid in the 14–15:30 gap; after 14:00 the next slot would be 15:00.
    expect(
        pair_query(response_format=SLOTS),
        ("09:00", "10:00", BOTH),
        ("11:00", "12:00", BOTH),
        ("14:00", "15:00", BOTH),
        ("16:00", "17:00", BOTH),
    )
    expect(
        pair_query(response_format=OVERLAPPING),
        ("09:00", "10:00", BOTH),
        ("11:00", "12:00", BOTH),
        ("14:00", "15:00", BOTH),
        ("14:15", "15:15", BOTH),
        ("14:30", "15:30", BOTH),
        ("16:00", "17:00", BOTH),
    )


def test_groups_of_one_are_one_group_of_all() -> None:
    query = pair_query(groups=(Group((ALICE,)), Group((BOB,))), duration=hm(30), response_format=SLOTS)
    # Two groups of one are the same as one group of both.
    assert solve(query) == solve(replace(query, groups=(Group((ALICE, BOB)),)))


def test_buffers() -> None:
    # Busy 12–13, 15 minutes before and 30 after: a start s needs [s - 15, s + 90) clear of 12–13,
    # so s <= 10:30 or s >= 13:15. Buffers may stick out of the query period (09:00, 16:00 starts).
    member = Member("carol", busy=spans(("12:00", "13:00")))
    query = AvailabilityQuery(
        groups=(Group((member,)),),
        query_periods=WORKDAY,
        duration=hm(60),
        buffer_before=hm(15),
        buffer_after=hm(30),
    )
    carol = ("carol",)
    expect(query, ("09:00", "11:30", carol), ("13:15", "17:00", carol))
    expect(
        replace(query, response_format=SLOTS),
        ("09:00", "10:00", carol),
        ("10:00", "11:00", carol),
        ("13:15", "14:15", carol),
        ("14:15", "15:15", carol),
        ("15:15", "16:15", carol),
    )
    expect(
        replace(query, response_format=SLOTS, start_interval=hm(30)),
        ("09:00", "10:00", carol),
        ("10:00", "11:00", carol),
        ("13:30", "14:30", carol),
        ("14:30", "15:30", carol),
        ("15:30", "16:30", carol),
    )


def test_buffers_need_not_be_available_time() -> None:
    member = Member("dan", available=spans(("09:00", "17:00")))
    query = AvailabilityQuery(
        groups=(Group((member,)),),
        query_periods=spans(("08:00", "18:00")),
        duration=hm(60),
        buffer_before=hm(30),
        buffer_after=hm(30),
    )
    expect(query, ("09:00", "17:00", ("dan",)))


def test_buffer_touching_busy_time_is_fine() -> None:
    # Busy until 10:00 and a 15-minute buffer before: 10:15 is the first start. Busy from 12:00 and a
    # 15-minute buffer after: 10:45 (ending 11:45) is the last.
    member = Member("erin", busy=spans(("08:00", "10:00"), ("12:00", "13:00")))
    query = AvailabilityQuery(
        groups=(Group((member,)),),
        query_periods=spans(("09:00", "12:00")),
        duration=hm(60),
        buffer_before=hm(15),
        buffer_after=hm(15),
        response_format=OVERLAPPING,
    )
    erin = ("erin",)
    expect(query, ("10:15", "11:15", erin), ("10:30", "11:30", erin), ("10:45", "11:45", erin))


A = Member("a", available=spans(("09:00", "10:30")))
B = Member("b", available=spans(("10:00", "12:00")))


def n_of_m(required: int | None, duration: int, **changes: object) -> AvailabilityQuery:
    query = AvailabilityQuery(
        groups=(Group((A, B), required),), query_periods=spans(("08:00", "13:00")), duration=hm(duration)
    )
    return replace(query, **changes)


def test_n_of_m_periods() -> None:
    # One of A (starts 09:00–09:30) and B (starts 10:00–11:00): the meetings cover 09:00–12:00
    # between them, though nobody is free for all of it.
    expect(n_of_m(1, 60), ("09:00", "12:00", ("a", "b")))
    # Two hours: only B, at 10:00.
    expect(n_of_m(1, 120), ("10:00", "12:00", ("b",)))
    # Both: never for an hour, only 10:00–10:30 for half an hour.
    expect(n_of_m(2, 60))
    expect(n_of_m(None, 60))
    expect(n_of_m(2, 30), ("10:00", "10:30", ("a", "b")))
    expect(n_of_m(2, 120))
    # required larger than the group means everyone.
    expect(n_of_m(3, 30), ("10:00", "10:30", ("a", "b")))


def test_n_of_m_slots_name_who_attends() -> None:
    expect(
        n_of_m(1, 60, response_format=SLOTS),
        ("09:00", "10:00", ("a",)),
        ("10:00", "11:00", ("b",)),
        ("11:00", "12:00", ("b",)),
    )
    expect(
        n_of_m(1, 60, response_format=OVERLAPPING),
        ("09:00", "10:00", ("a",)),
        ("09:15", "10:15", ("a",)),
        ("09:30", "10:30", ("a",)),
        ("10:00", "11:00", ("b",)),
        ("10:15", "11:15", ("b",)),
        ("10:30", "11:30", ("b",)),
        ("10:45", "11:45", ("b",)),
        ("11:00", "12:00", ("b",)),
    )
    # With 30 minutes both can attend at 10:00, and both are named though one would do.
    expect(
        n_of_m(1, 30, response_format=SLOTS),
        ("09:00", "09:30", ("a",)),
        ("09:30", "10:00", ("a",)),
        ("10:00", "10:30", ("a", "b")),
        ("10:30", "11:00", ("b",)),
        ("11:00", "11:30", ("b",)),
        ("11:30", "12:00", ("b",)),
    )


def test_n_of_m_with_an_all_group() -> None:
    # Group 1: one of A, B. Group 2: C, free 09:45–11:15, must come.
    c = Member("c", available=spans(("09:45", "11:15")))
    query = AvailabilityQuery(
        groups=(Group((A, B), 1), Group((c,))),
        query_periods=spans(("08:00", "13:00")),
        duration=hm(30),
        response_format=OVERLAPPING,
    )
    expect(
        query,
        ("09:45", "10:15", ("a", "c")),
        ("10:00", "10:30", ("a", "b", "c")),
        ("10:15", "10:45", ("b", "c")),
        ("10:30", "11:00", ("b", "c")),
        ("10:45", "11:15", ("b", "c")),
    )


def test_two_of_three() -> None:
    # X free 9–11 (starts 09:00–10:00), Y 10–12 (10:00–11:00), Z 9:30–10:30 (09:30 only); two of the
    # three for an hour: X and Z at 09:30, X and Y at 10:00.
    x = Member("x", available=spans(("09:00", "11:00")))
    y = Member("y", available=spans(("10:00", "12:00")))
    z = Member("z", available=spans(("09:30", "10:30")))
    query = AvailabilityQuery(
        groups=(Group((x, y, z), 2),), query_periods=WORKDAY, duration=hm(60), response_format=OVERLAPPING
    )
    expect(
        query,
        ("09:30", "10:30", ("x", "z")),
        ("10:00", "11:00", ("x", "y")),
    )
    # Two separate valid starts whose meetings overlap: one period, with everyone who attends either.
    expect(replace(query, response_format=PERIODS), ("09:30", "11:00", ("x", "y", "z")))


def test_touching_placements_make_one_period() -> None:
    # A alone at 09:00–10:00, B alone at 10:00–11:00: one period.
    a = Member("a", available=spans(("09:00", "10:00")))
    b = Member("b", available=spans(("10:00", "11:00")))
    query = AvailabilityQuery(groups=(Group((a, b), 1),), query_periods=WORKDAY, duration=hm(60))
    expect(query, ("09:00", "11:00", ("a", "b")))


def test_busy_time_touching_the_meeting_is_fine() -> None:
    member = Member("f", busy=spans(("09:00", "10:00"), ("11:00", "12:00")))
    query = AvailabilityQuery(groups=(Group((member,)),), query_periods=WORKDAY, duration=hm(60))
    expect(query, ("10:00", "11:00", ("f",)), ("12:00", "17:00", ("f",)))


def test_start_interval() -> None:
    # Busy 10:20–10:40; valid starts 09:10–09:50 and 10:40–11:30; on the 20-minute grid 09:20, 09:40,
    # 10:40, 11:00, 11:20.
    member = Member("g", busy=spans(("10:20", "10:40")))
    query = AvailabilityQuery(
        groups=(Group((member,)),),
        query_periods=spans(("09:10", "12:00")),
        duration=hm(30),
        start_interval=hm(20),
    )
    g = ("g",)
    expect(
        replace(query, response_format=OVERLAPPING),
        ("09:20", "09:50", g),
        ("09:40", "10:10", g),
        ("10:40", "11:10", g),
        ("11:00", "11:30", g),
        ("11:20", "11:50", g),
    )
    # After 09:20 the next slot may start at 09:50, i.e. 10:00 on the grid; after 10:40, at 11:20.
    expect(
        replace(query, response_format=SLOTS),
        ("09:20", "09:50", g),
        ("10:40", "11:10", g),
        ("11:20", "11:50", g),
    )
    expect(query, ("09:20", "10:10", g), ("10:40", "11:50", g))


def test_default_slot_step_is_a_quarter_hour() -> None:
    member = Member("h")
    query = AvailabilityQuery(
        groups=(Group((member,)),),
        query_periods=spans(("09:10", "10:30")),
        duration=hm(30),
        response_format=SLOTS,
    )
    h = ("h",)
    expect(query, ("09:15", "09:45", h), ("09:45", "10:15", h))
    expect(
        replace(query, response_format=OVERLAPPING),
        ("09:15", "09:45", h),
        ("09:30", "10:00", h),
        ("09:45", "10:15", h),
        ("10:00", "10:30", h),
    )
    # Periods are not put on a grid unless a start interval is given.
    expect(replace(query, response_format=PERIODS), ("09:10", "10:30", h))


def test_query_periods_are_separate_windows() -> None:
    # A meeting may not straddle two query periods, even when they nearly touch.
    member = Member("i")
    query = AvailabilityQuery(
        groups=(Group((member,)),),
        query_periods=spans(("09:00", "09:45"), ("09:46", "11:00")),
        duration=hm(45),
    )
    expect(query, ("09:00", "09:45", ("i",)), ("09:46", "11:00", ("i",)))


def test_max_results() -> None:
    expect(
        pair_query(response_format=OVERLAPPING, max_results=3),
        ("09:00", "10:00", BOTH),
        ("11:00", "12:00", BOTH),
        ("14:00", "15:00", BOTH),
    )
    expect(pair_query(max_results=2), ("09:00", "10:00", BOTH), ("11:00", "12:00", BOTH))
    expect(pair_query(response_format=SLOTS, max_results=1), ("09:00", "10:00", BOTH))


def test_candidate_starts() -> None:
    # Alice is busy 10–11 and 13–14. Candidates replace the query periods (14:10 is outside them and
    # off the quarter-hour grid, and still counts); duplicates are answered once, in time order.
    query = AvailabilityQuery(
        groups=(Group((ALICE,)),),
        query_periods=spans(("09:00", "10:00")),
        duration=hm(60),
        candidate_starts=(t("10:30"), t("09:00"), t("11:00"), t("09:00"), t("09:30"), t("14:10")),
    )
    alice = ("alice",)
    expect(query, ("09:00", "10:00", alice), ("11:00", "12:00", alice), ("14:10", "15:10", alice))
    expect(replace(query, max_results=2), ("09:00", "10:00", alice), ("11:00", "12:00", alice))
    expect(replace(query, candidate_starts=()))


def test_candidate_starts_name_who_attends() -> None:
    query = n_of_m(1, 30, candidate_starts=(t("09:00"), t("10:00"), t("10:45"), t("11:45"), t("12:00")))
    expect(
        query,
        ("09:00", "09:30", ("a",)),
        ("10:00", "10:30", ("a", "b")),
        ("10:45", "11:15", ("b",)),
    )


def test_nothing_to_solve() -> None:
    assert solve(pair_query(groups=())) == []
    assert solve(pair_query(query_periods=IntervalSet())) == []
    # A query period shorter than the meeting.
    expect(pair_query(query_periods=spans(("09:00", "09:59"))))


# ---------------------------------------------------------------------------------------------
# Periods with a start interval (minimal reproductions of defects fixed in the solver)


def test_periods_with_start_interval_longer_than_duration() -> None:
    # Valid starts 09:00–10:30; on the hour only 09:00 and 10:00, so the meetings cover 09:00–09:30
    # and 10:00–10:30. The solver answers 09:00–10:30.
    member = Member("j")
    query = AvailabilityQuery(
        groups=(Group((member,)),),
        query_periods=spans(("09:00", "11:00")),
        duration=hm(30),
        start_interval=hm(60),
    )
    expect(query, ("09:00", "09:30", ("j",)), ("10:00", "10:30", ("j",)))


def test_period_participants_with_start_interval() -> None:
    # One of P (free 09:00–11:00) and Q (free 09:10–10:15) for an hour, on the half hour: the valid
    # starts are 09:00, 09:30 and 10:00, and Q can attend none of them (only 09:10–09:15).
    p = Member("p", available=spans(("09:00", "11:00")))
    q = Member("q", available=spans(("09:10", "10:15")))
    query = AvailabilityQuery(
        groups=(Group((p, q), 1),),
        query_periods=spans(("09:00", "12:00")),
        duration=hm(60),
        start_interval=hm(30),
    )
    expect(query, ("09:00", "11:00", ("p",)))


def test_a_member_of_several_groups_is_named_once() -> None:
    # Alice must come (group 1) and is one of two who can stand in for the other (group 2).
    query = pair_query(groups=(Group((ALICE,)), Group((ALICE, BOB), 1)), response_format=SLOTS)
    expect(
        query,
        ("09:00", "10:00", BOTH),
        ("11:00", "12:00", BOTH),
        ("12:00", "13:00", ("alice",)),
        ("14:00", "15:00", BOTH),
        ("15:00", "16:00", ("alice",)),
        ("16:00", "17:00", BOTH),
    )
