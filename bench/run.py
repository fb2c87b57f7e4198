"""Requests per second of ``GET /v1/calendars``: the real ``openslot serve`` against a bare ASGI app.

Both servers run as subprocesses on 127.0.0.1 and are measured over real HTTP with the same load,
one after the other. Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/run.py [--duration 5] [--concurrency 8] [--database-url postgresql://...]

See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HOST = "127.0.0.1"
PATH = "/v1/calendars"
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "get_calendars.jsonl"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 10.0
OPENSLOT = (sys.executable, "-m", "openslot")
DEMO_CREDENTIAL = re.compile(r"^\s*(client_id|client_secret)\s+(\S+)\s*$", re.MULTILINE)


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


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


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _post_json(port: int, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        body = json.dumps(payload).encode()
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _healthy(port: int) -> bool:
    try:
        return _get(port, "/healthz")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


@contextlib.contextmanager
def serving(name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int) -> Iterator[Server]:
    """Start a server subprocess, wait for ``/healthz``, and stop it by PID on the way out."""
    log_path = workdir / f"{name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name=name, process=process, port=port, log_path=log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(port):
            if process.poll() is not None:
                raise BenchError(f"{name} exited with {process.returncode}:\n{server.output()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{name} not healthy after {STARTUP_TIMEOUT:.0f} s:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def _clean_env(**extra: str) -> dict[str, str]:
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


# --- load generation --------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    errors: int
    elapsed: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
        }


@dataclass
class _WorkerResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _worker(
    port: int,
    headers: dict[str, str],
    duration: float,
    quota: int,
    barrier: threading.Barrier,
    out: _WorkerResult,
) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.connect()
        barrier.wait(timeout=STARTUP_TIMEOUT)
        deadline = time.perf_counter() + duration
        for _ in range(quota):
            started = time.perf_counter()
            if started >= deadline:
                break
            try:
                conn.request("GET", PATH, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                out.errors += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                continue
            if response.status != 200 or not body:
                out.errors += 1
            else:
                out.latencies.append(time.perf_counter() - started)
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    except threading.BrokenBarrierError:
        out.errors += 1
    finally:
        conn.close()


def python_load(
    port: int, headers: dict[str, str], concurrency: int, duration: float, max_requests: int
) -> LoadResult:
    """``concurrency`` threads, one keep-alive ``http.client`` connection each, bounded by time and count."""
    quota = max(1, math.ceil(max_requests / concurrency))
    barrier = threading.Barrier(concurrency + 1)
    results = [_WorkerResult() for _ in range(concurrency)]
    threads = [
        threading.Thread(target=_worker, args=(port, headers, duration, quota, barrier, result), daemon=True)
        for result in results
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=STARTUP_TIMEOUT)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=duration + REQUEST_TIMEOUT + 5)
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
    )


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_ms(value: str, unit: str) -> float:
    return float(value) * _WRK_UNITS[unit]


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
    if socket_errors := re.search(r"Socket errors:(.*)", output):
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    total = int(done.group(1))
    return LoadResult(
        requests=total - errors if total >= errors else total,
        errors=errors,
        elapsed=_wrk_ms(done.group(2), done.group(3)) / 1000,
        p50_ms=_wrk_ms(*p50.groups()),
        p99_ms=_wrk_ms(*p99.groups()),
    )


def wrk_load(port: int, headers: dict[str, str], concurrency: int, duration: float) -> LoadResult:
    threads = max(1, min(concurrency, os.cpu_count() or 1))
    argv = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://{HOST}:{port}{PATH}")
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    if completed.returncode != 0:
        raise BenchError(f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
    return parse_wrk(completed.stdout)


def measure(port: int, headers: dict[str, str], args: argparse.Namespace) -> LoadResult:
    """A warm-up (discarded), then the measured run."""
    if args.loadgen == "wrk":
        if args.warmup > 0:
            wrk_load(port, headers, args.concurrency, args.warmup)
        return wrk_load(port, headers, args.concurrency, args.duration)
    if args.warmup > 0:
        python_load(port, headers, args.concurrency, args.warmup, args.max_requests)
    return python_load(port, headers, args.concurrency, args.duration, args.max_requests)


# --- the two targets --------------------------------------------------------------------------


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


def bench_openslot(
    args: argparse.Namespace, database_url: str, workdir: Path
) -> tuple[LoadResult, bytes, dict[str, str]]:
    port = free_port()
    env = _clean_env(
        OPENSLOT_DATA_DIR=str(workdir / "data"),
        OPENSLOT_DATABASE_URL=database_url,
        OPENSLOT_BASE_URL=f"http://{HOST}:{port}",
        OPENSLOT_LOG_LEVEL="warning",
    )
    argv = [*OPENSLOT, "serve", "--host", HOST, "--port", str(port)]
    argv += ["--workers", str(args.workers)]
    with serving("openslot", argv, env, workdir, port) as server:
        client_id, client_secret = _openslot_credentials(server, env, workdir)
        status, raw = _post_json(
            port,
            "/v1/application_calendars",
            {"client_id": client_id, "client_secret": client_secret, "application_calendar_id": "bench"},
        )
        if status != 200:
            raise BenchError(f"POST /v1/application_calendars answered {status}: {raw!r}")
        headers = {"Authorization": f"Bearer {json.loads(raw)['access_token']}"}
        status, body = _get(port, PATH, headers)
        if status != 200:
            raise BenchError(f"GET {PATH} answered {status}: {body!r}")
        return measure(port, headers, args), body, headers


def bench_bare(args: argparse.Namespace, body: bytes, headers: dict[str, str], workdir: Path) -> LoadResult:
    body_file = workdir / "bare-body.json"
    body_file.write_bytes(body)
    port = free_port()
    env = _clean_env(BENCH_BARE_BODY_FILE=str(body_file))
    target = "bare_app:app" if args.baseline == "asgi" else "bare_app:starlette_app"
    argv = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(BENCH_DIR)]
    argv += ["--host", HOST, "--port", str(port), "--log-level", "warning", "--workers", str(args.workers)]
    with serving("bare", argv, env, workdir, port):
        status, answered = _get(port, PATH, headers)
        if status != 200 or answered != body:
            raise BenchError(f"the bare app answered {status} with a different body")
        return measure(port, headers, args)


# --- reporting --------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _git_commit() -> str:
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


def report(
    console: Console,
    args: argparse.Namespace,
    database: str,
    body: bytes,
    openslot: LoadResult,
    bare: LoadResult,
) -> dict[str, Any]:
    baseline = "raw ASGI" if args.baseline == "asgi" else "Starlette"
    ratio = {
        "rps": round(_ratio(openslot.rps, bare.rps), 3),
        "p50": round(_ratio(openslot.p50_ms, bare.p50_ms), 3),
        "p99": round(_ratio(openslot.p99_ms, bare.p99_ms), 3),
    }
    table = Table(
        title=f"GET {PATH}",
        caption=(
            f"{args.concurrency} connections, {args.duration:g} s (+{args.warmup:g} s warm-up), "
            f"{args.workers} worker(s), load generator: {args.loadgen}, body {len(body)} bytes"
        ),
    )
    table.add_column("server")
    for column in ("requests", "errors", "requests/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for name, result in ((f"openslot ({database})", openslot), (f"bare {baseline} (uvicorn)", bare)):
        table.add_row(
            name,
            f"{result.requests:,}",
            f"{result.errors:,}",
            f"{result.rps:,.0f}",
            f"{result.p50_ms:.2f}",
            f"{result.p99_ms:.2f}",
        )
    table.add_section()
    table.add_row(
        "openslot / bare", "", "", f"{ratio['rps']:.2f}x", f"{ratio['p50']:.2f}x", f"{ratio['p99']:.2f}x"
    )
    console.print(table)
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "path": PATH,
        "database": database,
        "baseline": args.baseline,
        "loadgen": args.loadgen,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "max_requests": args.max_requests,
        "workers": args.workers,
        "body_bytes": len(body),
        "openslot": openslot.as_dict(),
        "bare": bare.as_dict(),
        "ratio": ratio,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds of measured load per server.")
    parser.add_argument("--warmup", type=float, default=1.0, help="Seconds of discarded load first.")
    parser.add_argument("--concurrency", type=int, default=8, help="Concurrent keep-alive connections.")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="Upper bound of requests per server (Python load)."
    )
    parser.add_argument("--workers", type=int, default=1, help="Server processes for both servers.")
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server to run openslot on (a scratch database is created and dropped); "
        "default SQLite in a temporary directory.",
    )
    parser.add_argument(
        "--baseline", choices=("asgi", "starlette"), default="asgi", help="The bare app to compare with."
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk if it is on PATH, else the built-in Python generator.",
    )
    parser.add_argument("--no-save", action="store_true", help=f"Do not append to {RESULTS_FILE}.")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.duration > 300:
        parser.error("--duration must be in (0, 300]")
    if args.warmup < 0 or args.warmup > 60:
        parser.error("--warmup must be in [0, 60]")
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be in [1, 256]")
    if args.max_requests < 1:
        parser.error("--max-requests must be positive")
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be in [1, 16]")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    elif args.loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on PATH")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    database = "postgresql" if args.database_url else "sqlite"
    try:
        with tempfile.TemporaryDirectory(prefix="openslot-bench-") as tmp:
            workdir = Path(tmp)
            with scratch_database(args.database_url) as database_url:
                console.print(f"openslot on {database} ...")
                openslot, body, headers = bench_openslot(args, database_url, workdir)
            console.print(f"bare {args.baseline} app ...")
            bare = bench_bare(args, body, headers, workdir)
    except BenchError as exc:
        console.print(f"[red]benchmark failed:[/red] {exc}", markup=True, highlight=False)
        return 2
    record = report(console, args, database, body, openslot, bare)
    if not args.no_save:
        RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS_FILE.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        console.print(f"appended to {RESULTS_FILE.relative_to(REPO_ROOT)}")
    if openslot.errors or bare.errors:
        console.print("[red]some requests failed; the numbers above are not trustworthy[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
