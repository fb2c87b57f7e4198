"""What the browser tests need: Debian's Chromium driven by Playwright, a loopback receiver standing
in for an application's redirect URI, and registering such an application on a running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"
PAGE = b"<!doctype html><title>Back at the application</title><h1>Back at the application</h1>"


def require_chromium() -> None:
    """Skip, saying why, when Chromium is missing on a developer's machine; fail on CI."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test does it)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI is set, so this is a failure, not a skip")
    pytest.skip(message)


@dataclass
class CodeReceiver:
    """An application's redirect URI on 127.0.0.1: records every query string, answers a small page."""

    queries: list[str] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> CodeReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/callback":  # not the browser's /favicon.ico
                    receiver.queries.append(parts.query)
                    receiver.arrived.set()
                body = (
                    b"<!doctype html><title>Back at the application</title><h1>Back at the application</h1>"
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/callback"

    def last(self) -> dict[str, list[str]]:
        assert self.queries, "the receiver got no request"
        return parse_qs(self.queries[-1], keep_blank_values=True)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def register_application(env: dict[str, str], cwd: Path, name: str, redirect_uri: str) -> dict[str, Any]:
    """``openslot apps create NAME --redirect-uri URI --json`` against a server's data."""
    completed = subprocess.run(
        [sys.executable, "-m", "openslot", "apps", "create", name, "--redirect-uri", redirect_uri, "--json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(completed.stdout)
