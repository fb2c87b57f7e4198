"""The benchmarks of openslot, each with a baseline or a peer in the same run.

One command runs them all::

    .venv/bin/python bench/run.py [--suite calendars|events|availability|webhooks|all] [--database-url postgresql://...]

- ``calendars``: requests per second of ``GET /v1/calendars``, the real ``openslot serve`` against
  a bare ASGI app serving the same bytes.
- ``events``: event upserts, batch ingest, window reads, free/busy and bytes per event, against
  targets and against Radicale (a CalDAV server) given the same event set (``bench/events_suite.py``).
- ``availability``: the availability solver in-process against a NumPy sweep and the brute-force
  oracle, and ``POST /v1/availability`` on PostgreSQL holding millions of events
  (``bench/availability_suite.py``).
- ``webhooks``: push notification latency and deliveries per second of one worker against a local
  receiver, against targets (``bench/webhooks_suite.py``).

Every server runs as a subprocess on 127.0.0.1 and is measured over real HTTP. See bench/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import availability_suite
import events_suite
import webhooks_suite
from common import (
    BENCH_DIR,
    HOST,
    REPO_ROOT,
    RESULTS_DIR,
    BenchError,
    Connection,
    LoadResult,
    Operation,
    UnexpectedAnswer,
    append_result,
    calibrate,
    calibration_line,
    clean_env,
    free_port,
    http_once,
    openslot_server,
    ratio,
    run_load,
    run_metadata,
    scratch_database,
    serving,
    wrk_load,
)

PATH = "/v1/calendars"
RESULTS_FILE = "get_calendars.jsonl"
BACKENDS = ("sqlite", "postgresql")


# --- the calendars suite ---------------------------------------------------------------------


def _get_operation(headers: dict[str, str]) -> Operation:
    def get(conn: Connection) -> None:
        if not conn.expect("GET", PATH, 200, headers=headers):
            raise UnexpectedAnswer(f"GET {PATH} answered an empty body")

    return get


def python_load(
    port: int, headers: dict[str, str], concurrency: int, duration: float, max_requests: int
) -> LoadResult:
    """``concurrency`` keep-alive connections, bounded by time and by ``max_requests`` in all."""
    quota = max(1, math.ceil(max_requests / concurrency))
    get = _get_operation(headers)
    return run_load(port, [itertools.repeat(get, quota) for _ in range(concurrency)], duration)


def measure(port: int, headers: dict[str, str], args: argparse.Namespace) -> LoadResult:
    """A warm-up (discarded), then the measured run."""
    if args.loadgen == "wrk":
        if args.warmup > 0:
            wrk_load(port, PATH, headers, args.concurrency, args.warmup)
        return wrk_load(port, PATH, headers, args.concurrency, args.duration)
    if args.warmup > 0:
        python_load(port, headers, args.concurrency, args.warmup, args.max_requests)
    return python_load(port, headers, args.concurrency, args.duration, args.max_requests)


def bench_openslot(
    args: argparse.Namespace, database_url: str, workers: int, workdir: Path
) -> tuple[LoadResult, bytes, dict[str, str]]:
    with openslot_server(workdir, database_url, workers, name=f"openslot-calendars-w{workers}") as openslot:
        headers = {"Authorization": f"Bearer {openslot.access_token('bench')}"}
        status, body = http_once(openslot.port, "GET", PATH, headers=headers)
        if status != 200:
            raise BenchError(f"GET {PATH} answered {status}: {body!r}")
        return measure(openslot.port, headers, args), body, headers


def bench_bare(
    args: argparse.Namespace, body: bytes, headers: dict[str, str], workers: int, workdir: Path
) -> LoadResult:
    body_file = workdir / "bare-body.json"
    body_file.write_bytes(body)
    port = free_port()
    env = clean_env(BENCH_BARE_BODY_FILE=str(body_file))
    target = "bare_app:app" if args.baseline == "asgi" else "bare_app:starlette_app"
    argv = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(BENCH_DIR)]
    argv += ["--host", HOST, "--port", str(port), "--log-level", "warning", "--workers", str(workers)]
    with serving("bare", argv, env, workdir, port):
        status, answered = http_once(port, "GET", PATH, headers=headers)
        if status != 200 or answered != body:
            raise BenchError(f"the bare app answered {status} with a different body")
        return measure(port, headers, args)


def report(
    console: Console,
    args: argparse.Namespace,
    database: str,
    workers: int,
    body: bytes,
    openslot: LoadResult,
    bare: LoadResult,
) -> dict[str, Any]:
    baseline = "raw ASGI" if args.baseline == "asgi" else "Starlette"
    ratios = {
        "rps": round(ratio(openslot.rps, bare.rps), 3),
        "p50": round(ratio(openslot.p50_ms, bare.p50_ms), 3),
        "p99": round(ratio(openslot.p99_ms, bare.p99_ms), 3),
    }
    table = Table(
        title=f"GET {PATH}",
        caption=(
            f"{args.concurrency} connections, {args.duration:g} s (+{args.warmup:g} s warm-up), "
            f"{workers} worker(s), load generator: {args.loadgen}, body {len(body)} bytes"
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
        "openslot / bare", "", "", f"{ratios['rps']:.2f}x", f"{ratios['p50']:.2f}x", f"{ratios['p99']:.2f}x"
    )
    console.print(table)
    return {
        **run_metadata(),
        "path": PATH,
        "database": database,
        "baseline": args.baseline,
        "loadgen": args.loadgen,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "max_requests": args.max_requests,
        "workers": workers,
        "body_bytes": len(body),
        "openslot": openslot.as_dict(),
        "bare": bare.as_dict(),
        "ratio": ratios,
    }


def run_calendars(args: argparse.Namespace, console: Console) -> int:
    """Every backend and worker count of the command line; 0 ok, 1 some requests failed, 2 failed."""
    failed = False
    for database, workers in itertools.product(args.backends, args.workers):
        try:
            with tempfile.TemporaryDirectory(prefix="openslot-bench-") as tmp:
                workdir = Path(tmp)
                admin_url = args.database_url if database == "postgresql" else ""
                with scratch_database(admin_url) as database_url:
                    console.print(f"GET {PATH}: openslot on {database}, {workers} worker(s) ...")
                    openslot, body, headers = bench_openslot(args, database_url, workers, workdir)
                console.print(f"GET {PATH}: bare {args.baseline} app, {workers} worker(s) ...")
                bare = bench_bare(args, body, headers, workers, workdir)
        except BenchError as exc:
            console.print(f"[red]benchmark failed:[/red] {exc}", markup=True, highlight=False)
            return 2
        record = report(console, args, database, workers, body, openslot, bare)
        if not args.no_save:
            path = append_result(RESULTS_FILE, record)
            console.print(f"appended to {path.relative_to(REPO_ROOT)}")
        if openslot.errors or bare.errors:
            console.print("[red]some requests failed; the numbers above are not trustworthy[/red]")
            failed = True
    return 1 if failed else 0


# --- command line -----------------------------------------------------------------------------


def _int_list(value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {value!r}") from exc
    if not numbers:
        raise argparse.ArgumentTypeError("give at least one number")
    return list(dict.fromkeys(numbers))


def _backend_list(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = set(names) - set(BACKENDS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"backends are {', '.join(BACKENDS)}, not {value!r}")
    return list(dict.fromkeys(names))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--suite",
        choices=("calendars", "events", "availability", "webhooks", "all"),
        default="all",
        help="Which benchmarks to run.",
    )
    common = parser.add_argument_group("every suite")
    common.add_argument(
        "--workers",
        type=_int_list,
        default=[1],
        help="Server processes; a comma-separated list runs each, e.g. 1,2 (default 1).",
    )
    common.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server to run openslot on (a scratch database is created and dropped); "
        "without it only SQLite in a temporary directory.",
    )
    common.add_argument(
        "--backends",
        type=_backend_list,
        default=None,
        help="Comma-separated: sqlite, postgresql (needs --database-url). "
        "Default: sqlite, and postgresql too when --database-url is given.",
    )
    common.add_argument("--no-save", action="store_true", help=f"Do not append to {RESULTS_DIR}/.")
    common.add_argument(
        "--quick", action="store_true", help="Smaller counts and shorter time bounds (events, availability)."
    )
    common.add_argument(
        "--seed", type=int, default=2026, help="Seed of the generated events (events, availability)."
    )
    common.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="Load generator of GET /v1/calendars and of the events suite's single upserts; "
        "auto: wrk if it is on PATH, else the built-in Python generator.",
    )
    calendars = parser.add_argument_group("calendars suite (GET /v1/calendars)")
    calendars.add_argument("--duration", type=float, default=5.0, help="Seconds of measured load per server.")
    calendars.add_argument("--warmup", type=float, default=1.0, help="Seconds of discarded load first.")
    calendars.add_argument("--concurrency", type=int, default=8, help="Concurrent keep-alive connections.")
    calendars.add_argument(
        "--max-requests", type=int, default=200_000, help="Upper bound of requests per server (Python load)."
    )
    calendars.add_argument(
        "--baseline", choices=("asgi", "starlette"), default="asgi", help="The bare app to compare with."
    )
    events_suite.add_arguments(parser.add_argument_group("events suite"))
    availability_suite.add_arguments(parser.add_argument_group("availability suite"))
    webhooks_suite.add_arguments(parser.add_argument_group("webhooks suite"))
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.duration > 300:
        parser.error("--duration must be in (0, 300]")
    if args.warmup < 0 or args.warmup > 60:
        parser.error("--warmup must be in [0, 60]")
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be in [1, 256]")
    if args.max_requests < 1:
        parser.error("--max-requests must be positive")
    if not all(1 <= workers <= 16 for workers in args.workers):
        parser.error("--workers must be in [1, 16]")
    if args.backends is None:
        args.backends = ["sqlite", "postgresql"] if args.database_url else ["sqlite"]
    if "postgresql" in args.backends and not args.database_url:
        parser.error("the postgresql backend needs --database-url")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    elif args.loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on PATH")
    if message := events_suite.check_arguments(args):
        parser.error(message)
    if message := availability_suite.check_arguments(args):
        parser.error(message)
    if message := webhooks_suite.check_arguments(args):
        parser.error(message)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:  # piped or redirected: wide enough for the tables
        console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="openslot-calibration-") as workdir:
        console.print(calibration_line(calibrate(Path(workdir))), highlight=False)
    status = 0
    if args.suite in ("calendars", "all"):
        status = max(status, run_calendars(args, console))
    if args.suite in ("events", "all"):
        status = max(status, events_suite.run(args, console))
    if args.suite in ("availability", "all"):
        status = max(status, availability_suite.run(args, console))
    if args.suite in ("webhooks", "all"):
        status = max(status, webhooks_suite.run(args, console))
    return status


if __name__ == "__main__":
    sys.exit(main())
