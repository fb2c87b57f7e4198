"""``store.statements``: constant statements on the driver's connection (``Database.single_writes``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from openslot.store.event_writes import EVENT_COLUMNS, INSERT_NEW_EVENT_STATEMENT
from openslot.store.models import Event
from openslot.store.statements import Statement
from tests.conftest import Api

EVENT_BY_ID = Statement(
    select(Event.uid, Event.start_at, Event.all_day, Event.details, Event.deleted).where(
        Event.event_id == bindparam("event_id")
    )
)
EVENTS = Statement(select(Event.event_id).order_by(Event.event_id))


def _row(account_id: str, calendar_id: str, application_id: str, event_id: str, **fields: object) -> dict:
    moment = datetime(2026, 3, 2, 9, tzinfo=UTC)
    row = {
        "uid": f"evt_{event_id}",
        "account_id": account_id,
        "calendar_id": calendar_id,
        "application_id": application_id,
        "event_id": event_id,
        "summary": "S",
        "description": "",
        "start_at": moment,
        "end_at": moment + timedelta(hours=1),
        "all_day": False,
        "start_tzid": "Etc/UTC",
        "end_tzid": "Etc/UTC",
        "transparency": "opaque",
        "status": "confirmed",
        "details": {},
        "deleted": False,
        "created_at": moment,
        "updated_at": moment,
    }
    assert set(row) == set(EVENT_COLUMNS)
    return row | fields


def _owner(api: Api) -> tuple[str, str, str]:
    user = api.user()
    return user.tokens["sub"], user.calendar_id, user.app.info.application_id


def _count(api: Api) -> int:
    with api.ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def test_values_come_back_in_the_forms_sqlalchemy_gives(api: Api) -> None:
    account, calendar, application = _owner(api)
    # An instant given with an offset is stored in UTC and read back aware.
    start = datetime(2026, 3, 2, 11, tzinfo=timezone(timedelta(hours=2)))
    details = {"location": {"description": "Room 1"}, "attendees": [{"email": "a@example.com"}]}
    with api.ctx.db.single_writes() as statements:
        inserted = statements.first(
            INSERT_NEW_EVENT_STATEMENT,
            _row(account, calendar, application, "e1", start_at=start, all_day=True, details=details),
        )
        assert inserted.uid == "evt_e1"
        again = statements.first(INSERT_NEW_EVENT_STATEMENT, _row(account, calendar, application, "e1"))
        assert again is None  # the event_id exists: the insert did nothing
    with api.ctx.db.single_writes() as statements:
        row = statements.first(EVENT_BY_ID, {"event_id": "e1"})
        assert statements.first(EVENT_BY_ID, {"event_id": "none"}) is None
    assert row.start_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert row.start_at.utcoffset() == timedelta(0)
    assert row.all_day is True and row.deleted is False
    assert row.details == details
    with api.ctx.db.read() as session:
        assert session.scalar(select(Event.start_at).where(Event.event_id == "e1")) == row.start_at


def test_a_driver_error_is_sqlalchemys_and_the_connection_is_replaced(api: Api) -> None:
    account, calendar, application = _owner(api)
    with pytest.raises(IntegrityError), api.ctx.db.single_writes() as statements:
        statements.first(INSERT_NEW_EVENT_STATEMENT, _row(account, "cal_missing", application, "e1"))
    assert _count(api) == 0
    with api.ctx.db.single_writes() as statements:
        statements.first(INSERT_NEW_EVENT_STATEMENT, _row(account, calendar, application, "e2"))
        assert [r.event_id for r in statements.all(EVENTS, {})] == ["e2"]
    assert _count(api) == 1


def test_an_error_after_a_write(api: Api) -> None:
    """SQLite runs the block as one transaction, so its write is undone; on PostgreSQL each statement
    has committed by itself (what ``single_writes`` promises: one write, no atomicity across writes)."""
    account, calendar, application = _owner(api)
    with pytest.raises(RuntimeError), api.ctx.db.single_writes() as statements:
        statements.first(INSERT_NEW_EVENT_STATEMENT, _row(account, calendar, application, "e1"))
        raise RuntimeError("refused after the write")
    assert _count(api) == (0 if api.ctx.db.engine.dialect.name == "sqlite" else 1)
    with api.ctx.db.single_writes() as statements:  # the connection went back to the pool usable
        assert len(statements.all(EVENTS, {})) == _count(api)


def test_requests_run_on_the_loop_engine_on_postgresql(api: Api) -> None:
    user = api.user()
    assert user.upsert(event_id="e1").status_code == 202
    loop_ctx = api.app.state.loop_ctx
    if api.ctx.db.engine.dialect.name == "sqlite":
        assert loop_ctx is None
        return
    assert api.app.state.loop is not None
    assert loop_ctx.db.engine.dialect.driver == "asyncpg"
    assert loop_ctx.db.engine.pool.checkedin() >= 1  # the upsert's connection, back in its pool
