"""The guard against server-side request forgery: which callback URLs channels may use.

Forbidden URLs are refused by ``CallbackGuard.check`` and by ``POST /v1/channels`` alike; names are
resolved by injected resolvers only (no DNS), and nothing here connects to a public address.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from openslot.api.app import create_app
from openslot.integrations.callbacks import CallbackGuard, CallbackRefused
from openslot.integrations.webhooks import WebhookSender
from openslot.jobs.worker import DeliveryWorker
from openslot.store.models import Delivery
from tests.conftest import Api
from tests.receiver import Receiver

FORBIDDEN = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://0x7f.1/hook",
    "http://0x7f000001/hook",
    "http://0x7f.0x0.0x0.0x1/hook",
    "http://017700000001/hook",
    "http://127.0.0.1.:8080/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://sub.localhost/hook",
    "http://localhost.localdomain/hook",
    "http://[::1]/hook",
    "http://[0:0:0:0:0:0:0:1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[64:ff9b::127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://0/hook",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://198.18.0.1/hook",
    "http://192.0.2.1/hook",
    "http://240.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://224.0.0.1/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fe80::1%25eth0]/hook",
    "http://[ff02::1]/hook",
    "http://[::]/hook",
    "file:///etc/passwd",
    "gopher://x",
    "ftp://x",
    "https://user:pass@example.com/",
    "https://user@example.com/",
    "javascript:alert(1)",
    "data:text/plain,hello",
    "http:///hook",
    "http://127.0.0.1:99999/hook",
    "http://loopback.test/hook",
    "http://mixed.test/hook",
]

# Names the injected resolver knows; every other name does not resolve.
NAMES = {
    "loopback.test": ["127.0.0.1"],
    "mixed.test": ["93.184.216.34", "10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "v6-loopback.test": ["::1"],
    "public.test": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    try:
        return NAMES[host]
    except KeyError:
        raise OSError(f"{host} does not resolve") from None


def _guarded(api: Api, guard: CallbackGuard) -> Api:
    ctx = dataclasses.replace(api.ctx, callbacks=guard)
    app = create_app(api.settings, ctx)
    client = TestClient(app, raise_server_exceptions=False)
    return Api(client=client, ctx=ctx, clock=api.clock, settings=api.settings, app=app)


@pytest.fixture
def guarded(api: Api) -> Iterator[Api]:
    local = _guarded(api, CallbackGuard(resolver=fake_resolver))
    try:
        yield local
    finally:
        local.client.close()


@pytest.mark.parametrize("url", FORBIDDEN)
def test_forbidden_urls_are_refused_by_the_guard(url: str) -> None:
    guard = CallbackGuard(resolver=fake_resolver)
    with pytest.raises(CallbackRefused) as refused:
        guard.check(url, resolve=False)
    assert refused.value.reason
    with pytest.raises(CallbackRefused):
        guard.check(url, resolve=True)


def test_forbidden_urls_are_refused_by_the_api(guarded: Api) -> None:
    assert len(FORBIDDEN) >= 30
    user = guarded.user()
    accepted = []
    for url in FORBIDDEN:
        response = user.post("/v1/channels", json={"callback_url": url})
        if response.status_code != 422 or "callback_url" not in response.json().get("errors", {}):
            accepted.append((url, response.status_code, response.text))
    assert accepted == []
    assert user.get("/v1/channels").json() == {"channels": []}


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "https://8.8.8.8/hook",
        "http://1.1.1.1:8080/hook?token=abc",
        "https://[2606:4700:4700::1111]/hook",
        "https://public.test/hook",
    ],
)
def test_public_addresses_pass(url: str) -> None:
    guard = CallbackGuard(resolver=fake_resolver)
    assert guard.check(url, resolve=True) is not None
    assert guard.check(url, resolve=False) is not None


def test_the_target_is_the_checked_address() -> None:
    target = CallbackGuard(resolver=fake_resolver).check("https://public.test/hook", resolve=True)
    assert target is not None
    assert (target.scheme, target.host, target.port, target.address) == (
        "https",
        "public.test",
        443,
        "93.184.216.34",
    )


def test_a_name_that_does_not_resolve_waits_for_delivery() -> None:
    guard = CallbackGuard(resolver=fake_resolver)
    assert guard.check("https://unknown.test/hook", resolve=False) is None
    with pytest.raises(CallbackRefused):
        guard.check("https://unknown.test/hook", resolve=True)


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        (["127.0.0.0/8"], "http://127.0.0.1:8080/hook"),
        (["127.0.0.0/8"], "http://127.1/hook"),
        (["127.0.0.0/8"], "http://[::ffff:127.0.0.1]/hook"),
        (["127.0.0.0/8"], "http://loopback.test/hook"),
        (["127.0.0.0/8"], "http://localhost/hook"),
        (["10.0.0.0/8"], "http://10.20.30.40/hook"),
        (["192.168.0.0/16", "fd00::/8"], "http://[fd00::5]/hook"),
        (["169.254.169.254/32"], "http://metadata.test/hook"),
    ],
)
def test_allowed_subnets_open_exactly_themselves(allowed: list[str], url: str) -> None:
    names = NAMES | {"localhost": ["127.0.0.1"]}
    guard = CallbackGuard(allowed, resolver=lambda host, port: names[host])
    assert guard.check(url, resolve=True) is not None
    assert guard.check(url, resolve=False) is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://169.254.169.254/hook",
        "http://192.168.1.1/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://mixed.test/hook",
    ],
)
def test_an_allowed_subnet_does_not_open_others(url: str) -> None:
    names = NAMES | {"localhost": ["127.0.0.1"], "mixed.test": ["10.1.2.3", "127.0.0.1"]}
    guard = CallbackGuard(["10.0.0.0/8"], resolver=lambda host, port: names[host])
    with pytest.raises(CallbackRefused):
        guard.check(url, resolve=True)


def test_the_api_accepts_an_allowed_subnet(api: Api) -> None:
    local = _guarded(api, CallbackGuard(["127.0.0.0/8"], resolver=fake_resolver))
    try:
        user = local.user()
        for url in ("http://127.0.0.1:8080/hook", "http://loopback.test/hook"):
            response = user.post("/v1/channels", json={"callback_url": url})
            assert response.status_code == 200, response.text
        response = user.post("/v1/channels", json={"callback_url": "http://10.0.0.1/hook"})
        assert response.status_code == 422
    finally:
        local.client.close()


class Rebinding:
    """A name whose first answer is public and every later one loopback (DNS rebinding)."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int) -> list[str]:
        if host != "rebind.test":
            raise OSError(f"{host} does not resolve")
        with self._lock:
            self.calls += 1
            return ["93.184.216.34"] if self.calls == 1 else ["127.0.0.1"]


def test_dns_rebinding_is_blocked_at_delivery(api: Api) -> None:
    rebinding = Rebinding()
    guard = CallbackGuard(resolver=rebinding)
    local = _guarded(api, guard)
    sender = WebhookSender(guard, timeout=1.0)
    with Receiver() as receiver:
        try:
            url = f"http://rebind.test:{receiver.port}/hook"
            user = local.user()
            response = user.post("/v1/channels", json={"callback_url": url})
            assert response.status_code == 200, response.text
            channel_id = response.json()["channel"]["channel_id"]
            assert rebinding.calls == 1

            started = time.monotonic()
            attempt = sender.send(url, b'{"notification":{"type":"verification"}}', ["secret"], "msg_1")
            assert attempt.outcome == "blocked"
            assert attempt.status_code is None
            assert time.monotonic() - started < 0.5

            assert DeliveryWorker(local.ctx, sender).run_until_idle() == 1
            with local.ctx.db.read() as session:
                outcomes = list(
                    session.scalars(select(Delivery.outcome).where(Delivery.channel_id == channel_id))
                )
            assert outcomes == ["blocked"]
            assert receiver.requests() == []
        finally:
            sender.close()
            local.client.close()


def test_every_address_a_name_resolves_to_must_be_allowed(api: Api) -> None:
    local = _guarded(api, CallbackGuard(resolver=fake_resolver))
    try:
        user = local.user()
        for name in ("mixed.test", "metadata.test", "v6-loopback.test", "loopback.test"):
            response = user.post("/v1/channels", json={"callback_url": f"https://{name}/hook"})
            assert response.status_code == 422, (name, response.text)
            assert "callback_url" in response.json()["errors"]
        assert user.post("/v1/channels", json={"callback_url": "https://public.test/hook"}).status_code == 200
    finally:
        local.client.close()
