"""Webhook delivery over real HTTP (reference §7.4–7.5) to receivers on 127.0.0.1.

Signed notifications in the reference shape, retries on the back-off schedule, channels closed by
410 or after the failure horizon, timeouts, no redirects, the record of every attempt, and a server
killed in the middle of a stream of changes.
"""

from __future__ import annotations

import bisect
import email.utils
import json
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from openslot.cli import main as cli
from openslot.integrations.clock import ManualClock
from openslot.integrations.webhooks import WebhookSender, signature
from openslot.jobs.worker import DeliveryWorker
from openslot.services import channels as channel_service
from openslot.services.notifications import LEASE_MARGIN, RETRY_SCHEDULE
from openslot.store.models import Base, Channel, Delivery, NotificationJob
from tests.conftest import Api, User
from tests.integration import loopback
from tests.integration.loopback import signed_by
from tests.receiver import MARKER, Receiver

TIMEOUT = 1.0  # seconds per attempt: short, so a slow receiver costs the suite little
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
JITTER = 0.2
LONGEST_BACK_OFF = RETRY_SCHEDULE[-1] * (1 + JITTER) + 1


@dataclass
class Hooks:
    """An app whose guard lets callbacks reach loopback, a worker, a sender and a receiver."""

    api: Api
    receiver: Receiver
    sender: WebhookSender
    worker: DeliveryWorker

    @property
    def clock(self) -> ManualClock:
        return self.api.clock

    def channel(self, user: User, path: str = "/hook", **filters: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"callback_url": self.receiver.url(path)}
        if filters:
            body["filters"] = filters
        response = user.post("/v1/channels", json=body)
        assert response.status_code == 200, response.text
        return response.json()["channel"]

    def run(self) -> int:
        return self.worker.run_until_idle(max_rounds=50)

    def fresh(self, user: User) -> User:
        """The user with new tokens: access tokens expire when the clock jumps by hours."""
        return User(user.client, user.app, self.api.application_calendar(user.app))

    def deliveries(self, channel_id: str) -> list[Delivery]:
        with self.api.ctx.db.read() as session:
            query = select(Delivery).where(Delivery.channel_id == channel_id).order_by(Delivery.id)
            return list(session.scalars(query))

    def jobs(self, channel_id: str, state: str | None = None) -> list[NotificationJob]:
        return loopback.jobs(self.api, channel_id, state)

    def stored(self, channel_id: str) -> Channel:
        return loopback.stored(self.api, channel_id)


@pytest.fixture
def hooks(api: Api) -> Iterator[Hooks]:
    with loopback.loopback(api, TIMEOUT) as (local, receiver, sender):
        worker = DeliveryWorker(local.ctx, sender, concurrency=8, idle_wait=0.05)
        yield Hooks(local, receiver, sender, worker)


@contextmanager
def running(worker: DeliveryWorker) -> Iterator[None]:
    """The worker's own loop on a thread, as ``serve`` and ``openslot worker`` run it."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="test-delivery-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        worker.wake()
        thread.join(20)
        assert not thread.is_alive()


def _since(notification: dict[str, Any]) -> datetime:
    text = notification["notification"]["changes_since"]
    assert STAMP.fullmatch(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- the notifications -------------------------------------------------------------------------------


def test_signature_matches_the_reference_test_vectors() -> None:
    body = b'{"example":"well-known"}'
    vectors = {
        "pDY0Oi7TJSP2hfNmZNkm5": "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c=",
        "CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID": "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0=",
    }
    for secret, expected in vectors.items():
        assert signature(body, [secret]) == expected
        assert signed_by(secret, expected, body)
    assert signature(body, list(vectors)) == ",".join(vectors.values())


def test_verification_then_change_signed_and_in_the_reference_shape(hooks: Hooks) -> None:
    user = hooks.api.user()
    channel = hooks.channel(user)
    assert hooks.run() == 1
    [verification] = hooks.receiver.requests()
    assert verification.json() == {"notification": {"type": "verification"}, "channel": channel}
    assert verification.headers["content-type"] == "application/json; charset=utf-8"
    assert signed_by(user.app.client_secret, verification.headers["cronofy-hmac-sha256"], verification.body)
    assert not signed_by("another secret", verification.headers["cronofy-hmac-sha256"], verification.body)

    hooks.clock.advance(42.5)
    changed_at = hooks.clock.now()
    assert user.upsert(event_id="e1").status_code == 202
    assert hooks.run() == 1
    [_, change] = hooks.receiver.requests()
    body = change.json()
    assert set(body) == {"notification", "channel"}
    assert set(body["notification"]) == {"type", "changes_since"}
    assert body["notification"]["type"] == "change"
    assert body["channel"] == channel
    assert _since(body) == changed_at.replace(microsecond=0)
    assert signed_by(user.app.client_secret, change.headers["cronofy-hmac-sha256"], change.body)
    # The body is compact JSON, byte for byte what was signed.
    assert change.body == json.dumps(body, separators=(",", ":")).encode()
    assert verification.headers["webhook-id"] != change.headers["webhook-id"]
    assert [d.outcome for d in hooks.deliveries(channel["channel_id"])] == ["delivered", "delivered"]
    assert hooks.run() == 0


def test_the_changes_since_read_finds_the_change(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.channel(user)
    hooks.run()
    hooks.clock.advance(600)
    assert user.upsert(event_id="fresh").status_code == 202
    hooks.run()
    since = hooks.receiver.requests()[-1].json()["notification"]["changes_since"]
    params = {"tzid": "Etc/UTC", "from": "2026-03-01", "to": "2026-03-10", "last_modified": since}
    found = user.get("/v1/events", params=params | {"include_managed": "true"}).json()["events"]
    assert [e["event_id"] for e in found] == ["fresh"]


def test_every_change_during_an_outage_is_covered_once_the_receiver_is_back(hooks: Hooks) -> None:
    user = hooks.api.user()
    channel = hooks.channel(user)
    assert hooks.run() == 1
    hooks.receiver.stop()
    rng = random.Random(7)
    changes: list[tuple[datetime, float]] = []
    for i in range(50):
        hooks.clock.advance(rng.uniform(1, 60))
        changed_at = hooks.clock.now()
        assert user.upsert(event_id=f"e{i % 7}", summary=f"Version {i}").status_code == 202
        changes.append((changed_at, time.monotonic()))
        if i % 5 == 4:
            hooks.run()  # attempts while the receiver is down
    failed = hooks.deliveries(channel["channel_id"])[1:]
    assert failed and {d.outcome for d in failed} == {"error"}

    hooks.receiver.start()
    hooks.clock.advance(LONGEST_BACK_OFF)
    assert hooks.run() >= 1
    delivered = [r for r in hooks.receiver.requests() if r.kind == "change"]
    assert delivered
    for changed_at, committed in changes:
        assert any(_since(r.json()) <= changed_at and r.monotonic > committed for r in delivered), (
            f"the change at {changed_at} was never notified"
        )
    assert hooks.jobs(channel["channel_id"], "pending") == []
    assert hooks.stored(channel["channel_id"]).failing_since is None


def _change_once(user: User) -> Callable[[], None]:
    """A receiver hook: the first time it runs, an event changes while the attempt is on the wire."""
    done = threading.Event()

    def change() -> None:
        if not done.is_set():
            done.set()
            assert user.upsert(event_id="during", summary="During").status_code == 202

    return change


def test_a_change_during_a_failed_attempt_keeps_the_earliest_changes_since(hooks: Hooks) -> None:
    user = hooks.api.user()
    channel = hooks.channel(user)
    hooks.run()
    hooks.receiver.behave("/hook", 500, before=_change_once(user))
    hooks.clock.advance(10)
    first = hooks.clock.now()
    assert user.upsert(event_id="before").status_code == 202
    hooks.clock.advance(10)
    hooks.run()

    [pending] = hooks.jobs(channel["channel_id"], "pending")
    assert pending.changes_since == first
    assert len(hooks.jobs(channel["channel_id"], "merged")) == 1

    hooks.receiver.behave("/hook", 200)
    hooks.clock.advance(LONGEST_BACK_OFF)
    hooks.run()
    last = hooks.receiver.requests()[-1]
    assert last.status == 200 and _since(last.json()) == first.replace(microsecond=0)


def test_a_change_during_a_failed_attempt_does_not_cut_the_back_off_short(hooks: Hooks) -> None:
    user = hooks.api.user()
    channel = hooks.channel(user)
    hooks.run()
    hooks.receiver.behave("/hook", 500, before=_change_once(user))
    hooks.clock.advance(10)
    assert user.upsert(event_id="before").status_code == 202
    hooks.run()
    attempts = [d for d in hooks.deliveries(channel["channel_id"]) if d.outcome == "failed"]
    assert len(attempts) == 1, f"{len(attempts)} attempts without waiting for the back-off"
    [pending] = hooks.jobs(channel["channel_id"], "pending")
    assert pending.due_at >= hooks.clock.now() + timedelta(seconds=RETRY_SCHEDULE[0] * (1 - JITTER))


# --- what the receiver's answer means -----------------------------------------------------------------


def test_server_errors_are_retried_on_schedule_until_the_horizon_closes_the_channel(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/failing", 500)
    channel = hooks.channel(user, "/failing")
    channel_id = channel["channel_id"]
    horizon = timedelta(seconds=hooks.api.ctx.webhook_failure_horizon)
    started = hooks.clock.now()
    attempted: list[datetime] = []
    for _ in range(40):
        attempted.append(hooks.clock.now())
        assert hooks.run() == 1
        if hooks.stored(channel_id).closed_at is not None:
            break
        [job] = hooks.jobs(channel_id, "pending")
        step = RETRY_SCHEDULE[min(len(attempted), len(RETRY_SCHEDULE)) - 1]
        delay = (job.due_at - hooks.clock.now()).total_seconds()
        assert step * (1 - JITTER) - 0.001 <= delay <= step * (1 + JITTER) + 0.001, (len(attempted), delay)
        hooks.clock.advance(delay)
        assert hooks.stored(channel_id).failing_since == started
    closed = hooks.stored(channel_id)
    assert closed.closed_at == attempted[-1]
    assert attempted[-1] - started >= horizon > attempted[-2] - started
    assert "horizon" in (closed.closed_reason or "")
    assert [j.state for j in hooks.jobs(channel_id)] == ["dead"]
    outcomes = [(d.outcome, d.status_code) for d in hooks.deliveries(channel_id)]
    assert outcomes == [("failed", 500)] * len(attempted)
    assert len(hooks.receiver.requests("/failing")) == len(attempted)

    # Closed for good: not listed, and changes are no longer sent.
    user = hooks.fresh(user)
    assert user.get("/v1/channels").json() == {"channels": []}
    assert user.upsert(event_id="after").status_code == 202
    hooks.clock.advance(LONGEST_BACK_OFF)
    assert hooks.run() == 0
    assert len(hooks.receiver.requests("/failing")) == len(attempted)


def test_gone_closes_the_channel_at_once(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/gone", 410)
    channel_id = hooks.channel(user, "/gone")["channel_id"]
    assert hooks.run() == 1
    closed = hooks.stored(channel_id)
    assert closed.closed_at == hooks.clock.now()
    assert "410" in (closed.closed_reason or "")
    assert [(d.outcome, d.status_code) for d in hooks.deliveries(channel_id)] == [("gone", 410)]
    assert [j.state for j in hooks.jobs(channel_id)] == ["dead"]
    assert user.get("/v1/channels").json() == {"channels": []}

    assert user.upsert(event_id="after").status_code == 202
    hooks.clock.advance(LONGEST_BACK_OFF)
    assert hooks.run() == 0
    assert len(hooks.receiver.requests()) == 1


def test_too_many_requests_waits_for_retry_after(hooks: Hooks) -> None:
    user = hooks.api.user()
    later = datetime.now(UTC) + timedelta(seconds=600)
    hooks.receiver.behave("/seconds", 429, headers={"Retry-After": "120"})
    hooks.receiver.behave(
        "/date", 429, headers={"Retry-After": email.utils.format_datetime(later, usegmt=True)}
    )
    by_seconds = hooks.channel(user, "/seconds")["channel_id"]
    by_date = hooks.channel(user, "/date")["channel_id"]
    assert hooks.run() == 2
    now = hooks.clock.now()
    [job] = hooks.jobs(by_seconds, "pending")
    assert job.due_at - now == timedelta(seconds=120)
    [job] = hooks.jobs(by_date, "pending")
    assert timedelta(seconds=590) <= job.due_at - now <= timedelta(seconds=601)
    [attempt] = hooks.deliveries(by_seconds)
    assert (attempt.outcome, attempt.status_code) == ("rate_limited", 429)

    hooks.receiver.behave("/seconds", 200)
    hooks.clock.advance(119)
    assert hooks.run() == 0
    hooks.clock.advance(1)
    assert hooks.run() == 1
    assert [d.outcome for d in hooks.deliveries(by_seconds)] == ["rate_limited", "delivered"]


def test_redirects_are_failures_and_not_followed(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/moved", 302, headers={"Location": hooks.receiver.url("/target")})
    hooks.receiver.behave("/moved-for-good", 308, headers={"Location": hooks.receiver.url("/target")})
    one = hooks.channel(user, "/moved")["channel_id"]
    two = hooks.channel(user, "/moved-for-good")["channel_id"]
    assert hooks.run() == 2
    hooks.clock.advance(LONGEST_BACK_OFF)
    assert hooks.run() == 2
    for channel_id, status in ((one, 302), (two, 308)):
        outcomes = [(d.outcome, d.status_code) for d in hooks.deliveries(channel_id)]
        assert outcomes == [("redirect", status)] * 2
        assert len(hooks.jobs(channel_id, "pending")) == 1
        assert hooks.stored(channel_id).closed_at is None
    assert hooks.receiver.requests("/target") == []


def test_a_slow_receiver_is_abandoned_at_the_timeout_and_retried(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/slow", delay=TIMEOUT * 4)
    channel_id = hooks.channel(user, "/slow")["channel_id"]
    started = time.monotonic()
    assert hooks.run() == 1
    took = time.monotonic() - started
    assert TIMEOUT * 0.9 <= took < TIMEOUT * 2.5, took
    [attempt] = hooks.deliveries(channel_id)
    assert attempt.outcome == "timeout" and attempt.status_code is None
    assert TIMEOUT * 900 <= attempt.duration_ms < TIMEOUT * 2500
    [job] = hooks.jobs(channel_id, "pending")
    assert job.due_at > hooks.clock.now()

    hooks.receiver.behave("/slow", 200)
    hooks.clock.advance(LONGEST_BACK_OFF)
    assert hooks.run() == 1
    assert [d.outcome for d in hooks.deliveries(channel_id)] == ["timeout", "delivered"]


def test_a_slow_receiver_does_not_hold_up_other_channels(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/slow", delay=10)
    sender = WebhookSender(hooks.api.ctx.callbacks, timeout=3.0)
    worker = DeliveryWorker(hooks.api.ctx, sender, concurrency=4, idle_wait=0.05)
    try:
        with running(worker):
            slow = hooks.channel(user, "/slow")["channel_id"]
            assert _wait(lambda: hooks.receiver.in_flight("/slow") == 1, 5)
            fast = hooks.channel(user, "/fast")["channel_id"]
            assert _wait(lambda: bool(hooks.deliveries(fast)), 2.5)
            assert hooks.deliveries(slow) == [], "the fast channel waited for the slow one"
            assert [d.outcome for d in hooks.deliveries(fast)] == ["delivered"]
            assert _wait(lambda: bool(hooks.deliveries(slow)), 5)
    finally:
        sender.close()
    assert [d.outcome for d in hooks.deliveries(slow)] == ["timeout"]


def test_a_channel_has_one_attempt_in_flight_at_a_time(hooks: Hooks) -> None:
    user = hooks.api.user()
    channel_id = hooks.channel(user, "/slow")["channel_id"]
    hooks.run()
    hooks.receiver.behave("/slow", delay=10)
    sender = WebhookSender(hooks.api.ctx.callbacks, timeout=2.0)
    worker = DeliveryWorker(hooks.api.ctx, sender, concurrency=4, idle_wait=0.05)
    busiest = 0
    try:
        with running(worker):
            for i in range(4):
                assert user.upsert(event_id=f"e{i}").status_code == 202
                time.sleep(0.2)
                busiest = max(busiest, hooks.receiver.in_flight("/slow"))
            assert _wait(lambda: len(hooks.deliveries(channel_id)) >= 2, 5)
    finally:
        sender.close()
    assert busiest == 1, f"{busiest} attempts to one channel at once"


def test_an_attempt_still_within_its_timeout_is_not_sent_again(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/slow", delay=3)
    sender = WebhookSender(hooks.api.ctx.callbacks, timeout=90.0)
    worker = DeliveryWorker(hooks.api.ctx, sender, concurrency=4, idle_wait=0.05)
    try:
        with running(worker):
            hooks.channel(user, "/slow")
            assert _wait(lambda: hooks.receiver.in_flight("/slow") == 1, 5)
            # The attempt has been on the wire for a minute and more, well within its 90 s.
            hooks.clock.advance(61)
            _wait(lambda: len(hooks.receiver.requests("/slow")) > 1, 1)
            seen = len(hooks.receiver.requests("/slow"))
            hooks.receiver.stop()  # lets the held request go
    finally:
        sender.close()
    assert seen == 1, "the notification was sent again while its first attempt was still running"


# --- the record of attempts ---------------------------------------------------------------------------


def test_every_attempt_is_recorded_and_listed_by_the_cli(hooks: Hooks, tmp_path: Path) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/flaky", 500)
    channel_id = hooks.channel(user, "/flaky")["channel_id"]
    hooks.run()
    hooks.receiver.behave("/flaky", 200)
    hooks.clock.advance(LONGEST_BACK_OFF)
    hooks.run()
    user = hooks.fresh(user)
    assert user.upsert(event_id="e1").status_code == 202
    hooks.run()

    recorded = hooks.deliveries(channel_id)
    assert [(d.outcome, d.status_code, d.attempt) for d in recorded] == [
        ("failed", 500, 1),
        ("delivered", 200, 2),
        ("delivered", 200, 1),
    ]
    assert len(hooks.receiver.requests("/flaky")) == len(recorded)
    channel, newest_first = channel_service.deliveries(hooks.api.ctx, channel_id, 50)
    assert channel.id == channel_id
    assert [d.id for d in newest_first] == [d.id for d in reversed(recorded)]

    settings = hooks.api.settings
    env = {
        "OPENSLOT_DATABASE_URL": settings.effective_database_url,
        "OPENSLOT_SECRET_KEY": settings.secret_key.get_secret_value(),
        "OPENSLOT_DATA_DIR": str(tmp_path),
        "COLUMNS": "250",
    }
    result = CliRunner().invoke(cli, ["channels", "deliveries", channel_id], env=env)
    assert result.exit_code == 0, result.output
    assert channel_id in result.output and "open" in result.output
    rows = [line for line in result.output.splitlines() if "failed" in line or "delivered" in line]
    assert len(rows) == 3
    assert "500" in rows[-1] and "failed" in rows[-1]
    assert MARKER.decode() not in result.output
    missing = CliRunner().invoke(cli, ["channels", "deliveries", "chn_000000000000000000000000"], env=env)
    assert missing.exit_code != 0


def test_the_receivers_answer_is_never_stored_nor_shown(hooks: Hooks) -> None:
    user = hooks.api.user()
    hooks.receiver.behave("/failing", 500)
    hooks.receiver.behave("/limited", 429, headers={"Retry-After": "5"})
    hooks.receiver.behave("/gone", 410)
    for path in ("/hook", "/failing", "/limited", "/gone"):
        hooks.channel(user, path)
    assert user.upsert(event_id="e1").status_code == 202
    hooks.run()
    assert {r.status for r in hooks.receiver.requests()} == {200, 500, 429, 410}

    columns = {c["name"] for c in inspect(hooks.api.ctx.db.engine).get_columns("deliveries")}
    assert columns == {
        "id",
        "job_id",
        "channel_id",
        "attempt",
        "attempted_at",
        "duration_ms",
        "status_code",
        "outcome",
        "detail",
    }
    marker = MARKER.decode()
    with hooks.api.ctx.db.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()):
                assert marker not in repr(tuple(row)), table.name
    for path in ("/v1/channels", "/v1/calendars", "/v1/account"):
        assert marker not in user.get(path).text
    params = {"tzid": "Etc/UTC", "from": "2026-03-01", "to": "2026-03-10", "include_managed": "true"}
    assert marker not in user.get("/v1/events", params=params).text


# --- a server killed in the middle of a stream of changes ---------------------------------------------

CRASH_CHANGES = 1000


@pytest.mark.e2e
def test_every_acknowledged_change_is_notified_across_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e import conftest as e2e

    plain_env = e2e.server_env
    monkeypatch.setattr(
        e2e,
        "server_env",
        lambda data_dir, base_url: (
            plain_env(data_dir, base_url)
            | {"OPENSLOT_CALLBACK_ALLOW_SUBNETS": "127.0.0.0/8", "OPENSLOT_WEBHOOK_TIMEOUT": "2"}
        ),
    )
    data_dir = tmp_path / "data"
    servers: list[e2e.Server] = []
    receiver = Receiver().start()
    try:
        servers.append(e2e.start_server(data_dir, tmp_path))
        _crash_run(servers, receiver, data_dir, tmp_path)
    finally:
        for server in servers:
            server.stop()
        receiver.stop()


def _crash_run(servers: list[Any], receiver: Receiver, data_dir: Path, workdir: Path) -> None:
    from tests.e2e import conftest as e2e

    first = servers[0]
    with httpx.Client(timeout=10) as http:
        issued = http.post(
            f"{first.base_url}/v1/application_calendars",
            json={
                "client_id": first.client_id,
                "client_secret": first.client_secret,
                "application_calendar_id": "crash",
            },
        ).json()
        headers = {"Authorization": f"Bearer {issued['access_token']}"}
        calendar_id = http.get(f"{first.base_url}/v1/calendars", headers=headers).json()["calendars"][0][
            "calendar_id"
        ]
        created = http.post(
            f"{first.base_url}/v1/channels", headers=headers, json={"callback_url": receiver.url("/crash")}
        )
        assert created.status_code == 200, created.text
    assert receiver.wait_for(lambda got: any(r.kind == "verification" for r in got), 10)

    base = {"url": first.base_url}
    restarted = threading.Event()
    acknowledged: list[datetime] = []
    refused: list[int] = []
    other: list[int] = []

    def client() -> None:
        with httpx.Client(timeout=10, headers=headers) as http:
            for i in range(CRASH_CHANGES):
                start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=30 * (i % 200))
                event = {
                    "event_id": f"e{i % 200}",
                    "summary": f"Change {i}",
                    "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                sent_at = datetime.now(UTC)
                try:
                    response = http.post(f"{base['url']}/v1/calendars/{calendar_id}/events", json=event)
                except httpx.TransportError:
                    refused.append(i)
                    if not restarted.wait(30):
                        return
                    continue
                if response.status_code == 202:
                    acknowledged.append(sent_at)
                else:
                    other.append(response.status_code)

    thread = threading.Thread(target=client, name="crash-client", daemon=True)
    thread.start()
    kill_after = random.randint(250, 350)
    _wait(lambda: len(acknowledged) >= kill_after or not thread.is_alive(), 30)
    first.process.kill()  # SIGKILL: no shutdown, no last words
    first.process.wait(10)
    killed_at = len(acknowledged)
    second = e2e.start_server(data_dir, workdir)
    servers.append(second)
    base["url"] = second.base_url
    restarted.set()
    thread.join(60)
    assert not thread.is_alive()
    assert other == []
    assert len(acknowledged) >= CRASH_CHANGES - len(refused) - 1
    last = acknowledged[-1]

    def caught_up(got: list[Any]) -> bool:
        return any(r.kind == "change" and r.at > last for r in got)

    assert receiver.wait_for(caught_up, 30), "no notification after the last change"
    uncovered = _uncovered(acknowledged, receiver.requests("/crash"))
    waited_for_lease = 0.0
    if uncovered:
        # A job on the wire when the server died is taken again once its lease runs out.
        now = datetime.now(UTC)
        leases = [
            datetime.fromisoformat(job[4]).replace(tzinfo=UTC)
            for job in _owed_jobs(data_dir / "openslot.db")
            if job[1] == "delivering" and job[4]
        ]
        if leases:
            waited_for_lease = min((max(leases) - now).total_seconds() + 10, LEASE_MARGIN + 17)
            receiver.wait_for(lambda got: not _uncovered(acknowledged, got), waited_for_lease)
            uncovered = _uncovered(acknowledged, receiver.requests("/crash"))
    changes = [r for r in receiver.requests("/crash") if r.kind == "change"]
    ids = Counter(r.headers.get("webhook-id") for r in changes)
    duplicates = sum(count - 1 for count in ids.values() if count > 1)
    print(
        f"\ncrash after {killed_at} acknowledged changes; {len(acknowledged)} acknowledged, "
        f"{len(refused)} refused while down; {len(changes)} change notifications, "
        f"{duplicates} duplicate deliveries; waited {waited_for_lease:.0f} s for a lease"
    )
    assert not uncovered, (
        f"{len(uncovered)} acknowledged changes (first at {uncovered[0]}) have no notification; "
        f"jobs still owed: {_owed_jobs(data_dir / 'openslot.db')}"
    )


def _uncovered(acknowledged: list[datetime], received: list[Any]) -> list[datetime]:
    """Changes (sent at ``t``) with no change notification received after ``t`` whose
    changes_since is at most ``t`` (plus a second: changes_since has whole seconds)."""
    tolerance = timedelta(seconds=1)
    notified = sorted((r.at, _since(r.json())) for r in received if r.kind == "change")
    arrivals = [at for at, _ in notified]
    # earliest[i]: the lowest changes_since among the notifications from the i-th arrival on.
    earliest: list[datetime] = []
    for _, since in reversed(notified):
        earliest.append(min(since, earliest[-1]) if earliest else since)
    earliest.reverse()
    uncovered = []
    for t in acknowledged:
        i = bisect.bisect_left(arrivals, t)
        if i == len(notified) or earliest[i] > t + tolerance:
            uncovered.append(t)
    return uncovered


def _owed_jobs(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return list(
            db.execute(
                "SELECT kind, state, changes_since, due_at, locked_until, attempts FROM notification_jobs "
                "WHERE state IN ('pending', 'delivering')"
            )
        )
