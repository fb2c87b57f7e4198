"""The events suite: writing and reading events on the real ``openslot serve``, with Radicale as peer.

For every backend (SQLite, PostgreSQL) and worker count of the command line, on a fresh server
and database:

1. warm-up (discarded): single upserts and batches into an "ingest" application calendar;
2. batch ingest: the read set (``--batches`` × 50 seeded events spread over a year) into a second,
   "read" application calendar through ``POST /v1/batch``, ``--batch-clients`` at a time;
3. bytes stored per event in the ``events`` table, its indexes and TOAST;
4. reads of the 60-day window of the read calendar, one client, one after another: ``GET
   /v1/events`` first page alone, and all pages followed through ``pages.next_page`` as one read;
   the same for ``GET /v1/free_busy``;
5. single upserts: ``--upserts`` distinct events into the ingest calendar from ``--upsert-clients``
   keep-alive connections at once, through wrk and ``wrk_upserts.lua`` or the Python generator
   (``--loadgen``); the calendar must gain exactly one event per accepted upsert.

Radicale gets the same events and the comparable workloads once per run (``radicale_peer.py``).
See bench/README.md for what every number means.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from rich.console import Console
from rich.table import Table

import radicale_peer
from common import (
    BENCH_DIR,
    JSON_HEADERS,
    REPO_ROOT,
    BenchError,
    Connection,
    LoadResult,
    Openslot,
    Operation,
    UnexpectedAnswer,
    append_result,
    busy_warning,
    cpu_line,
    cpu_meter,
    http_once,
    json_body,
    met,
    ms,
    openslot_server,
    parse_wrk,
    ratio,
    run_load,
    run_metadata,
    scratch_database,
    split,
    wrk_output,
    wrk_socket_errors,
)
from workload import WINDOW_FROM, WINDOW_TO, YEAR, BenchEvent, event_set, midnight

RESULTS_FILE = "events.jsonl"
BATCH_SIZE = 50  # the most POST /v1/batch takes
PAGE_SIZE = 100  # events per page of GET /v1/events and /v1/free_busy
ACCEPTED = 202
MULTI_STATUS = 207

# The targets of the issue (stated for PostgreSQL; shown for every backend).
TARGET_UPSERT_EPS = 1000.0
TARGET_UPSERT_P99_MS = 25.0
TARGET_READ_P50_MS = 10.0
TARGET_FREE_BUSY_P50_MS = 5.0
TARGET_BYTES_PER_EVENT = 2048.0

FULL = {"upserts": 10_000, "reads": 200, "write_seconds": 30.0, "read_seconds": 10.0}
QUICK = {"upserts": 800, "reads": 40, "write_seconds": 15.0, "read_seconds": 4.0}
WARM_UPSERTS_PER_CLIENT = 10
WARM_BATCHES = 4
WARM_BATCH_SIZE = 25
WARM_READS = 5

WRK_UPSERTS_SCRIPT = BENCH_DIR / "wrk_upserts.lua"
WRK_SPARES_PER_THREAD = 64  # distinct bodies a wrk thread may take beyond its share (see the script)
WRK_TIMEOUT_S = 10.0  # wrk's default of 2 s would count a checkpoint stall as an error


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--upserts", type=int, default=None, help=f"Single upserts in all (default {FULL['upserts']})."
    )
    group.add_argument("--upsert-clients", type=int, default=16, help="Concurrent clients of single upserts.")
    group.add_argument(
        "--batches",
        type=int,
        default=40,
        help=f"Batches of {BATCH_SIZE}; also the read calendar holds batches x {BATCH_SIZE} events.",
    )
    group.add_argument("--batch-clients", type=int, default=4, help="Concurrent clients of batch ingest.")
    group.add_argument(
        "--reads", type=int, default=None, help=f"Measured reads per read workload (default {FULL['reads']})."
    )
    group.add_argument("--no-radicale", action="store_true", help="Do not run the Radicale peer.")


def check_arguments(args: argparse.Namespace) -> str:
    """An error message for the events arguments, or ""; fills in the defaults of ``--quick``."""
    profile = QUICK if args.quick else FULL
    args.upserts = args.upserts if args.upserts is not None else profile["upserts"]
    args.reads = args.reads if args.reads is not None else profile["reads"]
    args.write_seconds = profile["write_seconds"]
    args.read_seconds = profile["read_seconds"]
    if not 1 <= args.upserts <= 100_000:
        return "--upserts must be in [1, 100000]"
    if not 1 <= args.upsert_clients <= 64:
        return "--upsert-clients must be in [1, 64]"
    if not 1 <= args.batches <= 400:
        return "--batches must be in [1, 400]"
    if not 1 <= args.batch_clients <= 16:
        return "--batch-clients must be in [1, 16]"
    if not 1 <= args.reads <= 10_000:
        return "--reads must be in [1, 10000]"
    return ""


# --- the event sets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSets:
    warm: list[BenchEvent]
    upserts: list[BenchEvent]
    read: list[BenchEvent]

    @property
    def in_window(self) -> int:
        start, end = window()
        return sum(1 for event in self.read if event.overlaps(start, end))


def window() -> tuple[Any, Any]:
    return midnight(WINDOW_FROM), midnight(WINDOW_TO)


def event_sets(args: argparse.Namespace) -> EventSets:
    return EventSets(
        warm=event_set("warm", WARM_UPSERTS_PER_CLIENT * args.upsert_clients, args.seed + 1),
        upserts=event_set("upsert", args.upserts, args.seed + 2),
        read=event_set("read", args.batches * BATCH_SIZE, args.seed),
    )


# --- openslot workloads -----------------------------------------------------------------------


def _post(path: str, body: bytes, headers: dict[str, str]) -> Operation:
    def post(conn: Connection) -> None:
        conn.expect("POST", path, ACCEPTED, body, headers)

    return post


def _batch(body: bytes, headers: dict[str, str]) -> Operation:
    def post(conn: Connection) -> None:
        answer = json.loads(conn.expect("POST", "/v1/batch", MULTI_STATUS, body, headers))
        failed = [entry for entry in answer["batch"] if entry.get("status") != ACCEPTED]
        if failed:
            raise UnexpectedAnswer(f"{len(failed)} batch entries failed, e.g. {failed[0]}")

    return post


def _batch_body(calendar_id: str, events: Sequence[BenchEvent]) -> bytes:
    path = f"/v1/calendars/{calendar_id}/events"
    return json_body(
        {"batch": [{"method": "POST", "relative_url": path, "data": e.as_json()} for e in events]}
    )


def _read_query() -> str:
    return urlencode(
        {
            "tzid": "Etc/UTC",
            "from": WINDOW_FROM.isoformat(),
            "to": WINDOW_TO.isoformat(),
            "include_managed": "true",
        }
    )


def _read_all(conn: Connection, path: str, key: str, headers: dict[str, str]) -> tuple[int, int]:
    """Follow ``pages.next_page`` from ``path``; (pages, items)."""
    pages = items = 0
    next_path: str | None = path
    while next_path is not None:
        page = json.loads(conn.expect("GET", next_path, 200, headers=headers))
        pages += 1
        items += len(page[key])
        next_page = page["pages"].get("next_page")
        next_path = None
        if next_page:
            parts = urlsplit(next_page)
            next_path = parts.path + (f"?{parts.query}" if parts.query else "")
        if pages > 1000:
            raise UnexpectedAnswer(f"more than 1000 pages from {path}")
    return pages, items


def _first_page_op(path: str, headers: dict[str, str]) -> Operation:
    def get(conn: Connection) -> None:
        conn.expect("GET", path, 200, headers=headers)

    return get


def _all_pages_op(path: str, key: str, headers: dict[str, str], pages: int) -> Operation:
    def get(conn: Connection) -> None:
        got, _items = _read_all(conn, path, key, headers)
        if got != pages:
            raise UnexpectedAnswer(f"{got} pages from {path}, not {pages}")

    return get


def _calendar_id(openslot: Openslot, headers: dict[str, str]) -> str:
    status, raw = http_once(openslot.port, "GET", "/v1/calendars", headers=headers)
    if status != 200:
        raise BenchError(f"GET /v1/calendars answered {status}: {raw!r}")
    return str(json.loads(raw)["calendars"][0]["calendar_id"])


def _stored_events(port: int, headers: dict[str, str]) -> int:
    """The events of the caller's calendar over the whole year of the event sets, read through the API."""
    query = urlencode(
        {
            "tzid": "Etc/UTC",
            "from": f"{YEAR}-01-01",
            "to": f"{YEAR + 1}-01-02",
            "include_managed": "true",
        }
    )
    conn = Connection(port)
    try:
        return _read_all(conn, f"/v1/events?{query}", "events", headers)[1]
    except UnexpectedAnswer as exc:
        raise BenchError(f"cannot count the stored events: {exc}") from exc
    finally:
        conn.close()


@dataclass
class UpsertRun:
    load: LoadResult
    cpu: dict[str, float]
    loadgen: str
    stored_before: int
    stored_after: int
    in_flight: int = 0  # requests sent but not answered when the time bound ended wrk


def _python_upserts(
    port: int, path: str, headers: dict[str, str], events: Sequence[BenchEvent], clients: int, seconds: float
) -> tuple[LoadResult, int]:
    upserts = [_post(path, json_body(e.as_json()), headers) for e in events]
    return run_load(port, split(upserts, clients), seconds), 0


def wrk_upsert_threads(clients: int, count: int) -> int:
    """One wrk thread per core, but no more than there are requests, and a divisor of ``clients``
    (wrk gives each thread ``clients // threads`` connections)."""
    most = max(1, min(os.cpu_count() or 1, clients, count))
    return next(t for t in range(most, 0, -1) if clients % t == 0)


def _wrk_upserts(
    port: int,
    path: str,
    headers: dict[str, str],
    args: argparse.Namespace,
    workdir: Path,
    name: str,
) -> tuple[LoadResult, int]:
    """``args.upserts`` new events through wrk and ``wrk_upserts.lua``: (the load, requests in flight
    when the time bound ended it)."""
    threads = wrk_upsert_threads(args.upsert_clients, args.upserts)
    # the first args.upserts are sets.upserts; the rest are spares the script may need
    events = event_set("upsert", args.upserts + WRK_SPARES_PER_THREAD * threads, args.seed + 2)
    bodies = workdir / f"{name}-upserts.jsonl"
    bodies.write_bytes(b"".join(json_body(e.as_json()) + b"\n" for e in events))
    output = wrk_output(
        port,
        path,
        headers,
        args.upsert_clients,
        args.write_seconds,
        script=WRK_UPSERTS_SCRIPT,
        script_args=(str(bodies), str(threads), str(args.upserts)),
        threads=threads,
        timeout=WRK_TIMEOUT_S,
    )
    counts = _wrk_upsert_counts(output, threads)
    summary = parse_wrk(output)
    answered, accepted = counts["answered"], counts["accepted"]
    errors = (answered - accepted) + wrk_socket_errors(output)
    first_error = ""
    if answered != accepted:
        first_error = f"{answered - accepted} of {answered} answers were not {ACCEPTED}"
    elif errors:
        first_error = f"wrk socket errors: {errors}"
    load = LoadResult(
        requests=accepted,
        errors=errors,
        elapsed=summary.elapsed,
        p50_ms=summary.p50_ms,
        p99_ms=summary.p99_ms,
        first_error=first_error,
    )
    return load, counts["sent"] - answered


def _wrk_upsert_counts(output: str, threads: int) -> dict[str, int]:
    """The script's per-thread lines of ``done()``, added up."""
    lines = [line.split() for line in output.splitlines() if line.startswith("upserts: thread ")]
    if len(lines) != threads:
        raise BenchError(f"wrk_upserts.lua reported {len(lines)} threads, not {threads}:\n{output}")
    totals = dict.fromkeys(("quota", "sent", "answered", "accepted"), 0)
    for words in lines:
        fields = dict(zip(words[3::2], words[4::2], strict=True))
        for key in totals:
            totals[key] += int(fields[key])
    return totals


def measure_upserts(
    openslot: Openslot,
    path: str,
    headers: dict[str, str],
    events: Sequence[BenchEvent],
    args: argparse.Namespace,
    workdir: Path,
    name: str,
) -> UpsertRun:
    """The measured single upserts with ``args.loadgen``, CPU metered, and a check that the calendar
    gained exactly one event per accepted upsert (no body repeated, none lost)."""
    port = openslot.port
    before = _stored_events(port, headers)
    with cpu_meter(openslot.server.process.pid, children=True) as cpu:
        if args.loadgen == "wrk":
            load, in_flight = _wrk_upserts(port, path, headers, args, workdir, name)
        else:
            load, in_flight = _python_upserts(
                port, path, headers, events, args.upsert_clients, args.write_seconds
            )
    if in_flight:
        time.sleep(1.0)  # requests cut off by wrk's time bound may still be committing
    after = _stored_events(port, headers)
    gained = after - before
    if not load.requests <= gained <= load.requests + in_flight:
        unanswered = f" and {in_flight} unanswered at the time bound" if in_flight else ""
        raise BenchError(
            f"single upserts ({args.loadgen}): the calendar gained {gained:,} events, but "
            f"{load.requests:,} upserts were accepted{unanswered} ({load.errors:,} errors); "
            "a body was repeated or an accepted event is missing"
        )
    return UpsertRun(load, cpu, args.loadgen, before, after, in_flight)


# --- bytes per event --------------------------------------------------------------------------


def _sqlite_storage(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "openslot.db"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT count(*) FROM events").fetchone()[0]
        names = ["events"] + [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
            )
        ]
        try:
            sizes = dict(
                db.execute(
                    f"SELECT name, SUM(pgsize) FROM dbstat WHERE name IN ({','.join('?' * len(names))}) "
                    "GROUP BY name",
                    names,
                ).fetchall()
            )
        except sqlite3.OperationalError:  # SQLite built without dbstat: the whole file
            files = [path, path.with_name(path.name + "-wal")]
            total = sum(f.stat().st_size for f in files if f.exists())
            return {
                "rows": rows,
                "method": "file size",
                "total_bytes": total,
                "bytes_per_event": total / rows,
            }
    total = sum(sizes.values())
    return {
        "rows": rows,
        "method": "dbstat: events and its indexes",
        "table_bytes": sizes.get("events", 0),
        "index_bytes": total - sizes.get("events", 0),
        "total_bytes": total,
        "bytes_per_event": total / rows if rows else math.nan,
    }


def _postgresql_storage(database_url: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE events"))
            total, heap, indexes, rows = conn.execute(
                text(
                    "SELECT pg_total_relation_size('events'), pg_relation_size('events'), "
                    "pg_indexes_size('events'), (SELECT count(*) FROM events)"
                )
            ).one()
    finally:
        engine.dispose()
    return {
        "rows": rows,
        "method": "pg_total_relation_size after VACUUM ANALYZE",
        "table_bytes": heap,
        "index_bytes": indexes,
        "toast_and_maps_bytes": total - heap - indexes,
        "total_bytes": total,
        "bytes_per_event": total / rows if rows else math.nan,
    }


# --- one openslot configuration ---------------------------------------------------------------


@dataclass
class ConfigResult:
    backend: str
    workers: int
    batch: LoadResult
    read_first: LoadResult
    read_all: LoadResult
    free_busy_first: LoadResult
    free_busy_all: LoadResult
    upsert: LoadResult
    upsert_cpu: dict[str, float]
    upsert_loadgen: str
    upsert_stored: tuple[int, int]  # events of the ingest calendar before and after the upserts
    storage: dict[str, Any]
    pages: int
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.backend}, {self.workers} worker{'s' if self.workers > 1 else ''}"

    def loads(self) -> dict[str, LoadResult]:
        return {
            "upsert": self.upsert,
            "batch": self.batch,
            "read_first_page": self.read_first,
            "read_all_pages": self.read_all,
            "free_busy_first_page": self.free_busy_first,
            "free_busy_all_pages": self.free_busy_all,
        }


def bench_openslot(
    args: argparse.Namespace,
    backend: str,
    workers: int,
    sets: EventSets,
    workdir: Path,
    log: Callable[[str], None],
) -> ConfigResult:
    admin_url = args.database_url if backend == "postgresql" else ""
    name = f"openslot-{backend}-w{workers}"
    with (
        scratch_database(admin_url) as database_url,
        openslot_server(workdir, database_url, workers, name=name) as openslot,
    ):
        port = openslot.port
        ingest_headers = {"Authorization": f"Bearer {openslot.access_token('bench-ingest')}", **JSON_HEADERS}
        read_headers = {"Authorization": f"Bearer {openslot.access_token('bench-read')}", **JSON_HEADERS}
        ingest_calendar = _calendar_id(openslot, ingest_headers)
        read_calendar = _calendar_id(openslot, read_headers)
        ingest_path = f"/v1/calendars/{ingest_calendar}/events"

        log(f"openslot ({backend}, {workers} worker(s)): warm-up ...")
        warm = [_post(ingest_path, json_body(e.as_json()), ingest_headers) for e in sets.warm]
        run_load(port, split(warm, args.upsert_clients), args.write_seconds)
        warm_batches = event_set("warm-batch", WARM_BATCHES * WARM_BATCH_SIZE, args.seed + 3)
        warm_ops = [
            _batch(_batch_body(ingest_calendar, warm_batches[i : i + WARM_BATCH_SIZE]), ingest_headers)
            for i in range(0, len(warm_batches), WARM_BATCH_SIZE)
        ]
        run_load(port, split(warm_ops, args.batch_clients), args.write_seconds)

        log(f"openslot: batch ingest of {len(sets.read):,} events, {BATCH_SIZE} per batch ...")
        batch_ops = [
            _batch(_batch_body(read_calendar, sets.read[i : i + BATCH_SIZE]), read_headers)
            for i in range(0, len(sets.read), BATCH_SIZE)
        ]
        batch = run_load(port, split(batch_ops, args.batch_clients), args.write_seconds)

        storage = _postgresql_storage(database_url) if database_url else _sqlite_storage(openslot.data_dir)

        query = _read_query()
        events_path, free_busy_path = f"/v1/events?{query}", f"/v1/free_busy?{query}"
        conn = Connection(port)
        try:
            pages, found = _read_all(conn, events_path, "events", read_headers)
            fb_pages, busy = _read_all(conn, free_busy_path, "free_busy", read_headers)
        except UnexpectedAnswer as exc:
            raise BenchError(str(exc)) from exc
        finally:
            conn.close()
        expected = sets.in_window
        if found != expected or busy != expected:
            raise BenchError(f"the window holds {expected} events; events read {found}, free/busy {busy}")

        log(f"openslot: reads of the 60-day window ({found} events, {pages} pages), {args.reads} each ...")

        def measure(operation: Operation) -> LoadResult:
            run_load(port, [[operation] * WARM_READS], args.read_seconds)
            return run_load(port, [[operation] * args.reads], args.read_seconds)

        read_first = measure(_first_page_op(events_path, read_headers))
        read_all = measure(_all_pages_op(events_path, "events", read_headers, pages))
        free_busy_first = measure(_first_page_op(free_busy_path, read_headers))
        free_busy_all = measure(_all_pages_op(free_busy_path, "free_busy", read_headers, fb_pages))

        log(
            f"openslot: {len(sets.upserts):,} single upserts from {args.upsert_clients} clients "
            f"({args.loadgen}) ..."
        )
        upsert = measure_upserts(openslot, ingest_path, ingest_headers, sets.upserts, args, workdir, name)

        notes = [
            line
            for line in openslot.server.output().splitlines()
            if any(word in line for word in ("ERROR", "Traceback", "WARNING", "Exception"))
        ]
    return ConfigResult(
        backend=backend,
        workers=workers,
        batch=batch,
        read_first=read_first,
        read_all=read_all,
        free_busy_first=free_busy_first,
        free_busy_all=free_busy_all,
        upsert=upsert.load,
        upsert_cpu=upsert.cpu,
        upsert_loadgen=upsert.loadgen,
        upsert_stored=(upsert.stored_before, upsert.stored_after),
        storage=storage,
        pages=pages,
        notes=notes[:20],
    )


# --- reporting --------------------------------------------------------------------------------


def _eps(result: LoadResult, per_request: int = 1) -> float:
    return result.rps * per_request


def _n(load: LoadResult, planned: int, per_request: int = 1) -> str:
    """Operations done (x events each); "k of n" when the time bound ended the run early."""
    done = f"{load.requests:,}" + (f" x {per_request}" if per_request > 1 else "")
    attempted = load.requests + load.errors
    return done if attempted >= planned else f"{done} of {planned:,}"


def _loadgen_line(args: argparse.Namespace, result: ConfigResult) -> str:
    if result.upsert_loadgen == "wrk":
        threads = wrk_upsert_threads(args.upsert_clients, args.upserts)
        how = f"wrk, {threads} threads, {args.upsert_clients} connections, {WRK_UPSERTS_SCRIPT.name}"
    else:
        how = f"Python, {args.upsert_clients} threads of http.client in the benchmark process"
    before, after = result.upsert_stored
    return (
        f"load generator of single upserts: {how}; the ingest calendar went from {before:,} to "
        f"{after:,} events ({after - before:,} new for {result.upsert.requests:,} accepted upserts)"
    )


def _targets(result: ConfigResult) -> dict[str, dict[str, Any]]:
    upsert_eps = _eps(result.upsert)
    return {
        "upsert": {
            "target": f"≥ {TARGET_UPSERT_EPS:,.0f}/s, p99 ≤ {TARGET_UPSERT_P99_MS:g}",
            "met": upsert_eps >= TARGET_UPSERT_EPS and result.upsert.p99_ms <= TARGET_UPSERT_P99_MS,
        },
        "read_first_page": {
            "target": f"p50 ≤ {TARGET_READ_P50_MS:g}",
            "met": result.read_first.p50_ms <= TARGET_READ_P50_MS,
        },
        "free_busy_first_page": {
            "target": f"p50 ≤ {TARGET_FREE_BUSY_P50_MS:g}",
            "met": result.free_busy_first.p50_ms <= TARGET_FREE_BUSY_P50_MS,
        },
        "bytes_per_event": {
            "target": f"≤ {TARGET_BYTES_PER_EVENT:,.0f} B",
            "met": result.storage["bytes_per_event"] <= TARGET_BYTES_PER_EVENT,
        },
    }


def _openslot_table(args: argparse.Namespace, result: ConfigResult, sets: EventSets) -> Table:
    targets = _targets(result)
    table = Table(
        title=f"events: openslot on {result.label}",
        caption=(
            f"window {WINDOW_FROM}..{WINDOW_TO}: {sets.in_window} of {len(sets.read):,} events, "
            f"{result.pages} pages; reads from 1 client; ms per read; "
            "targets (the issue's, stated for PostgreSQL) in events/s and ms"
        ),
    )
    table.add_column("workload")
    for column in ("n", "errors", "events/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    table.add_column("target")
    table.add_column("met")

    def row(name: str, load: LoadResult, n: str, eps: str = "", target_key: str = "") -> None:
        target = targets.get(target_key, {})
        table.add_row(
            name,
            n,
            f"{load.errors:,}",
            eps,
            ms(load.p50_ms),
            ms(load.p99_ms),
            target.get("target", ""),
            met(target["met"]) if target else "",
        )

    upsert, batch = result.upsert, result.batch
    row(
        f"single upsert, {args.upsert_clients} clients",
        upsert,
        _n(upsert, len(sets.upserts)),
        f"{_eps(upsert):,.0f}",
        "upsert",
    )
    row(
        f"batch ingest, {BATCH_SIZE}/batch, {args.batch_clients} clients",
        batch,
        _n(batch, args.batches, BATCH_SIZE),
        f"{_eps(batch, BATCH_SIZE):,.0f}",
    )
    row(
        "read window, first page", result.read_first, _n(result.read_first, args.reads), "", "read_first_page"
    )
    row(f"read window, all {result.pages} pages", result.read_all, _n(result.read_all, args.reads))
    row(
        "free/busy, first page",
        result.free_busy_first,
        _n(result.free_busy_first, args.reads),
        "",
        "free_busy_first_page",
    )
    row(f"free/busy, all {result.pages} pages", result.free_busy_all, _n(result.free_busy_all, args.reads))
    bytes_target = targets["bytes_per_event"]
    table.add_row(
        f"stored: {result.storage['bytes_per_event']:,.0f} B/event",
        f"{result.storage['rows']:,} rows",
        "",
        "",
        "",
        "",
        bytes_target["target"],
        met(bytes_target["met"]),
    )
    return table


def _radicale_table(peer: dict[str, Any], args: argparse.Namespace, sets: EventSets) -> Table:
    table = Table(
        title=f"events: Radicale {peer['version']} (CalDAV peer)",
        caption="built-in server (HTTP/1.0, a new connection per request), multifilesystem storage; "
        "reads from 1 client",
    )
    table.add_column("workload")
    for column in ("n", "errors", "events/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")

    def row(name: str, load: LoadResult, n: str, eps: str = "") -> None:
        table.add_row(name, n, f"{load.errors:,}", eps, ms(load.p50_ms), ms(load.p99_ms))

    ingest, bulk, read_load = peer["ingest"], peer["bulk"], peer["read_load"]
    row(
        f"single PUT, {args.upsert_clients} clients",
        ingest,
        _n(ingest, len(sets.upserts)),
        f"{_eps(ingest):,.0f}",
    )
    row(
        f"whole-collection PUT, {BATCH_SIZE}/PUT, {args.batch_clients} clients",
        bulk,
        _n(bulk, args.batches, BATCH_SIZE),
        f"{_eps(bulk, BATCH_SIZE):,.0f}",
    )
    events = peer["storage"]["events"]
    row(f"read calendar: 1 PUT of {events:,} events", read_load, "1", f"{events / read_load.elapsed:,.0f}")
    row("free-busy-query REPORT", peer["free_busy"], _n(peer["free_busy"], args.reads))
    row(
        f"calendar-query REPORT ({peer['window_events']} events)",
        peer["read_window"],
        _n(peer["read_window"], args.reads),
    )
    stored = peer["storage"]["bytes_per_event"]
    table.add_row(f"stored: {stored:,.0f} B/event (files + cache)", f"{events:,} events", "", "", "", "")
    return table


def _comparison_rows(result: ConfigResult, peer: dict[str, Any]) -> list[tuple[str, str, float, float]]:
    return [
        ("ingest, single writes", "events/s", _eps(result.upsert), _eps(peer["ingest"])),
        ("ingest, single writes", "p50 ms", result.upsert.p50_ms, peer["ingest"].p50_ms),
        ("ingest, single writes", "p99 ms", result.upsert.p99_ms, peer["ingest"].p99_ms),
        (
            f"bulk ingest, {BATCH_SIZE} per request",
            "events/s",
            _eps(result.batch, BATCH_SIZE),
            _eps(peer["bulk"], BATCH_SIZE),
        ),
        ("read window (every event)", "p50 ms", result.read_all.p50_ms, peer["read_window"].p50_ms),
        ("free/busy (every event)", "p50 ms", result.free_busy_all.p50_ms, peer["free_busy"].p50_ms),
        ("storage", "bytes/event", result.storage["bytes_per_event"], peer["storage"]["bytes_per_event"]),
    ]


def _comparison_table(result: ConfigResult, peer: dict[str, Any]) -> Table:
    table = Table(
        title=f"events: openslot on {result.label} vs Radicale {peer['version']}",
        caption="openslot reads are all pages (Radicale answers the whole window at once); "
        "ratio > 1 is better for events/s, < 1 better for ms and bytes",
    )
    table.add_column("workload")
    table.add_column("compared")
    for column in ("openslot", "Radicale", "openslot / Radicale"):
        table.add_column(column, justify="right")
    for name, metric, ours, theirs in _comparison_rows(result, peer):
        fmt = "{:,.2f}" if metric.endswith("ms") else "{:,.0f}"
        table.add_row(name, metric, fmt.format(ours), fmt.format(theirs), f"{ratio(ours, theirs):.2f}x")
    return table


def _summary_table(results: Sequence[ConfigResult]) -> Table:
    table = Table(title="events: summary", caption="p50/p99 in ms; first page = one request of 100 events")
    table.add_column("openslot on", no_wrap=True)
    for column in (
        "upserts/s",
        "upsert p99",
        "batch events/s",
        "read p50 (1st page)",
        "read p50 (all)",
        "free/busy p50 (1st page)",
        "B/event",
    ):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.label,
            f"{_eps(r.upsert):,.0f}",
            ms(r.upsert.p99_ms),
            f"{_eps(r.batch, BATCH_SIZE):,.0f}",
            ms(r.read_first.p50_ms),
            ms(r.read_all.p50_ms),
            ms(r.free_busy_first.p50_ms),
            f"{r.storage['bytes_per_event']:,.0f}",
        )
    return table


def _record(
    args: argparse.Namespace, sets: EventSets, results: Sequence[ConfigResult], peer: dict[str, Any] | None
) -> dict[str, Any]:
    def peer_dict(value: Any) -> Any:
        return value.as_dict() if isinstance(value, LoadResult) else value

    return {
        **run_metadata(),
        "suite": "events",
        "quick": args.quick,
        "seed": args.seed,
        "upserts": len(sets.upserts),
        "upsert_clients": args.upsert_clients,
        "loadgen": args.loadgen,
        "batches": args.batches,
        "batch_size": BATCH_SIZE,
        "batch_clients": args.batch_clients,
        "read_events": len(sets.read),
        "window": [WINDOW_FROM.isoformat(), WINDOW_TO.isoformat()],
        "window_events": sets.in_window,
        "reads": args.reads,
        "busy_cores_before": None if args.busy_before is None else round(args.busy_before, 3),
        "openslot": [
            {
                "backend": r.backend,
                "workers": r.workers,
                **{name: load.as_dict() for name, load in r.loads().items()},
                "upsert_events_per_s": round(_eps(r.upsert), 1),
                "batch_events_per_s": round(_eps(r.batch, BATCH_SIZE), 1),
                "storage": r.storage,
                "upsert_loadgen": r.upsert_loadgen,
                "upsert_stored_before_after": list(r.upsert_stored),
                "upsert_cpu_cores": {k: round(v, 3) for k, v in r.upsert_cpu.items()},
                "targets": {name: t["met"] for name, t in _targets(r).items()},
                "vs_radicale": (
                    {
                        f"{name} {metric}": round(ratio(ours, theirs), 3)
                        for name, metric, ours, theirs in _comparison_rows(r, peer)
                    }
                    if peer
                    else None
                ),
                "server_log": r.notes,
            }
            for r in results
        ],
        "radicale": {key: peer_dict(value) for key, value in peer.items()} if peer else None,
    }


# --- the suite --------------------------------------------------------------------------------


def run(args: argparse.Namespace, console: Console) -> int:
    """0 ok, 1 some requests failed, 2 the suite could not run."""
    sets = event_sets(args)
    start, end = window()
    results: list[ConfigResult] = []
    peer: dict[str, Any] | None = None
    failed = False

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False)

    args.busy_before, warning = busy_warning()
    if warning:
        console.print(warning, highlight=False)
    log(
        f"events suite: {len(sets.read):,} events in the read calendar, {sets.in_window} of them in "
        f"{WINDOW_FROM}..{WINDOW_TO}; {len(sets.upserts):,} single upserts"
    )
    with tempfile.TemporaryDirectory(prefix="openslot-bench-events-") as tmp:
        workdir = Path(tmp)
        for backend, workers in itertools.product(args.backends, args.workers):
            try:
                result = bench_openslot(args, backend, workers, sets, workdir, log)
            except BenchError as exc:
                console.print(f"[red]events suite failed on {backend}:[/red] {exc}", highlight=False)
                return 2
            results.append(result)
            console.print(_openslot_table(args, result, sets))
            log(_loadgen_line(args, result))
            log(cpu_line("single upserts", "openslot", result.upsert_cpu))
            if result.notes:
                console.print(f"server log of {result.label} (first lines with warnings/errors):")
                for line in result.notes:
                    log(f"  {line}")
            if any(load.errors for load in result.loads().values()):
                failed = True
                for name, load in result.loads().items():
                    if load.errors:
                        log(f"  {name}: {load.errors} errors, first: {load.first_error}")
        if not args.no_radicale:
            if not radicale_peer.available():
                log("Radicale is not installed (pip install radicale); skipping the peer")
            else:
                try:
                    peer = radicale_peer.run(
                        workdir,
                        warm_set=sets.warm,
                        upsert_set=sets.upserts,
                        read_set=sets.read,
                        window=(start, end),
                        expected_in_window=sets.in_window,
                        upsert_clients=args.upsert_clients,
                        batch_size=BATCH_SIZE,
                        batch_clients=args.batch_clients,
                        reads=args.reads,
                        write_seconds=args.write_seconds,
                        read_seconds=args.read_seconds,
                        log=log,
                    )
                except BenchError as exc:
                    console.print(f"[red]Radicale peer failed:[/red] {exc}", highlight=False)
                    failed = True
    if peer:
        console.print(_radicale_table(peer, args, sets))
        log(cpu_line("single PUTs", "Radicale", peer["ingest_cpu"]))
        for name in ("ingest", "bulk", "free_busy", "read_window"):
            if peer[name].errors:
                failed = True
                log(f"  Radicale {name}: {peer[name].errors} errors, first: {peer[name].first_error}")
        if peer["server_log"]:
            log("Radicale's log (first lines with errors):")
            for line in peer["server_log"]:
                log(f"  {line}")
        for result in results:
            console.print(_comparison_table(result, peer))
    if len(results) > 1:
        console.print(_summary_table(results))
    if not args.no_save:
        path = append_result(RESULTS_FILE, _record(args, sets, results, peer))
        console.print(f"appended to {path.relative_to(REPO_ROOT)}")
    if failed:
        console.print("[red]some requests failed; the numbers above are not trustworthy[/red]")
    return 1 if failed else 0
