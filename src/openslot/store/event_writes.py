"""The constant statements of event writes: built and compiled once, their values travel as
parameters (``services.events`` runs them)."""

from __future__ import annotations

from sqlalchemy import Integer, Text, and_, bindparam, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from openslot.store import repos
from openslot.store.models import Calendar, Event, EventMove
from openslot.store.statements import Statement
from openslot.store.types import UTCDateTime

# A new event is one round trip: the insert does nothing when the application's event_id exists.
INSERT_NEW_EVENT = {
    name: dialect.insert(Event)
    .on_conflict_do_nothing(index_elements=["calendar_id", "application_id", "event_id"])
    .returning(Event.uid)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
EVENT_COLUMNS = [column.key for column in Event.__table__.columns]
INSERT_NEW_EVENT_STATEMENT = Statement(INSERT_NEW_EVENT, columns=EVENT_COLUMNS)


def _checked_new_event() -> Statement:
    """PostgreSQL: the token and calendar check of ``repos.ACCESS_TOKEN_GRANT_AND_CALENDAR`` and the
    insert of a new event, in one statement: the insert happens only when every check of
    ``upsert_event`` would pass, and the row tells the checks what they need (with ``inserted``).

    The conditions repeat, in SQL, what ``services.authorization.caller_and_calendar_of``,
    ``services.events._writable`` and the single-write case of ``upsert_event`` check in Python;
    they may be stricter (a row that does not pass here is checked and written the usual way), never
    looser. ``tests/api/test_events_write.py`` refuses a write in every way and checks that nothing
    was stored.
    """
    found = repos.ACCESS_TOKEN_GRANT_AND_CALENDAR.statement.cte("found")  # type: ignore[attr-defined]
    from_found = {
        "account_id": found.c.account_id,
        "calendar_id": found.c.id,
        "application_id": found.c.application_id,
    }
    values = [
        from_found.get(name, bindparam(name, type_=Event.__table__.c[name].type)) for name in EVENT_COLUMNS
    ]
    insertable = and_(
        found.c.kind == "access",
        found.c.revoked_at.is_(None),
        found.c.expires_at > bindparam("now", type_=UTCDateTime()),
        func.string_to_array(found.c.scope, " ").op("&&")(
            bindparam("granting", type_=postgresql.ARRAY(Text))
        ),
        found.c.id.is_not(None),
        found.c.readonly.is_(False),
        found.c.deleted.is_(False),
        found.c.watched.is_(False),
        found.c.max_event_seconds >= bindparam("span", type_=Integer()),
    )
    inserted = (
        postgresql.insert(Event)
        .from_select(EVENT_COLUMNS, select(*values).where(insertable))
        .on_conflict_do_nothing(index_elements=["calendar_id", "application_id", "event_id"])
        .returning(Event.uid)
        .cte("inserted")
    )
    return Statement({"postgresql": select(found, exists(select(inserted.c.uid)).label("inserted"))})


CHECKED_NEW_EVENT = _checked_new_event()
EXISTING_EVENT = (
    select(Event.uid, Event.start_at, Event.end_at, Event.all_day, Event.details)
    .where(
        Event.calendar_id == bindparam("calendar_id"),
        Event.application_id == bindparam("application_id"),
        Event.event_id == bindparam("event_id"),
    )
    .with_for_update()  # concurrent updates of one event merge their details one after the other
)
UPDATE_EVENT = update(Event).where(Event.uid == bindparam("match_uid"))
INSERT_MOVE = insert(EventMove)
WRITABLE_CALENDAR = select(
    Calendar.id,
    Calendar.account_id,
    Calendar.readonly,
    Calendar.deleted,
    Calendar.max_event_seconds,
    repos.watched(Calendar.account_id),  # answered in the same round trip
).where(Calendar.id == bindparam("calendar_id"))
