"""Push notification channels through pycronofy against a real server process.

The server lets callbacks reach loopback (``OPENSLOT_CALLBACK_ALLOW_SUBNETS=127.0.0.0/8``), so a
receiver in this process gets the verification and change notifications its embedded worker sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pycronofy
import pytest
from pycronofy.exceptions import PyCronofyRequestError

from tests.e2e import conftest as e2e
from tests.receiver import Received, Receiver

pytestmark = pytest.mark.e2e

NOTIFIED_WITHIN = 10.0


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.Server]:
    """A server of our own: the session's one does not let callbacks reach loopback."""
    workdir = tmp_path_factory.mktemp("openslot-channels")
    plain_env = e2e.server_env

    def env(data_dir: Path, base_url: str) -> dict[str, str]:
        return plain_env(data_dir, base_url) | {
            "OPENSLOT_CALLBACK_ALLOW_SUBNETS": "127.0.0.0/8",
            "OPENSLOT_WEBHOOK_TIMEOUT": "2",
        }

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(e2e, "server_env", env)
        started = e2e.start_server(workdir / "data", workdir)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def user_client(
    hook_server: e2e.Server, cronofy: Callable[..., pycronofy.Client], request: pytest.FixtureRequest
) -> pycronofy.Client:
    """A client authorized as an application calendar of its own (one per test)."""
    client = cronofy(
        hook_server.base_url, client_id=hook_server.client_id, client_secret=hook_server.client_secret
    )
    client.application_calendar(f"channels-{request.node.name}"[:100])
    return client


def _notifications(receiver: Receiver, path: str, kind: str, count: int = 1) -> list[Received]:
    def enough(got: list[Received]) -> bool:
        return len([r for r in got if r.path == path and r.kind == kind]) >= count

    assert receiver.wait_for(enough, NOTIFIED_WITHIN), f"no {kind} notification at {path}"
    return [r for r in receiver.requests(path) if r.kind == kind]


def test_create_list_and_close(user_client: pycronofy.Client, receiver: Receiver) -> None:
    url = receiver.url("/pycronofy/lifecycle")
    channel = user_client.create_notification_channel(url)
    assert channel["channel_id"].startswith("chn_")
    assert channel["callback_url"] == url
    assert channel["filters"] == {"only_managed": False}
    assert user_client.create_notification_channel(url) == channel
    assert user_client.list_notification_channels() == [channel]

    user_client.close_notification_channel(channel["channel_id"])
    assert user_client.list_notification_channels() == []
    with pytest.raises(PyCronofyRequestError) as info:
        user_client.close_notification_channel(channel["channel_id"])
    assert info.value.response.status_code == 404


def test_filters(user_client: pycronofy.Client, receiver: Receiver) -> None:
    calendar_id = user_client.list_calendars()[0]["calendar_id"]
    channel = user_client.create_notification_channel(
        receiver.url("/pycronofy/filtered"), calendar_ids=(calendar_id,), only_managed=True
    )
    assert channel["filters"] == {"calendar_ids": [calendar_id], "only_managed": True}
    assert user_client.list_notification_channels() == [channel]


def test_loopback_is_refused_by_a_server_without_the_allow_list(
    server: e2e.Server, cronofy: Callable[..., pycronofy.Client], receiver: Receiver
) -> None:
    client = cronofy(server.base_url, client_id=server.client_id, client_secret=server.client_secret)
    client.application_calendar("channels-refused")
    with pytest.raises(PyCronofyRequestError) as info:
        client.create_notification_channel(receiver.url("/pycronofy/refused"))
    assert info.value.response.status_code == 422
    assert "callback_url" in info.value.response.json()["errors"]


def test_verification_and_change_notifications_arrive_signed(
    user_client: pycronofy.Client, receiver: Receiver
) -> None:
    path = "/pycronofy/notified"
    channel = user_client.create_notification_channel(receiver.url(path))
    [verification] = _notifications(receiver, path, "verification")
    assert verification.json() == {"notification": {"type": "verification"}, "channel": channel}

    calendar_id = user_client.list_calendars()[0]["calendar_id"]
    before = datetime.now(UTC).replace(microsecond=0)
    start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    user_client.upsert_event(
        calendar_id,
        {"event_id": "notified", "summary": "Notified", "start": start, "end": start + timedelta(hours=1)},
    )
    [change] = _notifications(receiver, path, "change")
    body = change.json()
    assert body["channel"] == channel
    since = datetime.strptime(body["notification"]["changes_since"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= since <= datetime.now(UTC)

    for notification in (verification, change):
        header = notification.headers["cronofy-hmac-sha256"]
        assert user_client.hmac_valid(header, notification.body.decode())
        assert not user_client.hmac_valid(header, notification.body.decode() + " ")

    # changes_since is what Read Events takes as last_modified.
    found = list(
        user_client.read_events(
            calendar_ids=(calendar_id,),
            from_date="2030-01-06",
            to_date="2030-01-08",
            last_modified=body["notification"]["changes_since"],
            tzid="Etc/UTC",
        )
    )
    assert [e["event_id"] for e in found] == ["notified"]

    user_client.close_notification_channel(channel["channel_id"])
    user_client.upsert_event(
        calendar_id,
        {"event_id": "unheard", "summary": "Unheard", "start": start, "end": start + timedelta(hours=2)},
    )
    assert not receiver.wait_for(
        lambda got: len([r for r in got if r.path == path and r.kind == "change"]) > 1, 1.5
    )
