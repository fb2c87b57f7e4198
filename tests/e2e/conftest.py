"""Fixtures for the end-to-end tests: real ``openslot serve`` processes on loopback, driven by pycronofy."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycronofy
import pytest

from tests.conftest import BACKENDS, _postgres_database
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, CodeReceiver, require_chromium

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
OPENSLOT = (sys.executable, "-m", "openslot")
DEMO_CREDENTIAL = re.compile(r"^\s*(client_id|client_secret)\s+(\S+)\s*$", re.MULTILINE)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(data_dir: Path, base_url: str) -> dict[str, str]:
    """The environment of a server (or CLI) process: ours, minus any ``OPENSLOT_*`` leaking in."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENSLOT_")}
    env.update(
        {
            "OPENSLOT_DATA_DIR": str(data_dir),
            "OPENSLOT_BASE_URL": base_url,
            # Keeps uvicorn's access log out of the captured output.
            "OPENSLOT_LOG_LEVEL": "warning",
        }
    )
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    client_id: str = ""
    client_secret: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Terminate this server by its PID; kill it if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _create_application(server: Server) -> dict[str, Any]:
    """Register an application with ``openslot apps create --json`` against the server's data."""
    completed = subprocess.run(
        [*OPENSLOT, "apps", "create", "e2e", "--redirect-uri", "http://localhost/cb", "--json"],
        env=server.env,
        cwd=server.log_path.parent,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=True,
    )
    return json.loads(completed.stdout)


def start_server(data_dir: Path, workdir: Path, database_url: str = "", workers: int = 1) -> Server:
    """Start ``openslot serve`` on a free loopback port and wait until ``/healthz`` answers."""
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    env = server_env(data_dir, base_url)
    if database_url:
        env["OPENSLOT_DATABASE_URL"] = database_url
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*OPENSLOT, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, base_url=base_url, data_dir=data_dir, log_path=log_path, env=env)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(base_url):
            if process.poll() is not None:
                pytest.fail(f"openslot serve exited with {process.returncode}:\n{server.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"openslot serve not healthy after {STARTUP_TIMEOUT:.0f} s:\n{server.output()}")
            time.sleep(0.1)
        credentials = dict(DEMO_CREDENTIAL.findall(server.output()))
        if {"client_id", "client_secret"} <= credentials.keys():
            server.client_id = credentials["client_id"]
            server.client_secret = credentials["client_secret"]
        else:
            created = _create_application(server)
            server.client_id = created["client_id"]
            server.client_secret = created["client_secret"]
    except BaseException:
        server.stop()
        raise
    return server


def cronofy_client(base_url: str, **kwargs: Any) -> pycronofy.Client:
    """A pycronofy client whose API and app URLs point at ``base_url`` instead of cronofy.com."""
    client = pycronofy.Client(**kwargs)
    client.request_handler.base_url = base_url
    client.app_base_url = base_url
    return client


@pytest.fixture(scope="session")
def e2e_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openslot-e2e")


@pytest.fixture(scope="session")
def server(e2e_workdir: Path) -> Iterator[Server]:
    """One real server for the whole e2e session, on SQLite in a temporary data directory."""
    started = start_server(e2e_workdir / "data", e2e_workdir)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def postgres_server(e2e_workdir: Path) -> Iterator[Server]:
    """A real server with two worker processes on a scratch PostgreSQL database."""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL left out deliberately (OPENSLOT_TEST_SKIP_POSTGRES=1)")
    for database_url in _postgres_database(f"openslot_e2e_{os.getpid()}_{secrets.token_hex(4)}"):
        started = start_server(e2e_workdir / "pg-data", e2e_workdir, database_url, workers=2)
        try:
            yield started
        finally:
            started.stop()


@pytest.fixture
def extra_server(e2e_workdir: Path) -> Iterator[Callable[[Path], Server]]:
    """Start further servers (e.g. on the same data directory); all are stopped after the test."""
    started: list[Server] = []

    def start(data_dir: Path) -> Server:
        new = start_server(data_dir, e2e_workdir)
        started.append(new)
        return new

    try:
        yield start
    finally:
        for each in started:
            each.stop()


@pytest.fixture
def cronofy() -> Callable[..., pycronofy.Client]:
    """``cronofy(base_url, **client_kwargs)``: a pycronofy client aimed at one of our servers."""
    return cronofy_client


@pytest.fixture
def app_client(server: Server) -> pycronofy.Client:
    """A pycronofy client holding the demo application's credentials."""
    return cronofy_client(server.base_url, client_id=server.client_id, client_secret=server.client_secret)


@pytest.fixture
def code_receiver() -> Iterator[CodeReceiver]:
    """A stand-in for an application's redirect URI on 127.0.0.1, stopped after the test."""
    receiver = CodeReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A phone-sized page in Debian's Chromium (Playwright, a fresh profile); closed after the test."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        try:
            context.set_default_timeout(15_000)
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
