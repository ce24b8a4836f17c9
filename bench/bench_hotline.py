"""The 12345 hotline's import (`minhu hotline import`): a file of --cases cases read, imported
(classified, placed, routed, clocked, notices queued) and committed in one transaction, then the
same file again (which must change nothing); beside it, in the same run and database, two
baselines: the same ticket rows written bare in bulk (no reading, classifying or routing), and
the chat path (tickets.intake.submit_complaint, one transaction a ticket) for --chat cases.

Prints one JSON object on stdout, progress on stderr (bench/README.md).

    python bench/bench_hotline.py --backends postgresql --postgres-url postgresql+asyncpg://…
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url
from sqlmodel import func, select

from bench.kit import (
    COMMUNITIES,
    GRIDS,
    STREETS,
    TREE,
    add_backend_args,
    bench_policy,
    build_world,
    emit,
    log,
    machine,
    on_backends,
    ratio,
)
from handlers.hotline import announce_imported
from nlp.classifier import Classifier
from storage.engine import make_engine, make_session_factory
from storage.models import OutboxMessage, Person, Ticket, TicketEvent
from storage.schema import create_all, drop_all
from storage.tickets import insert_tickets
from tickets.hotline import parse_cases
from tickets.hotline_intake import import_cases
from tickets.intake import submit_complaint

TARGET_PG_IMPORT_PER_S = 1000  # hotline cases/s, PostgreSQL, the whole command's work

COMPLAINTS = [
    "小区化粪池堵塞，污水漫到路面，气味很大，请尽快处理",
    "附近工地晚上十一点还在施工，噪音吵得孩子睡不着",
    "公司拖欠我们三个月工资，老板一直找借口不发",
    "从早上开始整栋楼停水，也没有任何通知",
    "学校周边早晚高峰车辆乱停，孩子过马路很危险",
    "楼道的灯坏了一个月，晚上很黑，老人上下楼不方便",
    "路边的垃圾三天没人清运，味道很大，苍蝇很多",
    "小区门口的井盖丢了，晚上看不见，很危险",
]
HEADER = ["case_number", "received_at", "caller_name", "caller_phone", "address", "text"]


def case_file(count: int, tag: str) -> str:
    """`count` cases: 6 in 10 name a grid, 3 a community, 1 no place; a caller in 3 has called
    before (the same number)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for index in range(count):
        s, c, g = index % STREETS, index // STREETS % COMMUNITIES, index // 7 % GRIDS
        place = index % 10
        if place < 6:
            address = f"网格{s}-{c}-{g} {index % 30 + 1}号楼"
        elif place < 9:
            address = f"社区{s}-{c}东门"
        else:
            address = ""
        body = COMPLAINTS[index % len(COMPLAINTS)]
        writer.writerow(
            [
                f"{tag}-{index:07d}",
                "2026-11-30 09:00",
                f"来电人{index % 997}",
                f"138{index * 7 // 3 % 10**8:08d}",
                address,
                f"{body}（第{index % 13 + 1}次反映）",
            ]
        )
    return out.getvalue()


async def _counts(sessions: Any) -> dict[str, int]:
    async with sessions() as session:
        counts = {}
        for table in (Ticket, TicketEvent, Person, OutboxMessage):
            query = select(func.count()).select_from(table)
            counts[table.__tablename__] = (await session.exec(query)).one()
        return counts


async def bench_backend(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    policy = bench_policy()
    classifier = Classifier.default()
    classifier.classify("预热")  # the rules and jieba's dictionary, before timing
    out: dict[str, Any] = {"url": make_url(url).render_as_string(hide_password=True)}
    try:
        await drop_all(engine)
        await create_all(engine)
        log(f"{label}: loading the area tree")
        await build_world(sessions, policy)
        text = case_file(args.cases, "HL")

        async def import_file() -> tuple[float, float, int, int]:
            started = time.perf_counter()
            found = parse_cases(text, policy, json_lines=False)
            parsed = time.perf_counter()
            async with sessions() as session:
                made = await import_cases(session, policy, classifier, found.cases)
                queued = await announce_imported(session, policy, made.tickets)
                await session.commit()
            return parsed - started, time.perf_counter() - started, len(made.tickets), queued

        log(f"{label}: importing {args.cases:,} cases")
        parse_s, first_s, made, queued = await import_file()
        after_first = await _counts(sessions)
        log(f"{label}: importing the same file again")
        _, again_s, made_again, _ = await import_file()
        unchanged = await _counts(sessions) == after_first

        log(f"{label}: the same rows written bare")
        async with sessions() as session:
            rows = (await session.exec(select(Ticket).where(Ticket.source == "hotline"))).all()
            bare = [
                Ticket.model_validate(
                    row.model_dump(exclude={"id"})
                    | {"number": f"bare-{row.number}", "external_number": None}
                )
                for row in rows
            ]
        bare_started = time.perf_counter()
        async with sessions() as session:
            await insert_tickets(session, bare, [[] for _ in bare])
            await session.commit()
        bare_s = time.perf_counter() - bare_started

        log(f"{label}: {args.chat} cases through the chat path")
        chat_cases = parse_cases(case_file(args.chat, "CHAT"), policy, json_lines=False).cases
        async with sessions() as session:
            staff = (await session.exec(select(Person).where(Person.role == "staff"))).first()
        chat_started = time.perf_counter()
        for case in chat_cases:
            found = classifier.classify(case.text)
            async with sessions() as session:
                await submit_complaint(
                    session,
                    policy,
                    resident=staff,
                    text=case.text,
                    category=found.category,
                    subcategory=found.subcategory,
                    urgency=found.urgency,
                    source="hotline",
                    address=case.address,
                )
                await session.commit()
        chat_s = time.perf_counter() - chat_started
        out |= {
            "cases": args.cases,
            "import_s": round(first_s, 2),
            "parse_s": round(parse_s, 2),
            "import_per_s": round(made / first_s, 1),
            "tickets_made": made,
            "messages_queued": queued,
            "again_s": round(again_s, 2),
            "again_made": made_again,
            "again_changed_nothing": unchanged,
            "bare_bulk_insert_per_s": round(len(bare) / bare_s, 1),
            "chat_path_per_s": round(args.chat / chat_s, 1),
            "ratio_import_over_chat_path": ratio(chat_s / args.chat, first_s / made, 2),
            "counts": after_first,
        }
    finally:
        await engine.dispose()
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    about = machine()
    result: dict[str, Any] = {
        "benchmark": "bench_hotline",
        "params": {"cases": args.cases, "chat": args.chat, "tree": TREE},
        "baseline": "the same ticket rows COPYed/INSERTed bare in one transaction, and the "
        "chat path (submit_complaint, one transaction a ticket) for --chat cases; same run",
        "machine": about,
    }
    result |= await on_backends(args, lambda url, label: bench_backend(url, label, args), about)
    pg = result.get("postgresql", {})
    result["summary"] = {
        "pg_import_per_s": pg.get("import_per_s"),
        "sqlite_import_per_s": result.get("sqlite", {}).get("import_per_s"),
        "target_pg_import_per_s": TARGET_PG_IMPORT_PER_S,
        "meets": {
            "pg_import_ge_1000_per_s": (pg.get("import_per_s") or 0) >= TARGET_PG_IMPORT_PER_S,
            "second_import_changes_nothing": all(
                result.get(key, {}).get("again_changed_nothing", True)
                for key in ("sqlite", "postgresql")
            ),
        },
    }
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_args(parser)
    parser.set_defaults(pg_database="bench_hotline")
    parser.add_argument("--cases", type=int, default=10_000, help="hotline cases in the file")
    parser.add_argument("--chat", type=int, default=500, help="cases through the chat path")
    return parser.parse_args(argv)


if __name__ == "__main__":
    emit(asyncio.run(run(parse_args())))
