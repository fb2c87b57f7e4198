"""A webhook receiver on loopback for delivery tests: records every request and answers per path.

Each path answers as its ``Behaviour`` says (a status, headers, a delay, a hook run on arrival);
``stop()`` closes the listening socket (the receiver is "down") and ``start()`` opens it again on
the same port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
# Every answer carries this marker: a test can then show that nothing of it is stored or echoed.
MARKER = b"receiver-body-marker-3f9a1c"


@dataclass
class Behaviour:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    before: Callable[[], None] | None = None


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: datetime
    monotonic: float
    status: int

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def kind(self) -> str | None:
        try:
            return self.json()["notification"]["type"]
        except (ValueError, KeyError, TypeError):
            return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a sender's timeout) is expected here; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        behaviour = receiver.behaviour(path)
        headers = {key.lower(): value for key, value in self.headers.items()}
        received = Received(path, headers, body, datetime.now(UTC), time.monotonic(), behaviour.status)
        receiver._arrived(received)
        try:
            if behaviour.before is not None:
                behaviour.before()
            if behaviour.delay:
                receiver.closing.wait(behaviour.delay)
            self.send_response(behaviour.status)
            for name, value in behaviour.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(MARKER)))
            self.end_headers()
            self.wfile.write(MARKER)
        except OSError:
            pass  # the sender hung up already
        finally:
            receiver._done(path)


class Receiver:
    """An HTTP server on 127.0.0.1 in a thread of its own."""

    def __init__(self) -> None:
        self._port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._behaviours: dict[str, Behaviour] = {}
        self._received: list[Received] = []
        self._in_flight: dict[str, int] = {}
        self._changed = threading.Condition()
        self.closing = threading.Event()

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str = "/hook") -> str:
        return f"http://{HOST}:{self._port}{path}"

    def start(self) -> Receiver:
        if self._server is not None:
            return self
        self.closing.clear()
        server = _Server((HOST, self._port), _Handler)
        server.receiver = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: connections to the port are refused until ``start()``."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self.closing.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(5)
        self._server, self._thread = None, None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def behave(self, path: str, status: int = 200, **kwargs: Any) -> None:
        self._behaviours[path] = Behaviour(status, **kwargs)

    def behaviour(self, path: str) -> Behaviour:
        return self._behaviours.get(path, Behaviour())

    def _arrived(self, received: Received) -> None:
        with self._changed:
            self._received.append(received)
            self._in_flight[received.path] = self._in_flight.get(received.path, 0) + 1
            self._changed.notify_all()

    def _done(self, path: str) -> None:
        with self._changed:
            self._in_flight[path] -= 1
            self._changed.notify_all()

    def in_flight(self, path: str) -> int:
        with self._changed:
            return self._in_flight.get(path, 0)

    def requests(self, path: str | None = None) -> list[Received]:
        with self._changed:
            return [r for r in self._received if path is None or r.path == path]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until ``predicate`` holds for the requests so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._received)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.1))
            return True
