"""The end-to-end half of the availability suite: ``POST /v1/availability`` on the real server.

``openslot serve`` runs on a scratch PostgreSQL database. The application calendars (one account
and one calendar each) and their working-hours rules are created through the API, the events are
bulk-loaded with COPY (``load_database``), and then the workloads run over HTTP on 127.0.0.1. Every
answer that is checked is compared with the engine's answer for the same fixture.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import availability_fixture as fx
import profiling
from common import (
    JSON_HEADERS,
    BenchError,
    Connection,
    LoadResult,
    Openslot,
    Operation,
    UnexpectedAnswer,
    cpu_meter,
    json_body,
    libpq_url,
    merge_loads,
    openslot_server,
    run_load,
    scratch_database,
    split,
)
from openslot.engine.availability import ResponseFormat, solve

SLOTS, PERIODS = ResponseFormat.SLOTS, ResponseFormat.PERIODS
F3_PARTICIPANTS = 20
THROUGHPUT_PARTICIPANTS = 5
SCALING_PARTICIPANTS = (5, 20, 100)
OUTSIDE_COUNTS = (200, 2_000, 20_000)
F3_GROUPS = 50  # disjoint groups of participants the F3 requests go through in turn
SCALING_GROUPS = 10
THROUGHPUT_GROUPS = 200
SETUP_SECONDS = 300.0  # bound of each setup step over HTTP (application calendars, rules)
LOAD_SECONDS = 900.0  # bound of the COPY of all events
SETUP_CLIENTS = 8
WARM_REQUESTS = 5
INTERLEAVED_ROUNDS = 5
THROUGHPUT_WARMUP = 2.0
MAX_THROUGHPUT_REQUESTS = 100_000
PROFILE_SECONDS = 5
Answer = list[tuple[int, int]]


def engine_answer(
    seed: int, participants: int, window: tuple[int, int], response_format: ResponseFormat
) -> Answer:
    """What ``solve()`` answers for the first ``participants`` calendars of the fixture."""
    calendars = [fx.calendar_events(seed, i) for i in range(participants)]
    group = fx.members([fx.sub_of(i) for i in range(participants)], calendars, window)
    return [(r.start, r.end) for r in solve(fx.query(group, window, response_format))]


# --- loading the database ---------------------------------------------------------------------

EVENT_COLUMNS = (
    "uid",
    "account_id",
    "calendar_id",
    "application_id",
    "event_id",
    "summary",
    "description",
    "start_at",
    "end_at",
    "all_day",
    "start_tzid",
    "end_tzid",
    "transparency",
    "status",
    "details",
    "deleted",
    "created_at",
    "updated_at",
)
CREATED_AT = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class StoredCalendar:
    """An application calendar of the fixture: its id, its account (the sub) and the events given it."""

    apc_id: str
    sub: str
    calendar_id: str
    token: str
    events: Callable[[], fx.Events]


@dataclass
class Loaded:
    main: list[StoredCalendar]
    outside: dict[int, list[StoredCalendar]]
    events: int
    seconds: dict[str, float] = field(default_factory=dict)
    storage_bytes: int = 0


def _copy_rows(uid_prefix: str, calendar: StoredCalendar, events: fx.Events) -> str:
    """The events of one calendar as COPY text rows: opaque, confirmed, timed, no application."""
    starts = np.datetime_as_string(events.starts.astype("datetime64[s]"), unit="s").tolist()
    ends = np.datetime_as_string(events.ends.astype("datetime64[s]"), unit="s").tolist()
    head = f"\t{calendar.sub}\t{calendar.calendar_id}\t\\N\t\\N\tBusy\t\t"
    tail = f"\tf\tEtc/UTC\tEtc/UTC\topaque\tconfirmed\t{{}}\tf\t{CREATED_AT}\t{CREATED_AT}\n"
    return "".join(
        f"{uid_prefix}{n:07d}{head}{start}Z\t{end}Z{tail}"
        for n, (start, end) in enumerate(zip(starts, ends, strict=True))
    )


def _create_calendars(openslot: Openslot, apc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``POST /v1/application_calendars`` for each id, from ``SETUP_CLIENTS`` connections."""
    answers: dict[str, dict[str, Any]] = {}

    def create(apc_id: str) -> Operation:
        body = openslot.application_calendar_body(apc_id)

        def post(conn: Connection) -> None:
            raw = conn.expect("POST", "/v1/application_calendars", 200, body, JSON_HEADERS)
            answers[apc_id] = json.loads(raw)

        return post

    load = run_load(openslot.port, split([create(i) for i in apc_ids], SETUP_CLIENTS), SETUP_SECONDS)
    if load.errors or len(answers) != len(apc_ids):
        raise BenchError(
            f"created {len(answers)} of {len(apc_ids)} application calendars; first error: {load.first_error}"
        )
    return answers


def _create_rules(openslot: Openslot, calendars: Sequence[StoredCalendar]) -> None:
    """The working-hours rule for each calendar's account, with that account's own token."""
    body = json_body(
        {
            "availability_rule_id": "working_hours",
            "tzid": fx.TZID,
            "weekly_periods": [
                {"day": p.day, "start_time": p.start_time, "end_time": p.end_time} for p in fx.WORKING_HOURS
            ],
        }
    )

    def create(calendar: StoredCalendar) -> Operation:
        headers = {"Authorization": f"Bearer {calendar.token}", **JSON_HEADERS}

        def post(conn: Connection) -> None:
            conn.expect("POST", "/v1/availability_rules", 200, body, headers)

        return post

    load = run_load(openslot.port, split([create(c) for c in calendars], SETUP_CLIENTS), SETUP_SECONDS)
    if load.errors or load.requests != len(calendars):
        raise BenchError(
            f"created {load.requests} of {len(calendars)} availability rules; first error: {load.first_error}"
        )


def load_database(args: argparse.Namespace, openslot: Openslot, log: Callable[[str], None]) -> Loaded:
    import psycopg

    profile = args.availability
    seed = args.seed
    count = profile["events"] // fx.EVENTS_PER_CALENDAR
    outside_n = profile["outside_participants"]
    main_ids = [f"f3-{i:04d}" for i in range(count)]
    outside_ids = {k: [f"out{k}-{j:03d}" for j in range(outside_n)] for k in OUTSIDE_COUNTS}
    every_id = main_ids + [i for ids in outside_ids.values() for i in ids]
    seconds: dict[str, float] = {}

    log(f"load: {len(every_id):,} application calendars through POST /v1/application_calendars ...")
    started = time.perf_counter()
    answers = _create_calendars(openslot, every_id)
    seconds["application_calendars"] = time.perf_counter() - started

    url = libpq_url(openslot.database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        calendar_of = dict(
            conn.execute(
                "SELECT c.account_id, c.id FROM calendars c JOIN accounts a ON a.id = c.account_id "
                "WHERE a.kind = 'application_calendar' AND NOT c.deleted"
            ).fetchall()
        )

    def stored(apc_id: str, events: Callable[[], fx.Events]) -> StoredCalendar:
        answer = answers[apc_id]
        sub = str(answer["sub"])
        return StoredCalendar(apc_id, sub, calendar_of[sub], str(answer["access_token"]), events)

    main = [stored(apc_id, lambda i=i: fx.calendar_events(seed, i)) for i, apc_id in enumerate(main_ids)]
    outside = {
        k: [
            stored(
                apc_id,
                lambda j=j, k=k: fx.scaled_calendar(fx.calendar_events(seed, j), seed, k * 1_000 + j, k),
            )
            for j, apc_id in enumerate(ids)
        ]
        for k, ids in outside_ids.items()
    }
    everything = main + [c for group in outside.values() for c in group]

    log(f"load: the working-hours rule of {len(everything):,} accounts, POST /v1/availability_rules ...")
    started = time.perf_counter()
    _create_rules(openslot, everything)
    seconds["availability_rules"] = time.perf_counter() - started

    started = time.perf_counter()
    deadline = started + LOAD_SECONDS
    total = 0
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for n, calendar in enumerate(everything):
                events = calendar.events()
                copy.write(_copy_rows(f"evt_bench{n:05d}_", calendar, events))
                total += len(events)
                if n % 100 == 99:
                    log(f"load: COPY {total:,} events ({time.perf_counter() - started:.0f} s) ...")
                if time.perf_counter() > deadline:
                    raise BenchError(f"the COPY of the events took more than {LOAD_SECONDS:.0f} s")
        conn.execute(
            "UPDATE calendars SET max_event_seconds = %s WHERE id = ANY(%s)",
            (fx.MAX_EVENT_SECONDS, [c.calendar_id for c in everything]),
        )
    seconds["copy"] = time.perf_counter() - started
    log(f"load: {total:,} events copied in {seconds['copy']:.1f} s; VACUUM ANALYZE ...")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        stored_rows, size = conn.execute(
            "SELECT count(*), pg_total_relation_size('events') FROM events"
        ).fetchone()
    seconds["vacuum_analyze"] = time.perf_counter() - started
    if stored_rows != total:
        raise BenchError(f"{stored_rows:,} events stored, {total:,} copied")
    return Loaded(main, outside, total, seconds, size)


# --- end to end -------------------------------------------------------------------------------


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def availability_body(subs: Sequence[str], window: tuple[int, int], response_format: ResponseFormat) -> bytes:
    """F3 as the API takes it: everyone required, their managed availability (the working-hours rule)."""
    return json_body(
        {
            "participants": [
                {"members": [{"sub": sub, "managed_availability": True} for sub in subs], "required": "all"}
            ],
            "required_duration": {"minutes": fx.DURATION // 60},
            "start_interval": {"minutes": fx.START_INTERVAL // 60},
            "query_periods": [{"start": _iso(window[0]), "end": _iso(window[1])}],
            "response_format": response_format.value,
        }
    )


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


def _answer(raw: bytes, subs: Sequence[str]) -> Answer:
    """The (start, end) of each slot or period; every answer must name every participant."""
    body = json.loads(raw)
    items = body.get("available_slots", body.get("available_periods"))
    if items is None:
        raise UnexpectedAnswer(f"no available_slots or available_periods in {raw[:200]!r}")
    everyone = set(subs)
    for item in items:
        if {p["sub"] for p in item["participants"]} != everyone:
            raise UnexpectedAnswer(f"not every participant is named in {item}")
    return [(_epoch(item["start"]), _epoch(item["end"])) for item in items]


@dataclass
class Workload:
    name: str
    participants: int
    window: tuple[int, int]
    response_format: ResponseFormat
    groups: list[list[StoredCalendar]]  # the requests go through these in turn

    def bodies(self) -> list[tuple[bytes, list[str]]]:
        return [
            (
                availability_body([c.sub for c in group], self.window, self.response_format),
                [c.sub for c in group],
            )
            for group in self.groups
        ]

    def window_events(self) -> float:
        """Events overlapping the window per request, on average over the groups."""
        counts = [sum(len(c.events().overlapping(*self.window)) for c in group) for group in self.groups]
        return sum(counts) / len(counts)


def _operation(body: bytes, subs: list[str], headers: dict[str, str]) -> Operation:
    def post(conn: Connection) -> None:
        raw = conn.expect("POST", "/v1/availability", 200, body, headers)
        if b'"available_' not in raw[:40]:
            raise UnexpectedAnswer(f"not an availability answer: {raw[:200]!r}")

    return post


def _groups(calendars: Sequence[StoredCalendar], size: int, most: int) -> list[list[StoredCalendar]]:
    """Up to ``most`` disjoint groups of ``size`` consecutive calendars."""
    return [list(calendars[i : i + size]) for i in range(0, len(calendars) - size + 1, size)][:most]


@dataclass
class HttpCase:
    workload: Workload
    load: LoadResult
    window_events: float
    results: int
    same: bool | None  # the answer of the first group against the expected one (None: not checked)
    cpu: dict[str, float] = field(default_factory=dict)  # cores busy while measured (cpu_meter)


def _first_answer(openslot: Openslot, workload: Workload) -> Answer:
    """The answer to the workload's first request (its first group), checked for its shape."""
    body, subs = workload.bodies()[0]
    conn = Connection(openslot.port)
    try:
        return _answer(conn.expect("POST", "/v1/availability", 200, body, openslot.api_key_headers()), subs)
    except (UnexpectedAnswer, OSError) as exc:
        raise BenchError(f"{workload.name}: {exc}") from exc
    finally:
        conn.close()


def _one_after_another(openslot: Openslot, workload: Workload, requests: int, seconds: float) -> LoadResult:
    """``requests`` requests from one connection, through the groups in turn, bounded by ``seconds``."""
    headers = openslot.api_key_headers()
    ops = [_operation(body, subs, headers) for body, subs in workload.bodies()]
    return run_load(openslot.port, [list(itertools.islice(itertools.cycle(ops), requests))], seconds)


def one_client(
    openslot: Openslot,
    workload: Workload,
    requests: int,
    seconds: float,
    expected: Answer | None = None,
) -> HttpCase:
    """Requests one after another from one connection, after ``WARM_REQUESTS`` discarded."""
    answer = _first_answer(openslot, workload)
    _one_after_another(openslot, workload, WARM_REQUESTS, seconds)
    with cpu_meter(openslot.server.process.pid) as cpu:
        load = _one_after_another(openslot, workload, requests, seconds)
    same = None if expected is None else answer == expected
    return HttpCase(workload, load, workload.window_events(), len(answer), same, cpu)


def interleaved(
    openslot: Openslot,
    workloads: Sequence[Workload],
    requests: int,
    seconds: float,
    expected: Answer | None = None,
    rounds: int = INTERLEAVED_ROUNDS,
) -> list[HttpCase]:
    """Like ``one_client`` for each workload, but in ``rounds`` alternating turns, so that drift
    (other load on the machine, caches warming) affects every workload alike."""
    answers = [_first_answer(openslot, workload) for workload in workloads]
    for workload in workloads:
        _one_after_another(openslot, workload, WARM_REQUESTS, seconds)
    per_round = max(1, requests // rounds)
    loads: list[list[LoadResult]] = [[] for _ in workloads]
    for _ in range(rounds):
        for workload, found in zip(workloads, loads, strict=True):
            found.append(_one_after_another(openslot, workload, per_round, seconds / rounds))
    return [
        HttpCase(
            workload,
            merge_loads(found),
            workload.window_events(),
            len(answer),
            None if expected is None else answer == expected,
        )
        for workload, found, answer in zip(workloads, loads, answers, strict=True)
    ]


@dataclass
class Throughput:
    workload: Workload
    clients: int
    load: LoadResult
    cpu: dict[str, float]


def many_clients(openslot: Openslot, workload: Workload, clients: int, seconds: float) -> Throughput:
    headers = openslot.api_key_headers()
    ops = [_operation(body, subs, headers) for body, subs in workload.bodies()]
    quota = MAX_THROUGHPUT_REQUESTS // clients

    def plans() -> list[list[Operation]]:
        return [
            list(itertools.islice(itertools.cycle(ops[i::clients] or ops), quota)) for i in range(clients)
        ]

    run_load(openslot.port, plans(), THROUGHPUT_WARMUP)
    with cpu_meter(openslot.server.process.pid) as cpu:
        load = run_load(openslot.port, plans(), seconds)
    return Throughput(workload, clients, load, cpu)


@dataclass
class EndToEnd:
    loaded: Loaded
    workers: int
    f3: dict[str, HttpCase]
    week: HttpCase  # the throughput workload from one client
    throughput: Throughput
    scaling: list[HttpCase]
    outside: list[HttpCase]
    profiles: dict[str, profiling.Profile]
    notes: list[str]


@contextlib.contextmanager
def _background(port: int, plans: list[list[Operation]], seconds: float) -> Iterator[None]:
    """The plans run by the load generator in a thread while the block runs (bounded by ``seconds``)."""
    thread = threading.Thread(target=run_load, args=(port, plans, seconds), daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=seconds + 60)


def profile_server(
    openslot: Openslot, workload: Workload, clients: int, out: Path
) -> profiling.Profile | None:
    """py-spy on the server's processes for ``PROFILE_SECONDS`` while ``clients`` send ``workload``."""
    headers = openslot.api_key_headers()
    ops = [_operation(body, subs, headers) for body, subs in workload.bodies()]
    plans = [list(itertools.islice(itertools.cycle(ops[i::clients] or ops), 100_000)) for i in range(clients)]
    with _background(openslot.port, plans, PROFILE_SECONDS + 2):
        time.sleep(0.5)
        return profiling.record(openslot.server.process.pid, PROFILE_SECONDS, out)


def run_end_to_end(args: argparse.Namespace, workdir: Path, log: Callable[[str], None]) -> EndToEnd:
    numbers = args.availability
    workers = args.availability_workers
    seed = args.seed
    with (
        scratch_database(args.database_url) as database_url,
        openslot_server(workdir, database_url, workers, name="openslot-availability") as openslot,
    ):
        loaded = load_database(args, openslot, log)
        main = loaded.main
        f3_groups = _groups(main, F3_PARTICIPANTS, F3_GROUPS)
        f3 = {}
        for response_format in (SLOTS, PERIODS):
            workload = Workload(
                f"F3 {response_format.value}", F3_PARTICIPANTS, fx.WINDOW, response_format, f3_groups
            )
            log(f"end to end: {workload.name}, 1 client, {len(f3_groups)} groups of participants in turn ...")
            expected = engine_answer(seed, F3_PARTICIPANTS, fx.WINDOW, response_format)
            f3[response_format.value] = one_client(
                openslot, workload, numbers["requests"], numbers["request_seconds"], expected
            )

        scaling = []
        for n in SCALING_PARTICIPANTS:
            workload = Workload(f"{n} participants", n, fx.WINDOW, SLOTS, _groups(main, n, SCALING_GROUPS))
            log(f"end to end: {workload.name}, 1 client ...")
            expected = engine_answer(seed, n, fx.WINDOW, SLOTS)
            scaling.append(
                one_client(
                    openslot, workload, numbers["scaling_requests"], numbers["scaling_seconds"], expected
                )
            )

        outside_n = numbers["outside_participants"]
        log(
            f"end to end: {outside_n} participants with "
            f"{', '.join(f'{k:,}' for k in loaded.outside)} events each outside the window, in turn ..."
        )
        outside = interleaved(
            openslot,
            [
                Workload(f"{k:,} outside", outside_n, fx.WINDOW, SLOTS, [group])
                for k, group in loaded.outside.items()
            ],
            numbers["scaling_requests"],
            numbers["scaling_seconds"] * len(loaded.outside),
            engine_answer(seed, outside_n, fx.WINDOW, SLOTS),
        )

        week = Workload(
            f"{THROUGHPUT_PARTICIPANTS} participants, 7 days",
            THROUGHPUT_PARTICIPANTS,
            fx.WEEK,
            SLOTS,
            _groups(main, THROUGHPUT_PARTICIPANTS, THROUGHPUT_GROUPS),
        )
        log(f"end to end: {week.name}, 1 client ...")
        week_one = one_client(
            openslot,
            week,
            numbers["scaling_requests"],
            numbers["scaling_seconds"],
            engine_answer(seed, THROUGHPUT_PARTICIPANTS, fx.WEEK, SLOTS),
        )
        clients = args.availability_clients
        log(f"end to end: throughput of {week.name}, {clients} clients, {workers} server process(es) ...")
        throughput = many_clients(openslot, week, clients, numbers["throughput_seconds"])

        profiles = {}
        if args.availability_profile:
            for name, workload, n in (
                ("F3 slots, 1 client", f3["slots"].workload, 1),
                (f"{week.name}, {clients} clients", week, clients),
            ):
                log(f"profile: py-spy on the server for {PROFILE_SECONDS} s of {name} ...")
                found = profile_server(openslot, workload, n, workdir / f"profile-{len(profiles)}.txt")
                if found is not None:
                    profiles[name] = found
        notes = [
            line
            for line in openslot.server.output().splitlines()
            if any(word in line for word in ("ERROR", "Traceback", "WARNING", "Exception"))
        ][:20]
    return EndToEnd(loaded, workers, f3, week_one, throughput, scaling, outside, profiles, notes)
