"""Benchmark of the conversations (the conversations issue's benchmark).

A complaint submission through the handlers is two events from a resident: the complaint text
(classified, kept as a draft in the conversation state, proposal rendered) and the press of 提交
(ticket, routing, timeline, outbox message to the grid worker, state cleared), each in its own
transaction with its update id recorded, exactly as a chat adapter would drive them.

Baselines measured in the same run, on the same database: the classifier alone, and the domain's
`submit_complaint` alone (no handlers, no classifier, no conversation state, no outbox). The
ratios say what the conversation layer costs. SQLite goes through aiosqlite, MinHu's driver.

    python bench/bench_handlers.py [--submissions N] [--postgres-url URL] [--quick]

Prints one JSON object on stdout. Target: ≥ 150 submissions/s on SQLite from one process.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import select

from bot.demo import COMPLAINTS
from handlers.context import Deps
from handlers.dispatch import handle
from handlers.events import Incoming, Kind
from nlp.classifier import Classifier
from storage.engine import make_engine, make_session_factory
from storage.models import Area
from storage.schema import create_all, drop_all
from tickets.directory import load_directory, parse_directory
from tickets.intake import submit_complaint
from tickets.people import register_person, set_home_area
from tickets.policy import Policy

TARGET_SQLITE_PER_S = 150
GRIDS = 20


def directory() -> dict[str, Any]:
    grids = [{"code": f"g{n}", "name": f"第{n}网格", "level": "grid"} for n in range(GRIDS)]
    people = [
        {"name": f"网格员{n}", "role": "worker", "area": f"g{n}", "user_id": f"w{n}"}
        for n in range(GRIDS)
    ]
    people.append({"name": "社区书记", "role": "staff", "area": "c", "user_id": "staff"})
    tree = {"code": "c", "name": "幸福社区", "level": "community", "children": grids}
    return {
        "areas": [{"code": "d", "name": "示范区", "level": "district", "children": [tree]}],
        "people": people,
    }


async def prepare(url: str, residents: int) -> tuple[Any, Any, list[Any]]:
    engine = make_engine(url)
    await drop_all(engine)
    await create_all(engine)
    sessions = make_session_factory(engine)
    # The flood guard is a per-resident limit: the work is spread over many residents.
    policy = Policy()
    people = []
    async with sessions() as session:
        await load_directory(session, policy, parse_directory(directory()))
        grids = await session.exec(select(Area.id).where(Area.level == "grid"))
        grid_ids = list(grids.all())
        for n in range(residents):
            person = await register_person(
                session, policy, channel="bench", channel_user_id=f"r{n}", chat_id=f"r{n}"
            )
            await set_home_area(session, person, grid_ids[n % len(grid_ids)])
            people.append(person)
        await session.commit()
    return engine, sessions, people


def texts(count: int) -> list[str]:
    # Non-emergency complaints only, so each submission is the same two events.
    normal = [text for text, *_rest, urgency in COMPLAINTS if urgency != "emergency"]
    return [f"{normal[n % len(normal)]}（{n}）" for n in range(count)]


async def through_handlers(deps: Deps, residents: list[Any], count: int, workers: int) -> float:
    async def one(index: int) -> None:
        user = residents[index % len(residents)].channel_user_id
        complaint = Incoming(
            "bench", user, user, Kind.TEXT, text=TEXTS[index], update_id=next(UPDATE_IDS)
        )
        proposal = await handle(deps, complaint)
        if not proposal.replies[-1].buttons:  # an emergency goes out without asking
            assert proposal.replies[-1].text.startswith("已受理"), proposal.replies
            return
        press = Incoming("bench", user, user, Kind.BUTTON, button="ok", update_id=next(UPDATE_IDS))
        done = await handle(deps, press)
        assert done.replies[0].text.startswith("已受理"), done.replies[0].text

    return await _timed(one, count, workers)


async def through_domain(
    sessions: Any, policy: Policy, residents: list[Any], count: int, workers: int
) -> float:
    async def one(index: int) -> None:
        async with sessions() as session:
            await submit_complaint(
                session,
                policy,
                resident=residents[index % len(residents)],
                text=TEXTS[index],
                category="城乡建设",
            )
            await session.commit()

    return await _timed(one, count, workers)


async def _timed(one: Any, count: int, workers: int) -> float:
    """Submissions per second with `workers` concurrent tasks taking submissions in turn (there
    are at least twice as many residents as tasks, so no resident has two at once)."""
    queue = iter(range(count))
    start = time.perf_counter()

    async def worker() -> None:
        for index in queue:
            await one(index)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return count / (time.perf_counter() - start)


def classifier_rate(classifier: Classifier, count: int) -> float:
    start = time.perf_counter()
    for text in TEXTS[:count]:
        classifier.classify(text)
    return count / (time.perf_counter() - start)


async def backend(url: str, count: int, workers: int, classifier: Classifier) -> dict[str, Any]:
    residents_needed = max(count // 4 + 1, workers * 2)
    engine, sessions, residents = await prepare(url, residents_needed)
    policy = Policy()
    deps = Deps(sessions=sessions, policy=policy, classifier=classifier)
    try:
        # Warm-up (connections, statement caches), then interleave to share the machine's noise.
        await through_handlers(deps, residents, 20, 1)
        handlers_rate = await through_handlers(deps, residents, count, workers)
        engine2, sessions2, residents2 = await prepare(url, residents_needed)
        domain_rate = await through_domain(sessions2, replace(policy), residents2, count, workers)
        await engine2.dispose()
    finally:
        await engine.dispose()
    return {
        "submissions": count,
        "concurrency": workers,
        "handlers_per_s": round(handlers_rate, 1),
        "domain_only_per_s": round(domain_rate, 1),
        "ratio_handlers_over_domain": round(handlers_rate / domain_rate, 3),
    }


TEXTS: list[str] = []
# Update ids are unique for the whole run: a repeated id is (rightly) ignored as a redelivery.
UPDATE_IDS = itertools.count(1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--postgres-url", default=os.environ.get("MINHU_TEST_DATABASE_URL"))
    parser.add_argument("--concurrency", type=int, default=8, help="tasks on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="200 submissions, a smoke run")
    args = parser.parse_args()
    count = 200 if args.quick else args.submissions
    TEXTS.extend(texts(count + 20))

    started = time.perf_counter()
    classifier = Classifier.default()
    load_ms = (time.perf_counter() - started) * 1000
    result: dict[str, Any] = {
        "benchmark": "handlers",
        "classifier_load_ms": round(load_ms, 1),
        "classifier_only_per_s": round(classifier_rate(classifier, count), 1),
    }
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite+aiosqlite:///{folder}/bench.db"
        result["sqlite"] = await backend(sqlite_url, count, 1, classifier)
    if args.postgres_url:
        result["postgresql"] = await backend(args.postgres_url, count, args.concurrency, classifier)
    else:
        result["postgresql"] = {"skipped": "no --postgres-url or MINHU_TEST_DATABASE_URL"}
    result["sqlite_submissions_per_s"] = result["sqlite"]["handlers_per_s"]
    result["target_sqlite_per_s"] = TARGET_SQLITE_PER_S
    result["meets_target"] = result["sqlite_submissions_per_s"] >= TARGET_SQLITE_PER_S
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
