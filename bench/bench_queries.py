"""The due query and the 三率 at scale: --rows generated tickets (1,000,000 by default) on SQLite
and PostgreSQL, each domain call timed beside the same SQL without indexes and a plain count(*).

Prints one JSON object on stdout, progress on stderr. What it does and how to read it:
bench/README.md.

    python bench/bench_queries.py --quick
    python bench/bench_queries.py --backends postgresql --postgres-url postgresql+asyncpg://…/x
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.kit import (
    TREE,
    StatementRecorder,
    World,
    add_backend_args,
    bench_policy,
    build_world,
    bulk_load,
    emit,
    explain,
    log,
    machine,
    main_statements,
    on_backends,
    ratio,
    run_sql,
    shorten,
    summary_ms,
    time_calls,
    uses_index,
)
from storage.engine import SessionFactory, is_sqlite, make_engine, make_session_factory
from storage.schema import create_all, drop_all
from tickets.queries import due_ticket_ids
from tickets.report import Report, build_report
from tickets.stats import Period, ThreeRates, three_rates, three_rates_by

TARGETS = {
    "due_query_ms": 20,  # median due_ticket_ids(limit=500) at 1M rows
    "three_rates_ms": 1000,  # median 三率 over the whole tree at 1M rows (three_rates, report)
}
DUE_LIMIT = 500

Call = Callable[[Any], Awaitable[Any]]


def calls(world: World, now: datetime) -> dict[str, Call]:
    """The 三率 as the product asks them: build_report as the status line (every ticket ever),
    the district's and a street's dashboard (30 days); three_rates / three_rates_by as before
    the report existed."""
    street = world.street
    month = Period(since=now - timedelta(days=30))
    return {
        "report_all_time": lambda s: build_report(s, area=None, period=Period(), now=now, top=0),
        "report_30d": lambda s: build_report(s, area=None, period=month, now=now, top=0),
        "report_street_30d": lambda s: build_report(s, area=street, period=month, now=now, top=0),
        "three_rates_all": lambda s: three_rates(s),
        "three_rates_street": lambda s: three_rates(s, area=street),
        "three_rates_last_30d": lambda s: three_rates(s, period=month),
        "three_rates_by_area": lambda s: three_rates_by(s, "area"),
    }


def figures(value: Any) -> dict[str, Any]:
    """What a call returned, to check the runs computed the same thing on both backends."""
    if isinstance(value, dict):
        return {"groups": len(value)}
    extra: dict[str, Any] = {}
    if isinstance(value, Report):
        extra = {"created": value.created, "open": value.open, "overdue": value.overdue}
        value = value.rates
    assert isinstance(value, ThreeRates)
    return extra | {
        "assigned": value.assigned,
        "accepted_in_time": value.accepted_in_time,
        "callbacks": value.callbacks,
        "solved": value.solved,
        "satisfied": value.satisfied,
        "响应率": round(value.response_rate or 0, 4),
        "解决率": round(value.solve_rate or 0, 4),
        "满意率": round(value.satisfaction_rate or 0, 4),
    }


async def bench_call(
    engine: AsyncEngine,
    sessions: SessionFactory,
    recorder: StatementRecorder,
    make: Call,
    *,
    runs: int,
    count_both: float,
) -> dict[str, Any]:
    """One domain call: its timings, its result, the SQL it sent run without indexes, plans."""
    box: list[Any] = []

    async def call() -> None:
        async with sessions() as session:
            box[:] = [await make(session)]

    statements = main_statements(await recorder.capture(call))
    times = await time_calls(call, runs)
    no_index = 0.0
    for sql, params in statements:
        samples = await run_sql(engine, sql, params, indexes=False, runs=max(3, runs // 2))
        no_index += statistics.median(samples)
    plans = []
    for sql, params in statements:
        plan = await explain(engine, sql, params)
        plans.append({"sql": shorten(sql, 400), "plan": plan, "uses_index": uses_index(plan)})
    median = statistics.median(times)
    return {
        "function": summary_ms(times),
        "result": figures(box[0]),
        "ratio_function_over_count_both_tables": ratio(median, count_both),
        "sql_without_indexes_ms": round(no_index * 1000, 3),
        "ratio_function_over_no_index_sql": ratio(median, no_index),
        "statements": plans,
    }


async def due_now(engine: AsyncEngine, now: datetime) -> int:
    sqlite = is_sqlite(str(engine.url))
    sql = "SELECT count(*) FROM tickets WHERE next_due_at IS NOT NULL AND next_due_at <= "
    sql += "?" if sqlite else "$1"
    param = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    async with engine.connect() as conn:
        return (await conn.exec_driver_sql(sql, (param,))).scalar_one()


async def bench_due(
    engine: AsyncEngine,
    sessions: SessionFactory,
    recorder: StatementRecorder,
    now: datetime,
    *,
    runs: int,
    count_tickets: float,
) -> dict[str, Any]:
    """The sweep's query: its SQL alone, with and without indexes, and the ORM's share."""
    rows = await due_now(engine, now)

    async def due() -> None:
        async with sessions() as session:
            found = await due_ticket_ids(session, now, limit=DUE_LIMIT)
        if len(found) != min(DUE_LIMIT, rows):
            raise RuntimeError(f"due_ticket_ids found {len(found)} of {rows} due rows")

    ((sql, params),) = main_statements(await recorder.capture(due))
    runs = max(runs, 20)
    function = await time_calls(due, runs)
    sql_only = await run_sql(engine, sql, params, runs=runs)
    no_index = await run_sql(engine, sql, params, indexes=False, runs=max(3, runs // 2))
    plan = await explain(engine, sql, params)
    fn, bare = statistics.median(function), statistics.median(sql_only)
    return {
        "due_now_rows": rows,
        "limit": DUE_LIMIT,
        "function": summary_ms(function),
        "sql_only": summary_ms(sql_only),
        "sql_without_indexes": summary_ms(no_index),
        "speedup_index_vs_no_index": ratio(statistics.median(no_index), bare, 1),
        "ratio_function_over_count_tickets": ratio(fn, count_tickets),
        "orm_share_of_function": ratio(fn - bare, fn),
        "sql": " ".join(sql.split()),
        "plan": plan,
        "plan_without_indexes": await explain(engine, sql, params, indexes=False),
        "due_query_uses_index": uses_index(plan, "ix_tickets_next_due_at"),
    }


async def bench_backend(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    recorder = StatementRecorder(engine)
    sessions = make_session_factory(engine)
    out: dict[str, Any] = {"url": make_url(url).render_as_string(hide_password=True)}
    try:
        await drop_all(engine)
        await create_all(engine)
        world = await build_world(sessions, bench_policy())
        now = datetime.now(UTC).replace(microsecond=0)
        log(f"{label}: bulk-loading {args.rows:,} tickets")
        out["bulk"] = await bulk_load(engine, world, args.rows, now)
        log(f"{label}: {out['bulk']}")
        # The baseline: plain full counts over the same tables, in the same run.
        tickets = await run_sql(engine, "SELECT count(*) FROM tickets", (), runs=args.runs)
        callbacks = await run_sql(
            engine, "SELECT count(*) FROM ticket_callbacks", (), runs=args.runs
        )
        out["baseline_count_tickets"] = summary_ms(tickets)
        out["baseline_count_callbacks"] = summary_ms(callbacks)
        count_tickets = statistics.median(tickets)
        log(f"{label}: the due query")
        out["due_tickets"] = await bench_due(
            engine, sessions, recorder, now, runs=args.runs, count_tickets=count_tickets
        )
        count_both = count_tickets + statistics.median(callbacks)
        for name, make in calls(world, now).items():
            log(f"{label}: {name}")
            out[name] = await bench_call(
                engine, sessions, recorder, make, runs=args.runs, count_both=count_both
            )
    finally:
        await engine.dispose()
    return out


def flat_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, the targets and whether they are met."""
    flat: dict[str, Any] = {}
    meets: dict[str, bool] = {}
    for prefix, key in (("sqlite", "sqlite"), ("pg", "postgresql")):
        backend = result.get(key, {})
        if "due_tickets" not in backend:
            continue
        due = backend["due_tickets"]
        median = {
            name: entry["function"]["median_ms"]
            for name, entry in backend.items()
            if isinstance(entry, dict) and "function" in entry
        }
        flat[f"{prefix}_rows"] = backend["bulk"]["tickets"]
        flat[f"{prefix}_count_star_tickets_ms"] = backend["baseline_count_tickets"]["median_ms"]
        flat[f"{prefix}_due_query_ms"] = median["due_tickets"]
        flat[f"{prefix}_due_query_p95_ms"] = due["function"]["p95_ms"]
        flat[f"{prefix}_due_query_sql_ms"] = due["sql_only"]["median_ms"]
        flat[f"{prefix}_due_query_no_index_ms"] = due["sql_without_indexes"]["median_ms"]
        flat[f"{prefix}_due_query_uses_index"] = due["due_query_uses_index"]
        flat[f"{prefix}_three_rates_ms"] = median["three_rates_all"]
        flat[f"{prefix}_three_rates_p95_ms"] = backend["three_rates_all"]["function"]["p95_ms"]
        flat[f"{prefix}_three_rates_street_ms"] = median["three_rates_street"]
        flat[f"{prefix}_three_rates_by_area_ms"] = median["three_rates_by_area"]
        flat[f"{prefix}_report_all_time_ms"] = median["report_all_time"]
        flat[f"{prefix}_report_all_time_p95_ms"] = backend["report_all_time"]["function"]["p95_ms"]
        flat[f"{prefix}_report_30d_ms"] = median["report_30d"]
        flat[f"{prefix}_report_street_30d_ms"] = median["report_street_30d"]
        flat[f"{prefix}_report_all_time_over_count_star"] = backend["report_all_time"][
            "ratio_function_over_count_both_tables"
        ]
        meets[f"{prefix}_due_query_le_20ms"] = median["due_tickets"] <= TARGETS["due_query_ms"]
        meets[f"{prefix}_due_query_uses_index"] = due["due_query_uses_index"]
        meets[f"{prefix}_three_rates_le_1s"] = (
            median["three_rates_all"] <= TARGETS["three_rates_ms"]
        )
        meets[f"{prefix}_report_all_time_le_1s"] = (
            median["report_all_time"] <= TARGETS["three_rates_ms"]
        )
    return flat | {f"target_{name}": value for name, value in TARGETS.items()} | {"meets": meets}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    about = machine()
    result: dict[str, Any] = {
        "benchmark": "bench_queries",
        "params": {"rows": args.rows, "runs": args.runs, "tree": TREE},
        "baselines": "the same captured SQL with index use disabled (PostgreSQL "
        "enable_indexscan/bitmapscan/indexonlyscan = off; SQLite NOT INDEXED), and "
        "SELECT count(*) over tickets / ticket_callbacks",
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
    parser.add_argument("--runs", type=int, default=7, help="timed runs per call (due: ≥ 20)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.runs = 20_000, 3
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    return args


if __name__ == "__main__":
    emit(asyncio.run(run(parse_args())))
