"""What the benchmark suites share: server subprocesses, scratch databases, the load generator, results.

Everything runs on 127.0.0.1. Every server is a subprocess stopped by PID when its ``with`` block
ends, also on errors, and every load loop is bounded both by a count and by time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
OPENSLOT = (sys.executable, "-m", "openslot")
DEMO_CREDENTIAL = re.compile(r"^\s*(client_id|client_secret)\s+(\S+)\s*$", re.MULTILINE)


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


class UnexpectedAnswer(Exception):
    """A server answered, but not as the workload expects (wrong status, missing data)."""


# --- HTTP -------------------------------------------------------------------------------------


class Connection:
    """One HTTP connection to ``HOST:port``, kept alive while the server allows it.

    After an answer that closes the connection (HTTP/1.0 servers) or after an error, the next
    request opens a new one.
    """

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT) -> None:
        self._conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def connect(self) -> None:
        self._conn.connect()

    def close(self) -> None:
        self._conn.close()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        try:
            self._conn.request(method, path, body=body, headers=headers or {})
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()
            raise
        if response.will_close:
            self._conn.close()  # http.client reconnects on the next request
        return response.status, data

    def expect(
        self,
        method: str,
        path: str,
        status: int,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        """The body of the answer; ``UnexpectedAnswer`` when the status is not ``status``."""
        got, data = self.request(method, path, body, headers)
        if got != status:
            raise UnexpectedAnswer(f"{method} {path} answered {got}, not {status}: {data[:300]!r}")
        return data


def http_once(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request on a fresh connection."""
    conn = Connection(port)
    try:
        return conn.request(method, path, body, headers)
    finally:
        conn.close()


def json_body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


JSON_HEADERS = {"Content-Type": "application/json"}


# --- server processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Terminate by PID; kill if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def healthz_ready(port: int) -> bool:
    try:
        return http_once(port, "GET", "/healthz")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def answers_http(port: int) -> bool:
    """Any answer below 500 to ``GET /``."""
    try:
        return http_once(port, "GET", "/")[0] < 500
    except (OSError, http.client.HTTPException):
        return False


@contextlib.contextmanager
def serving(
    name: str,
    argv: list[str],
    env: dict[str, str],
    workdir: Path,
    port: int,
    ready: Callable[[int], bool] = healthz_ready,
) -> Iterator[Server]:
    """Start a server subprocess, wait until ``ready(port)``, and stop it by PID on the way out."""
    log_path = workdir / f"{name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name=name, process=process, port=port, log_path=log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready(port):
            if process.poll() is not None:
                raise BenchError(f"{name} exited with {process.returncode}:\n{server.output()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{name} not ready after {STARTUP_TIMEOUT:.0f} s:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENSLOT_")}
    env.update(extra)
    return env


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A throw-away PostgreSQL database on the server named by ``admin_url`` ("" means SQLite)."""
    if not admin_url:
        yield ""
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if not url.drivername.startswith("postgresql"):
        raise BenchError(f"--database-url must be a postgresql:// URL, not {url.drivername}")
    name = f"openslot_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            raise BenchError(f"cannot create a scratch database on {url.render_as_string()}: {exc}") from exc
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL of a scratch database as a plain ``postgresql://`` URL for psycopg."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- openslot ---------------------------------------------------------------------------------


@dataclass
class Openslot:
    server: Server
    client_id: str
    client_secret: str
    database_url: str
    data_dir: Path

    @property
    def port(self) -> int:
        return self.server.port

    def application_calendar_body(self, application_calendar_id: str) -> bytes:
        """The body of ``POST /v1/application_calendars`` with the demo application's credentials."""
        return json_body(
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "application_calendar_id": application_calendar_id,
            }
        )

    def application_calendar(
        self, application_calendar_id: str, conn: Connection | None = None
    ) -> dict[str, Any]:
        """The token answer (``access_token``, ``sub`` …) for the application calendar of that id,
        created on first use; on ``conn`` when given, else on a fresh connection."""
        body = self.application_calendar_body(application_calendar_id)
        if conn is None:
            status, raw = http_once(self.port, "POST", "/v1/application_calendars", body, JSON_HEADERS)
        else:
            status, raw = conn.request("POST", "/v1/application_calendars", body, JSON_HEADERS)
        if status != 200:
            raise BenchError(f"POST /v1/application_calendars answered {status}: {raw!r}")
        return dict(json.loads(raw))

    def access_token(self, application_calendar_id: str) -> str:
        """A token for the application calendar of that id (created on first use)."""
        return str(self.application_calendar(application_calendar_id)["access_token"])

    def api_key_headers(self) -> dict[str, str]:
        """The demo application's client secret as the bearer value (endpoints that take an API key)."""
        return {"Authorization": f"Bearer {self.client_secret}", **JSON_HEADERS}


def _openslot_credentials(server: Server, env: dict[str, str], workdir: Path) -> tuple[str, str]:
    found = dict(DEMO_CREDENTIAL.findall(server.output()))
    if {"client_id", "client_secret"} <= found.keys():
        return found["client_id"], found["client_secret"]
    completed = subprocess.run(
        [*OPENSLOT, "apps", "create", "bench", "--redirect-uri", "http://localhost/cb", "--json"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=True,
    )
    created = json.loads(completed.stdout)
    return created["client_id"], created["client_secret"]


@contextlib.contextmanager
def openslot_server(
    workdir: Path, database_url: str, workers: int, name: str = "openslot"
) -> Iterator[Openslot]:
    """The real ``openslot serve`` (SQLite in ``workdir/<name>-data`` when ``database_url`` is "")."""
    port = free_port()
    data_dir = workdir / f"{name}-data"
    env = clean_env(
        OPENSLOT_DATA_DIR=str(data_dir),
        OPENSLOT_DATABASE_URL=database_url,
        OPENSLOT_BASE_URL=f"http://{HOST}:{port}",
        OPENSLOT_LOG_LEVEL="warning",
    )
    argv = [*OPENSLOT, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    with serving(name, argv, env, workdir, port) as server:
        client_id, client_secret = _openslot_credentials(server, env, workdir)
        yield Openslot(server, client_id, client_secret, database_url, data_dir)


# --- load generation --------------------------------------------------------------------------

Operation = Callable[[Connection], None]
"""One measured unit of work on a connection: one request, or several (all pages of a read).

It raises ``UnexpectedAnswer`` (or an ``OSError``/``HTTPException``) when it failed.
"""


@dataclass
class LoadResult:
    requests: int
    errors: int
    elapsed: float
    p50_ms: float
    p99_ms: float
    first_error: str = ""
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds, ascending

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "requests": self.requests,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
        }
        if self.first_error:
            result["first_error"] = self.first_error
        return result


@dataclass
class _WorkerResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _worker(
    port: int,
    operations: Iterable[Operation],
    duration: float,
    barrier: threading.Barrier,
    out: _WorkerResult,
) -> None:
    conn = Connection(port)
    try:
        with contextlib.suppress(OSError):
            conn.connect()  # servers that close after each answer get a new connection per request
        barrier.wait(timeout=STARTUP_TIMEOUT)
        deadline = time.perf_counter() + duration
        for operation in operations:
            started = time.perf_counter()
            if started >= deadline:
                break
            try:
                operation(conn)
            except (OSError, http.client.HTTPException, UnexpectedAnswer) as exc:
                out.errors += 1
                out.first_error = out.first_error or f"{type(exc).__name__}: {exc}"
                continue
            out.latencies.append(time.perf_counter() - started)
    except threading.BrokenBarrierError:
        out.errors += 1
        out.first_error = out.first_error or "load generator start barrier broken"
    finally:
        conn.close()


def run_load(port: int, plans: Sequence[Iterable[Operation]], duration: float) -> LoadResult:
    """One thread and one connection per plan, all started together; each runs its plan in order.

    A plan ends when it is exhausted (the count bound) or after ``duration`` seconds (the time
    bound). Latency is per operation; ``requests`` counts the operations that succeeded.
    """
    barrier = threading.Barrier(len(plans) + 1)
    results = [_WorkerResult() for _ in plans]
    threads = [
        threading.Thread(target=_worker, args=(port, plan, duration, barrier, result), daemon=True)
        for plan, result in zip(plans, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=STARTUP_TIMEOUT)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(0.0, started + duration + REQUEST_TIMEOUT + 5 - time.perf_counter()))
    elapsed = time.perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        raise BenchError("load generator threads did not finish in time")
    latencies = sorted(latency for result in results for latency in result.latencies)
    return LoadResult(
        requests=len(latencies),
        errors=sum(result.errors for result in results),
        elapsed=elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        first_error=next((r.first_error for r in results if r.first_error), ""),
        latencies=latencies,
    )


def merge_loads(results: Sequence[LoadResult]) -> LoadResult:
    """Several runs of one workload as one: counts and times added, percentiles of all latencies."""
    latencies = sorted(latency for result in results for latency in result.latencies)
    return LoadResult(
        requests=sum(result.requests for result in results),
        errors=sum(result.errors for result in results),
        elapsed=sum(result.elapsed for result in results),
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        first_error=next((r.first_error for r in results if r.first_error), ""),
        latencies=latencies,
    )


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``items`` dealt round-robin into ``parts`` lists (so every client gets distinct items)."""
    return [list(items[i::parts]) for i in range(parts)]


# --- wrk ------------------------------------------------------------------------------------------

WRK_THREAD_DONE = "wrk-thread-done"
"""A line a wrk script writes to stderr when its thread has done its share and stopped."""

_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_ms(value: str, unit: str) -> float:
    return float(value) * _WRK_UNITS[unit]


def wrk_socket_errors(output: str) -> int:
    """The sum of wrk's socket errors (connect, read, write, timeout); 0 when it reports none."""
    if socket_errors := re.search(r"Socket errors:(.*)", output):
        return sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return 0


def parse_wrk(output: str) -> LoadResult:
    """Read requests, errors, elapsed time and the 50 %/99 % latencies from ``wrk --latency`` output."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    p50 = re.search(r"^\s*50(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if not (done and p50 and p99):
        raise BenchError(f"cannot read wrk output:\n{output}")
    errors = 0
    if non_2xx := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output):
        errors += int(non_2xx.group(1))
    errors += wrk_socket_errors(output)
    total = int(done.group(1))
    return LoadResult(
        requests=total - errors if total >= errors else total,
        errors=errors,
        elapsed=_wrk_ms(done.group(2), done.group(3)) / 1000,
        p50_ms=_wrk_ms(*p50.groups()),
        p99_ms=_wrk_ms(*p99.groups()),
    )


def wrk_threads(concurrency: int) -> int:
    """wrk's default thread count here: one per CPU, at most one per connection."""
    return max(1, min(concurrency, os.cpu_count() or 1))


def wrk_output(
    port: int,
    path: str,
    headers: dict[str, str],
    concurrency: int,
    duration: float,
    script: Path | None = None,
    script_args: Sequence[str] = (),
    threads: int | None = None,
    timeout: float | None = None,
) -> str:
    """Run ``wrk --latency`` against ``HOST:port`` + ``path`` and return what it printed.

    wrk sleeps for the whole ``-d`` even when a script has stopped every thread, and would report
    that sleep as elapsed time. So once each of the ``threads`` has written ``WRK_THREAD_DONE`` to
    stderr, wrk is interrupted (SIGINT, after which it prints its summary at once).
    """
    threads = threads or wrk_threads(concurrency)
    argv = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--latency"]
    if timeout is not None:
        argv.append(f"--timeout={max(1, round(timeout))}s")
    if script is not None:
        argv += ["-s", str(script)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://{HOST}:{port}{path}")
    if script_args:
        argv += ["--", *script_args]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wrk ends by itself after -d; the watchdog only covers a wrk that hangs
    watchdog = threading.Timer(duration + 60, process.kill)
    watchdog.start()
    try:
        stderr, finished = [], 0
        assert process.stderr is not None
        for line in process.stderr:
            if line.strip() != WRK_THREAD_DONE:
                stderr.append(line)
                continue
            finished += 1
            if finished == threads:
                _interrupt(process)
        stdout = process.stdout.read() if process.stdout else ""
        returncode = process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    if returncode != 0:
        raise BenchError(f"wrk failed ({returncode}):\n{stdout}{''.join(stderr)}")
    return stdout


def _interrupt(process: subprocess.Popen[str]) -> None:
    """SIGINT until wrk exits: one sent before wrk installs its handler is ignored."""
    for _ in range(20):
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=0.5)
            return
        except subprocess.TimeoutExpired:
            continue


def wrk_load(
    port: int,
    path: str,
    headers: dict[str, str],
    concurrency: int,
    duration: float,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> LoadResult:
    """``wrk`` with ``concurrency`` keep-alive connections for ``duration`` seconds (or until a script
    has stopped every thread)."""
    return parse_wrk(wrk_output(port, path, headers, concurrency, duration, script, script_args))


# --- reporting --------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def ms(value: float) -> str:
    """Milliseconds for a table cell; "–" when there is no value."""
    return "–" if math.isnan(value) else f"{value:.2f}"


def met(ok: bool | None) -> str:
    """A table cell saying whether a target was met (rich markup); "" when there is no verdict."""
    if ok is None:
        return ""
    return "[green]pass[/green]" if ok else "[red]miss[/red]"


def git_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return ""
    return completed.stdout.strip()


def src_modified() -> bool | None:
    """Whether ``src/`` differs from the commit (the numbers are then of uncommitted code)."""
    try:
        completed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return bool(completed.stdout.strip()) if completed.returncode == 0 else None


CALIBRATION_CONNECTIONS = 16
CALIBRATION_SECONDS = 3.0
# requests/s of the bare app on this machine, once measured (``calibrate``)
_calibration: dict[str, float] = {}


def calibrate(workdir: Path) -> float | None:
    """The requests/s that the bare ASGI app (``bare_app.py``) answers on one uvicorn process to wrk
    with 16 connections: how fast this machine is at the time of the run. Absolute figures of runs on
    different machines (or on a busy one) compare only through it. None without wrk."""
    if shutil.which("wrk") is None:
        return None
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(BENCH_DIR)]
    argv += ["--host", HOST, "--port", str(port), "--log-level", "warning"]
    with serving("calibration", argv, clean_env(), workdir, port):
        wrk_load(port, "/healthz", {}, CALIBRATION_CONNECTIONS, 1.0)  # warm-up
        load = wrk_load(port, "/healthz", {}, CALIBRATION_CONNECTIONS, CALIBRATION_SECONDS)
    if load.errors:
        raise BenchError(f"the calibration app answered {load.errors} errors: {load.first_error}")
    _calibration["bare_app_rps"] = round(load.rps)
    return load.rps


def calibration_line(rps: float | None) -> str:
    if rps is None:
        return "machine: not calibrated (wrk is not on PATH)"
    return (
        f"machine: {os.cpu_count()} CPUs; the bare ASGI app (bench/bare_app.py) on one uvicorn "
        f"process answers {rps:,.0f} requests/s to wrk with {CALIBRATION_CONNECTIONS} connections "
        "(the yardstick for comparing runs on different machines)"
    )


def run_metadata() -> dict[str, Any]:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "src_modified": src_modified(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **_calibration,
    }


# --- CPU accounting (Linux /proc; empty elsewhere) ---------------------------------------------


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # the fields after "pid (comm) "


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command name) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        found[int(entry.name)] = (int(raw[raw.rindex(")") + 2 :].split()[1]), name)
    return found


def _process_tree(root: int, processes: dict[int, tuple[int, str]]) -> set[int]:
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in processes.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return tree


def _database_pids(processes: dict[int, tuple[int, str]]) -> set[int]:
    return {pid for pid, (_, name) in processes.items() if name.startswith("postgres")}


def _tree_cpu(pids: set[int]) -> dict[int, float]:
    ticks = _clock_ticks()
    found = {}
    for pid in pids:
        if fields := _stat_fields(pid):
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return found


def _machine_busy() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _clock_ticks()


def busy_cores(seconds: float = 1.0) -> float | None:
    """Cores busy on the whole machine over ``seconds`` (before a run: other people's load)."""
    try:
        before = _machine_busy()
        time.sleep(seconds)
        return (_machine_busy() - before) / seconds
    except (OSError, ValueError, IndexError):
        return None


BUSY_WARNING = 0.25  # cores busy before a run above which the suites warn


def busy_warning() -> tuple[float | None, str]:
    """Cores busy on the machine for a second before a run, and a warning (rich markup) when that is
    more than ``BUSY_WARNING``, else ""."""
    busy = busy_cores()
    if busy is None or busy <= BUSY_WARNING:
        return busy, ""
    return busy, (
        f"[yellow]the machine is busy before the run: {busy:.2f} of {os.cpu_count()} cores in use "
        "by other processes; the numbers will be lower than on a quiet machine[/yellow]"
    )


def cpu_line(workload: str, server: str, cpu: dict[str, float]) -> str:
    """One line saying how the cores were shared while ``cpu_meter`` measured ``workload``."""
    if not cpu:
        return ""
    busiest = f" (busiest process {cpu['server_busiest']:.2f})" if "server_busiest" in cpu else ""
    return (
        f"CPU cores busy (of {os.cpu_count()}) during {workload}: {server} {cpu['server']:.2f}{busiest}, "
        f"load generator {cpu['loadgen']:.2f}, PostgreSQL {cpu['database']:.2f}, other {cpu['other']:.2f}"
    )


@contextlib.contextmanager
def cpu_meter(server_pid: int, children: bool = False) -> Iterator[dict[str, float]]:
    """CPU cores busy while the block runs: the server's process tree (and its busiest process,
    which is at most one core for Python code), this process (the load generator), PostgreSQL's
    processes, and everything else (kernel, other people's processes).

    With ``children``, the load generator also includes this process's children that ended and were
    waited for during the block: an external generator such as wrk run to completion inside it.
    """
    result: dict[str, float] = {}
    if not Path(f"/proc/{server_pid}/stat").exists():
        yield result
        return
    processes = _processes()
    server_pids = _process_tree(server_pid, processes)
    before_server, before_self = _tree_cpu(server_pids), os.times()
    before_database = _tree_cpu(_database_pids(processes))
    before_machine, started = _machine_busy(), time.perf_counter()
    yield result
    wall = time.perf_counter() - started
    after_server, after_self = _tree_cpu(server_pids), os.times()
    after_database = _tree_cpu(_database_pids(_processes()))
    per_process = [after_server[pid] - before_server.get(pid, 0.0) for pid in after_server]
    server = sum(per_process)
    database = sum(after_database[pid] - before_database.get(pid, 0.0) for pid in after_database)
    loadgen = (after_self.user + after_self.system) - (before_self.user + before_self.system)
    if children:
        loadgen += (after_self.children_user + after_self.children_system) - (
            before_self.children_user + before_self.children_system
        )
    machine = _machine_busy() - before_machine
    if wall > 0:
        result.update(
            server=server / wall,
            server_busiest=max(per_process, default=0.0) / wall,
            loadgen=loadgen / wall,
            database=database / wall,
            other=max(0.0, machine - server - loadgen - database) / wall,
            wall_s=wall,
        )


def append_result(filename: str, record: dict[str, Any]) -> Path:
    path = RESULTS_DIR / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return path
