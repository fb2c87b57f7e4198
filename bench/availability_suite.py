"""The availability suite: the solver in-process and ``POST /v1/availability`` on the real server.

Fixture F3 (``bench/availability_fixture.py``): participants with 2,000 events each over a year, a
60-day window, 30-minute meetings on a 15-minute grid, working hours Mon–Fri 09:00–17:00 in
America/New_York, everyone required.

1. Engine, in-process, no I/O: the members are built once (and that is timed on its own), then
   ``solve()`` for ``slots`` and ``periods``, against a plain NumPy sweep over the same intervals
   and against the brute-force oracle of the tests, with the answers compared.
2. End to end: ``openslot serve`` on a scratch PostgreSQL database holding ``--availability-events``
   events (1,000 application calendars × 2,000 by default), loaded with COPY; F3 requests from one
   client, and a 5-participant 7-day query from many clients on ``--availability-workers`` processes.
3. Scaling: 5, 20 and 100 participants (engine and end to end), and 200 → 20,000 stored events per
   calendar outside the window with the same events inside it.

See bench/README.md for what every number means.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

import availability_fixture as fx
import profiling
from availability_http import (
    F3_PARTICIPANTS,
    PERIODS,
    PROFILE_SECONDS,
    SCALING_PARTICIPANTS,
    SLOTS,
    Answer,
    EndToEnd,
    HttpCase,
    Loaded,
    run_end_to_end,
)
from common import (
    REPO_ROOT,
    BenchError,
    LoadResult,
    append_result,
    busy_warning,
    cpu_line,
    met,
    ms,
    percentile,
    ratio,
    run_metadata,
)
from openslot.engine.availability import Available, Member, solve
from openslot.engine.busy import BusyEvent, busy_from_spans, busy_intervals

if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))  # the brute-force oracle lives in tests/

from tests.engine.oracle import brute_solve

RESULTS_FILE = "availability.jsonl"
MIN_CALENDARS = max(SCALING_PARTICIPANTS)

# The targets.
TARGET_ENGINE_P50_MS = 5.0
TARGET_ENGINE_P99_MS = 15.0
TARGET_VS_NUMPY = 3.0  # engine / NumPy, at most
TARGET_VS_ORACLE = 100.0  # oracle / engine, at least
TARGET_HTTP_P50_MS = 25.0
TARGET_HTTP_P99_MS = 75.0
TARGET_RPS = 300.0
TARGET_FLAT = 0.10  # outside-window growth: within ±10 % of the smallest

FULL = {
    "events": 2_000_000,
    "build_runs": 30,
    "engine_runs": 500,
    "engine_seconds": 8.0,
    "oracle_runs": 3,
    "requests": 300,
    "request_seconds": 20.0,
    "scaling_requests": 100,
    "scaling_seconds": 12.0,
    "throughput_seconds": 10.0,
    "outside_participants": F3_PARTICIPANTS,
}
QUICK = {
    "events": 100 * fx.EVENTS_PER_CALENDAR,
    "build_runs": 5,
    "engine_runs": 100,
    "engine_seconds": 3.0,
    "oracle_runs": 1,
    "requests": 100,
    "request_seconds": 8.0,
    "scaling_requests": 30,
    "scaling_seconds": 5.0,
    "throughput_seconds": 4.0,
    "outside_participants": 5,
}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--availability-events",
        type=int,
        default=None,
        help=f"Events stored for the end-to-end runs, {fx.EVENTS_PER_CALENDAR:,} per calendar "
        f"(default {FULL['events']:,}; --quick {QUICK['events']:,}; at least "
        f"{MIN_CALENDARS * fx.EVENTS_PER_CALENDAR:,}).",
    )
    group.add_argument(
        "--availability-workers", type=int, default=2, help="Server processes of the end-to-end runs."
    )
    group.add_argument(
        "--availability-clients", type=int, default=16, help="Concurrent clients of the throughput run."
    )
    group.add_argument(
        "--availability-profile",
        action="store_true",
        help="Also record the server with py-spy during F3 requests and print where the time goes.",
    )


def check_arguments(args: argparse.Namespace) -> str:
    """An error message for the availability arguments, or ""; fills in the profile's numbers."""
    profile = QUICK if args.quick else FULL
    args.availability = dict(profile)
    if args.availability_events is not None:
        args.availability["events"] = args.availability_events
    events = args.availability["events"]
    if events % fx.EVENTS_PER_CALENDAR or not (
        MIN_CALENDARS * fx.EVENTS_PER_CALENDAR <= events <= 10_000_000
    ):
        return (
            f"--availability-events must be a multiple of {fx.EVENTS_PER_CALENDAR:,} "
            f"from {MIN_CALENDARS * fx.EVENTS_PER_CALENDAR:,} to 10,000,000"
        )
    if not 1 <= args.availability_workers <= 16:
        return "--availability-workers must be in [1, 16]"
    if not 1 <= args.availability_clients <= 64:
        return "--availability-clients must be in [1, 64]"
    if args.availability_profile and not profiling.py_spy():
        return "--availability-profile needs py-spy (pip install py-spy)"
    return ""


# --- timing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    n: int
    p50_ms: float
    p99_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "p50_ms": round(self.p50_ms, 4), "p99_ms": round(self.p99_ms, 4)}


def time_calls(fn: Callable[[], object], runs: int, seconds: float, warmup: int = 3) -> Timing:
    """``fn()`` ``runs`` times or until ``seconds`` have passed, after ``warmup`` discarded calls."""
    for _ in range(warmup):
        fn()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        latencies.append(time.perf_counter() - started)
        if started >= deadline:
            break
    latencies.sort()
    return Timing(len(latencies), percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)


# --- the engine -------------------------------------------------------------------------------


def _times(results: Sequence[Available]) -> Answer:
    return [(r.start, r.end) for r in results]


def _everyone(results: Sequence[Available], group: Sequence[Member]) -> bool:
    subs = {m.sub for m in group}
    return all(set(r.subs) == subs for r in results)


@dataclass
class FormatResult:
    """One response format of one query: the engine, the NumPy sweep, and whether they agree."""

    engine: Timing
    numpy: Timing
    results: int
    same: bool

    @property
    def vs_numpy(self) -> float:
        return ratio(self.engine.p50_ms, self.numpy.p50_ms)


@dataclass
class EngineCase:
    participants: int
    window_events: int  # events overlapping the window, all members together
    busy_intervals: int
    build: Timing
    formats: dict[str, FormatResult]


@dataclass
class Build:
    busy: Timing  # busy_from_spans of every member's spans
    busy_events: Timing  # busy_intervals of BusyEvent objects
    rules: Timing  # weekly_intervals, once per member


@dataclass
class OracleResult:
    window: str
    engine: Timing
    oracle: Timing
    results: int
    same: bool

    @property
    def speedup(self) -> float:
        return ratio(self.oracle.p50_ms, self.engine.p50_ms)


@dataclass
class EngineReport:
    f3: EngineCase
    build: Build
    oracle: dict[str, OracleResult]
    scaling: list[EngineCase]


def _engine_case(
    calendars: Sequence[fx.Events], profile: dict[str, Any], window: tuple[int, int] = fx.WINDOW
) -> EngineCase:
    subs = [fx.sub_of(i) for i in range(len(calendars))]
    build = time_calls(
        lambda: fx.members(subs, calendars, window), profile["build_runs"], profile["engine_seconds"], 1
    )
    group = fx.members(subs, calendars, window)
    data = fx.sweep_input(group, window)
    formats: dict[str, FormatResult] = {}
    for response_format, sweep in ((SLOTS, fx.numpy_slots), (PERIODS, fx.numpy_periods)):
        query = fx.query(group, window, response_format)
        engine = time_calls(lambda q=query: solve(q), profile["engine_runs"], profile["engine_seconds"])

        def baseline(sweep: Callable[..., tuple[np.ndarray, np.ndarray]] = sweep) -> Answer:
            starts, ends = sweep(data, fx.DURATION, fx.START_INTERVAL, fx.MAX_RESULTS)
            return list(zip(starts.tolist(), ends.tolist(), strict=True))

        numpy_timing = time_calls(baseline, profile["engine_runs"], profile["engine_seconds"])
        results = solve(query)
        same = _times(results) == baseline() and _everyone(results, group)
        formats[response_format.value] = FormatResult(engine, numpy_timing, len(results), same)
    return EngineCase(
        participants=len(calendars),
        window_events=sum(len(c.overlapping(*window)) for c in calendars),
        busy_intervals=sum(len(m.busy) for m in group),
        build=build,
        formats=formats,
    )


def _build_parts(calendars: Sequence[fx.Events], profile: dict[str, Any]) -> Build:
    """The parts of building F3's members: busy time from the events' spans (as the service does),
    the same through ``BusyEvent`` objects and ``busy_intervals``, and the rule's intervals."""
    window = fx.WINDOW
    in_window = [c.overlapping(*window) for c in calendars]
    spans = [fx.spans(events) for events in in_window]

    def busy() -> None:
        for found in spans:
            busy_from_spans(found)

    def busy_events() -> None:
        for found in spans:
            busy_intervals(BusyEvent(start, end) for start, end in found)

    def rules() -> None:
        for _ in calendars:
            fx.working_hours(window)

    runs, seconds = profile["build_runs"], profile["engine_seconds"]
    return Build(
        busy=time_calls(busy, runs, seconds, 1),
        busy_events=time_calls(busy_events, runs, seconds, 1),
        rules=time_calls(rules, runs, seconds, 1),
    )


def _normalised(results: Sequence[Available]) -> list[tuple[int, int, tuple[str, ...]]]:
    return [(r.start, r.end, tuple(sorted(r.subs))) for r in results]


def _oracle(calendars: Sequence[fx.Events], profile: dict[str, Any]) -> dict[str, OracleResult]:
    """``solve()`` and ``brute_solve()`` on the same F3 query (the whole 60-day window)."""
    subs = [fx.sub_of(i) for i in range(len(calendars))]
    group = fx.members(subs, calendars, fx.WINDOW)
    found = {}
    for response_format in (SLOTS, PERIODS):
        query = fx.query(group, fx.WINDOW, response_format)
        engine = time_calls(lambda q=query: solve(q), profile["engine_runs"], profile["engine_seconds"])
        answers: list[list[Available]] = []
        oracle = time_calls(
            lambda q=query, a=answers: a.append(brute_solve(q)), profile["oracle_runs"], 60.0, warmup=0
        )
        expected = answers[-1]
        same = _normalised(solve(query)) == _normalised(expected)
        found[response_format.value] = OracleResult(
            f"{fx.WINDOW_FROM}..{fx.WINDOW_TO}", engine, oracle, len(expected), same
        )
    return found


def run_engine(args: argparse.Namespace, log: Callable[[str], None]) -> EngineReport:
    profile = args.availability
    calendars = [fx.calendar_events(args.seed, i) for i in range(max(SCALING_PARTICIPANTS))]
    log(f"engine: F3, {F3_PARTICIPANTS} participants x {fx.EVENTS_PER_CALENDAR:,} events ...")
    f3 = _engine_case(calendars[:F3_PARTICIPANTS], profile)
    build = _build_parts(calendars[:F3_PARTICIPANTS], profile)
    log("engine: the brute-force oracle on the same F3 query ...")
    oracle = _oracle(calendars[:F3_PARTICIPANTS], profile)
    log(f"engine: {', '.join(map(str, SCALING_PARTICIPANTS))} participants ...")
    scaling = [
        f3 if n == F3_PARTICIPANTS else _engine_case(calendars[:n], profile) for n in SCALING_PARTICIPANTS
    ]
    return EngineReport(f3, build, oracle, scaling)


# --- reporting --------------------------------------------------------------------------------


def _check(same: bool | None) -> str:
    if same is None:
        return ""
    return "[green]same[/green]" if same else "[red]DIFFERENT[/red]"


def _x(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.2f}x"


def _target(text: str, ok: bool) -> dict[str, Any]:
    return {"target": text, "met": bool(ok)}


def engine_targets(report: EngineReport) -> dict[str, dict[str, Any]]:
    targets: dict[str, dict[str, Any]] = {}
    for name, result in report.f3.formats.items():
        targets[f"engine_{name}"] = _target(
            f"p50 ≤ {TARGET_ENGINE_P50_MS:g}, p99 ≤ {TARGET_ENGINE_P99_MS:g}",
            result.engine.p50_ms <= TARGET_ENGINE_P50_MS and result.engine.p99_ms <= TARGET_ENGINE_P99_MS,
        )
        targets[f"vs_numpy_{name}"] = _target(
            f"≤ {TARGET_VS_NUMPY:g}x", result.vs_numpy <= TARGET_VS_NUMPY and result.same
        )
    for name, result in report.oracle.items():
        targets[f"vs_oracle_{name}"] = _target(
            f"≥ {TARGET_VS_ORACLE:g}x", result.speedup >= TARGET_VS_ORACLE and result.same
        )
    return targets


def _timing_cells(timing: Timing) -> list[str]:
    return [f"{timing.n:,}", ms(timing.p50_ms), ms(timing.p99_ms)]


def engine_table(report: EngineReport) -> Table:
    targets = engine_targets(report)
    f3 = report.f3
    table = Table(
        title=f"availability: engine in-process, F3 ({F3_PARTICIPANTS} participants, everyone required)",
        caption=(
            f"{fx.WINDOW_FROM}..{fx.WINDOW_TO} (60 days), 30 min on a 15 min grid, Mon–Fri 09:00–17:00 "
            f"{fx.TZID}; {f3.window_events:,} events in the window, {f3.busy_intervals:,} busy intervals; "
            "ms per call; check: same answer as solve()"
        ),
    )
    table.add_column("workload")
    for column in ("n", "p50 ms", "p99 ms", "results", "check"):
        table.add_column(column, justify="right")
    table.add_column("target")
    table.add_column("met")

    def row(name: str, cells: list[str], results: str = "", check: str = "", key: str = "") -> None:
        target = targets.get(key)
        table.add_row(
            name,
            *cells,
            results,
            check,
            target["target"] if target else "",
            met(target["met"]) if target else "",
        )

    build = report.build
    row(f"build the {F3_PARTICIPANTS} members (as the service)", _timing_cells(f3.build))
    row("  of which busy_from_spans (spans → busy)", _timing_cells(build.busy))
    row(f"  of which weekly_intervals x {F3_PARTICIPANTS} (the rule)", _timing_cells(build.rules))
    row("  busy_intervals of BusyEvent objects instead", _timing_cells(build.busy_events))
    table.add_section()
    for name, result in f3.formats.items():
        row(f"solve(), {name}", _timing_cells(result.engine), f"{result.results}", "", f"engine_{name}")
    for name, result in f3.formats.items():
        row(f"NumPy sweep, {name}", _timing_cells(result.numpy), f"{result.results}", _check(result.same))
    for name, result in f3.formats.items():
        row(f"engine / NumPy, {name}", ["", _x(result.vs_numpy), ""], key=f"vs_numpy_{name}")
    table.add_section()
    for name, result in report.oracle.items():
        row(
            f"brute_solve() oracle, {name}",
            _timing_cells(result.oracle),
            f"{result.results}",
            _check(result.same),
        )
        row(f"oracle / engine, {name}", ["", _x(result.speedup), ""], key=f"vs_oracle_{name}")
    return table


def _per(value: float, n: int) -> str:
    return "–" if math.isnan(value) else f"{value / n:.3f}"


def scaling_table(report: EngineReport) -> Table:
    table = Table(
        title="availability: participants, engine in-process (60-day window, slots)",
        caption="p50 in ms: build the members, solve(), the NumPy sweep; solve/participant = solve p50 / "
        "participants; check: NumPy's answer vs solve()",
    )
    table.add_column("participants", justify="right", min_width=12)
    for column in (
        "events in window",
        "busy intervals",
        "build",
        "solve",
        "solve/participant",
        "NumPy",
        "engine / NumPy",
        "results",
        "check",
    ):
        table.add_column(column, justify="right")
    for case in report.scaling:
        slots = case.formats[SLOTS.value]
        table.add_row(
            f"{case.participants}",
            f"{case.window_events:,}",
            f"{case.busy_intervals:,}",
            ms(case.build.p50_ms),
            ms(slots.engine.p50_ms),
            _per(slots.engine.p50_ms, case.participants),
            ms(slots.numpy.p50_ms),
            _x(slots.vs_numpy),
            f"{slots.results}",
            _check(slots.same),
        )
    return table


def http_scaling_table(e2e: EndToEnd) -> Table:
    table = Table(
        title="availability: participants, POST /v1/availability (60-day window, slots)",
        caption=(
            "ms; one client, disjoint groups of participants in turn; per participant = p50 / participants; "
            "check: the first group's answer vs the engine's"
        ),
    )
    for column in (
        "participants",
        "events in window",
        "groups",
        "n",
        "errors",
        "p50 ms",
        "p99 ms",
        "per participant",
        "results",
        "check",
    ):
        table.add_column(column, justify="right")
    for case in e2e.scaling:
        n = case.workload.participants
        table.add_row(
            f"{n}",
            f"{case.window_events:,.0f}",
            f"{len(case.workload.groups)}",
            f"{case.load.requests:,}",
            f"{case.load.errors:,}",
            ms(case.load.p50_ms),
            ms(case.load.p99_ms),
            _per(case.load.p50_ms, n),
            f"{case.results}",
            _check(case.same),
        )
    return table


def load_table(loaded: Loaded) -> Table:
    table = Table(
        title="availability: loading PostgreSQL",
        caption=f"events table and indexes: {loaded.storage_bytes / 2**20:,.0f} MiB after VACUUM ANALYZE",
    )
    table.add_column("step")
    for column in ("count", "seconds", "per second"):
        table.add_column(column, justify="right")
    calendars = len(loaded.main) + sum(len(group) for group in loaded.outside.values())
    rows = [
        ("POST /v1/application_calendars", calendars, loaded.seconds["application_calendars"]),
        ("POST /v1/availability_rules", calendars, loaded.seconds["availability_rules"]),
        ("COPY events + max_event_seconds", loaded.events, loaded.seconds["copy"]),
        ("VACUUM ANALYZE", loaded.events, loaded.seconds["vacuum_analyze"]),
    ]
    for name, count, seconds in rows:
        table.add_row(name, f"{count:,}", f"{seconds:.1f}", f"{count / seconds:,.0f}" if seconds else "–")
    table.add_section()
    table.add_row("all", "", f"{sum(loaded.seconds.values()):.1f}", "")
    return table


def http_targets(e2e: EndToEnd) -> dict[str, dict[str, Any]]:
    targets = {}
    for name, case in e2e.f3.items():
        load = case.load
        targets[f"f3_{name}"] = _target(
            f"p50 ≤ {TARGET_HTTP_P50_MS:g}, p99 ≤ {TARGET_HTTP_P99_MS:g}",
            load.p50_ms <= TARGET_HTTP_P50_MS and load.p99_ms <= TARGET_HTTP_P99_MS and not load.errors,
        )
    load = e2e.throughput.load
    targets["throughput"] = _target(f"≥ {TARGET_RPS:g} req/s", load.rps >= TARGET_RPS and not load.errors)
    return targets


def http_table(e2e: EndToEnd) -> Table:
    targets = http_targets(e2e)
    loaded = e2e.loaded
    f3 = e2e.f3[SLOTS.value]
    table = Table(
        title=(
            f"availability: POST /v1/availability on PostgreSQL, {loaded.events:,} events, "
            f"{e2e.workers} server process(es)"
        ),
        caption=(
            f"F3: {F3_PARTICIPANTS} participants, {fx.WINDOW_FROM}..{fx.WINDOW_TO}, "
            f"{f3.window_events:,.0f} events in the window on average, {len(f3.workload.groups)} disjoint "
            "groups in turn; API key; every member with managed_availability (a working-hours rule); "
            "check: the first group's answer vs the engine's; the 7-day query goes through "
            f"{len(e2e.week.workload.groups)} groups of {e2e.week.workload.participants}"
        ),
    )
    table.add_column("workload")
    for column in ("clients", "n", "errors", "req/s", "p50 ms", "p99 ms", "results", "check"):
        table.add_column(column, justify="right")
    table.add_column("target")
    table.add_column("met")

    def row(name: str, clients: int, load: LoadResult, case: HttpCase | None, key: str = "") -> None:
        target = targets.get(key)
        table.add_row(
            name,
            f"{clients}",
            f"{load.requests:,}",
            f"{load.errors:,}",
            f"{load.rps:,.0f}",
            ms(load.p50_ms),
            ms(load.p99_ms),
            f"{case.results}" if case else "",
            _check(case.same) if case else "",
            target["target"] if target else "",
            met(target["met"]) if target else "",
        )

    for name, case in e2e.f3.items():
        row(f"F3, {name}", 1, case.load, case, f"f3_{name}")
    table.add_section()
    week = e2e.week
    row(f"{week.workload.name}, slots", 1, week.load, week)
    throughput = e2e.throughput
    row(f"{throughput.workload.name}, slots", throughput.clients, throughput.load, None, "throughput")
    return table


def outside_targets(e2e: EndToEnd) -> dict[str, dict[str, Any]]:
    base = e2e.outside[0].load.p50_ms
    targets = {}
    for case in e2e.outside[1:]:
        change = ratio(case.load.p50_ms, base) - 1
        targets[case.workload.name] = _target(
            f"within ±{TARGET_FLAT:.0%}", abs(change) <= TARGET_FLAT and bool(case.same)
        )
    return targets


def outside_table(e2e: EndToEnd) -> Table:
    targets = outside_targets(e2e)
    first = e2e.outside[0]
    table = Table(
        title="availability: stored events outside the window (HTTP, PostgreSQL)",
        caption=(
            f"{first.workload.participants} participants, 60-day window, slots, 1 client; every calendar has "
            "the same events in and around the window; check: answer vs the engine's"
        ),
    )
    table.add_column("outside events per calendar", justify="right")
    for column in ("events in window", "n", "p50 ms", "p99 ms", "p50 vs first", "check"):
        table.add_column(column, justify="right")
    table.add_column("target")
    table.add_column("met")
    for case in e2e.outside:
        target = targets.get(case.workload.name)
        change = ratio(case.load.p50_ms, first.load.p50_ms) - 1
        table.add_row(
            case.workload.name.removesuffix(" outside"),
            f"{case.window_events:,.0f}",
            f"{case.load.requests:,}",
            ms(case.load.p50_ms),
            ms(case.load.p99_ms),
            "–" if case is first else f"{change:+.1%}",
            _check(case.same),
            target["target"] if target else "",
            met(target["met"]) if target else "",
        )
    return table


# Parts of a request: a label, the frames (``function (file)``) that mark a sample as spent in the
# part, and the frames of its sub-parts listed before it, whose samples are left out ("the rest").
_MEMBER = "_member (openslot/services/availability.py)"
_LOAD = "_load (openslot/services/availability.py)"
_PLAN = "_plan (openslot/services/availability.py)"
_BUSY_EVENTS = "busy_events (openslot/store/events.py)"
_RULE = "weekly_intervals (openslot/engine/rules.py)"
_BUSY = ("busy_from_spans (openslot/engine/busy.py)", "busy_intervals (openslot/engine/busy.py)")
PHASES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("API key or token check (application_in)", ("application_in (openslot/services/authorization.py)",), ()),
    # On PostgreSQL the use case runs in a greenlet, whose frames do not lead back to the route's.
    (
        "POST /v1/availability handler",
        (
            "query_availability (openslot/api/routes/availability.py)",
            "availability (openslot/services/availability.py)",
        ),
        (),
    ),
    ("  parse and validate the body", ("parse_body (openslot/services/availability_query.py)",), ()),
    ("  _load: accounts, calendars, rules, periods", (_LOAD,), ()),
    ("  _plan: each member's calendars and available time", (_PLAN,), ()),
    ("    of which weekly_intervals (the rule)", (_RULE,), ()),
    ("  store.events.busy_events", (_BUSY_EVENTS,), ()),
    ("  _member: build the members' busy time", (_MEMBER,), ()),
    ("    of which busy_from_spans", _BUSY, ()),
    ("    the rest of _member (rows → spans)", (_MEMBER,), _BUSY),
    ("  solve()", ("solve (openslot/engine/availability.py)",), ()),
    ("  render the answer", ("availability (openslot/api/render.py)", "JSONResponse.render ("), ()),
)
HOT_FUNCTIONS = 10


def _phase(profile: profiling.Profile, frames: tuple[str, ...], minus: tuple[str, ...]) -> float:
    return profile.share(*frames) - (profile.share(*frames, within=minus) if minus else 0.0)


def profile_tables(profiles: dict[str, profiling.Profile]) -> list[Table]:
    if not profiles:
        return []
    phases = Table(
        title=f"availability: where the server's CPU goes (py-spy, {PROFILE_SECONDS} s per workload)",
        caption="share of the samples of the GIL-holding server thread whose stack holds the part; "
        "the rest is HTTP, routing, middleware and the event loop",
    )
    phases.add_column("part of the request")
    for name, profile in profiles.items():
        phases.add_column(f"{name} ({profile.samples:,} samples)", justify="right")
    for label, frames, minus in PHASES:
        phases.add_row(label, *(f"{_phase(profile, frames, minus):.1%}" for profile in profiles.values()))
    hot = Table(
        title="availability: the server's functions with the most own time (py-spy)",
        caption="innermost frame of each sample, share of all samples",
    )
    hot.add_column("workload")
    hot.add_column("function (file)")
    hot.add_column("own", justify="right")
    for name, profile in profiles.items():
        for rank, (function, share) in enumerate(profile.own(HOT_FUNCTIONS)):
            hot.add_row(name if rank == 0 else "", function, f"{share:.1%}")
        hot.add_section()
    return [phases, hot]


def _record(args: argparse.Namespace, engine: EngineReport, e2e: EndToEnd | None) -> dict[str, Any]:
    def case_dict(case: EngineCase) -> dict[str, Any]:
        return {
            "participants": case.participants,
            "window_events": case.window_events,
            "busy_intervals": case.busy_intervals,
            "build": case.build.as_dict(),
            **{
                name: {
                    "engine": r.engine.as_dict(),
                    "numpy": r.numpy.as_dict(),
                    "engine_over_numpy": round(r.vs_numpy, 3),
                    "results": r.results,
                    "same_as_numpy": r.same,
                }
                for name, r in case.formats.items()
            },
        }

    def http_dict(case: HttpCase) -> dict[str, Any]:
        return {
            "workload": case.workload.name,
            "participants": case.workload.participants,
            "window_events": round(case.window_events, 1),
            "groups": len(case.workload.groups),
            **case.load.as_dict(),
            "results": case.results,
            "same_as_engine": case.same,
            "cpu_cores": {k: round(v, 3) for k, v in case.cpu.items()},
        }

    record: dict[str, Any] = {
        **run_metadata(),
        "suite": "availability",
        "quick": args.quick,
        "seed": args.seed,
        "busy_cores_before": None if args.busy_before is None else round(args.busy_before, 3),
        "fixture": {
            "events_per_calendar": fx.EVENTS_PER_CALENDAR,
            "window": [fx.WINDOW_FROM.isoformat(), fx.WINDOW_TO.isoformat()],
            "duration_s": fx.DURATION,
            "start_interval_s": fx.START_INTERVAL,
            "tzid": fx.TZID,
        },
        "engine": {
            "f3": case_dict(engine.f3),
            "build": {
                "members": engine.f3.build.as_dict(),
                "busy_from_spans": engine.build.busy.as_dict(),
                "busy_intervals_of_busy_events": engine.build.busy_events.as_dict(),
                "weekly_intervals": engine.build.rules.as_dict(),
            },
            "oracle": {
                name: {
                    "window": r.window,
                    "engine": r.engine.as_dict(),
                    "oracle": r.oracle.as_dict(),
                    "oracle_over_engine": round(r.speedup, 1),
                    "results": r.results,
                    "same": r.same,
                }
                for name, r in engine.oracle.items()
            },
            "scaling": [case_dict(case) for case in engine.scaling],
            "targets": {name: t["met"] for name, t in engine_targets(engine).items()},
        },
        "end_to_end": None,
    }
    if e2e is not None:
        record["end_to_end"] = {
            "database": "postgresql",
            "workers": e2e.workers,
            "events": e2e.loaded.events,
            "calendars": len(e2e.loaded.main),
            "load_seconds": {k: round(v, 2) for k, v in e2e.loaded.seconds.items()},
            "events_table_bytes": e2e.loaded.storage_bytes,
            "f3": {name: http_dict(case) for name, case in e2e.f3.items()},
            "week_one_client": http_dict(e2e.week),
            "throughput": {
                "workload": e2e.throughput.workload.name,
                "clients": e2e.throughput.clients,
                **e2e.throughput.load.as_dict(),
                "cpu_cores": {k: round(v, 3) for k, v in e2e.throughput.cpu.items()},
            },
            "scaling": [http_dict(case) for case in e2e.scaling],
            "outside": [http_dict(case) for case in e2e.outside],
            "targets": {name: t["met"] for name, t in (http_targets(e2e) | outside_targets(e2e)).items()},
            "profile": {
                name: {
                    "samples": profile.samples,
                    "parts": {
                        label.strip(): round(_phase(profile, frames, minus), 4)
                        for label, frames, minus in PHASES
                    },
                    "own": [[function, round(share, 4)] for function, share in profile.own(HOT_FUNCTIONS)],
                }
                for name, profile in e2e.profiles.items()
            },
            "server_log": e2e.notes,
        }
    return record


# --- the suite --------------------------------------------------------------------------------


def run(args: argparse.Namespace, console: Console) -> int:
    """0 ok, 1 some requests failed or answers differ, 2 the suite could not run."""

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False)

    args.busy_before, warning = busy_warning()
    if warning:
        console.print(warning, highlight=False)
    started = time.perf_counter()
    engine = run_engine(args, log)
    console.print(engine_table(engine))
    e2e: EndToEnd | None = None
    if not args.database_url:
        log("availability: the end-to-end runs need PostgreSQL (--database-url); engine only")
    else:
        try:
            with tempfile.TemporaryDirectory(prefix="openslot-bench-availability-") as tmp:
                e2e = run_end_to_end(args, Path(tmp), log)
        except BenchError as exc:
            console.print(f"[red]availability suite failed:[/red] {exc}", highlight=False)
            return 2
        console.print(load_table(e2e.loaded))
        console.print(http_table(e2e))
        log(cpu_line("F3 slots from 1 client", "openslot", e2e.f3[SLOTS.value].cpu))
        log(cpu_line(f"the throughput run ({e2e.throughput.workload.name})", "openslot", e2e.throughput.cpu))
    console.print(scaling_table(engine))
    if e2e is not None:
        console.print(http_scaling_table(e2e))
        console.print(outside_table(e2e))
        for table in profile_tables(e2e.profiles):
            console.print(table)
        if e2e.notes:
            log("server log (first lines with warnings/errors):")
            for line in e2e.notes:
                log(f"  {line}")
    log(f"availability suite: {time.perf_counter() - started:.0f} s")
    if not args.no_save:
        path = append_result(RESULTS_FILE, _record(args, engine, e2e))
        console.print(f"appended to {path.relative_to(REPO_ROOT)}")
    failed = not all(result.same for result in engine.f3.formats.values()) or not all(
        result.same for result in engine.oracle.values()
    )
    failed = failed or any(not result.formats[SLOTS.value].same for result in engine.scaling)
    if e2e is not None:
        cases = [*e2e.f3.values(), e2e.week, *e2e.scaling, *e2e.outside]
        failed = failed or any(case.load.errors or case.same is False for case in cases)
        failed = failed or bool(e2e.throughput.load.errors)
        for case in cases:
            if case.load.errors:
                log(f"  {case.workload.name}: {case.load.errors} errors, first: {case.load.first_error}")
        if e2e.throughput.load.errors:
            log(
                f"  throughput: {e2e.throughput.load.errors} errors, first: {e2e.throughput.load.first_error}"
            )
    if failed:
        console.print("[red]some requests failed or some answers differ; see the tables above[/red]")
    return 1 if failed else 0
