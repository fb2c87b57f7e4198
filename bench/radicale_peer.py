"""The peer of the events suite: Radicale, a CalDAV server, given the same event set and workloads.

Radicale runs as ``python -m radicale --config FILE`` on 127.0.0.1 with a temporary storage folder,
no authentication (``[auth] type = none``) and ``[rights] type = authenticated``, which with no
authentication lets the anonymous user read and write every collection. Its storage is the
default ``multifilesystem`` (one ``.ics`` file per event, fsync on every write) and its server is
the built-in one, which answers HTTP/1.0 and closes the connection after every answer, so each of
its requests also pays a new TCP connection (on loopback, tens of microseconds).

The workloads, each as close to openslot's as CalDAV allows:

- ingest: ``PUT /bench/ingest/<uid>.ics`` of a one-event calendar, the same clients and events;
- bulk ingest: ``PUT /bench/bulk-NN/`` of a 50-event calendar as a whole new collection. Radicale
  supports a whole-collection PUT, but it creates or *replaces* the collection, where an openslot
  batch adds to a calendar; it is the closest bulk write CalDAV has;
- the read calendar: one whole-collection ``PUT /bench/read/`` of the read set (timed, for reference);
- free/busy: ``REPORT`` ``free-busy-query`` (Depth: 1) with the 60-day ``time-range``;
- read window: ``REPORT`` ``calendar-query`` (Depth: 1) with ``getetag`` and ``calendar-data`` and the
  same ``time-range``;
- bytes per event: the logical size of every file in the read collection's folder (event files,
  Radicale's item cache and properties) divided by its number of events.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from common import (
    HOST,
    BenchError,
    Connection,
    LoadResult,
    Operation,
    Server,
    UnexpectedAnswer,
    answers_http,
    clean_env,
    cpu_meter,
    free_port,
    run_load,
    serving,
    split,
)
from workload import BenchEvent, ical_utc, ics

RADICALE = (sys.executable, "-m", "radicale")
ROOT = "/bench/"
ICS_HEADERS = {"Content-Type": "text/calendar; charset=utf-8"}
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8", "Depth": "1"}
CREATED = 201
MULTI_STATUS = 207


def version() -> str:
    try:
        return importlib.metadata.version("radicale")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def available() -> bool:
    try:
        importlib.metadata.version("radicale")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@dataclass
class Radicale:
    server: Server
    storage: Path

    @property
    def port(self) -> int:
        return self.server.port

    def collection_dir(self, name: str) -> Path:
        return self.storage / "collection-root" / ROOT.strip("/") / name


@contextlib.contextmanager
def radicale_server(workdir: Path, max_connections: int) -> Iterator[Radicale]:
    port = free_port()
    storage = workdir / "radicale-storage"
    config = workdir / "radicale.conf"
    config.write_text(
        "\n".join(
            [
                "[server]",
                f"hosts = {HOST}:{port}",
                # The default of 8 would queue part of the clients before the server sees them.
                f"max_connections = {max_connections}",
                "",
                "[auth]",
                "type = none",
                "",
                "[rights]",
                "type = authenticated",
                "",
                "[storage]",
                f"filesystem_folder = {storage}",
                "",
                "[logging]",
                "level = warning",
                "",
            ]
        ),
        encoding="utf-8",
    )
    argv = [*RADICALE, "--config", str(config)]
    with serving("radicale", argv, clean_env(), workdir, port, ready=answers_http) as server:
        yield Radicale(server, storage)


def _make_collections(port: int, calendars: Sequence[str]) -> None:
    conn = Connection(port)
    try:
        conn.expect("MKCOL", ROOT, CREATED)
        for name in calendars:
            conn.expect("MKCALENDAR", f"{ROOT}{name}/", CREATED)
    except UnexpectedAnswer as exc:
        raise BenchError(f"Radicale: {exc}") from exc
    finally:
        conn.close()


def _put(path: str, body: bytes) -> Operation:
    def put(conn: Connection) -> None:
        conn.expect("PUT", path, CREATED, body, ICS_HEADERS)

    return put


def _report(path: str, body: bytes, status: int) -> Operation:
    def report(conn: Connection) -> None:
        conn.expect("REPORT", path, status, body, XML_HEADERS)

    return report


def free_busy_query(start: datetime, end: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f'<C:time-range start="{ical_utc(start)}" end="{ical_utc(end)}"/>'
        "</C:free-busy-query>"
    ).encode()


def calendar_query(start: datetime, end: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{ical_utc(start)}" end="{ical_utc(end)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter>"
        "</C:calendar-query>"
    ).encode()


def _storage_bytes(folder: Path) -> tuple[int, int]:
    """(bytes of the event files, bytes of every file) under ``folder``."""
    items = total = 0
    for path in folder.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            total += size
            if path.parent == folder and path.suffix == ".ics":
                items += size
    return items, total


def run(
    workdir: Path,
    *,
    warm_set: Sequence[BenchEvent],
    upsert_set: Sequence[BenchEvent],
    read_set: Sequence[BenchEvent],
    window: tuple[datetime, datetime],
    expected_in_window: int,
    upsert_clients: int,
    batch_size: int,
    batch_clients: int,
    reads: int,
    write_seconds: float,
    read_seconds: float,
    log: Any,
) -> dict[str, Any]:
    """Every Radicale workload; the results as a dict of ``LoadResult`` and figures."""
    with radicale_server(workdir, max_connections=2 * max(upsert_clients, batch_clients)) as radicale:
        port = radicale.port
        _make_collections(port, ["ingest"])

        log(f"Radicale {version()}: warm-up and ingest of {len(upsert_set):,} single PUTs ...")
        warm = [_put(f"{ROOT}ingest/{e.event_id}.ics", ics([e])) for e in warm_set]
        run_load(port, split(warm, upsert_clients), write_seconds)
        puts = [_put(f"{ROOT}ingest/{e.event_id}.ics", ics([e])) for e in upsert_set]
        with cpu_meter(radicale.server.process.pid) as ingest_cpu:
            ingest = run_load(port, split(puts, upsert_clients), write_seconds)

        batches = [read_set[i : i + batch_size] for i in range(0, len(read_set), batch_size)]
        log(f"Radicale: bulk ingest, {len(batches)} whole-collection PUTs of {batch_size} events ...")
        bulk_puts = [_put(f"{ROOT}bulk-{n:03d}/", ics(chunk)) for n, chunk in enumerate(batches)]
        bulk = run_load(port, split(bulk_puts, batch_clients), write_seconds)

        log(f"Radicale: the read calendar, one whole-collection PUT of {len(read_set):,} events ...")
        conn = Connection(port)
        try:
            started = time.perf_counter()
            conn.expect("PUT", f"{ROOT}read/", CREATED, ics(read_set), ICS_HEADERS)
            read_load_s = time.perf_counter() - started
            start, end = window
            answer = conn.expect(
                "REPORT", f"{ROOT}read/", MULTI_STATUS, calendar_query(start, end), XML_HEADERS
            )
            returned = answer.count(b"BEGIN:VEVENT")
            if returned != expected_in_window:
                raise BenchError(
                    f"Radicale's calendar-query found {returned} events, not {expected_in_window}"
                )
            busy = conn.expect("REPORT", f"{ROOT}read/", 200, free_busy_query(start, end), XML_HEADERS)
            periods = busy.count(b"FREEBUSY")
        except UnexpectedAnswer as exc:
            raise BenchError(f"Radicale: {exc}") from exc
        finally:
            conn.close()

        log(f"Radicale: free-busy-query and calendar-query REPORTs, {reads} each ...")
        fb_op = _report(f"{ROOT}read/", free_busy_query(start, end), 200)
        cq_op = _report(f"{ROOT}read/", calendar_query(start, end), MULTI_STATUS)
        run_load(port, [[fb_op] * 3], read_seconds)
        free_busy = run_load(port, [[fb_op] * reads], read_seconds)
        run_load(port, [[cq_op] * 3], read_seconds)
        read_window = run_load(port, [[cq_op] * reads], read_seconds)

        items_bytes, total_bytes = _storage_bytes(radicale.collection_dir("read"))
        errors = [
            line
            for line in radicale.server.output().splitlines()
            if any(word in line for word in ("[ERROR]", "[CRITICAL]", "Traceback", "Exception"))
        ]
        return {
            "version": version(),
            "ingest": ingest,
            "ingest_cpu": {key: round(value, 3) for key, value in ingest_cpu.items()},
            "bulk": bulk,
            "read_load": LoadResult(1, 0, read_load_s, read_load_s * 1000, read_load_s * 1000),
            "free_busy": free_busy,
            "free_busy_periods": periods,
            "read_window": read_window,
            "window_events": returned,
            "server_log": errors[:20],
            "storage": {
                "events": len(read_set),
                "item_bytes": items_bytes,
                "total_bytes": total_bytes,
                "bytes_per_event": total_bytes / len(read_set),
            },
        }
