"""What the benchmarks share: JSON output and timing summaries, scratch databases on SQLite and
PostgreSQL, the benchmark district and its bulk ticket generator, statement capture and plans.

How each benchmark uses them, and what the generated tickets look like: bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import select

from storage.engine import SessionFactory, is_sqlite
from storage.models import Area, Person, Ticket
from tickets.calendar import WorkingCalendar
from tickets.clock import SystemClock
from tickets.directory import load_directory, parse_directory
from tickets.people import register_person, set_home_area
from tickets.policy import Policy
from tickets.sla import SlaPolicy

# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress, on stderr: stdout carries only the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """A benchmark's one JSON object, on stdout."""
    print(json.dumps(result, ensure_ascii=False, indent=1))


def summary_ms(samples: list[float]) -> dict[str, float]:
    """Median, p95 (nearest rank) and min of timings given in seconds, in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(p95 * 1000, 3),
        "min_ms": round(ordered[0] * 1000, 3),
        "runs": len(ordered),
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, digits)


def shorten(sql: str, limit: int) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[: limit - 1] + "…"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


async def time_calls(call: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


# --------------------------------------------------------------------------------------------
# Scratch databases
# --------------------------------------------------------------------------------------------


async def prepare_postgres(url: str, database: str) -> str:
    """The URL of the scratch database on `url`'s server, created when missing."""
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            exists = (
                await conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
                )
            ).first()
            if not exists:
                await conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    finally:
        await admin.dispose()
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def drop_postgres(url: str, database: str) -> None:
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}"')
    finally:
        await admin.dispose()


async def server_version(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.exec_driver_sql("SHOW server_version")).scalar_one()
    finally:
        await engine.dispose()


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that runs on both backends (see `on_backends`)."""
    parser.add_argument("--sqlite-url", help="wiped and reused; default: a temporary file")
    parser.add_argument("--postgres-url", help="default: $MINHU_TEST_DATABASE_URL")
    parser.add_argument("--pg-database", default="minhu_bench", help="scratch database name")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL scratch database")
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql",
        type=lambda value: {name.strip() for name in value.split(",") if name.strip()},
        help="comma-separated: sqlite, postgresql",
    )


async def on_backends(
    args: argparse.Namespace,
    bench_one: Callable[[str, str], Awaitable[dict[str, Any]]],
    about: dict[str, Any],
) -> dict[str, Any]:
    """`bench_one(url, label)` on SQLite (a temporary file unless --sqlite-url) and in the
    PostgreSQL scratch database (dropped at the end unless --keep), as --backends selects; a
    backend left out says why under "skipped". The server's version goes into `about`."""
    result: dict[str, Any] = {}
    if "sqlite" in args.backends:
        with tempfile.TemporaryDirectory(prefix="minhu-bench-") as tmp:
            url = args.sqlite_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            result["sqlite"] = await bench_one(url, "sqlite")
    else:
        result["sqlite"] = {"skipped": "not selected with --backends"}
    pg_url = args.postgres_url or os.environ.get("MINHU_TEST_DATABASE_URL")
    if "postgresql" not in args.backends:
        result["postgresql"] = {"skipped": "not selected with --backends"}
    elif not pg_url:
        result["postgresql"] = {
            "skipped": "no PostgreSQL: pass --postgres-url or set MINHU_TEST_DATABASE_URL"
        }
    else:
        try:
            scratch = await prepare_postgres(pg_url, args.pg_database)
            about["postgresql"] = await server_version(scratch)
        except (OSError, sqlalchemy.exc.SQLAlchemyError) as error:
            result["postgresql"] = {"skipped": f"PostgreSQL unreachable: {error!s:.300}"}
        else:
            try:
                result["postgresql"] = await bench_one(scratch, "postgresql")
            finally:
                if not args.keep:
                    await drop_postgres(pg_url, args.pg_database)
    return result


# --------------------------------------------------------------------------------------------
# The benchmark district: areas, people, residents
# --------------------------------------------------------------------------------------------

# A district of 10 streets × 8 communities × 5 grids (400 grids); one worker per grid, a second
# one in every fourth grid; staff at the district, every street and every community.
STREETS, COMMUNITIES, GRIDS = 10, 8, 5
RESIDENTS_PER_GRID = 2
TREE = f"1 district × {STREETS} streets × {COMMUNITIES} communities × {GRIDS} grids"


def bench_policy() -> Policy:
    """The product's defaults on the system clock, with the flood guard's limit lifted: its query
    still runs for every ticket, but a few hundred residents file thousands within the hour."""
    policy = Policy(
        sla=SlaPolicy(), calendar=WorkingCalendar.build("Asia/Shanghai"), clock=SystemClock()
    )
    return dataclasses.replace(policy, max_new_tickets_per_hour=10**9)


def _person(name: str, role: str, area: str, user_id: str) -> dict[str, str]:
    return {"name": name, "role": role, "area": area, "user_id": user_id, "channel": "bench"}


def _grids(street: int, community: int, first_number: int, people: list) -> list[dict]:
    grids = []
    for g in range(GRIDS):
        grid = f"b-s{street}-c{community}-g{g}"
        grids.append({"code": grid, "name": f"网格{street}-{community}-{g}", "level": "grid"})
        workers = 2 if (first_number + g) % 4 == 0 else 1
        people.extend(
            _person(f"网格员{grid}", "worker", grid, f"w-{grid}-{w}") for w in range(workers)
        )
    return grids


def directory_spec() -> dict[str, Any]:
    """The district as a directory file's content (tickets.directory's format)."""
    people = [_person("区值班员", "staff", "b", "s-b")]
    streets = []
    for s in range(STREETS):
        street = f"b-s{s}"
        people.append(_person(f"街道{s}", "staff", street, f"s-{street}"))
        communities = []
        for c in range(COMMUNITIES):
            community = f"{street}-c{c}"
            people.append(_person(f"社区{c}", "staff", community, f"s-{community}"))
            grids = _grids(s, c, (s * COMMUNITIES + c) * GRIDS, people)
            communities.append(
                {"code": community, "name": f"社区{s}-{c}", "level": "community", "children": grids}
            )
        streets.append(
            {"code": street, "name": f"街道{s}", "level": "street", "children": communities}
        )
    return {
        "areas": [{"code": "b", "name": "基准区", "level": "district", "children": streets}],
        "people": people,
    }


@dataclasses.dataclass
class World:
    """What a benchmark acts with, loaded once per database (detached, usable across sessions)."""

    residents: list[Person] = dataclasses.field(default_factory=list)
    workers_by_grid: dict[int, list[int]] = dataclasses.field(default_factory=dict)
    pairs: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # (grid, worker) ids
    street: Area | None = None  # b-s3, the street whose staff bench_dashboard signs in as


async def build_world(sessions: SessionFactory, policy: Policy) -> World:
    """Loads the district through the domain (tickets.directory, tickets.people)."""
    world = World()
    async with sessions() as session, session.begin():
        await load_directory(session, policy, parse_directory(directory_spec()))
        grids = (await session.exec(select(Area).where(Area.level == "grid"))).all()
        for number, grid in enumerate(grid for grid in grids for _ in range(RESIDENTS_PER_GRID)):
            resident = await register_person(
                session,
                policy,
                channel="bench",
                channel_user_id=f"r-{number + 1}",
                chat_id=f"r-{number + 1}",
            )
            await set_home_area(session, resident, grid.id)
            world.residents.append(resident)
        workers = (await session.exec(select(Person).where(Person.role == "worker"))).all()
        for worker in sorted(workers, key=lambda person: person.id):
            world.workers_by_grid.setdefault(worker.area_id, []).append(worker.id)
            world.pairs.append((worker.area_id, worker.id))
        world.street = (await session.exec(select(Area).where(Area.code == "b-s3"))).one()
    return world


# --------------------------------------------------------------------------------------------
# Bulk generation of N synthetic tickets, in SQL (the shape: bench/README.md)
# --------------------------------------------------------------------------------------------

CATEGORIES = [
    "城乡建设",
    "环境保护",
    "劳动和社会保障",
    "交通运输",
    "商贸旅游",
    "卫生计生",
    "教育文体",
    "民政",
    "农村农业",
    "政法",
    "国土资源",
    "经济管理",
]


class Dialect:
    """The few SQL spellings the generator needs, for SQLite or PostgreSQL."""

    def __init__(self, sqlite: bool, now: datetime) -> None:
        self.sqlite = sqlite
        self.now = now

    def series(self, n: int) -> str:
        if self.sqlite:
            return f"s0(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s0 WHERE i < {n})"
        return f"s0 AS (SELECT i FROM generate_series(1, {n}) AS i)"

    @property
    def rand(self) -> str:
        if self.sqlite:
            return "((abs(random()) % 1000000000) / 1000000000.0)"
        return "random()"

    def mod(self, a: str, b: int) -> str:
        return f"(({a}) % {b})" if self.sqlite else f"mod({a}, {b})"

    def int_below(self, n: int) -> str:
        return (
            f"CAST({self.rand} * {n} AS INTEGER)" if self.sqlite else f"floor(random() * {n})::int"
        )

    def ts(self, days: str) -> str:
        """A timestamp `days` (an SQL expression, may be fractional) after the benchmark's now."""
        if self.sqlite:
            now = self.now.strftime("%Y-%m-%d %H:%M:%S")
            return f"(strftime('%Y-%m-%d %H:%M:%S', julianday('{now}') + ({days})) || '.000000')"
        return f"(TIMESTAMPTZ '{self.now.isoformat()}' + ({days}) * INTERVAL '1 day')"

    @property
    def empty_json(self) -> str:
        return "'[]'" if self.sqlite else "'[]'::json"


def bulk_tickets_sql(d: Dialect, n: int, pairs: int, residents: int) -> str:
    """One INSERT … SELECT for `n` tickets. Buckets (i mod 100): 0 due now (exactly 1%), 1-9 open
    with a future next_due_at, 10-12 cancelled, 13-99 closed; 13-72 also have a callback (60%)."""
    r = d.rand
    created = "(CASE WHEN s.b < 10 THEN -(0.2 + s.r_age * 9) ELSE -(10 + s.r_age * 355) END)"

    def at(plus: str) -> str:
        return d.ts(f"{created} + {plus}")

    accepted = "(s.b >= 13 OR (s.b >= 5 AND s.b < 10) OR (s.b = 0 AND s.r_due >= 0.5))"
    resolved = "(s.b >= 13 OR s.b IN (8, 9))"
    callback = "(s.b >= 13 AND s.b < 73)"
    category = " ".join(f"WHEN {k} THEN '{name}'" for k, name in enumerate(CATEGORIES))
    columns = {
        "number": "'B' || CAST(s.i AS TEXT)",
        "resident_id": "r.id",
        "text": "'基准测试生成的诉求'",
        "attachments": d.empty_json,
        "category": f"CASE CAST(s.r_cat * s.r_cat * {len(CATEGORIES)} AS INTEGER) {category} END",
        "category_confidence": "0.9",
        "category_keywords": d.empty_json,
        "urgency": "CASE WHEN s.r_urg < 0.02 THEN 'emergency' WHEN s.r_urg < 0.12 THEN 'urgent' "
        "ELSE 'normal' END",
        "state": "CASE WHEN s.b = 0 THEN (CASE WHEN s.r_due < 0.5 THEN 'assigned' ELSE 'accepted' "
        "END) WHEN s.b < 5 THEN 'assigned' WHEN s.b < 8 THEN 'accepted' WHEN s.b < 10 "
        "THEN 'resolved' WHEN s.b < 13 THEN 'cancelled' ELSE 'closed' END",
        "area_id": "p.grid_id",
        "handling_area_id": "p.grid_id",
        "handling_level": "'grid'",
        "assignee_id": "p.worker_id",
        "created_at": d.ts(created),
        "assigned_at": at("0.001"),
        "accepted_at": f"CASE WHEN {accepted} THEN {at('s.r_acc * 1.1')} END",
        "resolved_at": f"CASE WHEN {resolved} THEN {at('2')} END",
        "closed_at": f"CASE WHEN s.b >= 13 THEN {at('9')} END",
        "cancelled_at": f"CASE WHEN s.b BETWEEN 10 AND 12 THEN {at('0.1')} END",
        "due_accept_at": at("1"),
        "due_resolve_at": at("5"),
        "due_close_at": f"CASE WHEN {resolved} THEN {at('9')} END",
        "next_due_at": f"CASE WHEN s.b = 0 THEN {d.ts('-(0.001 + s.r_due * 2)')} "
        f"WHEN s.b < 10 THEN {d.ts('0.01 + s.r_due * 7')} END",
        "accepted_in_time": f"CASE WHEN {accepted} THEN (s.r_acc < 0.9) END",
        "extension_days": "0",
        "reopen_count": "0",
        "resolution_reply": f"CASE WHEN {resolved} THEN '已办结' END",
        "callback_solved": f"CASE WHEN {callback} THEN (s.r_cb < 0.88) END",
        "callback_satisfaction": f"CASE WHEN {callback} THEN (CASE WHEN s.r_cb >= 0.88 THEN "
        "'unsatisfied' WHEN s.r_sat < 0.75 THEN 'satisfied' WHEN s.r_sat < 0.95 THEN 'basic' "
        "ELSE 'unsatisfied' END) END",
        "callback_at": f"CASE WHEN {callback} THEN {at('8')} END",
        "version": "1",
    }
    randoms = ", ".join(
        f"{r} AS {name}" for name in ("r_age", "r_due", "r_acc", "r_cat", "r_urg", "r_cb", "r_sat")
    )
    return (
        f"WITH RECURSIVE {d.series(n)}, "
        f"s AS MATERIALIZED (SELECT i, {d.mod('i', 100)} AS b, "
        f"{d.int_below(pairs)} AS pk, {d.int_below(residents)} AS rk, {randoms} FROM s0) "
        f"INSERT INTO tickets ({', '.join(columns)}) "
        f"SELECT {', '.join(columns.values())} FROM s "
        "JOIN bench_pairs p ON p.k = s.pk JOIN bench_residents r ON r.k = s.rk"
    )


BULK_CALLBACKS_SQL = (
    "INSERT INTO ticket_callbacks (ticket_id, at, area_id, worker_id, solved, satisfaction) "
    "SELECT id, callback_at, area_id, assignee_id, callback_solved, callback_satisfaction "
    "FROM tickets WHERE callback_at IS NOT NULL"
)


async def _fill_lookup_tables(conn: Any, world: World, temp: str) -> None:
    """The generator picks a (grid, worker) pair and a resident by number from these."""
    await conn.exec_driver_sql(
        f"CREATE {temp}TABLE bench_pairs "
        "(k INTEGER PRIMARY KEY, grid_id INTEGER, worker_id INTEGER)"
    )
    await conn.exec_driver_sql(
        f"CREATE {temp}TABLE bench_residents (k INTEGER PRIMARY KEY, id INTEGER)"
    )
    for k, (grid_id, worker_id) in enumerate(world.pairs):
        await conn.exec_driver_sql(f"INSERT INTO bench_pairs VALUES ({k}, {grid_id}, {worker_id})")
    for k, resident in enumerate(world.residents):
        await conn.exec_driver_sql(f"INSERT INTO bench_residents VALUES ({k}, {resident.id})")


async def bulk_load(engine: AsyncEngine, world: World, rows: int, now: datetime) -> dict[str, Any]:
    """Replaces every ticket with `rows` generated ones (and their callbacks), then analyzes."""
    sqlite = is_sqlite(str(engine.url))
    started = time.perf_counter()
    async with engine.begin() as conn:
        for table in ("ticket_events", "ticket_callbacks", "outbox", "tickets", "ticket_counters"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
        # Indexes are rebuilt after the load (much faster than maintaining them row by row).
        indexes = sorted(Ticket.__table__.indexes, key=lambda index: index.name)
        for index in indexes:
            await conn.run_sync(lambda sync, index=index: index.drop(sync))
        await _fill_lookup_tables(conn, world, "TEMP " if sqlite else "TEMPORARY ")
        if not sqlite:
            await conn.exec_driver_sql("SELECT setseed(0.2026)")
        sql = bulk_tickets_sql(Dialect(sqlite, now), rows, len(world.pairs), len(world.residents))
        await conn.exec_driver_sql(sql)
        inserted = time.perf_counter()
        for index in indexes:
            await conn.run_sync(lambda sync, index=index: index.create(sync))
        indexed = time.perf_counter()
        await conn.exec_driver_sql(BULK_CALLBACKS_SQL)
        await conn.exec_driver_sql("DROP TABLE bench_pairs")
        await conn.exec_driver_sql("DROP TABLE bench_residents")
        if sqlite:
            await conn.exec_driver_sql("ANALYZE")
    if not sqlite:
        # VACUUM cannot run in a transaction; it also sets the visibility map (index-only scans).
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE tickets")
            await conn.exec_driver_sql("VACUUM ANALYZE ticket_callbacks")
    finished = time.perf_counter()
    counts = {
        "tickets": "SELECT count(*) FROM tickets",
        "callbacks": "SELECT count(*) FROM ticket_callbacks",
        "with_next_due_at": "SELECT count(*) FROM tickets WHERE next_due_at IS NOT NULL",
    }
    async with engine.connect() as conn:
        out = {key: (await conn.exec_driver_sql(sql)).scalar_one() for key, sql in counts.items()}
    return out | {
        "insert_s": round(inserted - started, 1),
        "index_build_s": round(indexed - inserted, 1),
        "total_load_s": round(finished - started, 1),
    }


# --------------------------------------------------------------------------------------------
# Statement capture, plans and index-free baselines
# --------------------------------------------------------------------------------------------


class StatementRecorder:
    """Counts every statement the engine sends and, while capturing, keeps its SQL and parameters
    as the driver saw them, so EXPLAIN runs exactly what the domain function ran."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.capturing = False
        self.captured: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        self.count += 1
        if self.capturing and not many:
            self.captured.append((statement, params))

    async def capture(self, call: Callable[[], Awaitable[Any]]) -> list[tuple[str, Any]]:
        self.captured, self.capturing = [], True
        try:
            await call()
        finally:
            self.capturing = False
        return self.captured


def main_statements(captured: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The statements that read the ticket tables (not the area lookups around them)."""
    return [
        (sql, params)
        for sql, params in captured
        if "FROM tickets" in sql or "FROM ticket_callbacks" in sql
    ]


def no_index_sql(sql: str) -> str:
    """SQLite: the same statement with index use forbidden on the ticket tables."""
    for table in ("tickets", "ticket_callbacks"):
        sql = sql.replace(f"FROM {table}\n", f"FROM {table} NOT INDEXED\n")
        sql = sql.replace(f"FROM {table} ", f"FROM {table} NOT INDEXED ")
        if sql.endswith(f"FROM {table}"):
            sql += " NOT INDEXED"
    return sql


PG_NO_INDEX = (
    "SET LOCAL enable_indexscan = off",
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL enable_indexonlyscan = off",
)


async def run_sql(
    engine: AsyncEngine, sql: str, params: Any, *, indexes: bool = True, runs: int = 1
) -> list[float]:
    """Time the driver-level statement; with indexes=False the planner may not use any index."""
    sqlite = is_sqlite(str(engine.url))
    if not indexes and sqlite:
        sql = no_index_sql(sql)
    forbid = not indexes and not sqlite
    async with engine.connect() as conn, conn.begin():
        if forbid:
            # The connection's prepared statements keep their plans, which a setting changed
            # later does not touch: plan again under the settings, and forget those plans after.
            await conn.exec_driver_sql("DISCARD PLANS")
            for setting in PG_NO_INDEX:
                await conn.exec_driver_sql(setting)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            (await conn.exec_driver_sql(sql, params)).fetchall()
            samples.append(time.perf_counter() - start)
        if forbid:
            await conn.exec_driver_sql("DISCARD PLANS")
    return samples


async def explain(engine: AsyncEngine, sql: str, params: Any, *, indexes: bool = True) -> list[str]:
    """The plan, one line per node: SQLite's EXPLAIN QUERY PLAN indented as a tree,
    PostgreSQL's EXPLAIN (ANALYZE, BUFFERS)."""
    sqlite = is_sqlite(str(engine.url))
    async with engine.connect() as conn, conn.begin():
        if sqlite:
            rows = (
                await conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + (sql if indexes else no_index_sql(sql)), params
                )
            ).fetchall()
            depth: dict[int, int] = {0: -1}
            lines = []
            for node, parent, _unused, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            return lines
        if not indexes:
            for setting in PG_NO_INDEX:
                await conn.exec_driver_sql(setting)
        rows = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)).fetchall()
        return [row[0] for row in rows if row[0].strip()]


def uses_index(plan: list[str], name: str | None = None) -> bool:
    joined = "\n".join(plan)
    if name is not None:
        return name in joined
    return any(
        word in joined for word in ("Index Scan", "Index Only Scan", "Bitmap Index", "USING")
    )
