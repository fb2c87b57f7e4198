"""The webhooks suite: push notifications of the real ``openslot serve`` to a local receiver.

For every backend (SQLite, PostgreSQL), on a fresh server and database each time:

1. latency: ``--webhook-accounts`` application calendars with one channel each, all pointing at one
   receiver; ``--webhook-rate`` event upserts per second in all, spread evenly over the accounts and
   paced by a clock (not by the answers) for ``--webhook-seconds`` after a discarded warm-up. The
   latency of a change is the time from its ``202`` to the arrival of the first change notification
   of its channel that arrives after that ``202``; one notification may cover several changes
   (the outbox keeps at most one pending change notification per channel).
2. throughput: ``--webhook-channels`` channels (50 per account, the most an account may have) with
   no worker running; one change per account gives every channel one pending change notification;
   then one ``openslot worker --concurrency N`` process is started and the time to deliver them all
   is measured, for every ``N`` of ``--webhook-concurrency``.

On SQLite the latency run uses the worker embedded in ``serve``; on PostgreSQL one ``openslot
worker`` process next to ``serve``. The throughput runs use a separate worker process on both (on
SQLite it opens the same database file). The receiver is a subprocess (this file with
``--receiver``) answering ``200`` at once and recording when each request arrived; it and the bench
read the same monotonic clock. Every signature is checked. See bench/README_webhooks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import hashlib
import hmac
import http.client
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

from common import (
    DEMO_CREDENTIAL,
    HOST,
    JSON_HEADERS,
    OPENSLOT,
    REPO_ROOT,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    BenchError,
    Connection,
    Openslot,
    Operation,
    UnexpectedAnswer,
    append_result,
    busy_warning,
    clean_env,
    cpu_line,
    cpu_meter,
    free_port,
    http_once,
    json_body,
    met,
    ms,
    percentile,
    run_load,
    run_metadata,
    scratch_database,
    serving,
    split,
)

RESULTS_FILE = "webhooks.jsonl"
TARGET_P99_MS = 250.0
TARGET_PER_SECOND = 1000.0
CHANNELS_PER_ACCOUNT = 50  # MAX_OPEN_CHANNELS of openslot.services.channels
SIGNATURE_HEADER = "cronofy-hmac-sha256"

FULL = {"seconds": 20.0, "channels": 2000, "concurrency": [16, 32, 64]}
QUICK = {"seconds": 8.0, "channels": 1000, "concurrency": [16]}
WARMUP_SECONDS = 2.0
DRAIN_TIMEOUT = 10.0  # seconds to wait for the last notifications of the latency run
DELIVERY_TIMEOUT = 120.0  # seconds a throughput round may take at most
CREATE_CLIENTS = 8  # connections creating channels
PROFILE_SECONDS = 5
REQUEST_BOUND = 35.0  # seconds a paced sender may still need after its time bound (request timeout)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--webhook-seconds",
        type=float,
        default=None,
        help=f"Seconds of paced changes in the latency run (default {FULL['seconds']:g}, quick "
        f"{QUICK['seconds']:g}), after {WARMUP_SECONDS:g} s of warm-up.",
    )
    group.add_argument("--webhook-rate", type=int, default=100, help="Changes per second in all (latency).")
    group.add_argument(
        "--webhook-accounts", type=int, default=10, help="Accounts with one channel each (latency)."
    )
    group.add_argument(
        "--webhook-channels",
        type=int,
        default=None,
        help=f"Channels with a pending notification per throughput round, {CHANNELS_PER_ACCOUNT} per "
        f"account (default {FULL['channels']}, quick {QUICK['channels']}).",
    )
    group.add_argument(
        "--webhook-concurrency",
        type=str,
        default=None,
        help="Comma-separated `openslot worker --concurrency` values, one throughput round each "
        "(default 16,32,64; quick 16).",
    )
    group.add_argument(
        "--webhook-profile",
        action="store_true",
        help=f"Sample the worker with py-spy for {PROFILE_SECONDS} s in the first throughput round "
        "(the round should last that long) and print where its threads spend the time.",
    )


def check_arguments(args: argparse.Namespace) -> str:
    """An error message for the webhooks arguments, or ""; fills in the defaults of ``--quick``."""
    profile = QUICK if args.quick else FULL
    if args.webhook_seconds is None:
        args.webhook_seconds = profile["seconds"]
    if args.webhook_channels is None:
        args.webhook_channels = profile["channels"]
    if args.webhook_concurrency is None:
        args.webhook_concurrency = list(profile["concurrency"])
    elif isinstance(args.webhook_concurrency, str):
        try:
            values = [int(v) for v in args.webhook_concurrency.split(",") if v.strip()]
        except ValueError:
            return f"--webhook-concurrency is not a list of integers: {args.webhook_concurrency!r}"
        args.webhook_concurrency = list(dict.fromkeys(values))
    if not args.webhook_concurrency or not all(1 <= c <= 256 for c in args.webhook_concurrency):
        return "--webhook-concurrency values must be in [1, 256]"
    if not 1 <= args.webhook_seconds <= 120:
        return "--webhook-seconds must be in [1, 120]"
    if not 1 <= args.webhook_rate <= 1000:
        return "--webhook-rate must be in [1, 1000]"
    if not 1 <= args.webhook_accounts <= 100:
        return "--webhook-accounts must be in [1, 100]"
    if not CHANNELS_PER_ACCOUNT <= args.webhook_channels <= 20_000:
        return f"--webhook-channels must be in [{CHANNELS_PER_ACCOUNT}, 20000]"
    return ""


# --- the receiver (a subprocess: this file with --receiver PORT) -------------------------------

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class _ReceiverProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 with keep-alive: every POST is answered ``200`` at once and recorded with
    the monotonic time of the read that completed it; ``GET /count`` and ``GET /dump?from=N`` read
    the records."""

    def __init__(self, records: list[tuple[float, str, str, str]], connections: list[int]) -> None:
        self.records = records
        self.connections = connections
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.connections[0] += 1

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length, sig = 0, ""
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == SIGNATURE_HEADER:
                    sig = value.strip()
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            assert self.transport is not None
            if method == "POST":
                self.records.append((now, path, sig, body.decode("utf-8", "replace")))
                self.transport.write(_OK)
            elif path.startswith("/dump"):
                start = int(path.partition("from=")[2] or 0)
                self._answer(json.dumps(self.records[start:]).encode())
            else:  # /count, /healthz, anything else
                counts = {"count": len(self.records), "connections": self.connections[0]}
                self._answer(json.dumps(counts).encode())

    def _answer(self, body: bytes) -> None:
        assert self.transport is not None
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.transport.write(head.encode() + body)


def receiver_main(port: int) -> None:
    records: list[tuple[float, str, str, str]] = []
    connections = [0]  # connections accepted

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        server = await loop.create_server(
            lambda: _ReceiverProtocol(records, connections), HOST, port, backlog=1024
        )
        async with server:
            await stop.wait()

    try:
        import uvloop
    except ImportError:
        asyncio.run(serve())
    else:
        uvloop.run(serve())


@dataclass(frozen=True)
class Notification:
    arrived: float  # monotonic seconds
    path: str
    kind: str
    channel_id: str
    changes_since: str
    signed: bool


class Receiver:
    def __init__(self, port: int, secret: str = "") -> None:
        self.port = port
        self.secret = secret.encode()
        self.own_requests = 0  # connections the bench opened to read the records

    def counts(self) -> dict[str, int]:
        """Requests recorded, and connections accepted (the bench's own included)."""
        self.own_requests += 1
        status, raw = http_once(self.port, "GET", "/count")
        if status != 200:
            raise BenchError(f"the receiver answered {status}")
        return dict(json.loads(raw))

    def count(self) -> int:
        return self.counts()["count"]

    def dump(self, start: int = 0) -> list[Notification]:
        self.own_requests += 1
        status, raw = http_once(self.port, "GET", f"/dump?from={start}")
        if status != 200:
            raise BenchError(f"the receiver answered {status}")
        found = []
        for arrived, path, sig, body in json.loads(raw):
            expected = base64.b64encode(hmac.new(self.secret, body.encode(), hashlib.sha256).digest())
            try:
                data = json.loads(body)
                notification, channel = data["notification"], data["channel"]
                kind, channel_id = str(notification["type"]), str(channel["channel_id"])
                since = str(notification.get("changes_since", ""))
            except (ValueError, KeyError, TypeError):
                kind, channel_id, since = "malformed", "", ""
            signed = expected.decode() in sig.split(",")
            found.append(Notification(arrived, path, kind, channel_id, since, signed))
        return found

    def wait_for(self, total: int, timeout: float, poll: float = 0.05) -> bool:
        """Wait until the receiver has recorded ``total`` requests in all; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= total:
                return True
            time.sleep(poll)
        return self.count() >= total


@contextlib.contextmanager
def receiver(workdir: Path) -> Iterator[Receiver]:
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--receiver", str(port)]
    with serving("receiver", argv, clean_env(), workdir, port):
        yield Receiver(port)


# --- openslot serve and openslot worker --------------------------------------------------------


def _openslot_env(data_dir: Path, database_url: str, port: int, worker: str) -> dict[str, str]:
    return clean_env(
        OPENSLOT_DATA_DIR=str(data_dir),
        OPENSLOT_DATABASE_URL=database_url,
        OPENSLOT_BASE_URL=f"http://{HOST}:{port}",
        OPENSLOT_LOG_LEVEL="warning",
        OPENSLOT_CALLBACK_ALLOW_SUBNETS="127.0.0.0/8",
        OPENSLOT_WORKER=worker,
        PYTHONUNBUFFERED="1",
    )


@contextlib.contextmanager
def openslot(workdir: Path, database_url: str, name: str, worker: str) -> Iterator[Openslot]:
    """``openslot serve`` allowed to call back 127.0.0.1; ``worker``: embedded or off."""
    port = free_port()
    data_dir = workdir / f"{name}-data"
    env = _openslot_env(data_dir, database_url, port, worker)
    argv = [*OPENSLOT, "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
    with serving(name, argv, env, workdir, port) as server:
        found = dict(DEMO_CREDENTIAL.findall(server.output()))
        if not {"client_id", "client_secret"} <= found.keys():
            raise BenchError(f"{name} did not print the demo application's credentials:\n{server.output()}")
        yield Openslot(server, found["client_id"], found["client_secret"], database_url, data_dir)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    started: float  # monotonic, when it was spawned

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def worker_process(workdir: Path, server: Openslot, concurrency: int, name: str) -> Iterator[WorkerProcess]:
    """One ``openslot worker`` on the server's database and data directory (its secret key), stopped
    by PID on the way out: SIGTERM lets it finish the deliveries in flight, else it is killed."""
    env = _openslot_env(server.data_dir, server.database_url, server.port, "off")
    log_path = workdir / f"{name}.log"
    argv = [*OPENSLOT, "worker", "--concurrency", str(concurrency)]
    with log_path.open("wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    worker = WorkerProcess(process, log_path, started)
    try:
        yield worker
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT + 20)  # in-flight attempts time out after 15 s
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)


def _wait_worker_ready(worker: WorkerProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while "delivering push notifications" not in worker.output():
        if worker.process.poll() is not None:
            raise BenchError(f"openslot worker exited with {worker.process.returncode}:\n{worker.output()}")
        if time.monotonic() > deadline:
            raise BenchError(f"openslot worker not ready after {STARTUP_TIMEOUT:.0f} s:\n{worker.output()}")
        time.sleep(0.05)


# --- accounts, channels, changes ---------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    headers: dict[str, str]
    calendar_id: str


def _account(server: Openslot, name: str) -> Account:
    token = server.access_token(name)
    headers = {"Authorization": f"Bearer {token}", **JSON_HEADERS}
    status, raw = http_once(server.port, "GET", "/v1/calendars", headers=headers)
    if status != 200:
        raise BenchError(f"GET /v1/calendars answered {status}: {raw!r}")
    return Account(name, headers, str(json.loads(raw)["calendars"][0]["calendar_id"]))


def _create_channel(account: Account, callback_url: str) -> Operation:
    body = json_body({"callback_url": callback_url})

    def create(conn: Connection) -> None:
        conn.expect("POST", "/v1/channels", 200, body, account.headers)

    return create


_EVENT_DAY = datetime(2026, 6, 1, 8, tzinfo=UTC)


def _event_body(event_id: str, k: int) -> bytes:
    start = _EVENT_DAY + timedelta(minutes=15 * (k % 2000))
    return json_body(
        {
            "event_id": event_id,
            "summary": f"webhook bench {k}",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


def _change(conn: Connection, account: Account, event_id: str, k: int) -> None:
    path = f"/v1/calendars/{account.calendar_id}/events"
    conn.expect("POST", path, 202, _event_body(event_id, k), account.headers)


# --- 1. latency --------------------------------------------------------------------------------


@dataclass
class Change:
    account: int
    scheduled: float
    sent: float = 0.0
    acked: float = 0.0
    error: str = ""


def _paced_sender(port: int, account: Account, index: int, changes: list[Change], hard_stop: float) -> None:
    """Send this account's changes at their scheduled times, one keep-alive connection."""
    conn = Connection(port)
    try:
        for k, change in enumerate(changes):
            delay = change.scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            change.sent = time.monotonic()
            if change.sent > hard_stop:
                change.error = "not sent: past the time bound"
                continue
            try:
                _change(conn, account, f"lat-{index}-{k}", k)
            except (OSError, http.client.HTTPException, UnexpectedAnswer) as exc:
                change.error = f"{type(exc).__name__}: {exc}"
            change.acked = time.monotonic()
    finally:
        conn.close()


@dataclass
class LatencyResult:
    backend: str
    accounts: int
    rate: int
    seconds: float
    changes: int = 0  # measured (after the warm-up)
    errors: int = 0
    first_error: str = ""
    sent_all: int = 0  # changes sent, warm-up included
    notifications: int = 0  # change notifications received, warm-up included
    verifications: int = 0
    unsigned: int = 0
    undelivered: int = 0  # measured changes no notification followed
    before_202: int = 0  # measured changes whose notification arrived before their 202
    send_lag_p99_ms: float = float("nan")  # how late the pacing sent changes
    api_p50_ms: float = float("nan")
    api_p99_ms: float = float("nan")
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def per_notification(self) -> float:
        return self.sent_all / self.notifications if self.notifications else float("nan")

    @property
    def passed(self) -> bool:
        return self.p99_ms <= TARGET_P99_MS and not self.undelivered and not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "channels": self.accounts,
            "rate_per_s": self.rate,
            "seconds": self.seconds,
            "warmup_s": WARMUP_SECONDS,
            "changes_measured": self.changes,
            "changes_sent": self.sent_all,
            "change_notifications": self.notifications,
            "changes_per_notification": round(self.per_notification, 3),
            "verifications": self.verifications,
            "errors": self.errors,
            "first_error": self.first_error,
            "unsigned": self.unsigned,
            "undelivered": self.undelivered,
            "notified_before_202": self.before_202,
            "send_lag_p99_ms": round(self.send_lag_p99_ms, 3),
            "api_p50_ms": round(self.api_p50_ms, 3),
            "api_p99_ms": round(self.api_p99_ms, 3),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "target_p99_ms": TARGET_P99_MS,
            "pass": self.passed,
            "cpu": {k: round(v, 3) for k, v in self.cpu.items()},
        }


def _latency_schedule(accounts: int, rate: int, seconds: float, t0: float) -> list[list[Change]]:
    """``rate`` changes per second in all, account after account, evenly spaced."""
    total = round(rate * (WARMUP_SECONDS + seconds))
    plans: list[list[Change]] = [[] for _ in range(accounts)]
    for n in range(total):
        plans[n % accounts].append(Change(n % accounts, t0 + n / rate))
    return plans


def bench_latency(
    args: argparse.Namespace, backend: str, admin_url: str, workdir: Path, log: Callable[[str], None]
) -> LatencyResult:
    result = LatencyResult(backend, args.webhook_accounts, args.webhook_rate, args.webhook_seconds)
    worker_mode = "embedded" if backend == "sqlite" else "off"
    with (
        scratch_database(admin_url) as database_url,
        receiver(workdir) as sink,
        openslot(workdir, database_url, f"openslot-webhooks-latency-{backend}", worker_mode) as server,
        contextlib.ExitStack() as stack,
    ):
        sink.secret = server.client_secret.encode()
        pid = server.server.process.pid
        if backend != "sqlite":
            worker = stack.enter_context(worker_process(workdir, server, 16, f"worker-latency-{backend}"))
            _wait_worker_ready(worker)
            pid = worker.pid
        accounts = [_account(server, f"latency-{i}") for i in range(args.webhook_accounts)]
        conn = Connection(server.port)
        try:
            for i, account in enumerate(accounts):
                _create_channel(account, f"http://{HOST}:{sink.port}/l/{i}")(conn)
        finally:
            conn.close()
        if not sink.wait_for(len(accounts), timeout=30):
            raise BenchError("the verification notifications did not all arrive within 30 s")
        log(
            f"webhooks latency on {backend}: {args.webhook_rate} changes/s over {len(accounts)} channels, "
            f"{WARMUP_SECONDS:g} s warm-up + {args.webhook_seconds:g} s"
        )
        t0 = time.monotonic() + 0.5
        plans = _latency_schedule(len(accounts), args.webhook_rate, args.webhook_seconds, t0)
        hard_stop = t0 + WARMUP_SECONDS + args.webhook_seconds + 30
        threads = [
            threading.Thread(
                target=_paced_sender, args=(server.port, account, i, plans[i], hard_stop), daemon=True
            )
            for i, account in enumerate(accounts)
        ]
        with cpu_meter(pid) as cpu:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(0.0, hard_stop + REQUEST_BOUND - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            raise BenchError("the paced senders did not finish in time")
        result.cpu = cpu
        changes = [change for plan in plans for change in plan]
        last_sent = {
            i: max((c.sent for c in plan if not c.error), default=time.monotonic())
            for i, plan in enumerate(plans)
        }
        # Wait for the notification that follows the last change of every channel (bounded).
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while True:
            received = sink.dump()
            latest: dict[str, float] = {}
            for n in received:
                if n.kind == "change":
                    latest[n.path] = max(latest.get(n.path, 0.0), n.arrived)
            if all(latest.get(f"/l/{i}", 0.0) > sent for i, sent in last_sent.items()):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    _latency_numbers(result, changes, received, t0)
    return result


def _latency_numbers(
    result: LatencyResult, changes: list[Change], received: list[Notification], t0: float
) -> None:
    arrivals: dict[str, list[float]] = {}
    for n in received:
        if n.kind == "change":
            arrivals.setdefault(n.path, []).append(n.arrived)
        elif n.kind == "verification":
            result.verifications += 1
        result.unsigned += not n.signed
    for times in arrivals.values():
        times.sort()
    result.notifications = sum(len(times) for times in arrivals.values())
    measured_from = t0 + WARMUP_SECONDS
    latencies, api, lag = [], [], []
    for change in changes:
        if change.error:
            result.errors += 1
            result.first_error = result.first_error or change.error
            continue
        result.sent_all += 1
        if change.scheduled < measured_from:
            continue
        result.changes += 1
        api.append(change.acked - change.sent)
        lag.append(change.sent - change.scheduled)
        times = arrivals.get(f"/l/{change.account}", [])
        # The worker may deliver before the API's 202 has reached the client: such a notification
        # counts, with a latency of 0 (see README_webhooks.md).
        i = bisect.bisect_right(times, change.sent)
        if i == len(times):
            result.undelivered += 1
            continue
        result.before_202 += times[i] < change.acked
        latencies.append(max(0.0, times[i] - change.acked))
    latencies.sort()
    api.sort()
    lag.sort()
    result.p50_ms = percentile(latencies, 50) * 1000
    result.p99_ms = percentile(latencies, 99) * 1000
    result.max_ms = latencies[-1] * 1000 if latencies else float("nan")
    result.api_p50_ms = percentile(api, 50) * 1000
    result.api_p99_ms = percentile(api, 99) * 1000
    result.send_lag_p99_ms = percentile(lag, 99) * 1000


# --- 2. throughput -----------------------------------------------------------------------------


@dataclass
class Round:
    concurrency: int
    notifications: int = 0  # change notifications of this round received
    channels: int = 0  # distinct channels among them
    unsigned: int = 0
    connections: int = 0  # TCP connections the worker opened to the receiver
    complete: bool = False
    spread_s: float = float("nan")  # first to last arrival
    wall_s: float = float("nan")  # from spawning the worker to the last arrival
    cpu: dict[str, float] = field(default_factory=dict)
    profile: WorkerProfile | None = None

    @property
    def per_second(self) -> float:
        if self.notifications < 2 or not self.spread_s > 0:
            return float("nan")
        return (self.notifications - 1) / self.spread_s

    @property
    def per_second_wall(self) -> float:
        return self.notifications / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def passed(self) -> bool:
        return self.complete and self.per_second >= TARGET_PER_SECOND

    def as_dict(self) -> dict[str, Any]:
        record = {
            "concurrency": self.concurrency,
            "notifications": self.notifications,
            "channels": self.channels,
            "unsigned": self.unsigned,
            "connections": self.connections,
            "complete": self.complete,
            "first_to_last_s": round(self.spread_s, 3),
            "per_second": round(self.per_second, 1),
            "wall_from_spawn_s": round(self.wall_s, 3),
            "per_second_from_spawn": round(self.per_second_wall, 1),
            "target_per_second": TARGET_PER_SECOND,
            "pass": self.passed,
            "cpu": {k: round(v, 3) for k, v in self.cpu.items()},
        }
        if self.profile:
            record["profile"] = self.profile.as_dict()
        return record


@dataclass
class ThroughputResult:
    backend: str
    channels: int
    accounts: int
    create_s: float = float("nan")
    verify_s: float = float("nan")
    rounds: list[Round] = field(default_factory=list)
    worker_log: list[str] = field(default_factory=list)


# Where a worker's threads are, by the frames on their stacks: (label, frames, innermost only).
PHASES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("claim: lease due jobs, build the requests", ("_claim (openslot/services/notifications.py)",), False),
    ("send: the signed POST", ("WebhookSender.deliver (openslot/",), False),
    ("  of which opening a TCP connection", ("WebhookSender._connect (openslot/",), False),
    ("record: store the attempt's outcome", ("_record (openslot/services/notifications.py)",), False),
    ("waiting for the SQLite write lock", ("Database.transaction (openslot/store/uow.py)",), True),
    ("waiting for PostgreSQL", ("Connection.wait (psycopg/",), True),
)
PROFILE_RATE = 100  # samples per second


@dataclass
class WorkerProfile:
    """py-spy on the worker: ``wall`` samples every thread that is not idle, ``gil`` only the thread
    holding the GIL. Phases in average threads (wall) and in cores of Python CPU (gil)."""

    seconds: int
    wall_samples: int = 0
    gil_samples: int = 0
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    own_gil: list[tuple[str, float]] = field(default_factory=list)
    own_wall: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "wall_samples": self.wall_samples,
            "gil_samples": self.gil_samples,
            "phases_threads_cores": [[name, round(w, 3), round(g, 3)] for name, w, g in self.phases],
            "own_gil": [[name, round(share, 4)] for name, share in self.own_gil],
            "own_wall": [[name, round(share, 4)] for name, share in self.own_wall],
        }


def _phase(stacks: Sequence[tuple[tuple[str, ...], int]], frames: tuple[str, ...], innermost: bool) -> int:
    if innermost:
        return sum(count for stack, count in stacks if stack[-1].startswith(frames))
    return sum(count for stack, count in stacks if any(f.startswith(frames) for f in stack))


def _profile_worker(pid: int, workdir: Path) -> WorkerProfile | None:
    """Two py-spy samplers at once on the running worker (``--nonblocking``: it is not paused)."""
    try:
        import profiling
    except ImportError:
        return None
    executable = profiling.py_spy()
    if executable is None:
        return None
    outputs = {mode: workdir / f"worker-{pid}-{mode}.pyspy" for mode in ("wall", "gil")}
    samplers = []
    for mode, out in outputs.items():
        argv = [executable, "record", "-p", str(pid), "-d", str(PROFILE_SECONDS), "-f", "raw"]
        argv += ["-r", str(PROFILE_RATE), "-o", str(out), "--nonblocking"]
        argv += ["--gil"] if mode == "gil" else []
        samplers.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for sampler in samplers:
            sampler.wait(timeout=PROFILE_SECONDS + 60)
    finally:
        for sampler in samplers:
            if sampler.poll() is None:
                sampler.kill()
                sampler.wait(timeout=STOP_TIMEOUT)
    if not all(out.exists() for out in outputs.values()):
        return None
    wall, gil = (profiling.parse_raw(out.read_text(errors="replace")) for out in outputs.values())
    ticks = PROFILE_RATE * PROFILE_SECONDS
    result = WorkerProfile(PROFILE_SECONDS, wall.samples, gil.samples)
    for label, frames, innermost in PHASES:
        result.phases.append(
            (
                label,
                _phase(wall.stacks, frames, innermost) / ticks,
                _phase(gil.stacks, frames, innermost) / ticks,
            )
        )
    result.own_gil, result.own_wall = gil.own(10), wall.own(10)
    return result


def _run_round(
    workdir: Path,
    server: Openslot,
    sink: Receiver,
    accounts: list[Account],
    channels: int,
    concurrency: int,
    k: int,
    profile: bool,
) -> Round:
    result = Round(concurrency)
    counted = sink.counts()
    before, own_before = counted["count"], sink.own_requests
    conn = Connection(server.port)
    try:
        for i, account in enumerate(accounts):  # no worker runs: each leaves a pending job per channel
            _change(conn, account, f"tp-{i}-{k}", k)
    finally:
        conn.close()
    name = f"worker-c{concurrency}-{k}-{server.server.name}"
    with worker_process(workdir, server, concurrency, name) as worker:
        profiler: threading.Thread | None = None
        found: dict[str, WorkerProfile | None] = {}
        if profile:

            def sample() -> None:
                _wait_worker_ready(worker)
                found["profile"] = _profile_worker(worker.pid, workdir)

            profiler = threading.Thread(target=sample, daemon=True)
            profiler.start()
        with cpu_meter(worker.pid) as cpu:
            result.complete = sink.wait_for(before + channels, timeout=DELIVERY_TIMEOUT)
        if profiler is not None:
            profiler.join(timeout=PROFILE_SECONDS + 90)
            result.profile = found.get("profile")
        spawned = worker.started
    result.cpu = cpu
    after = sink.counts()
    result.connections = after["connections"] - counted["connections"] - (sink.own_requests - own_before)
    got = [n for n in sink.dump(before) if n.kind == "change"]
    result.notifications = len(got)
    result.channels = len({n.channel_id for n in got})
    result.unsigned = sum(not n.signed for n in got)
    result.complete = result.complete and result.channels == channels
    if got:
        first, last = min(n.arrived for n in got), max(n.arrived for n in got)
        result.spread_s, result.wall_s = last - first, last - spawned
    return result


def bench_throughput(
    args: argparse.Namespace, backend: str, admin_url: str, workdir: Path, log: Callable[[str], None]
) -> ThroughputResult:
    channels = args.webhook_channels
    n_accounts = -(-channels // CHANNELS_PER_ACCOUNT)
    channels = n_accounts * CHANNELS_PER_ACCOUNT
    result = ThroughputResult(backend, channels, n_accounts)
    with (
        scratch_database(admin_url) as database_url,
        receiver(workdir) as sink,
        openslot(workdir, database_url, f"openslot-webhooks-throughput-{backend}", "off") as server,
    ):
        sink.secret = server.client_secret.encode()
        log(f"webhooks throughput on {backend}: creating {channels:,} channels on {n_accounts} accounts ...")
        started = time.monotonic()
        accounts = [_account(server, f"throughput-{i}") for i in range(n_accounts)]
        creates = [
            _create_channel(account, f"http://{HOST}:{sink.port}/t/{a}/{c}")
            for c in range(CHANNELS_PER_ACCOUNT)
            for a, account in enumerate(accounts)
        ]
        load = run_load(server.port, split(creates, CREATE_CLIENTS), duration=300)
        if load.errors:
            raise BenchError(f"{load.errors} channels were not created, first: {load.first_error}")
        result.create_s = time.monotonic() - started
        # The verifications first, not timed: one worker drains them and stops.
        with worker_process(workdir, server, args.webhook_concurrency[0], f"worker-verify-{backend}"):
            started = time.monotonic()
            if not sink.wait_for(channels, timeout=DELIVERY_TIMEOUT):
                raise BenchError(f"the {channels} verifications did not all arrive in {DELIVERY_TIMEOUT:g} s")
            result.verify_s = time.monotonic() - started
        for k, concurrency in enumerate(args.webhook_concurrency):
            log(f"webhooks throughput on {backend}: {channels:,} pending, worker --concurrency {concurrency}")
            profile = args.webhook_profile and k == 0
            result.rounds.append(
                _run_round(workdir, server, sink, accounts, channels, concurrency, k, profile)
            )
        for path in sorted(workdir.glob("worker-*.log")):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            result.worker_log += [f"{path.name}: {line}" for line in lines if _noteworthy(line)][:5]
    return result


def _noteworthy(line: str) -> bool:
    lowered = line.lower()
    return any(word in lowered for word in ("error", "warning", "traceback", "exception"))


# --- report ------------------------------------------------------------------------------------


def _latency_table(results: Sequence[LatencyResult]) -> Table:
    first = results[0]
    table = Table(
        title="Push notifications: change → webhook latency",
        caption=(
            f"{first.rate} changes/s over {first.accounts} accounts × 1 channel, {first.seconds:g} s "
            f"measured after {WARMUP_SECONDS:g} s warm-up; latency from the change's 202 to the first change "
            "notification of its channel arriving after the change was sent (0 when it came before the 202)"
        ),
    )
    table.add_column("backend")
    table.add_column("worker")
    for column in (
        "changes",
        "notif.",
        "chg/notif.",
        "202 p50 ms",
        "p50 ms",
        "p99 ms",
        "max ms",
        "target p99",
    ):
        table.add_column(column, justify="right")
    table.add_column("")
    for r in results:
        table.add_row(
            r.backend,
            "embedded" if r.backend == "sqlite" else "process",
            f"{r.changes:,}",
            f"{r.notifications:,}",
            f"{r.per_notification:.2f}",
            ms(r.api_p50_ms),
            ms(r.p50_ms),
            ms(r.p99_ms),
            ms(r.max_ms),
            f"≤ {TARGET_P99_MS:g} ms",
            met(r.passed),
        )
    return table


def _throughput_table(results: Sequence[ThroughputResult]) -> Table:
    table = Table(
        title=(
            "Push notifications: delivered per second by one worker process "
            f"({results[0].channels:,} channels)"
        ),
        caption=(
            "one pending change notification per channel, then `openslot worker --concurrency <conc.>`; "
            "rate from the first to the last arrival (from spawning the worker in brackets); "
            "TCP conns: connections the worker opened to the receiver; worker CPU: cores busy"
        ),
    )
    table.add_column("backend")
    columns = (
        "conc.",
        "delivered",
        "first→last s",
        "notif./s",
        "(from spawn)",
        "TCP conns",
        "worker CPU",
    )
    for column in columns:
        table.add_column(column, justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    for r in results:
        for rnd in r.rounds:
            table.add_row(
                r.backend,
                str(rnd.concurrency),
                f"{rnd.notifications:,}",
                f"{rnd.spread_s:.2f}",
                f"{rnd.per_second:,.0f}",
                f"({rnd.per_second_wall:,.0f})",
                f"{rnd.connections:,}",
                f"{rnd.cpu.get('server', float('nan')):.2f}",
                f"≥ {TARGET_PER_SECOND:,.0f}/s",
                met(rnd.passed),
            )
    return table


def _log_profile(log: Callable[[str], None], backend: str, rnd: Round) -> None:
    profile = rnd.profile
    assert profile is not None
    log(
        f"  py-spy on the worker, --concurrency {rnd.concurrency} on {backend}, {profile.seconds} s "
        f"({profile.wall_samples} samples of threads not idle, {profile.gil_samples} of the GIL holder):"
    )
    log(f"    {'phase':<44} {'threads':>8} {'GIL':>6}")
    for label, threads, cores in profile.phases:
        log(f"    {label:<44} {threads:8.2f} {cores:6.2f}")
    log(
        f"    {'in all':<44} {profile.wall_samples / (PROFILE_RATE * profile.seconds):8.2f} "
        f"{profile.gil_samples / (PROFILE_RATE * profile.seconds):6.2f}"
    )
    log("    functions with the most GIL samples of their own:")
    for name, share in profile.own_gil:
        log(f"      {share:6.1%}  {name}")
    log("    functions with the most samples of their own, threads not idle:")
    for name, share in profile.own_wall:
        log(f"      {share:6.1%}  {name}")


def _record(
    args: argparse.Namespace, latency: Sequence[LatencyResult], throughput: Sequence[ThroughputResult]
) -> dict[str, Any]:
    return {
        **run_metadata(),
        "suite": "webhooks",
        "busy_cores_before": args.webhook_busy_before,
        "quick": args.quick,
        "latency": {r.backend: r.as_dict() for r in latency},
        "throughput": {
            r.backend: {
                "channels": r.channels,
                "accounts": r.accounts,
                "create_s": round(r.create_s, 3),
                "verifications_s": round(r.verify_s, 3),
                "rounds": [rnd.as_dict() for rnd in r.rounds],
            }
            for r in throughput
        },
    }


def run(args: argparse.Namespace, console: Console) -> int:
    """0 ok, 1 some requests or notifications failed, 2 the suite could not run."""

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False)

    args.webhook_busy_before, warning = busy_warning()
    if warning:
        console.print(warning, highlight=False)
    latency: list[LatencyResult] = []
    throughput: list[ThroughputResult] = []
    with tempfile.TemporaryDirectory(prefix="openslot-bench-webhooks-") as tmp:
        workdir = Path(tmp)
        for backend in args.backends:
            admin_url = args.database_url if backend == "postgresql" else ""
            try:
                latency.append(bench_latency(args, backend, admin_url, workdir, log))
                throughput.append(bench_throughput(args, backend, admin_url, workdir, log))
            except BenchError as exc:
                console.print(f"[red]webhooks suite failed on {backend}:[/red] {exc}", highlight=False)
                return 2
    failed = False
    if latency:
        console.print(_latency_table(latency))
        for r in latency:
            name = "openslot serve (API and worker)" if r.backend == "sqlite" else "openslot worker"
            log(cpu_line(f"the latency run on {r.backend}", name, r.cpu))
            log(
                f"  {r.backend}: {r.verifications} verifications, p99 lateness of the pacing "
                f"{ms(r.send_lag_p99_ms)} ms, 202 p99 {ms(r.api_p99_ms)} ms, "
                f"{r.before_202} changes notified before their 202"
            )
            if r.errors or r.undelivered or r.unsigned:
                failed = True
                log(
                    f"  {r.backend}: {r.errors} failed changes (first: {r.first_error or '-'}), "
                    f"{r.undelivered} changes without a notification, {r.unsigned} bad signatures"
                )
    if throughput:
        console.print(_throughput_table(throughput))
        for r in throughput:
            log(
                f"  {r.backend}: {r.channels:,} channels on {r.accounts} accounts created in "
                f"{r.create_s:.1f} s; their verifications delivered in {r.verify_s:.2f} s"
            )
            for rnd in r.rounds:
                if not rnd.complete or rnd.unsigned:
                    failed = True
                    log(
                        f"  {r.backend} --concurrency {rnd.concurrency}: {rnd.channels:,} channels of "
                        f"{r.channels:,} notified, {rnd.unsigned} bad signatures"
                    )
                if rnd.profile:
                    _log_profile(log, r.backend, rnd)
            for line in r.worker_log:
                log(f"  {line}")
    if not args.no_save:
        path = append_result(RESULTS_FILE, _record(args, latency, throughput))
        console.print(f"appended to {path.relative_to(REPO_ROOT)}")
    if failed:
        console.print(
            "[red]some changes or notifications failed; the numbers above are not trustworthy[/red]"
        )
    return 1 if failed else 0


# --- standalone --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help="PostgreSQL server (a scratch database is used).")
    parser.add_argument("--backends", default=None, help="Comma-separated: sqlite, postgresql.")
    parser.add_argument("--quick", action="store_true", help="Shorter latency run, fewer channels.")
    parser.add_argument("--no-save", action="store_true", help="Do not append to bench/results/.")
    add_arguments(parser.add_argument_group("webhooks"))
    args = parser.parse_args(argv)
    if args.receiver:
        receiver_main(args.receiver)
        return 0
    if message := check_arguments(args):
        parser.error(message)
    default = "sqlite,postgresql" if args.database_url else "sqlite"
    args.backends = [b.strip() for b in (args.backends or default).split(",") if b.strip()]
    if set(args.backends) - {"sqlite", "postgresql"}:
        parser.error("backends are sqlite, postgresql")
    if "postgresql" in args.backends and not args.database_url:
        parser.error("the postgresql backend needs --database-url")
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    return run(args, console)


if __name__ == "__main__":
    sys.exit(main())
