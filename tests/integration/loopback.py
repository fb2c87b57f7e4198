"""What the delivery tests share: an app whose callbacks may reach 127.0.0.1, a receiver there, a
sender, the stored jobs and channels, and a signature check independent of the server's code."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from starlette.testclient import TestClient

from openslot.api.app import create_app
from openslot.integrations.callbacks import CallbackGuard
from openslot.integrations.webhooks import WebhookSender
from openslot.store.models import Channel, NotificationJob
from tests.conftest import Api
from tests.receiver import Receiver


@contextmanager
def loopback(api: Api, timeout: float) -> Iterator[tuple[Api, Receiver, WebhookSender]]:
    """``api`` again, with a guard that lets callbacks reach loopback; a receiver and a sender."""
    ctx = dataclasses.replace(api.ctx, callbacks=CallbackGuard(["127.0.0.0/8"]))
    app = create_app(api.settings, ctx)
    client = TestClient(app, raise_server_exceptions=False)
    local = Api(client=client, ctx=ctx, clock=api.clock, settings=api.settings, app=app)
    sender = WebhookSender(ctx.callbacks, timeout=timeout)
    receiver = Receiver().start()
    try:
        yield local, receiver, sender
    finally:
        receiver.stop()
        sender.close()
        client.close()


def jobs(api: Api, channel_id: str, state: str | None = None) -> list[NotificationJob]:
    query = select(NotificationJob).where(NotificationJob.channel_id == channel_id)
    if state is not None:
        query = query.where(NotificationJob.state == state)
    with api.ctx.db.read() as session:
        return list(session.scalars(query.order_by(NotificationJob.id)))


def stored(api: Api, channel_id: str) -> Channel:
    with api.ctx.db.read() as session:
        channel = session.get(Channel, channel_id)
        assert channel is not None
        return channel


def signed_by(secret: str, header: str, body: bytes) -> bool:
    """Verified as a receiver would, with nothing of the server's code."""
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(value.strip(), expected) for value in header.split(","))
