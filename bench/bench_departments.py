"""Departments at scale: 三率 per department over --rows generated tickets (1,000,000 by default)
beside a plain count(*) in the same run, and 党委派单 to three departments at once beside a single
assignment to a worker, on SQLite and PostgreSQL.

Prints one JSON object on stdout, progress on stderr (bench/README.md says how to read it).

    python bench/bench_departments.py --quick
    python bench/bench_departments.py --backends postgresql --postgres-url postgresql+asyncpg://…/x
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bench.kit import (
    TREE,
    World,
    add_backend_args,
    bench_policy,
    build_world,
    bulk_load,
    emit,
    log,
    machine,
    on_backends,
    ratio,
    run_sql,
    summary_ms,
    time_calls,
)
from storage.engine import SessionFactory, is_sqlite, make_engine, make_session_factory
from storage.models import Department, Person, Ticket
from storage.schema import create_all, drop_all
from tickets.department_figures import department_rows
from tickets.departments import dispatch_to_departments
from tickets.handling import assign_ticket
from tickets.stats import Period

TARGETS = {
    "department_rates_ms": 1000,  # median 三率 per department, whole tree, all time, 1M tickets
    "dispatch_three_over_single": 3.0,  # median dispatch to 3 departments ÷ one assignment
}
DEPARTMENTS = 12
# Every fifth ticket went to departments: its lead is the ticket's department; every tenth also
# had an assisting one, and every fiftieth summoned one by 吹哨.
LEAD_EVERY, ASSIST_EVERY, SUMMONED_EVERY = 5, 10, 50


async def add_departments(engine: AsyncEngine) -> dict[str, int]:
    """Twelve departments serving the whole district, and their parts of the generated tickets,
    in SQL (the parts' accept clocks met nine times in ten)."""
    sqlite = is_sqlite(str(engine.url))
    in_time = "(abs(random()) % 10) < 9" if sqlite else "random() < 0.9"
    async with engine.begin() as conn:
        root = (
            await conn.exec_driver_sql("SELECT id FROM areas WHERE parent_id IS NULL")
        ).scalar_one()
        for number in range(DEPARTMENTS):
            await conn.exec_driver_sql(
                "INSERT INTO departments (code, name, area_id) "
                f"VALUES ('d{number}', '部门{number:02d}', {root})"
            )
        first = (await conn.exec_driver_sql("SELECT min(id) FROM departments")).scalar_one()
        await conn.exec_driver_sql(
            f"UPDATE tickets SET department_id = {first} + (id % {DEPARTMENTS}) "
            f"WHERE id % {LEAD_EVERY} = 0"
        )
        parts = (
            ("lead", LEAD_EVERY, 0, "accepted"),
            ("assist", ASSIST_EVERY, 1, "finished"),
            ("summoned", SUMMONED_EVERY, 2, "reported"),
        )
        for role, every, shift, state in parts:
            summoned = role == "summoned"
            await conn.exec_driver_sql(
                "INSERT INTO ticket_parts (ticket_id, department_id, role, state, created_at, "
                "accepted_in_time, reported_in_time, version) "
                f"SELECT id, {first} + ((id + {shift}) % {DEPARTMENTS}), '{role}', '{state}', "
                f"assigned_at, {'NULL' if summoned else f'({in_time})'}, "
                f"{f'({in_time})' if summoned else 'NULL'}, 1 "
                f"FROM tickets WHERE id % {every} = 0 AND assigned_at IS NOT NULL"
            )
        await conn.exec_driver_sql(
            "UPDATE ticket_callbacks SET department_id = (SELECT department_id FROM tickets "
            "WHERE tickets.id = ticket_callbacks.ticket_id)"
        )
        if sqlite:
            await conn.exec_driver_sql("ANALYZE")
    if not sqlite:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("tickets", "ticket_parts", "ticket_callbacks", "departments"):
                await conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    async with engine.connect() as conn:
        return {
            "parts": (await conn.exec_driver_sql("SELECT count(*) FROM ticket_parts")).scalar_one(),
            "tickets_with_lead": (
                await conn.exec_driver_sql(
                    "SELECT count(*) FROM tickets WHERE department_id IS NOT NULL"
                )
            ).scalar_one(),
        }


async def bench_rates(
    engine: AsyncEngine, sessions: SessionFactory, now: datetime, runs: int
) -> dict[str, Any]:
    """The department rows of a report: all time and the last 30 days, whole tree."""
    box: list[Any] = []

    def call(period: Period):
        async def run() -> None:
            async with sessions() as session:
                box[:] = [await department_rows(session, None, period)]

        return run

    count = await run_sql(engine, "SELECT count(*) FROM tickets", (), runs=runs)
    all_time = await time_calls(call(Period()), runs)
    rows = box[0]
    last_30 = await time_calls(call(Period(since=now.replace(day=1))), runs)
    return {
        "baseline_count_tickets": summary_ms(count),
        "all_time": summary_ms(all_time),
        "this_month": summary_ms(last_30),
        "ratio_all_time_over_count": ratio(statistics.median(all_time), statistics.median(count)),
        "departments": len(rows),
        "parts_assigned": sum(row.rates.assigned for row in rows),
        "callbacks": sum(row.rates.callbacks for row in rows),
        "summoned": sum(row.summoned for row in rows),
    }


async def triage_tickets(engine: AsyncEngine, count: int) -> list[int]:
    """`count` of the generated tickets put back in their street's triage queue, as if a worker
    had escalated them: what 派单 and 党委派单 both start from."""
    async with engine.begin() as conn:
        ids = [
            row[0]
            for row in await conn.exec_driver_sql(
                f"SELECT id FROM tickets WHERE state = 'closed' ORDER BY id LIMIT {count}"
            )
        ]
        await conn.exec_driver_sql(
            "UPDATE tickets SET state = 'submitted', assignee_id = NULL, department_id = NULL, "
            "assigned_at = NULL, accepted_at = NULL, accepted_in_time = NULL, "
            "resolved_at = NULL, closed_at = NULL, callback_at = NULL, next_due_at = NULL "
            f"WHERE id IN ({', '.join(map(str, ids))})"
        )
    return ids


async def bench_dispatch(
    engine: AsyncEngine, sessions: SessionFactory, world: World, count: int
) -> dict[str, Any]:
    """Alternating, one transaction each: assign a triage ticket to its grid's worker, and send
    another to a lead department with two assisting ones."""
    policy = bench_policy()
    ids = await triage_tickets(engine, 2 * count)
    async with sessions() as session:
        chief = (await session.exec(select(Person).where(Person.channel_user_id == "s-b"))).one()
        departments = (await session.exec(select(Department.id).order_by(col(Department.id)))).all()
        tickets = {
            ticket_id: area_id
            for ticket_id, area_id in await session.exec(
                select(Ticket.id, Ticket.area_id).where(col(Ticket.id).in_(ids))
            )
        }

    async def timed(move: Any, **arguments: Any) -> float:
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await move(session, policy, actor=chief, **arguments)
        return time.perf_counter() - started

    single, three = [], []
    pairs = zip(ids[::2], ids[1::2], strict=True)
    for number, (worker_ticket, department_ticket) in enumerate(pairs):
        worker_id = world.workers_by_grid[tickets[worker_ticket]][0]
        lead, *assists = (departments[(number + k) % len(departments)] for k in range(3))
        single.append(await timed(assign_ticket, ticket_id=worker_ticket, worker_id=worker_id))
        three.append(
            await timed(
                dispatch_to_departments,
                ticket_id=department_ticket,
                lead_id=lead,
                assist_ids=assists,
            )
        )
    return {
        "tickets_each": count,
        "assign_one_worker": summary_ms(single),
        "dispatch_three_departments": summary_ms(three),
        "ratio_three_over_single": ratio(statistics.median(three), statistics.median(single)),
    }


async def bench_backend(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    out: dict[str, Any] = {"url": make_url(url).render_as_string(hide_password=True)}
    try:
        await drop_all(engine)
        await create_all(engine)
        world = await build_world(sessions, bench_policy())
        now = datetime.now(UTC).replace(microsecond=0)
        log(f"{label}: bulk-loading {args.rows:,} tickets")
        out["bulk"] = await bulk_load(engine, world, args.rows, now)
        out["bulk"] |= await add_departments(engine)
        log(f"{label}: {out['bulk']}")
        log(f"{label}: 三率 per department")
        out["department_rates"] = await bench_rates(engine, sessions, now, args.runs)
        log(f"{label}: dispatch")
        out["dispatch"] = await bench_dispatch(engine, sessions, world, args.dispatches)
    finally:
        await engine.dispose()
    return out


def flat_summary(result: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    meets: dict[str, bool] = {}
    for prefix, key in (("sqlite", "sqlite"), ("pg", "postgresql")):
        backend = result.get(key, {})
        if "department_rates" not in backend:
            continue
        rates, dispatch = backend["department_rates"], backend["dispatch"]
        flat[f"{prefix}_rows"] = backend["bulk"]["tickets"]
        flat[f"{prefix}_count_star_ms"] = rates["baseline_count_tickets"]["median_ms"]
        flat[f"{prefix}_department_rates_ms"] = rates["all_time"]["median_ms"]
        flat[f"{prefix}_department_rates_p95_ms"] = rates["all_time"]["p95_ms"]
        flat[f"{prefix}_department_rates_over_count"] = rates["ratio_all_time_over_count"]
        flat[f"{prefix}_assign_ms"] = dispatch["assign_one_worker"]["median_ms"]
        flat[f"{prefix}_dispatch_three_ms"] = dispatch["dispatch_three_departments"]["median_ms"]
        flat[f"{prefix}_dispatch_three_over_single"] = dispatch["ratio_three_over_single"]
        meets[f"{prefix}_department_rates_le_1s"] = (
            rates["all_time"]["median_ms"] <= TARGETS["department_rates_ms"]
        )
        meets[f"{prefix}_dispatch_three_le_3x"] = (
            dispatch["ratio_three_over_single"] <= TARGETS["dispatch_three_over_single"]
        )
    return flat | {f"target_{name}": value for name, value in TARGETS.items()} | {"meets": meets}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    about = machine()
    result: dict[str, Any] = {
        "benchmark": "bench_departments",
        "params": {
            "rows": args.rows,
            "runs": args.runs,
            "dispatches": args.dispatches,
            "departments": DEPARTMENTS,
            "tree": TREE,
        },
        "baselines": "SELECT count(*) FROM tickets for the rates; assign_ticket to one worker "
        "for the dispatch, alternating with it in the same run",
        "machine": about,
    }
    result |= await on_backends(args, lambda url, label: bench_backend(url, label, args), about)
    result["summary"] = flat_summary(result)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_args(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of the rates")
    parser.add_argument("--dispatches", type=int, default=200, help="tickets per kind of move")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 runs, 50 moves")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.runs, args.dispatches = 20_000, 3, 50
    if args.rows < 1000 or args.dispatches < 1:
        parser.error("--rows must be at least 1000 and --dispatches at least 1")
    return args


if __name__ == "__main__":
    emit(asyncio.run(run(parse_args())))
