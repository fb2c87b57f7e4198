"""The delivery worker's batches and the sender's connections.

Claims take many jobs in one statement, at most one per channel; one transaction records a whole
pass of outcomes; decrypted secrets are remembered by ciphertext, so a changed secret signs the
next notification; the sender keeps connections alive, retries a request once on a connection the
receiver closed while it was idle, and never reuses a connection whose answer it did not read.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update

from openslot.integrations.callbacks import CallbackGuard
from openslot.integrations.clock import ManualClock
from openslot.integrations.webhooks import Attempt, WebhookSender
from openslot.jobs.worker import DeliveryWorker
from openslot.services import notifications
from openslot.services.credentials import DECRYPTED_CACHE_SIZE, SecretBox
from openslot.services.notifications import LEASE_MARGIN, RETRY_SCHEDULE, Outgoing
from openslot.store.models import Application, Channel, Delivery, NotificationJob
from tests.conftest import Api, User
from tests.integration import loopback
from tests.integration.loopback import signed_by
from tests.receiver import Receiver

TIMEOUT = 2.0
HOLDER = "test-host:1:cafe"


@dataclass
class Setup:
    api: Api
    receiver: Receiver
    sender: WebhookSender

    @property
    def clock(self) -> ManualClock:
        return self.api.clock

    def channel(self, user: User, path: str = "/hook") -> str:
        response = user.post("/v1/channels", json={"callback_url": self.receiver.url(path)})
        assert response.status_code == 200, response.text
        return str(response.json()["channel"]["channel_id"])

    def claim(self, limit: int = 50) -> list[Outgoing]:
        return notifications.claim(self.api.ctx, limit, TIMEOUT, HOLDER)

    def jobs(self, channel_id: str) -> list[NotificationJob]:
        return loopback.jobs(self.api, channel_id)

    def deliveries(self) -> list[Delivery]:
        with self.api.ctx.db.read() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.id)))

    def stored(self, channel_id: str) -> Channel:
        return loopback.stored(self.api, channel_id)


@pytest.fixture
def setup(api: Api) -> Iterator[Setup]:
    with loopback.loopback(api, TIMEOUT) as (local, receiver, sender):
        yield Setup(local, receiver, sender)


# --- claiming and recording in batches ---------------------------------------------------------------


def test_a_claim_takes_one_job_per_channel_and_none_of_a_channel_in_flight(setup: Setup) -> None:
    user = setup.api.user()
    channels = {setup.channel(user, f"/c{i}") for i in range(5)}
    setup.clock.advance(1)
    assert user.upsert(event_id="e1").status_code == 202  # a change job behind each verification

    first = setup.claim()
    assert sorted(o.channel_id for o in first) == sorted(channels)
    assert {o.attempt for o in first} == {1}
    assert setup.claim() == [], "a channel with an attempt in flight was claimed again"

    notifications.record_all(setup.api.ctx, [(o, Attempt("delivered", 200)) for o in first])
    second = setup.claim()
    assert sorted(o.channel_id for o in second) == sorted(channels)
    assert not {o.job_id for o in first} & {o.job_id for o in second}
    assert {o.body for o in first} != {o.body for o in second}
    assert setup.claim() == []


def test_a_claim_stops_at_its_limit_and_the_rest_follow(setup: Setup) -> None:
    user = setup.api.user()
    channels = {setup.channel(user, f"/c{i}") for i in range(7)}
    taken: list[Outgoing] = []
    while batch := setup.claim(limit=3):
        assert len(batch) <= 3
        taken += batch
    assert sorted(o.channel_id for o in taken) == sorted(channels)


def test_a_lease_that_ran_out_is_claimed_again(setup: Setup) -> None:
    user = setup.api.user()
    channel_id = setup.channel(user)
    [first] = setup.claim()
    setup.clock.advance(TIMEOUT + LEASE_MARGIN - 1)
    assert setup.claim() == []
    setup.clock.advance(2)
    [again] = setup.claim()
    assert (again.job_id, again.channel_id, again.attempt) == (first.job_id, channel_id, 2)
    assert again.webhook_id == first.webhook_id


def test_the_job_of_a_closed_channel_is_dropped(setup: Setup) -> None:
    user = setup.api.user()
    open_id = setup.channel(user, "/open")
    closed_id = setup.channel(user, "/closed")
    with setup.api.ctx.db.transaction() as session:
        session.execute(update(Channel).where(Channel.id == closed_id).values(closed_at=setup.clock.now()))
    assert [o.channel_id for o in setup.claim()] == [open_id]
    assert [j.state for j in setup.jobs(closed_id)] == ["dropped"]


def test_one_pass_records_every_kind_of_outcome(setup: Setup) -> None:
    user = setup.api.user()
    paths = ("/ok", "/fail", "/gone", "/limited")
    ids = {path: setup.channel(user, path) for path in paths}
    claimed = {o.channel_id: o for o in setup.claim()}
    attempts = {
        "/ok": Attempt("delivered", 200, duration_ms=3),
        "/fail": Attempt("failed", 500, duration_ms=4),
        "/gone": Attempt("gone", 410, duration_ms=5),
        "/limited": Attempt("rate_limited", 429, retry_after=120, duration_ms=6),
    }
    now = setup.clock.now()
    notifications.record_all(setup.api.ctx, [(claimed[ids[p]], attempts[p]) for p in paths])

    recorded = {d.channel_id: d for d in setup.deliveries()}
    for path in paths:
        row, attempt = recorded[ids[path]], attempts[path]
        assert (row.outcome, row.status_code, row.duration_ms, row.attempt) == (
            attempt.outcome,
            attempt.status_code,
            attempt.duration_ms,
            1,
        )
        assert row.job_id == claimed[ids[path]].job_id and row.attempted_at == now
    [ok] = setup.jobs(ids["/ok"])
    assert (ok.state, ok.finished_at, ok.locked_until) == ("done", now, None)
    assert setup.stored(ids["/ok"]).failing_since is None
    [failed] = setup.jobs(ids["/fail"])
    assert failed.state == "pending" and failed.locked_until is None
    assert (failed.due_at - now).total_seconds() >= RETRY_SCHEDULE[0] * 0.8
    assert setup.stored(ids["/fail"]).failing_since == now
    [gone] = setup.jobs(ids["/gone"])
    assert gone.state == "dead" and setup.stored(ids["/gone"]).closed_at == now
    [limited] = setup.jobs(ids["/limited"])
    assert limited.state == "pending" and limited.due_at - now == timedelta(seconds=120)


def test_a_recovered_channel_is_no_longer_failing(setup: Setup) -> None:
    user = setup.api.user()
    channel_id = setup.channel(user)
    [first] = setup.claim()
    notifications.record_all(setup.api.ctx, [(first, Attempt("failed", 503))])
    assert setup.stored(channel_id).failing_since is not None
    setup.clock.advance(RETRY_SCHEDULE[0] * 2)
    [second] = setup.claim()
    notifications.record_all(setup.api.ctx, [(second, Attempt("delivered", 200))])
    assert setup.stored(channel_id).failing_since is None


def test_a_pass_records_and_claims_the_channels_next_job_at_once(setup: Setup) -> None:
    user = setup.api.user()
    channel_id = setup.channel(user)
    setup.clock.advance(1)
    assert user.upsert(event_id="e1").status_code == 202
    [verification] = setup.claim()
    finished = [(verification, Attempt("delivered", 200))]
    [change] = notifications.record_and_claim(setup.api.ctx, finished, 10, TIMEOUT, HOLDER)
    assert change.channel_id == channel_id and change.job_id != verification.job_id
    assert [j.state for j in setup.jobs(channel_id)] == ["done", "delivering"]


def test_jobs_claimed_but_never_sent_are_given_back_uncounted(setup: Setup) -> None:
    user = setup.api.user()
    channel_id = setup.channel(user)
    [claimed] = setup.claim()
    notifications.release(setup.api.ctx, [claimed])
    [job] = setup.jobs(channel_id)
    assert (job.state, job.attempts, job.locked_until, job.due_at) == ("pending", 0, None, setup.clock.now())
    [again] = setup.claim()
    assert (again.job_id, again.attempt) == (claimed.job_id, 1)
    assert setup.deliveries() == []


def test_a_stopping_worker_gives_back_what_it_had_ready(setup: Setup) -> None:
    user = setup.api.user()
    for i in range(4):
        setup.channel(user, f"/c{i}")
        setup.receiver.behave(f"/c{i}", delay=0.5)
    worker = DeliveryWorker(setup.api.ctx, setup.sender, concurrency=1, idle_wait=0.05)
    claimed = setup.claim()
    worker._dispatch(claimed)  # one on the wire, three ready behind it
    worker._stop_sending()
    outcomes = [(d.channel_id, d.outcome) for d in setup.deliveries()]
    assert len(outcomes) == 1 and outcomes[0][1] == "delivered"
    with setup.api.ctx.db.read() as session:
        states = list(session.scalars(select(NotificationJob.state).order_by(NotificationJob.id)))
    assert sorted(states) == ["done", "pending", "pending", "pending"]
    assert len(setup.claim()) == 3


def test_the_worker_delivers_many_channels_once_each(setup: Setup) -> None:
    user = setup.api.user()
    others = setup.api.user(apc_id="apc-2")
    channels = [setup.channel(u, f"/m{i}/{n}") for n, u in enumerate((user, others)) for i in range(40)]
    worker = DeliveryWorker(setup.api.ctx, setup.sender, concurrency=8, idle_wait=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert setup.receiver.wait_for(lambda got: len(got) >= len(channels), 20)
    finally:
        stop.set()
        worker.wake()
        thread.join(20)
    assert not thread.is_alive()
    got = setup.receiver.requests()
    assert len(got) == len(channels)
    assert sorted(r.json()["channel"]["channel_id"] for r in got) == sorted(channels)
    rows = setup.deliveries()
    assert len(rows) == len(channels) and {d.outcome for d in rows} == {"delivered"}
    with setup.api.ctx.db.read() as session:
        assert set(session.scalars(select(NotificationJob.state))) == {"done"}


# --- secrets -----------------------------------------------------------------------------------------


def test_decrypted_secrets_are_remembered_by_ciphertext() -> None:
    box = SecretBox("a server key that is long enough for the test")
    first, second = box.encrypt("old secret"), box.encrypt("new secret")
    assert box.decrypt_cached(first) == box.decrypt_cached(first) == "old secret"
    assert box.decrypt_cached(second) == "new secret"
    # The same secret encrypted again is another ciphertext: nothing is answered from a stale entry.
    assert box.encrypt("old secret") != first
    for i in range(DECRYPTED_CACHE_SIZE + 10):
        box.decrypt_cached(box.encrypt(f"secret {i}"))
    assert len(box._decrypted) == DECRYPTED_CACHE_SIZE
    assert box.decrypt_cached(first) == "old secret"
    with pytest.raises(ValueError):
        box.decrypt_cached(SecretBox("another server key, another fernet key").encrypt("x"))


def test_a_changed_client_secret_signs_the_next_notification(setup: Setup) -> None:
    user = setup.api.user()
    channel_id = setup.channel(user)
    old = user.app.client_secret
    worker = DeliveryWorker(setup.api.ctx, setup.sender, concurrency=4, idle_wait=0.05)
    assert worker.run_until_idle() == 1
    new = "a brand new client secret"
    with setup.api.ctx.db.transaction() as session:
        session.execute(
            update(Application)
            .where(Application.id == user.app.info.application_id)
            .values(secret_encrypted=setup.api.ctx.secrets.encrypt(new))
        )
    setup.clock.advance(1)
    assert user.upsert(event_id="e1").status_code == 202
    assert worker.run_until_idle() == 1
    verification, change = setup.receiver.requests()
    assert signed_by(old, verification.headers["cronofy-hmac-sha256"], verification.body)
    assert signed_by(new, change.headers["cronofy-hmac-sha256"], change.body)
    assert not signed_by(old, change.headers["cronofy-hmac-sha256"], change.body)
    assert change.json()["channel"]["channel_id"] == channel_id


# --- the sender's connections -------------------------------------------------------------------------


class _KeepAlive(ThreadingHTTPServer):
    """HTTP/1.1 with keep-alive; counts connections, records request lines, answers as told."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _KeepAliveHandler)
        self.connections = 0
        self.targets: list[str] = []
        self.body_size = 0
        self.close_after_answer = False
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _KeepAlive

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.targets.append(self.path)
        body = b"x" * self.server.body_size
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if self.server.close_after_answer:
            # Closed without saying so, as a receiver does with a connection idle for too long.
            self.close_connection = True


@pytest.fixture
def keep_alive() -> Iterator[_KeepAlive]:
    server = _KeepAlive()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _send(sender: WebhookSender, url: str, n: int = 0) -> Attempt:
    return sender.send(url, b'{"notification":{"type":"verification"}}', ["secret"], f"msg_{n}")


def test_connections_are_kept_alive_and_shared(keep_alive: _KeepAlive) -> None:
    sender = WebhookSender(CallbackGuard(["127.0.0.0/8"]), timeout=TIMEOUT)
    try:
        for n in range(20):
            assert _send(sender, f"{keep_alive.url}/a/{n}", n).delivered
        assert keep_alive.connections == 1
        with ThreadPoolExecutor(8) as pool:
            attempts = list(pool.map(lambda n: _send(sender, f"{keep_alive.url}/b/{n}", n), range(40)))
        assert all(a.delivered for a in attempts)
        assert keep_alive.connections <= 1 + 8
        assert len(keep_alive.targets) == 60
    finally:
        sender.close()


def test_a_connection_the_receiver_closed_is_replaced_without_losing_the_request(
    keep_alive: _KeepAlive,
) -> None:
    keep_alive.close_after_answer = True
    sender = WebhookSender(CallbackGuard(["127.0.0.0/8"]), timeout=TIMEOUT)
    try:
        attempts = [_send(sender, f"{keep_alive.url}/hook", n) for n in range(5)]
        assert [a.outcome for a in attempts] == ["delivered"] * 5
        assert keep_alive.targets == ["/hook"] * 5
        assert keep_alive.connections == 5
    finally:
        sender.close()


def test_a_connection_with_a_large_answer_is_not_reused(keep_alive: _KeepAlive) -> None:
    keep_alive.body_size = 200 * 1024
    sender = WebhookSender(CallbackGuard(["127.0.0.0/8"]), timeout=TIMEOUT)
    try:
        assert _send(sender, f"{keep_alive.url}/big", 1).delivered
        assert _send(sender, f"{keep_alive.url}/big", 2).delivered
        assert keep_alive.connections == 2
        keep_alive.body_size = 1024
        assert _send(sender, f"{keep_alive.url}/small", 3).delivered
        assert _send(sender, f"{keep_alive.url}/small", 4).delivered
        assert keep_alive.connections == 3
    finally:
        sender.close()


def test_the_request_target_is_percent_encoded_and_the_fragment_stays_behind(keep_alive: _KeepAlive) -> None:
    sender = WebhookSender(CallbackGuard(["127.0.0.0/8"]), timeout=TIMEOUT)
    try:
        assert _send(sender, f"{keep_alive.url}/hook café/%41?a=1 2&b=ü#frag").delivered
        assert _send(sender, keep_alive.url).delivered
    finally:
        sender.close()
    assert keep_alive.targets == ["/hook%20caf%C3%A9/%41?a=1%202&b=%C3%BC", "/"]


def test_a_closed_sender_refuses_new_attempts() -> None:
    sender = WebhookSender(CallbackGuard(["127.0.0.0/8"]), timeout=TIMEOUT)
    sender.close()
    sender.close()
    with pytest.raises(RuntimeError):
        _send(sender, "http://127.0.0.1:9/hook")


# --- https -------------------------------------------------------------------------------------------


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name``: its PEM file and its key's."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_receivers_are_verified_by_name(tmp_path: Path) -> None:
    name = "hooks.test"
    cert, key = _certificate(tmp_path, name)
    server = _KeepAlive()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda _socket, server_name, _context: names.append(server_name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    guard = CallbackGuard(["127.0.0.0/8"], resolver=lambda host, port: ["127.0.0.1"])
    url = f"https://{name}:{server.server_address[1]}/secure"
    trusting = ssl.create_default_context(cafile=str(cert))
    senders = [WebhookSender(guard, timeout=TIMEOUT), WebhookSender(guard, timeout=TIMEOUT, tls=trusting)]
    try:
        untrusted = _send(senders[0], url)
        assert (untrusted.outcome, untrusted.status_code) == ("error", None)
        assert "Certificate" in (untrusted.detail or "") or "SSL" in (untrusted.detail or "")
        assert server.targets == []
        assert _send(senders[1], url).delivered
        assert _send(senders[1], url).delivered
        assert server.targets == ["/secure", "/secure"]
        assert names and set(names) == {name}
        # The certificate is for the name, not for the address the name resolved to.
        wrong = _send(senders[1], f"https://127.0.0.1:{server.server_address[1]}/secure")
        assert wrong.outcome == "error"
    finally:
        for sender in senders:
            sender.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
