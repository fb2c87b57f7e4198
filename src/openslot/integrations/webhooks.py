"""Sending signed webhooks: HMAC header, the guarded address, one deadline per attempt, no redirects.

Every attempt runs on one asyncio event loop, on a thread of its own, speaking HTTP/1.1 with h11
over pooled keep-alive connections. A general-purpose client costs several hundred microseconds of
CPU per request and a thread per request in flight; this path costs about a tenth of that, which is
what lets one worker process send well over a thousand notifications a second on a small machine.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import email.utils
import hashlib
import hmac
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from urllib.parse import quote, urlsplit

import h11

from openslot import __version__
from openslot.integrations.callbacks import CallbackGuard, CallbackRefused, Target, literal_address

SIGNATURE_HEADER = "Cronofy-HMAC-SHA256"
MAX_DRAINED_BODY = 64 * 1024
# An idle connection is dropped after this long: receivers close theirs after a few seconds, and
# one closed under our feet costs a failed write.
KEEPALIVE_EXPIRY = 5.0
MAX_IDLE_PER_ORIGIN = 64
READ_CHUNK = 64 * 1024
MAX_REMEMBERED_URLS = 4096
USER_AGENT = f"Openslot/{__version__}"
# Characters left as they are in the request target; anything else (spaces, non-ASCII) is
# percent-encoded, as browsers and general-purpose clients do.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"

log = logging.getLogger("openslot.webhooks")


class Webhook(Protocol):
    """What an attempt needs: where, the exact body, the secrets that sign it, its stable id."""

    @property
    def callback_url(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def secrets(self) -> Sequence[str]: ...
    @property
    def webhook_id(self) -> str: ...


W = TypeVar("W", bound=Webhook)


def signature(body: bytes, secrets: Sequence[str]) -> str:
    """Base64 HMAC-SHA256 of the exact body under each active secret, comma-separated."""
    digests = (hmac.new(secret.encode(), body, hashlib.sha256).digest() for secret in secrets)
    return ",".join(base64.b64encode(digest).decode() for digest in digests)


@dataclass(frozen=True)
class Attempt:
    """What came of one attempt. ``outcome`` is ``delivered``, ``failed``, ``timeout``, ``redirect``,
    ``gone``, ``rate_limited``, ``blocked`` or ``error``; nothing of the response body is kept."""

    outcome: str
    status_code: int | None = None
    detail: str | None = None
    retry_after: float | None = None
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def request_target(url: str) -> str:
    """The path and query of the URL as sent on the request line; the fragment stays behind."""
    parts = urlsplit(url)
    target = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_QUERY_SAFE)
    return target


@dataclass(frozen=True)
class _Origin:
    """Where a pooled connection goes. The host is part of it: it is the TLS server name and the
    ``Host`` header, so two names on one address never share a connection."""

    scheme: str
    address: str
    port: int
    host: str


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.http = h11.Connection(h11.CLIENT)
        self.idle_since = time.monotonic()
        self.answered = False  # whether any of the current response arrived

    def reusable(self, now: float) -> bool:
        return (
            now - self.idle_since < KEEPALIVE_EXPIRY
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, request: h11.Request, body: bytes) -> tuple[int, str | None, bool]:
        """Status, ``Retry-After`` and whether the connection may carry another request.

        A small response body is read and dropped so the connection can be reused; a larger one
        is abandoned with its connection. Nothing read is kept.
        """
        http = self.http
        self.answered = False
        self.writer.write(http.send(request) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage()))
        await self.writer.drain()
        status, retry_after, drained = 0, None, 0
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(READ_CHUNK)
                self.answered = self.answered or bool(data)
                http.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
                for name, value in event.headers:
                    if name == b"retry-after":
                        retry_after = value.decode("latin-1")
            elif isinstance(event, h11.Data):
                drained += len(event.data)
                if drained > MAX_DRAINED_BODY:
                    return status, retry_after, False
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("the receiver closed the connection before answering")
            # InformationalResponse (1xx): the final answer follows.
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
            return status, retry_after, True
        return status, retry_after, False


class WebhookSender:
    """Sends attempts from any thread: ``submit`` returns a future, ``send`` waits for the attempt.

    The loop thread starts with the first attempt. ``timeout`` bounds a whole attempt: connecting,
    sending and reading the answer. ``tls`` verifies https receivers; by default the certificates
    trusted by the rest of the project's outbound HTTPS.
    """

    def __init__(
        self, guard: CallbackGuard, timeout: float = 15.0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.guard = guard
        self.timeout = timeout
        self._pool: dict[_Origin, list[_Connection]] = {}
        self._allowed_literals: dict[str, Target] = {}  # only touched on the loop
        self._ssl = tls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_started = threading.Event()
        self._loop_thread = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._start_lock = threading.Lock()
        self._closed = False
        self._sweeping = False

    # --- from other threads ---------------------------------------------------------------------

    def start(self, webhooks: Sequence[W], ended: Callable[[W, Attempt], None]) -> None:
        """Start attempts without waiting for them; ``ended`` is called on the sender's loop as each
        one ends. One hand-over to the loop for them all, none when called on the loop itself."""
        loop = self._running_loop()
        if threading.get_ident() == self._loop_thread:
            self._spawn(webhooks, ended)
        else:
            loop.call_soon_threadsafe(self._spawn, webhooks, ended)

    def submit(
        self, url: str, body: bytes, secrets: Sequence[str], webhook_id: str
    ) -> concurrent.futures.Future[Attempt]:
        loop = self._running_loop()
        return asyncio.run_coroutine_threadsafe(self.deliver(url, body, secrets, webhook_id), loop)

    def send(self, url: str, body: bytes, secrets: Sequence[str], webhook_id: str) -> Attempt:
        return self.submit(url, body, secrets, webhook_id).result()

    def close(self) -> None:
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shut(), loop).result(timeout=self.timeout + 5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._closed:
                raise RuntimeError("the webhook sender is closed")
            if self._loop is None:
                self._loop = _new_loop()
                self._thread = threading.Thread(target=self._serve, name="openslot-webhooks", daemon=True)
                self._thread.start()
                self._thread_started.wait()
            return self._loop

    def _serve(self) -> None:
        assert self._loop is not None
        self._loop_thread = threading.get_ident()
        self._thread_started.set()
        self._loop.run_forever()

    # --- on the loop ----------------------------------------------------------------------------

    def _spawn(self, webhooks: Sequence[W], ended: Callable[[W, Attempt], None]) -> None:
        loop = asyncio.get_running_loop()
        for webhook in webhooks:
            task = loop.create_task(self._attempt(webhook, ended))
            # The loop keeps only weak references to its tasks.
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _attempt(self, webhook: W, ended: Callable[[W, Attempt], None]) -> None:
        try:
            attempt = await self.deliver(
                webhook.callback_url, webhook.body, webhook.secrets, webhook.webhook_id
            )
        except asyncio.CancelledError:
            ended(webhook, Attempt("error", detail="the sender was closed during the attempt"))
            raise
        except Exception:
            log.exception("an attempt to %s failed unexpectedly", webhook.callback_url)
            attempt = Attempt("error", detail="internal error while sending")
        ended(webhook, attempt)

    async def deliver(self, url: str, body: bytes, secrets: Sequence[str], webhook_id: str) -> Attempt:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            target = await self._checked(url)
        except CallbackRefused as exc:
            return Attempt("blocked", detail=f"callback_url {exc.reason}", duration_ms=elapsed())
        default_port = 443 if target.scheme == "https" else 80
        host = target.host if target.host.isascii() else target.host.encode("idna").decode("ascii")
        request = h11.Request(
            method="POST",
            target=request_target(url),
            headers=[
                ("Host", host if target.port == default_port else f"{host}:{target.port}"),
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(body))),
                (SIGNATURE_HEADER, signature(body, secrets)),
                ("User-Agent", USER_AGENT),
                ("Webhook-Id", webhook_id),
            ],
        )
        origin = _Origin(target.scheme, target.address, target.port, target.host)
        try:
            async with asyncio.timeout(self.timeout):
                status, retry_after = await self._exchange(origin, request, body)
        except TimeoutError:
            return Attempt("timeout", detail=f"no answer within {self.timeout:g} s", duration_ms=elapsed())
        except (OSError, h11.ProtocolError, asyncio.IncompleteReadError) as exc:
            return Attempt("error", detail=type(exc).__name__, duration_ms=elapsed())
        if 200 <= status < 300:
            return Attempt("delivered", status, duration_ms=elapsed())
        if 300 <= status < 400:
            return Attempt("redirect", status, detail="redirects are not followed", duration_ms=elapsed())
        if status == 410:
            return Attempt("gone", status, duration_ms=elapsed())
        if status == 429:
            seconds = retry_after_seconds(retry_after, datetime.now(UTC))
            return Attempt("rate_limited", status, retry_after=seconds, duration_ms=elapsed())
        return Attempt("failed", status, duration_ms=elapsed())

    async def _checked(self, url: str) -> Target:
        """The guard's verdict, taken again for this attempt; a name is resolved off the loop.

        A host name is resolved and checked for every attempt, so it cannot be re-pointed at a
        forbidden address in between. A URL whose host is an address needs no look-up: its verdict
        depends on nothing but the URL and the guard's fixed settings, so an allowed one is kept.
        """
        target = self._allowed_literals.get(url)
        if target is not None:
            return target
        _, host, _ = self.guard.parse(url)
        if literal_address(host) is None:
            loop = asyncio.get_running_loop()
            target = await loop.run_in_executor(None, lambda: self.guard.check(url, resolve=True))
            assert target is not None
            return target
        target = self.guard.check(url, resolve=True)
        assert target is not None
        if len(self._allowed_literals) >= MAX_REMEMBERED_URLS:
            self._allowed_literals.clear()
        self._allowed_literals[url] = target
        return target

    async def _exchange(self, origin: _Origin, request: h11.Request, body: bytes) -> tuple[int, str | None]:
        connection = self._idle_connection(origin)
        if connection is not None:
            try:
                return await self._use(origin, connection, request, body)
            except (OSError, h11.ProtocolError, asyncio.IncompleteReadError):
                # The receiver may have closed an idle connection just as it was taken: once, and
                # only when nothing of an answer came back, the request goes again on a new one.
                if connection.answered:
                    raise
        return await self._use(origin, await self._connect(origin), request, body)

    async def _use(
        self, origin: _Origin, connection: _Connection, request: h11.Request, body: bytes
    ) -> tuple[int, str | None]:
        try:
            status, retry_after, reusable = await connection.exchange(request, body)
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._put_back(origin, connection)
        else:
            connection.close()
        return status, retry_after

    async def _connect(self, origin: _Origin) -> _Connection:
        if origin.scheme == "https":
            reader, writer = await asyncio.open_connection(
                origin.address,
                origin.port,
                ssl=self._tls(),
                server_hostname=origin.host,
                limit=READ_CHUNK,
            )
        else:
            reader, writer = await asyncio.open_connection(origin.address, origin.port, limit=READ_CHUNK)
        return _Connection(reader, writer)

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            import httpx2

            # The same certificate verification as the rest of the project's outbound HTTPS.
            self._ssl = httpx2.create_ssl_context(trust_env=False)
        return self._ssl

    def _idle_connection(self, origin: _Origin) -> _Connection | None:
        idle = self._pool.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.reusable(now):
                return connection
            connection.close()
        return None

    def _put_back(self, origin: _Origin, connection: _Connection) -> None:
        idle = self._pool.setdefault(origin, [])
        if len(idle) >= MAX_IDLE_PER_ORIGIN:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)
        if not self._sweeping:
            self._sweeping = True
            asyncio.get_running_loop().call_later(KEEPALIVE_EXPIRY, self._sweep)

    def _sweep(self) -> None:
        """Close connections idle past their expiry, so callbacks never seen again hold no sockets."""
        now = time.monotonic()
        for origin, idle in list(self._pool.items()):
            keep = []
            for connection in idle:
                if connection.reusable(now):
                    keep.append(connection)
                else:
                    connection.close()
            if keep:
                self._pool[origin] = keep
            else:
                del self._pool[origin]
        self._sweeping = bool(self._pool)
        if self._sweeping:
            asyncio.get_running_loop().call_later(KEEPALIVE_EXPIRY, self._sweep)

    async def _shut(self) -> None:
        for idle in self._pool.values():
            for connection in idle:
                connection.close()
        self._pool.clear()
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
