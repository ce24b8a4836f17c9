"""Duplicate suggestion at scale: `tickets.duplicates.find_similar` for new complaints over
--rows generated tickets (1,000,000 by default), timed beside the plain submission of the same
complaint (`tickets.intake.submit_complaint`, one transaction each) in the same run.

The generated open tickets (about 10%, all within 30 days: bench/README.md) are given three
keywords each from a vocabulary of 40, so the rule has real candidates to compare: every
community holds about 1,250 open tickets, a few hundred of each common category.

Prints one JSON object on stdout, progress on stderr. Target: p99 ≤ 20 ms per complaint on
PostgreSQL at 1,000,000 tickets.

    python bench/bench_duplicates.py --quick
    python bench/bench_duplicates.py --backends postgresql --postgres-url postgresql+asyncpg://…/x
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.kit import (
    CATEGORIES,
    TREE,
    StatementRecorder,
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
    uses_index,
)
from storage.engine import is_sqlite, make_engine, make_session_factory
from storage.schema import create_all, drop_all
from tickets.duplicates import find_similar
from tickets.intake import submit_complaint

TARGET_P99_MS = 20
VOCABULARY = [
    "路灯", "井盖", "噪音", "垃圾", "漏水", "停车", "占道", "油烟", "施工", "楼道",
    "电梯", "绿化", "积水", "污水", "臭味", "广场舞", "装修", "养狗", "违建", "物业",
    "供暖", "停水", "停电", "消防", "充电", "摊贩", "欠薪", "公交", "学校", "医保",
    "低保", "拆迁", "租房", "燃气", "网络", "信号", "路面", "树木", "下水道", "公厕",
]  # fmt: skip
KEYWORDS_PER_TICKET = 3


def keywords_sql(sqlite: bool) -> str:
    """Three vocabulary words for every open ticket, picked by its id."""
    size = len(VOCABULARY)
    words = ", ".join(f"'{word}'" for word in VOCABULARY)
    pick = [f"(id * {step} + {offset}) % {size}" for step, offset in ((7, 0), (11, 3), (13, 5))]
    if sqlite:
        vocab = f"json_array({words})"
        items = ", ".join(f"json_extract({vocab}, '$[' || ({p}) || ']')" for p in pick)
        value = f"json_array({items})"
    else:
        items = ", ".join(f"(ARRAY[{words}])[({p}) + 1]" for p in pick)
        value = f"json_build_array({items})"
    return (
        f"UPDATE tickets SET category_keywords = {value} "
        "WHERE state IN ('submitted', 'returned', 'assigned', 'accepted')"
    )


def percentile_ms(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000, 3)


def figures(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p95_ms": percentile_ms(samples, 0.95),
        "p99_ms": percentile_ms(samples, 0.99),
        "max_ms": round(max(samples) * 1000, 3),
        "runs": len(samples),
    }


async def bench_one(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    recorder = StatementRecorder(engine)
    try:
        await drop_all(engine)
        await create_all(engine)
        sessions = make_session_factory(engine)
        policy = bench_policy()
        world = await build_world(sessions, policy)
        log(f"{label}: loading {args.rows:,} tickets")
        loaded = await bulk_load(engine, world, args.rows, policy.clock.now())
        async with engine.begin() as conn:
            await conn.exec_driver_sql(keywords_sql(is_sqlite(url)))
            if is_sqlite(url):
                await conn.exec_driver_sql("ANALYZE")
        if not is_sqlite(url):
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE tickets")
        log(f"{label}: {args.complaints} complaints, suggestion then submission each")
        rng = random.Random(2026)

        def complaint() -> dict[str, Any]:
            resident = rng.choice(world.residents)
            # Categories skewed as the generator's (the square of a uniform number).
            category = CATEGORIES[int(rng.random() ** 2 * len(CATEGORIES))]
            return {
                "resident": resident,
                "category": category,
                "keywords": rng.sample(VOCABULARY, KEYWORDS_PER_TICKET),
            }

        async def suggest(one: dict[str, Any]) -> Any:
            async with sessions() as session:
                return await find_similar(
                    session,
                    area_id=one["resident"].area_id,
                    category=one["category"],
                    keywords=one["keywords"],
                    at=policy.clock.now(),
                    exclude_resident_id=one["resident"].id,
                )

        async def submit(one: dict[str, Any]) -> None:
            async with sessions() as session:
                await submit_complaint(
                    session,
                    policy,
                    resident=one["resident"],
                    text="基准测试：" + "、".join(one["keywords"]),
                    category=one["category"],
                    keywords=one["keywords"],
                )
                await session.commit()

        for _ in range(20):  # warm-up: pool connections, statement caches
            one = complaint()
            await suggest(one)
            await submit(one)
        suggestion, submission, found = [], [], 0
        for _ in range(args.complaints):  # in turns, so the machine's noise hits both alike
            one = complaint()
            start = time.perf_counter()
            found += await suggest(one) is not None
            suggestion.append(time.perf_counter() - start)
            start = time.perf_counter()
            await submit(one)
            submission.append(time.perf_counter() - start)
        probe = complaint()
        captured = main_statements(await recorder.capture(lambda: suggest(probe)))
        statement, params = captured[-1]
        plan = await explain(engine, statement, params)
        result = {
            "load": loaded,
            "suggestion": figures(suggestion),
            "submission": figures(submission),
            "suggestion_over_submission_p50": ratio(
                statistics.median(suggestion), statistics.median(submission)
            ),
            "found_fraction": round(found / args.complaints, 3),
            "uses_ix_tickets_similar": uses_index(plan, "ix_tickets_similar"),
            "plan": plan[:12],
        }
        result["meets_p99"] = result["suggestion"]["p99_ms"] <= TARGET_P99_MS
        return result
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_backend_args(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets, 100 complaints")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.complaints = 20_000, 100
    about: dict[str, Any] = {"tree": TREE, "rows": args.rows, "machine": machine()}
    results = await on_backends(args, lambda url, label: bench_one(url, label, args), about)
    summary = {
        name: {
            "suggestion_p99_ms": part["suggestion"]["p99_ms"],
            "submission_p99_ms": part["submission"]["p99_ms"],
            "suggestion_p50_ms": part["suggestion"]["p50_ms"],
            "submission_p50_ms": part["submission"]["p50_ms"],
        }
        for name, part in results.items()
        if "suggestion" in part
    }
    emit(
        {
            "benchmark": "duplicates",
            "about": about,
            "target_p99_ms": TARGET_P99_MS,
            "summary": summary,
            "meets": {
                "pg_p99_le_20ms": results.get("postgresql", {}).get("meets_p99"),
            },
            **results,
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
