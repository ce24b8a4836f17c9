"""Benchmark of the ticket domain on SQLite and PostgreSQL (the foundation issue's benchmark).

What it measures, per backend:

* creation: tickets per second through `tickets.intake.submit_complaint` (a real Policy, a loaded
  area tree with workers so routing assigns, one transaction per ticket as a chat message would
  have), against a baseline in the same run: a bare INSERT of the same ticket row through the same
  engine and session factory, without routing, numbering or timeline. Bare and domain batches are
  interleaved so machine noise hits both alike. PostgreSQL runs C concurrent asyncio tasks in one
  process; SQLite runs one writer (it has a single write lock; concurrent deferred transactions
  that read before writing fail with SQLITE_BUSY instead of waiting).
* 1M rows: synthetic tickets bulk-generated in SQL (~10% open with next_due_at, exactly 1% due
  now, created over a year, callbacks for exactly 60%), then the time of
  `tickets.queries.due_ticket_ids(session, now, limit=500)`, `tickets.stats.three_rates` (whole
  tree, one street, last 30 days) and `three_rates_by(session, "area")`, with the plans of the SQL
  the domain functions actually executed (captured from the engine, not rewritten by hand) and
  baselines: the same SQL with indexes disabled, and a plain `SELECT count(*)` over the tables.
* creation again on top of the 1M rows (routing's worker-load query then sees real data).

Prints one JSON object on stdout; progress goes to stderr. PostgreSQL work happens in a scratch
database (`minhu_bench` by default) on the server of --postgres-url / MINHU_TEST_DATABASE_URL,
dropped at the end unless --keep. The SQLite database named by --sqlite-url is wiped.

    python bench/bench_domain.py --quick
    python bench/bench_domain.py --rows 1000000 --create 3000 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import col, select

from storage.engine import SessionFactory, is_sqlite, make_engine, make_session_factory
from storage.models import Area, Person, Ticket
from storage.schema import create_all, drop_all
from tickets.calendar import WorkingCalendar
from tickets.clock import SystemClock
from tickets.directory import load_directory, parse_directory
from tickets.intake import submit_complaint
from tickets.people import register_person, set_home_area
from tickets.policy import Policy
from tickets.queries import due_ticket_ids
from tickets.sla import SlaPolicy
from tickets.stats import Period, three_rates, three_rates_by

TARGETS = {
    "pg_create_per_s": 1000,  # tickets/s through the domain, PostgreSQL, one process
    "due_query_ms": 20,  # median due_ticket_ids(limit=500) at 1M rows
    "three_rates_ms": 1000,  # median three_rates over the whole tree at 1M rows
}

# The tree: a district of 10 streets × 8 communities × 5 grids (400 grids); one worker per grid,
# a second one in every fourth grid; staff at the district, every street and every community.
STREETS, COMMUNITIES, GRIDS = 10, 8, 5
RESIDENTS_PER_GRID = 2

COMPLAINTS = [
    ("小区3号楼化粪池堵塞，污水漫到路面，气味很大，请尽快处理", "城乡建设", "normal"),
    ("附近工地晚上十一点还在施工，噪音吵得孩子睡不着", "环境保护", "normal"),
    ("公司拖欠我们三个月工资，老板一直找借口不发", "劳动和社会保障", "normal"),
    ("从早上开始整栋楼停水，也没有任何通知", "城乡建设", "urgent"),
    ("学校周边早晚高峰车辆乱停，孩子过马路很危险", "交通运输", "normal"),
    ("闻到楼道里有很浓的煤气味，好像是哪家燃气泄漏了", "城乡建设", "emergency"),
]
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


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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


def shorten(sql: str, limit: int) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[: limit - 1] + "…"


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, digits)


class StatementRecorder:
    """Counts every statement the engine sends and, while capturing, keeps its SQL and parameters
    as the driver saw them, so EXPLAIN runs exactly what the domain function ran."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.capturing = False
        self.captured: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool):
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


# --------------------------------------------------------------------------------------------
# The area tree, people and residents
# --------------------------------------------------------------------------------------------


def directory_spec() -> dict[str, Any]:
    people: list[dict[str, str]] = [
        {"name": "区值班员", "role": "staff", "area": "b", "channel": "bench", "user_id": "s-b"}
    ]
    streets = []
    grid_number = 0
    for s in range(STREETS):
        street = f"b-s{s}"
        people.append(
            {"name": f"街道{s}", "role": "staff", "area": street, "user_id": f"s-{street}"}
        )
        communities = []
        for c in range(COMMUNITIES):
            community = f"{street}-c{c}"
            people.append(
                {
                    "name": f"社区{c}",
                    "role": "staff",
                    "area": community,
                    "user_id": f"s-{community}",
                }
            )
            grids = []
            for g in range(GRIDS):
                grid = f"{community}-g{g}"
                grids.append({"code": grid, "name": f"网格{s}-{c}-{g}", "level": "grid"})
                workers = 2 if grid_number % 4 == 0 else 1
                for w in range(workers):
                    people.append(
                        {
                            "name": f"网格员{grid}",
                            "role": "worker",
                            "area": grid,
                            "user_id": f"w-{grid}-{w}",
                        }
                    )
                grid_number += 1
            communities.append(
                {"code": community, "name": f"社区{s}-{c}", "level": "community", "children": grids}
            )
        streets.append(
            {"code": street, "name": f"街道{s}", "level": "street", "children": communities}
        )
    for person in people:
        person["channel"] = "bench"
    return {
        "areas": [{"code": "b", "name": "基准区", "level": "district", "children": streets}],
        "people": people,
    }


class World:
    """What the benchmark acts with, loaded once per backend (detached, usable across sessions)."""

    def __init__(self) -> None:
        self.residents: list[Person] = []
        self.workers_by_grid: dict[int, list[int]] = {}
        self.pairs: list[tuple[int, int]] = []  # (grid id, worker id), one per worker
        self.street: Area | None = None


async def build_world(sessions: SessionFactory, policy: Policy) -> World:
    world = World()
    async with sessions() as session, session.begin():
        await load_directory(session, policy, parse_directory(directory_spec()))
        grids = (await session.exec(select(Area).where(Area.level == "grid"))).all()
        number = 0
        for grid in grids:
            for _ in range(RESIDENTS_PER_GRID):
                number += 1
                resident = await register_person(
                    session,
                    policy,
                    channel="bench",
                    channel_user_id=f"r-{number}",
                    chat_id=f"r-{number}",
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
# Creation throughput: the domain against a bare insert
# --------------------------------------------------------------------------------------------


async def run_tasks(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    numbers = itertools.count()

    async def worker() -> None:
        while (index := next(numbers)) < count:
            await one(index)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def bench_create(
    sessions: SessionFactory,
    recorder: StatementRecorder,
    policy: Policy,
    world: World,
    *,
    count: int,
    concurrency: int,
    tag: str,
    rounds: int = 3,
) -> dict[str, Any]:
    """`count` tickets through submit_complaint and `count` bare inserts, in interleaved rounds."""
    offset = itertools.count()

    async def domain_one(index: int) -> None:
        resident = world.residents[index % len(world.residents)]
        body, category, urgency = COMPLAINTS[index % len(COMPLAINTS)]
        async with sessions() as session, session.begin():
            await submit_complaint(
                session,
                policy,
                resident=resident,
                text=body,
                category=category,
                confidence=0.9,
                keywords=["基准"],
                urgency=urgency,
            )

    async def bare_one(index: int) -> None:
        resident = world.residents[index % len(world.residents)]
        body, category, urgency = COMPLAINTS[index % len(COMPLAINTS)]
        now = policy.clock.now()
        worker_id = world.workers_by_grid[resident.area_id][0]
        async with sessions() as session, session.begin():
            session.add(
                Ticket(
                    number=f"{tag}-bare-{next(offset)}",
                    resident_id=resident.id,
                    text=body,
                    attachments=[],
                    category=category,
                    category_confidence=0.9,
                    category_keywords=["基准"],
                    urgency=urgency,
                    state="assigned",
                    area_id=resident.area_id,
                    handling_area_id=resident.area_id,
                    handling_level="grid",
                    assignee_id=worker_id,
                    created_at=now,
                    assigned_at=now,
                    due_accept_at=now + timedelta(days=1),
                    due_resolve_at=now + timedelta(days=7),
                    next_due_at=now + timedelta(days=1),
                )
            )

    # Warm up both paths (pool connections, statement caches) before timing.
    warm = min(concurrency * 2, 20)
    await run_tasks(warm, concurrency, domain_one)
    await run_tasks(warm, concurrency, bare_one)

    times = {"domain": 0.0, "bare": 0.0}
    statements = {"domain": 0, "bare": 0}
    cpu = {"domain": 0.0, "bare": 0.0}  # this process's CPU time (client side: Python, driver)
    done = {"domain": 0, "bare": 0}
    per_round = [count // rounds + (1 if r < count % rounds else 0) for r in range(rounds)]
    for number, size in enumerate(per_round):
        order = ("bare", "domain") if number % 2 == 0 else ("domain", "bare")
        for kind in order:
            one = domain_one if kind == "domain" else bare_one
            base = done[kind] + warm
            before, cpu_before = recorder.count, time.process_time()
            times[kind] += await run_tasks(size, concurrency, lambda i, b=base, f=one: f(b + i))
            statements[kind] += recorder.count - before
            cpu[kind] += time.process_time() - cpu_before
            done[kind] += size
    return {
        "tickets": count,
        "concurrency": concurrency,
        "domain_per_s": round(count / times["domain"], 1),
        "bare_per_s": round(count / times["bare"], 1),
        "ratio_domain_over_bare": ratio(times["bare"], times["domain"]),
        "domain_ms_per_ticket": round(times["domain"] / count * 1000 * concurrency, 3),
        "bare_ms_per_ticket": round(times["bare"] / count * 1000 * concurrency, 3),
        "client_cpu_ms_per_domain_ticket": round(cpu["domain"] / count * 1000, 3),
        "client_cpu_ms_per_bare_ticket": round(cpu["bare"] / count * 1000, 3),
        "client_cpu_ratio_domain_over_bare": ratio(cpu["domain"], cpu["bare"], 2),
        "statements_per_domain_ticket": round(statements["domain"] / count, 2),
        "statements_per_bare_ticket": round(statements["bare"] / count, 2),
    }


async def routed_fraction(sessions: SessionFactory) -> float:
    async with sessions() as session:
        rows = (
            await session.exec(
                select(Ticket.assignee_id).where(~col(Ticket.number).contains("bare"))
            )
        ).all()
    return round(sum(1 for row in rows if row is not None) / max(1, len(rows)), 4)


# --------------------------------------------------------------------------------------------
# Bulk generation of N synthetic tickets, in SQL
# --------------------------------------------------------------------------------------------


class Dialect:
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


async def bulk_load(engine: AsyncEngine, world: World, rows: int, now: datetime) -> dict[str, Any]:
    sqlite = is_sqlite(str(engine.url))
    d = Dialect(sqlite, now)
    temp = "TEMP " if sqlite else "TEMPORARY "
    started = time.perf_counter()
    async with engine.begin() as conn:
        for table in ("ticket_events", "ticket_callbacks", "outbox", "tickets", "ticket_counters"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
        # Indexes are rebuilt after the load (much faster than maintaining them row by row).
        indexes = sorted(Ticket.__table__.indexes, key=lambda index: index.name)
        for index in indexes:
            await conn.run_sync(lambda sync, index=index: index.drop(sync))
        await conn.exec_driver_sql(
            f"CREATE {temp}TABLE bench_pairs (k INTEGER PRIMARY KEY, grid_id INTEGER, "
            "worker_id INTEGER)"
        )
        await conn.exec_driver_sql(
            f"CREATE {temp}TABLE bench_residents (k INTEGER PRIMARY KEY, id INTEGER)"
        )
        for k, (grid_id, worker_id) in enumerate(world.pairs):
            await conn.exec_driver_sql(
                f"INSERT INTO bench_pairs VALUES ({k}, {grid_id}, {worker_id})"
            )
        for k, resident in enumerate(world.residents):
            await conn.exec_driver_sql(f"INSERT INTO bench_residents VALUES ({k}, {resident.id})")
        if not sqlite:
            await conn.exec_driver_sql("SELECT setseed(0.2026)")
        await conn.exec_driver_sql(
            bulk_tickets_sql(d, rows, len(world.pairs), len(world.residents))
        )
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
    async with engine.connect() as conn:
        tickets = (await conn.exec_driver_sql("SELECT count(*) FROM tickets")).scalar_one()
        callbacks = (
            await conn.exec_driver_sql("SELECT count(*) FROM ticket_callbacks")
        ).scalar_one()
        open_due = (
            await conn.exec_driver_sql("SELECT count(*) FROM tickets WHERE next_due_at IS NOT NULL")
        ).scalar_one()
    return {
        "tickets": tickets,
        "callbacks": callbacks,
        "with_next_due_at": open_due,
        "insert_s": round(inserted - started, 1),
        "index_build_s": round(indexed - inserted, 1),
        "total_load_s": round(finished - started, 1),
    }


# --------------------------------------------------------------------------------------------
# Queries at scale: timings, captured SQL, plans and baselines
# --------------------------------------------------------------------------------------------


async def time_calls(call: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


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
    async with engine.connect() as conn, conn.begin():
        if not indexes and not sqlite:
            for setting in PG_NO_INDEX:
                await conn.exec_driver_sql(setting)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            (await conn.exec_driver_sql(sql, params)).fetchall()
            samples.append(time.perf_counter() - start)
    return samples


async def explain(engine: AsyncEngine, sql: str, params: Any, *, indexes: bool = True) -> list[str]:
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


def main_statements(captured: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The statements that read the ticket tables (not the area lookups around them)."""
    return [
        (sql, params)
        for sql, params in captured
        if "FROM tickets" in sql or "FROM ticket_callbacks" in sql
    ]


async def bench_queries(
    engine: AsyncEngine,
    sessions: SessionFactory,
    recorder: StatementRecorder,
    world: World,
    now: datetime,
    *,
    runs: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}

    # Baseline: plain full counts over the same tables.
    count_tickets = await run_sql(engine, "SELECT count(*) FROM tickets", (), runs=runs)
    count_callbacks = await run_sql(engine, "SELECT count(*) FROM ticket_callbacks", (), runs=runs)
    out["baseline_count_tickets"] = summary_ms(count_tickets)
    out["baseline_count_callbacks"] = summary_ms(count_callbacks)
    count_both = statistics.median(count_tickets) + statistics.median(count_callbacks)

    # Due tickets: the sweep's query.
    sqlite = is_sqlite(str(engine.url))
    async with engine.connect() as conn:
        due_now_rows = (
            await conn.exec_driver_sql(
                "SELECT count(*) FROM tickets WHERE next_due_at IS NOT NULL AND next_due_at <= "
                + ("?" if sqlite else "$1"),
                (now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now,),
            )
        ).scalar_one()

    async def due() -> None:
        async with sessions() as session:
            found = await due_ticket_ids(session, now, limit=500)
        if len(found) != min(500, due_now_rows):
            raise RuntimeError(f"due_ticket_ids found {len(found)} of {due_now_rows} due rows")

    captured = await recorder.capture(due)
    ((due_sql, due_params),) = main_statements(captured)
    due_runs = max(runs, 20)
    due_fn = await time_calls(due, due_runs)
    due_sql_times = await run_sql(engine, due_sql, due_params, runs=due_runs)
    due_noindex = await run_sql(engine, due_sql, due_params, indexes=False, runs=max(3, runs // 2))
    due_plan = await explain(engine, due_sql, due_params)
    out["due_tickets"] = {
        "due_now_rows": due_now_rows,
        "limit": 500,
        "function": summary_ms(due_fn),
        "sql_only": summary_ms(due_sql_times),
        "sql_without_indexes": summary_ms(due_noindex),
        "speedup_index_vs_no_index": ratio(
            statistics.median(due_noindex), statistics.median(due_sql_times), 1
        ),
        "ratio_function_over_count_tickets": ratio(
            statistics.median(due_fn), statistics.median(count_tickets)
        ),
        "orm_share_of_function": ratio(
            statistics.median(due_fn) - statistics.median(due_sql_times), statistics.median(due_fn)
        ),
        "sql": " ".join(due_sql.split()),
        "plan": due_plan,
        "plan_without_indexes": await explain(engine, due_sql, due_params, indexes=False),
        "due_query_uses_index": uses_index(due_plan, "ix_tickets_next_due_at"),
    }

    # 三率: whole tree, one street's subtree, the last 30 days; per area.
    street = world.street
    cases: dict[str, Callable[[Any], Awaitable[Any]]] = {
        "three_rates_all": lambda session: three_rates(session),
        "three_rates_street": lambda session: three_rates(session, area=street),
        "three_rates_last_30d": lambda session: three_rates(
            session, period=Period(since=now - timedelta(days=30))
        ),
        "three_rates_by_area": lambda session: three_rates_by(session, "area"),
    }
    for name, make in cases.items():
        result_box: list[Any] = []

        async def call(make: Callable[[Any], Awaitable[Any]] = make, box: list = result_box):
            async with sessions() as session:
                box[:] = [await make(session)]

        statements = main_statements(await recorder.capture(call))
        fn_times = await time_calls(call, runs)
        entry: dict[str, Any] = {"function": summary_ms(fn_times)}
        value = result_box[0]
        if isinstance(value, dict):
            entry["groups"] = len(value)
        else:
            entry["result"] = {
                "assigned": value.assigned,
                "accepted_in_time": value.accepted_in_time,
                "callbacks": value.callbacks,
                "solved": value.solved,
                "satisfied": value.satisfied,
                "响应率": round(value.response_rate or 0, 4),
                "解决率": round(value.solve_rate or 0, 4),
                "满意率": round(value.satisfaction_rate or 0, 4),
            }
        entry["ratio_function_over_count_both_tables"] = ratio(
            statistics.median(fn_times), count_both
        )
        no_index_total = 0.0
        for sql, params in statements:
            no_index_total += statistics.median(
                await run_sql(engine, sql, params, indexes=False, runs=max(3, runs // 2))
            )
        entry["sql_without_indexes_ms"] = round(no_index_total * 1000, 3)
        entry["ratio_function_over_no_index_sql"] = ratio(
            statistics.median(fn_times), no_index_total
        )
        entry["statements"] = []
        for sql, params in statements:
            plan = await explain(engine, sql, params)
            entry["statements"].append(
                {"sql": shorten(sql, 400), "plan": plan, "uses_index": uses_index(plan)}
            )
        out[name] = entry
    return out


async def submit_reads(
    engine: AsyncEngine,
    sessions: SessionFactory,
    recorder: StatementRecorder,
    policy: Policy,
    world: World,
    *,
    runs: int,
) -> list[dict[str, Any]]:
    """The reads one submit_complaint makes at scale (area, routing), with timings and plans;
    the ticket is rolled back."""
    resident = world.residents[0]

    async def submit() -> None:
        async with sessions() as session, session.begin():
            await submit_complaint(
                session, policy, resident=resident, text="楼道灯坏了", category="城乡建设"
            )
            await session.rollback()

    reads = []
    for sql, params in await recorder.capture(submit):
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        plan = await explain(engine, sql, params)
        reads.append(
            {
                "sql": shorten(sql, 160),
                "sql_only": summary_ms(await run_sql(engine, sql, params, runs=runs)),
                "plan": plan,
            }
        )
    return reads


# --------------------------------------------------------------------------------------------
# One backend, start to end
# --------------------------------------------------------------------------------------------


async def bench_backend(
    url: str, args: argparse.Namespace, *, concurrency: int, label: str
) -> dict[str, Any]:
    engine = make_engine(url, pool_size=max(10, concurrency))
    recorder = StatementRecorder(engine)
    sessions = make_session_factory(engine)
    policy = Policy(
        sla=SlaPolicy(), calendar=WorkingCalendar.build("Asia/Shanghai"), clock=SystemClock()
    )
    if hasattr(policy, "max_new_tickets_per_hour"):
        # The flood guard's query still runs for every ticket; only its limit is lifted, since
        # the benchmark's few hundred residents file thousands of tickets within the hour.
        policy = dataclasses.replace(policy, max_new_tickets_per_hour=10**9)
    out: dict[str, Any] = {"url": make_url(url).render_as_string(hide_password=True)}
    try:
        await drop_all(engine)
        await create_all(engine)
        log(f"{label}: loading the area tree, people and residents")
        world = await build_world(sessions, policy)
        out["tree"] = {
            "grids": len(world.workers_by_grid),
            "workers": len(world.pairs),
            "residents": len(world.residents),
        }
        log(f"{label}: creating {args.create} tickets (domain) and {args.create} (bare)")
        out["create"] = await bench_create(
            sessions,
            recorder,
            policy,
            world,
            count=args.create,
            concurrency=concurrency,
            tag="empty",
        )
        out["create"]["routed_to_worker_fraction"] = await routed_fraction(sessions)
        log(f"{label}: {out['create']}")

        now = datetime.now(UTC).replace(microsecond=0)
        log(f"{label}: bulk-loading {args.rows:,} tickets")
        out["bulk"] = await bulk_load(engine, world, args.rows, now)
        log(f"{label}: {out['bulk']}")
        log(f"{label}: timing queries")
        out["queries"] = await bench_queries(engine, sessions, recorder, world, now, runs=args.runs)
        at_scale = max(100, args.create // 3)
        log(f"{label}: creating {at_scale} tickets on top of {args.rows:,}")
        out["create_at_scale"] = await bench_create(
            sessions,
            recorder,
            policy,
            world,
            count=at_scale,
            concurrency=concurrency,
            tag="scale",
            rounds=2,
        )
        log(f"{label}: {out['create_at_scale']}")
        out["create_at_scale"]["read_statements"] = await submit_reads(
            engine, sessions, recorder, policy, world, runs=args.runs
        )
    finally:
        await engine.dispose()
    return out


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


def flat_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, targets and pass/fail booleans."""
    flat: dict[str, Any] = {}
    meets: dict[str, bool | None] = {}
    for prefix, key in (("sqlite", "sqlite"), ("pg", "postgresql")):
        backend = result.get(key, {})
        if "create" not in backend:
            continue
        create, queries = backend["create"], backend.get("queries", {})
        flat[f"{prefix}_create_per_s"] = create["domain_per_s"]
        flat[f"{prefix}_bare_insert_per_s"] = create["bare_per_s"]
        flat[f"{prefix}_create_ratio_domain_over_bare"] = create["ratio_domain_over_bare"]
        # What one process could reach if the client's CPU were the only limit.
        flat[f"{prefix}_create_client_cpu_ceiling_per_s"] = round(
            1000 / create["client_cpu_ms_per_domain_ticket"], 1
        )
        flat[f"{prefix}_bare_client_cpu_ceiling_per_s"] = round(
            1000 / create["client_cpu_ms_per_bare_ticket"], 1
        )
        if "create_at_scale" in backend:
            flat[f"{prefix}_create_per_s_at_scale"] = backend["create_at_scale"]["domain_per_s"]
        if queries:
            due = queries["due_tickets"]
            rates = queries["three_rates_all"]
            flat[f"{prefix}_rows"] = backend["bulk"]["tickets"]
            flat[f"{prefix}_due_query_ms"] = due["function"]["median_ms"]
            flat[f"{prefix}_due_query_p95_ms"] = due["function"]["p95_ms"]
            flat[f"{prefix}_due_query_sql_ms"] = due["sql_only"]["median_ms"]
            flat[f"{prefix}_due_query_no_index_ms"] = due["sql_without_indexes"]["median_ms"]
            flat[f"{prefix}_due_query_uses_index"] = due["due_query_uses_index"]
            flat[f"{prefix}_three_rates_ms"] = rates["function"]["median_ms"]
            flat[f"{prefix}_three_rates_p95_ms"] = rates["function"]["p95_ms"]
            flat[f"{prefix}_three_rates_street_ms"] = queries["three_rates_street"]["function"][
                "median_ms"
            ]
            flat[f"{prefix}_three_rates_by_area_ms"] = queries["three_rates_by_area"]["function"][
                "median_ms"
            ]
            flat[f"{prefix}_count_star_tickets_ms"] = queries["baseline_count_tickets"]["median_ms"]
            meets[f"{prefix}_due_query_le_20ms"] = (
                due["function"]["median_ms"] <= TARGETS["due_query_ms"]
            )
            meets[f"{prefix}_three_rates_le_1s"] = (
                rates["function"]["median_ms"] <= TARGETS["three_rates_ms"]
            )
            meets[f"{prefix}_due_query_uses_index"] = due["due_query_uses_index"]
    if "pg_create_per_s" in flat:
        meets["pg_create_ge_1000_per_s"] = flat["pg_create_per_s"] >= TARGETS["pg_create_per_s"]
    flat["target_pg_create_per_s"] = TARGETS["pg_create_per_s"]
    flat["target_due_query_ms"] = TARGETS["due_query_ms"]
    flat["target_three_rates_ms"] = TARGETS["three_rates_ms"]
    flat["meets"] = meets
    return flat


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "bench_domain",
        "params": {
            "rows": args.rows,
            "create": args.create,
            "concurrency_pg": args.concurrency,
            "concurrency_sqlite": 1,
            "runs": args.runs,
            "tree": f"1 district × {STREETS} streets × {COMMUNITIES} communities × {GRIDS} grids",
        },
        "baselines": {
            "create": "bare INSERT of the same ticket row, same engine and session factory, "
            "same concurrency, interleaved with the domain batches",
            "queries": "the same captured SQL with index use disabled (PostgreSQL "
            "enable_indexscan/bitmapscan/indexonlyscan = off; SQLite NOT INDEXED), and "
            "SELECT count(*) over tickets / ticket_callbacks",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlalchemy": sqlalchemy.__version__,
            "sqlite": __import__("sqlite3").sqlite_version,
        },
    }
    if "sqlite" in args.backends:
        with tempfile.TemporaryDirectory(prefix="minhu-bench-") as tmp:
            url = args.sqlite_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            result["sqlite"] = await bench_backend(url, args, concurrency=1, label="sqlite")
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
            result["machine"]["postgresql"] = await server_version(scratch)
        except (OSError, sqlalchemy.exc.SQLAlchemyError) as error:
            result["postgresql"] = {"skipped": f"PostgreSQL unreachable: {error!s:.300}"}
        else:
            try:
                result["postgresql"] = await bench_backend(
                    scratch, args, concurrency=args.concurrency, label="postgresql"
                )
            finally:
                if not args.keep:
                    await drop_postgres(pg_url, args.pg_database)
    result["summary"] = flat_summary(result)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-url", help="wiped and reused; default: a temporary file")
    parser.add_argument("--postgres-url", help="default: $MINHU_TEST_DATABASE_URL")
    parser.add_argument("--pg-database", default="minhu_bench", help="scratch database name")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--create", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 300 creates, 3 runs")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL scratch database")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.create, args.runs = 20_000, 300, 3
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    args.backends = {name.strip() for name in args.backends.split(",") if name.strip()}
    return args


def main(argv: list[str] | None = None) -> None:
    result = asyncio.run(run(parse_args(argv)))
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
