"""The generated event set of the events suite: seeded, so every run and every server gets the same events.

Events are timed, in UTC, between 07:00 and 21:00, 15 minutes to 2 hours long, on a random day of
``YEAR``; a summary of a few words and a description of 8–40 words (letters, digits and spaces only,
so the JSON and iCalendar forms need no escaping). The same ``BenchEvent`` renders as the JSON body
of ``POST /v1/calendars/{id}/events`` and as an iCalendar ``VEVENT``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

YEAR = 2026
WINDOW_FROM = date(YEAR, 3, 1)
WINDOW_TO = date(YEAR, 4, 30)  # exclusive: 60 days
DTSTAMP = "20260101T000000Z"

_TOPICS = (
    "planning",
    "review",
    "sync",
    "interview",
    "design",
    "budget",
    "retro",
    "onboarding",
    "customer",
    "roadmap",
)
_KINDS = ("call", "meeting", "workshop", "session", "check in", "demo")
_TEXT = (
    "agenda items for the team include the quarterly numbers hiring plan open questions from "
    "last week and a short demo of the new booking flow please bring your notes and any blockers "
    "we will also look at the customer feedback collected in march and agree owners for follow up "
    "actions dial in details are in the invitation room two on the third floor"
)
_WORDS = tuple(_TEXT.split())


@dataclass(frozen=True)
class BenchEvent:
    event_id: str
    summary: str
    description: str
    start: datetime
    end: datetime

    def as_json(self) -> dict[str, Any]:
        """The body of ``POST /v1/calendars/{calendar_id}/events``."""
        return {
            "event_id": self.event_id,
            "summary": self.summary,
            "description": self.description,
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": self.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def vevent_lines(self) -> list[str]:
        return [
            "BEGIN:VEVENT",
            f"UID:{self.event_id}",
            f"DTSTAMP:{DTSTAMP}",
            f"DTSTART:{ical_utc(self.start)}",
            f"DTEND:{ical_utc(self.end)}",
            f"SUMMARY:{self.summary}",
            f"DESCRIPTION:{self.description}",
            "END:VEVENT",
        ]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and self.end > start


def ical_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def event_set(prefix: str, count: int, seed: int) -> list[BenchEvent]:
    """``count`` events with ids ``<prefix>-000000`` …, the same for the same arguments."""
    rng = random.Random(seed)
    first_day = midnight(date(YEAR, 1, 1))
    events = []
    for n in range(count):
        start = first_day + timedelta(days=rng.randrange(365), minutes=15 * rng.randrange(7 * 4, 19 * 4))
        minutes = rng.choice((15, 30, 30, 45, 60, 60, 60, 90, 120))
        summary = f"{rng.choice(_TOPICS).capitalize()} {rng.choice(_KINDS)} {n}"
        description = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 40)))
        events.append(
            BenchEvent(
                event_id=f"{prefix}-{n:06d}",
                summary=summary,
                description=description,
                start=start,
                end=start + timedelta(minutes=minutes),
            )
        )
    return events


def _fold(line: str) -> str:
    """RFC 5545 §3.1: lines longer than 75 octets continue on lines starting with a space."""
    if len(line) <= 75:
        return line
    parts = [line[:75]]
    parts += [" " + line[i : i + 74] for i in range(75, len(line), 74)]
    return "\r\n".join(parts)


def ics(events: Iterable[BenchEvent]) -> bytes:
    """A ``VCALENDAR`` holding the events (one for a resource, many for a whole collection)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//openslot bench//EN"]
    for event in events:
        lines += event.vevent_lines()
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("ascii")
