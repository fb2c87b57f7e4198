"""Push notification channels (reference §7.1–7.3) and the outbox rows that changes write."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from starlette.testclient import TestClient

from openslot.api.app import create_app
from openslot.engine import times
from openslot.integrations.clock import ManualClock
from openslot.services import events
from openslot.services.channels import MAX_OPEN_CHANNELS
from openslot.services.context import Bearer
from openslot.store.models import Event, NotificationJob
from tests.conftest import Api, User

# A public address written literally: the guard needs no DNS for it, and nothing here connects to it.
HOOK = "https://93.184.216.34/hooks"


def _create(user: User, url: str = HOOK, **filters: Any) -> Any:
    body: dict[str, Any] = {"callback_url": url}
    if filters:
        body["filters"] = filters
    return user.post("/v1/channels", json=body)


def _channel(user: User, url: str = HOOK, **filters: Any) -> dict[str, Any]:
    response = _create(user, url, **filters)
    assert response.status_code == 200, response.text
    return response.json()["channel"]


def _listed(user: User) -> list[str]:
    response = user.get("/v1/channels")
    assert response.status_code == 200, response.text
    return [c["channel_id"] for c in response.json()["channels"]]


def _jobs(api: Api, channel_id: str | None = None, kind: str = "change") -> list[NotificationJob]:
    """Pending jobs of ``kind`` (of one channel, or of all)."""
    query = select(NotificationJob).where(NotificationJob.kind == kind, NotificationJob.state == "pending")
    if channel_id is not None:
        query = query.where(NotificationJob.channel_id == channel_id)
    with api.ctx.db.read() as session:
        return list(session.scalars(query.order_by(NotificationJob.id)))


def _settle(api: Api) -> None:
    """Mark every queued job as delivered, so the next change starts a job of its own."""
    with api.ctx.db.transaction() as session:
        session.execute(update(NotificationJob).values(state="done", finished_at=api.clock.now()))


def _second_calendar(user: User, name: str = "Second") -> str:
    profile_id = user.tokens["linking_profile"]["profile_id"]
    response = user.post("/v1/calendars", json={"profile_id": profile_id, "name": name})
    assert response.status_code == 200, response.text
    return response.json()["calendar"]["calendar_id"]


def _errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    return response.json()["errors"]


# --- create, list, close ---------------------------------------------------------------------------


def test_create_list_and_close(api: Api) -> None:
    user = api.user()
    response = _create(user, f"{HOOK}/1")
    assert response.status_code == 200, response.text
    channel = response.json()["channel"]
    assert set(response.json()) == {"channel"}
    assert channel["channel_id"].startswith("chn_")
    assert channel["callback_url"] == f"{HOOK}/1"
    assert channel["filters"] == {"only_managed": False}
    assert user.get("/v1/channels").json() == {"channels": [channel]}

    response = user.delete(f"/v1/channels/{channel['channel_id']}")
    assert response.status_code == 202
    assert response.content == b""
    assert _listed(user) == []
    assert user.delete(f"/v1/channels/{channel['channel_id']}").status_code == 404


def test_filters_are_echoed(api: Api) -> None:
    user = api.user()
    channel = _channel(user, calendar_ids=[user.calendar_id], only_managed=True)
    assert channel["filters"] == {"calendar_ids": [user.calendar_id], "only_managed": True}
    assert user.get("/v1/channels").json()["channels"] == [channel]


def test_creation_queues_a_verification(api: Api) -> None:
    user = api.user()
    channel = _channel(user)
    [job] = _jobs(api, channel["channel_id"], kind="verification")
    assert job.changes_since is None
    assert job.due_at == api.clock.now()
    assert _jobs(api, channel["channel_id"]) == []


def test_an_identical_channel_is_the_existing_one(api: Api) -> None:
    user = api.user()
    first = _channel(user, calendar_ids=[user.calendar_id])
    again = _channel(user, calendar_ids=[user.calendar_id])
    assert again == first
    assert _listed(user) == [first["channel_id"]]
    # No second verification either.
    assert len(_jobs(api, kind="verification")) == 1
    # A different filter or URL is a different channel.
    assert _channel(user)["channel_id"] != first["channel_id"]
    assert (
        _channel(user, f"{HOOK}/other", calendar_ids=[user.calendar_id])["channel_id"] != first["channel_id"]
    )
    assert len(_listed(user)) == 3


def test_at_most_fifty_open_channels_per_account(api: Api) -> None:
    user = api.user()
    ids = [_channel(user, f"{HOOK}/{i}")["channel_id"] for i in range(MAX_OPEN_CHANNELS)]
    assert MAX_OPEN_CHANNELS == 50
    errors = _errors(_create(user, f"{HOOK}/one-too-many"))
    assert errors["callback_url"][0]["key"] == "errors.too_many"
    # An identical channel is no new channel: still answered at the limit.
    assert _channel(user, f"{HOOK}/7")["channel_id"] == ids[7]
    assert user.delete(f"/v1/channels/{ids[0]}").status_code == 202
    assert _channel(user, f"{HOOK}/one-too-many")["channel_id"] not in ids
    assert _create(user, f"{HOOK}/and-another").status_code == 422
    assert len(_listed(user)) == MAX_OPEN_CHANNELS


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/" + "x" * 107,  # 129 characters
        "ftp://93.184.216.34/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "93.184.216.34/hook",
        "https://user:pass@93.184.216.34/hook",
        "https://token@93.184.216.34/hook",
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
        "https:///hook",
    ],
)
def test_unacceptable_callback_urls(api: Api, url: str) -> None:
    user = api.user()
    errors = _errors(_create(user, url))
    assert list(errors) == ["callback_url"]
    assert errors["callback_url"][0]["key"].startswith("errors.")
    assert _listed(user) == []
    assert _jobs(api, kind="verification") == []


def test_callback_url_of_exactly_128_characters_is_accepted(api: Api) -> None:
    user = api.user()
    url = "https://93.184.216.34/" + "x" * 106
    assert len(url) == 128
    assert _channel(user, url)["callback_url"] == url


@pytest.mark.parametrize("body", [{}, {"callback_url": ""}, {"callback_url": None}, {"callback_url": 5}])
def test_callback_url_is_required(api: Api, body: dict[str, Any]) -> None:
    user = api.user()
    assert "callback_url" in _errors(user.post("/v1/channels", json=body))


def test_calendar_ids_filter_must_name_own_calendars(api: Api) -> None:
    user = api.user(api.new_application("One"), "one")
    stranger = api.user(api.new_application("Two"), "two")
    for calendar_ids in ([stranger.calendar_id], [user.calendar_id, stranger.calendar_id], ["cal_unknown"]):
        errors = _errors(_create(user, calendar_ids=calendar_ids))
        assert any(key.startswith("filters") for key in errors), errors
    assert _errors(_create(user, calendar_ids=[]))
    assert _listed(user) == []


def test_a_channel_needs_read_events_unless_only_managed(api: Api) -> None:
    owner = api.user()
    writer = api.grant(api.new_application("Writer"), owner.tokens["sub"], "create_event")
    assert _create(writer).status_code == 403
    assert _create(writer, only_managed=False).status_code == 403
    channel = _channel(writer, only_managed=True)
    assert channel["filters"]["only_managed"] is True
    assert _listed(writer) == [channel["channel_id"]]


def test_closing_an_unknown_or_foreign_channel_is_the_same_404(api: Api) -> None:
    owner = api.user(api.new_application("One"), "one")
    stranger = api.user(api.new_application("Two"), "two")
    channel = _channel(owner)
    foreign = stranger.delete(f"/v1/channels/{channel['channel_id']}")
    unknown = stranger.delete("/v1/channels/chn_000000000000000000000000")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    assert _listed(owner) == [channel["channel_id"]]


def test_channels_belong_to_an_application_and_an_account(api: Api) -> None:
    owner = api.user(api.new_application("One"), "shared")
    colleague = api.grant(api.new_application("Two"), owner.tokens["sub"], "read_write")
    neighbour = api.user(owner.app, "another-calendar")
    channel = _channel(owner)
    assert _listed(colleague) == []
    assert _listed(neighbour) == []
    assert colleague.delete(f"/v1/channels/{channel['channel_id']}").status_code == 404
    assert neighbour.delete(f"/v1/channels/{channel['channel_id']}").status_code == 404
    # The same callback through another application is a channel of its own.
    theirs = _channel(colleague)
    assert theirs["channel_id"] != channel["channel_id"]
    assert _listed(owner) == [channel["channel_id"]]
    assert _listed(colleague) == [theirs["channel_id"]]


def test_channels_need_a_user_token(api: Api) -> None:
    app = api.new_application()
    response = api.client.post(
        "/v1/channels",
        json={"callback_url": HOOK},
        headers={"Authorization": f"Bearer {app.client_secret}"},
    )
    assert response.status_code == 401
    assert api.client.get("/v1/channels").status_code == 401


# --- the outbox, written in the transaction of the change -------------------------------------------


def test_an_upsert_queues_a_change_for_the_channel(api: Api) -> None:
    user = api.user()
    channel = _channel(user)
    api.clock.advance(30)
    changed_at = api.clock.now()
    assert user.upsert(event_id="e1").status_code == 202
    [job] = _jobs(api, channel["channel_id"])
    assert job.changes_since == changed_at
    assert job.due_at == changed_at
    assert job.attempts == 0


def test_a_refused_upsert_queues_nothing(api: Api) -> None:
    user = api.user()
    _channel(user)
    assert user.upsert(event_id="bad", summary=None).status_code == 422
    assert user.upsert(event_id="bad", start="2026-03-02T11:00:00Z").status_code == 422
    assert user.upsert("cal_unknown", event_id="lost").status_code == 404
    assert _jobs(api) == []


def test_changes_coalesce_into_one_pending_job_from_the_first_change(api: Api) -> None:
    user = api.user()
    channel = _channel(user)
    first = None
    for i in range(20):
        api.clock.advance(7)
        first = first or api.clock.now()
        assert user.upsert(event_id=f"e{i % 3}", summary=f"Version {i}").status_code == 202
    [job] = _jobs(api)
    assert job.channel_id == channel["channel_id"]
    assert job.changes_since == first


def test_each_channel_gets_a_job(api: Api) -> None:
    user = api.user()
    one, two = _channel(user, f"{HOOK}/1"), _channel(user, f"{HOOK}/2")
    user.upsert(event_id="e")
    assert {job.channel_id for job in _jobs(api)} == {one["channel_id"], two["channel_id"]}


def test_calendar_filter_limits_notifications(api: Api) -> None:
    user = api.user()
    second = _second_calendar(user)
    first_only = _channel(user, f"{HOOK}/first", calendar_ids=[user.calendar_id])
    second_only = _channel(user, f"{HOOK}/second", calendar_ids=[second])
    everything = _channel(user, f"{HOOK}/all")
    user.upsert(event_id="a")
    assert {job.channel_id for job in _jobs(api)} == {first_only["channel_id"], everything["channel_id"]}
    _settle(api)
    user.upsert(second, event_id="b")
    assert {job.channel_id for job in _jobs(api)} == {second_only["channel_id"], everything["channel_id"]}


def test_only_managed_channels_hear_only_their_own_applications_events(api: Api) -> None:
    owner = api.user(api.new_application("Owner"), "shared")
    watcher_app = api.new_application("Watcher")
    watcher = api.grant(watcher_app, owner.tokens["sub"], "read_write")
    managed = _channel(watcher, only_managed=True)
    everything = _channel(watcher, f"{HOOK}/all")
    assert owner.upsert(event_id="not-theirs").status_code == 202
    assert [job.channel_id for job in _jobs(api)] == [everything["channel_id"]]
    _settle(api)
    assert watcher.upsert(owner.calendar_id, event_id="theirs").status_code == 202
    assert {job.channel_id for job in _jobs(api)} == {managed["channel_id"], everything["channel_id"]}


def test_closed_channels_are_not_notified(api: Api) -> None:
    user = api.user()
    channel = _channel(user)
    assert user.delete(f"/v1/channels/{channel['channel_id']}").status_code == 202
    user.upsert(event_id="e")
    assert _jobs(api) == []


def test_other_accounts_changes_are_not_notified(api: Api) -> None:
    app = api.new_application()
    watched, other = api.user(app, "watched"), api.user(app, "other")
    _channel(watched)
    other.upsert(event_id="elsewhere")
    assert _jobs(api) == []


def test_deletes_queue_changes(api: Api) -> None:
    user = api.user()
    channel = _channel(user)
    user.upsert(event_id="e1")
    _settle(api)

    api.clock.advance(60)
    deleted_at = api.clock.now()
    assert user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": "e1"}).status_code == 202
    [job] = _jobs(api, channel["channel_id"])
    assert job.changes_since == deleted_at
    _settle(api)

    # Deleting what is not there changes nothing, and says nothing.
    assert user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": "e1"}).status_code == 202
    assert (
        user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": "never"}).status_code == 202
    )
    assert _jobs(api) == []


def test_bulk_deletes_queue_changes(api: Api) -> None:
    user = api.user()
    second = _second_calendar(user)
    first_only = _channel(user, f"{HOOK}/first", calendar_ids=[user.calendar_id])
    second_only = _channel(user, f"{HOOK}/second", calendar_ids=[second])

    user.upsert(event_id="a")
    user.upsert(second, event_id="b")
    _settle(api)
    assert user.delete("/v1/events", json={"calendar_ids": [second]}).status_code == 202
    assert [job.channel_id for job in _jobs(api)] == [second_only["channel_id"]]
    _settle(api)

    # pycronofy sends the query string: delete_all=True, or calendar_ids[]=…
    assert user.delete(f"/v1/events?calendar_ids%5B%5D={user.calendar_id}", json={}).status_code == 202
    assert [job.channel_id for job in _jobs(api)] == [first_only["channel_id"]]
    _settle(api)

    user.upsert(event_id="c")
    user.upsert(second, event_id="d")
    _settle(api)
    assert user.delete("/v1/events?delete_all=True", json={}).status_code == 202
    assert {job.channel_id for job in _jobs(api)} == {first_only["channel_id"], second_only["channel_id"]}
    _settle(api)

    # Nothing left to delete: no change, no notification.
    assert user.delete("/v1/events", json={"delete_all": True}).status_code == 202
    assert _jobs(api) == []


def test_batch_entries_queue_changes_and_a_bad_entry_does_not_stop_them(api: Api) -> None:
    user = api.user()
    second = _second_calendar(user)
    first_only = _channel(user, f"{HOOK}/first", calendar_ids=[user.calendar_id])
    _channel(user, f"{HOOK}/second", calendar_ids=[second])

    def event_data(event_id: str, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "summary": "Batch",
            "start": "2026-03-02T09:00:00Z",
            "end": "2026-03-02T10:00:00Z",
        } | fields

    batch = [
        {
            "method": "POST",
            "relative_url": f"/v1/calendars/{user.calendar_id}/events",
            "data": event_data("a"),
        },
        {
            "method": "POST",
            "relative_url": f"/v1/calendars/{second}/events",
            "data": event_data("b", summary=None),
        },
    ]
    response = user.post("/v1/batch", json={"batch": batch})
    assert response.status_code == 207, response.text
    assert [entry["status"] for entry in response.json()["batch"]] == [202, 422]
    assert [job.channel_id for job in _jobs(api)] == [first_only["channel_id"]]
    _settle(api)

    only_bad = [
        {
            "method": "POST",
            "relative_url": f"/v1/calendars/{second}/events",
            "data": event_data("c", end=None),
        }
    ]
    assert user.post("/v1/batch", json={"batch": only_bad}).status_code == 207
    assert _jobs(api) == []

    deletes = [
        {
            "method": "DELETE",
            "relative_url": f"/v1/calendars/{user.calendar_id}/events",
            "data": {"event_id": "a"},
        },
        {"method": "DELETE", "relative_url": "/v1/calendars/cal_unknown/events", "data": {"event_id": "a"}},
    ]
    response = user.post("/v1/batch", json={"batch": deletes})
    assert [entry["status"] for entry in response.json()["batch"]] == [202, 404]
    assert [job.channel_id for job in _jobs(api)] == [first_only["channel_id"]]


class SteppingClock:
    """A clock that moves on by one second every time it is read, as a real one moves on while a
    request runs (whole seconds, so the truncation of ``changes_since`` cannot hide the step)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now


def test_changes_since_is_no_later_than_the_change_it_reports(api: Api) -> None:
    user = api.user()
    _channel(user)
    start = api.clock.now().replace(microsecond=0)
    ctx = dataclasses.replace(api.ctx, clock=SteppingClock(start))
    stepping = User(
        TestClient(create_app(api.settings, ctx), raise_server_exceptions=False), user.app, user.tokens
    )
    assert stepping.upsert(user.calendar_id, event_id="e1").status_code == 202
    [job] = _jobs(api)
    with api.ctx.db.read() as session:
        updated_at = session.scalar(select(Event.updated_at).where(Event.event_id == "e1"))
    assert job.changes_since is not None and updated_at is not None
    since = times.format_instant(job.changes_since)
    params = {"tzid": "Etc/UTC", "last_modified": since, "include_managed": "true"}
    params |= {"from": "2026-03-01", "to": "2026-03-10"}
    found = [e["event_id"] for e in user.get("/v1/events", params=params).json()["events"]]
    assert found == ["e1"], f"changes_since {since} but the event changed at {updated_at.isoformat()}"


def test_a_change_committed_late_still_lowers_changes_since(api: Api) -> None:
    if api.ctx.db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite writers of one process queue on a lock: two changes cannot interleave")
    user = api.user()
    _channel(user)
    _settle(api)
    caller = Bearer(user.tokens["access_token"])
    early = api.clock.now().replace(microsecond=0)
    slow_ctx = dataclasses.replace(api.ctx, clock=ManualClock(early))
    fast_ctx = dataclasses.replace(api.ctx, clock=ManualClock(early + timedelta(seconds=10)))
    about_to_queue, go_on = threading.Event(), threading.Event()

    def pause_before_queueing(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name == "slow-writer" and "INSERT INTO notification_jobs" in statement:
            about_to_queue.set()
            go_on.wait(10)

    def slow_writer() -> None:
        body = {"event_id": "early", "summary": "Early", "start": "2026-03-02T09:00:00Z"}
        events.upsert_event(slow_ctx, caller, user.calendar_id, body | {"end": "2026-03-02T10:00:00Z"})

    engine = api.ctx.db.engine
    event.listen(engine, "before_cursor_execute", pause_before_queueing)
    try:
        slow = threading.Thread(target=slow_writer, name="slow-writer")
        slow.start()
        assert about_to_queue.wait(10), "the slow writer never queued its change"
        # The slow change is stamped, not committed; a later change commits first.
        body = {"event_id": "late", "summary": "Late", "start": "2026-03-02T11:00:00Z"}
        events.upsert_event(fast_ctx, caller, user.calendar_id, body | {"end": "2026-03-02T12:00:00Z"})
        go_on.set()
        slow.join(10)
        assert not slow.is_alive()
    finally:
        go_on.set()
        event.remove(engine, "before_cursor_execute", pause_before_queueing)
    [job] = _jobs(api)
    assert job.changes_since is not None
    since = times.format_instant(job.changes_since)
    params = {"tzid": "Etc/UTC", "last_modified": since, "include_managed": "true"}
    params |= {"from": "2026-03-01", "to": "2026-03-10"}
    found = sorted(e["event_id"] for e in user.get("/v1/events", params=params).json()["events"])
    assert found == ["early", "late"], f"changes_since {since}; the early change was stamped {early}"
