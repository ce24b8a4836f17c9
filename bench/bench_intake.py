"""Ticket creation through the domain (`tickets.intake.submit_complaint`) against a bare INSERT of
the same row, on SQLite and PostgreSQL, on an empty table and again on top of --rows tickets.

Prints one JSON object on stdout, progress on stderr. What it does and how to read it:
bench/README.md.

    python bench/bench_intake.py --quick
    python bench/bench_intake.py --rows 1000000 --create 3000 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url
from sqlmodel import col, select

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
    on_backends,
    ratio,
    run_sql,
    shorten,
    summary_ms,
)
from storage.engine import SessionFactory, make_engine, make_session_factory
from storage.models import Ticket
from storage.schema import create_all, drop_all
from tickets.intake import submit_complaint
from tickets.policy import Policy

TARGET_PG_CREATE_PER_S = 1000  # tickets/s through the domain, PostgreSQL, one process

COMPLAINTS = [
    ("小区3号楼化粪池堵塞，污水漫到路面，气味很大，请尽快处理", "城乡建设", "normal"),
    ("附近工地晚上十一点还在施工，噪音吵得孩子睡不着", "环境保护", "normal"),
    ("公司拖欠我们三个月工资，老板一直找借口不发", "劳动和社会保障", "normal"),
    ("从早上开始整栋楼停水，也没有任何通知", "城乡建设", "urgent"),
    ("学校周边早晚高峰车辆乱停，孩子过马路很危险", "交通运输", "normal"),
    ("闻到楼道里有很浓的煤气味，好像是哪家燃气泄漏了", "城乡建设", "emergency"),
]


async def run_tasks(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Seconds for `count` calls of `one(index)`, `concurrency` at a time."""
    numbers = itertools.count()

    async def worker() -> None:
        while (index := next(numbers)) < count:
            await one(index)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


def creators(
    sessions: SessionFactory, policy: Policy, world: World, tag: str
) -> dict[str, Callable[[int], Awaitable[None]]]:
    """One ticket per call, one transaction each as a chat message has: through the domain, and
    the same row inserted bare (no routing, numbering, timeline or outbox)."""
    offset = itertools.count()

    async def domain(index: int) -> None:
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

    async def bare(index: int) -> None:
        resident = world.residents[index % len(world.residents)]
        body, category, urgency = COMPLAINTS[index % len(COMPLAINTS)]
        now = policy.clock.now()
        ticket = Ticket(
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
            assignee_id=world.workers_by_grid[resident.area_id][0],
            created_at=now,
            assigned_at=now,
            due_accept_at=now + timedelta(days=1),
            due_resolve_at=now + timedelta(days=7),
            next_due_at=now + timedelta(days=1),
        )
        async with sessions() as session, session.begin():
            session.add(ticket)

    return {"domain": domain, "bare": bare}


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
    """`count` tickets each way, in rounds taking turns so machine noise hits both alike."""
    create = creators(sessions, policy, world, tag)
    warm = min(concurrency * 2, 20)  # pool connections and statement caches, before timing
    for one in create.values():
        await run_tasks(warm, concurrency, one)
    seconds, statements, cpu, done = ({kind: 0.0 for kind in create} for _ in range(4))
    sizes = [count // rounds + (1 if r < count % rounds else 0) for r in range(rounds)]
    for number, size in enumerate(sizes):
        for kind in ("bare", "domain") if number % 2 == 0 else ("domain", "bare"):
            base = int(done[kind]) + warm
            before, cpu_before = recorder.count, time.process_time()
            seconds[kind] += await run_tasks(
                size, concurrency, lambda i, b=base, f=create[kind]: f(b + i)
            )
            statements[kind] += recorder.count - before
            cpu[kind] += time.process_time() - cpu_before  # this process: Python and driver
            done[kind] += size
    return {
        "tickets": count,
        "concurrency": concurrency,
        "domain_per_s": round(count / seconds["domain"], 1),
        "bare_per_s": round(count / seconds["bare"], 1),
        "ratio_domain_over_bare": ratio(seconds["bare"], seconds["domain"]),
        "domain_ms_per_ticket": round(seconds["domain"] / count * 1000 * concurrency, 3),
        "bare_ms_per_ticket": round(seconds["bare"] / count * 1000 * concurrency, 3),
        "client_cpu_ms_per_domain_ticket": round(cpu["domain"] / count * 1000, 3),
        "client_cpu_ms_per_bare_ticket": round(cpu["bare"] / count * 1000, 3),
        "client_cpu_ratio_domain_over_bare": ratio(cpu["domain"], cpu["bare"], 2),
        "statements_per_domain_ticket": round(statements["domain"] / count, 2),
        "statements_per_bare_ticket": round(statements["bare"] / count, 2),
    }


async def routed_fraction(sessions: SessionFactory) -> float:
    """The share of the domain's tickets that routing gave a worker."""
    query = select(Ticket.assignee_id).where(~col(Ticket.number).contains("bare"))
    async with sessions() as session:
        rows = (await session.exec(query)).all()
    return round(sum(1 for row in rows if row is not None) / max(1, len(rows)), 4)


async def submit_reads(
    engine: Any,
    sessions: SessionFactory,
    recorder: StatementRecorder,
    policy: Policy,
    world: World,
    *,
    runs: int,
) -> list[dict[str, Any]]:
    """The reads one submit_complaint makes (area, routing, flood guard) with their timings and
    plans; the ticket itself is rolled back."""
    resident = world.residents[0]

    async def submit() -> None:
        async with sessions() as session, session.begin():
            await submit_complaint(
                session, policy, resident=resident, text="楼道灯坏了", category="城乡建设"
            )
            await session.rollback()

    reads = []
    for sql, params in await recorder.capture(submit):
        if sql.lstrip().upper().startswith("SELECT"):
            reads.append(
                {
                    "sql": shorten(sql, 160),
                    "sql_only": summary_ms(await run_sql(engine, sql, params, runs=runs)),
                    "plan": await explain(engine, sql, params),
                }
            )
    return reads


async def bench_backend(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    concurrency = 1 if label == "sqlite" else args.concurrency  # SQLite: one writer, see README
    engine = make_engine(url, pool_size=max(10, concurrency))
    recorder = StatementRecorder(engine)
    sessions = make_session_factory(engine)
    policy = bench_policy()
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
        log(f"{label}: bulk-loading {args.rows:,} tickets")
        out["bulk"] = await bulk_load(engine, world, args.rows, datetime.now(UTC))
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
        out["create_at_scale"]["read_statements"] = await submit_reads(
            engine, sessions, recorder, policy, world, runs=args.runs
        )
    finally:
        await engine.dispose()
    return out


def flat_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, the target and whether it is met."""
    flat: dict[str, Any] = {}
    meets: dict[str, bool] = {}
    for prefix, key in (("sqlite", "sqlite"), ("pg", "postgresql")):
        backend = result.get(key, {})
        if "create" not in backend:
            continue
        create = backend["create"]
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
        flat[f"{prefix}_rows"] = backend["bulk"]["tickets"]
        flat[f"{prefix}_create_per_s_at_scale"] = backend["create_at_scale"]["domain_per_s"]
        flat[f"{prefix}_create_ratio_domain_over_bare_at_scale"] = backend["create_at_scale"][
            "ratio_domain_over_bare"
        ]
    if "pg_create_per_s" in flat:
        meets["pg_create_ge_1000_per_s"] = flat["pg_create_per_s"] >= TARGET_PG_CREATE_PER_S
    return flat | {"target_pg_create_per_s": TARGET_PG_CREATE_PER_S, "meets": meets}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    about = machine()
    result: dict[str, Any] = {
        "benchmark": "bench_intake",
        "params": {
            "rows": args.rows,
            "create": args.create,
            "concurrency_pg": args.concurrency,
            "concurrency_sqlite": 1,
            "runs": args.runs,
            "tree": TREE,
        },
        "baseline": "bare INSERT of the same ticket row, same engine and session factory, "
        "same concurrency, interleaved with the domain batches",
        "machine": about,
    }
    result |= await on_backends(args, lambda url, label: bench_backend(url, label, args), about)
    result["summary"] = flat_summary(result)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_args(parser)
    parser.add_argument("--rows", type=int, default=1_000_000, help="tickets under the 2nd run")
    parser.add_argument("--create", type=int, default=3000, help="tickets each way")
    parser.add_argument("--concurrency", type=int, default=8, help="asyncio tasks, PostgreSQL")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per read statement")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 300 creates, 3 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.create, args.runs = 20_000, 300, 3
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    return args


if __name__ == "__main__":
    emit(asyncio.run(run(parse_args())))
