"""Sequenced availability: times for a series of meetings, one after another, in order.

Each step is an availability query of its own (its people, duration, buffers, grid). A sequence
takes, for each step in ordinal order, the earliest start on that step's grid that is valid for the
step and not before the previous step ends. Sequences are offered in order of their first step; the
next one starts no earlier than the end of the previous one's first meeting, so the options differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openslot.engine.availability import (
    DEFAULT_START_INTERVAL,
    AvailabilityQuery,
    Available,
    MemberStarts,
    attendees,
    valid_starts,
)
from openslot.engine.intervals import IntervalSet

__all__ = ["SequenceStep", "solve_sequences"]


@dataclass(frozen=True, slots=True)
class SequenceStep:
    sequence_id: str
    ordinal: int
    query: AvailabilityQuery


@dataclass(frozen=True, slots=True)
class _Prepared:
    step: SequenceStep
    valid: IntervalSet
    members: MemberStarts
    grid: int


def _first_aligned_at_or_after(valid: IntervalSet, earliest: int, grid: int) -> int | None:
    for low, high in valid:
        if high <= earliest:
            continue
        start = -(-max(low, earliest) // grid) * grid
        if start < high:
            return start
    return None


def _complete(prepared: Sequence[_Prepared], first_start: int) -> list[tuple[str, Available]] | None:
    chosen: list[tuple[str, Available]] = []
    earliest = first_start
    for index, item in enumerate(prepared):
        start = first_start if index == 0 else _first_aligned_at_or_after(item.valid, earliest, item.grid)
        if start is None:
            return None
        end = start + item.step.query.duration
        chosen.append((item.step.sequence_id, Available(start, end, attendees(item.members, start))))
        earliest = end
    return chosen


def solve_sequences(steps: Sequence[SequenceStep], max_results: int) -> list[list[tuple[str, Available]]]:
    """Up to ``max_results`` sequences, each a list of ``(sequence_id, meeting)`` in step order."""
    prepared = []
    for step in sorted(steps, key=lambda s: s.ordinal):
        valid, members = valid_starts(step.query)
        prepared.append(_Prepared(step, valid, members, step.query.start_interval or DEFAULT_START_INTERVAL))
    if not prepared:
        return []
    first = prepared[0]
    results: list[list[tuple[str, Available]]] = []
    earliest = first.valid.intervals[0][0] if first.valid else 0
    while len(results) < max_results:
        start = _first_aligned_at_or_after(first.valid, earliest, first.grid)
        if start is None:
            break
        sequence = _complete(prepared, start)
        if sequence is not None:
            results.append(sequence)
            earliest = start + first.step.query.duration
        else:
            earliest = start + first.grid
    return results
