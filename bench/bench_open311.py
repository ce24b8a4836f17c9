"""Open311 GeoReport v2 on the console's server (issue #18's benchmark), on PostgreSQL.

1. `POST /open311/v2/requests.json` per second, next to a bare aiohttp POST route on the same
   server in the same run (it reads the form and answers the same JSON, nothing else): rounds
   of each take turns, `--concurrency` clients at once. A POST is what a client's report costs:
   the key checked, the rate limit counted (in the database), the text classified, the grid
   chosen from lat/long, the ticket routed and written with its timeline and the worker's
   assignment message.
2. `GET /open311/v2/requests.json` (the default: the last 90 days, newest first) answering
   1,000 requests, at `--rows` tickets (1,000,000 by default): median and p95 over HTTP.
   Target: p95 ≤ 200 ms.

The district is kit.build_world's (400 grids, given centres here so lat/long choose them) and
the tickets kit.bulk_load's, each with its submission in the timeline and, when it was
resolved, a note: what `status_notes` reads.

    python bench/bench_open311.py --postgres-url postgresql+asyncpg://postgres@127.0.0.1/x
    python bench/bench_open311.py --quick       # 20,000 tickets, fewer posts

The database named by --pg-database (default bench_open311) on that server is dropped and made
again, and dropped at the end unless --keep. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from bench.kit import (
    build_world,
    bulk_load,
    drop_postgres,
    emit,
    log,
    machine,
    prepare_postgres,
    server_version,
    summary_ms,
)
from bot.settings import Settings
from bot.web import build_web_app
from bot.web.app import serve_channel_route
from bot.wiring import Services
from storage.engine import make_engine, make_session_factory
from storage.schema import create_all, drop_all
from tickets.apikeys import create_api_key

TARGET_P95_MS = 200.0
DESCRIPTIONS = [
    "小区门口的路灯坏了好几天，晚上很黑",
    "楼下饭店油烟很大，熏得没法开窗",
    "路边井盖丢了，很危险，请尽快处理",
    "垃圾站好几天没人清运，臭气熏天",
]

# Every bulk ticket's submission, and for resolved and closed ones the worker's reply, as the
# timeline holds them: GET requests reads the latest entry of each ticket it answers.
EVENTS_SQL = """
INSERT INTO ticket_events (ticket_id, at, actor_role, action, from_state, to_state, note, data)
SELECT id, created_at, 'resident', 'submit', NULL, 'submitted', NULL, {empty} FROM tickets
UNION ALL
SELECT id, coalesce(resolved_at, closed_at, created_at), 'worker', 'resolve', 'accepted',
       'resolved', '已派人处理完毕，请查看', {empty}
FROM tickets WHERE state IN ('resolved', 'closed')
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", help="default: $MINHU_TEST_DATABASE_URL")
    parser.add_argument("--pg-database", default="bench_open311")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--posts", type=int, default=400, help="per kind, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--gets", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets, 120 posts, 20 gets")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.posts, args.gets = 20_000, 120, 20
    return args


async def load(url: str, rows: int) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """The district with grid centres, `rows` tickets and their timelines; the grids' centres."""
    engine = make_engine(url)
    try:
        await drop_all(engine)
        await create_all(engine)
        settings = Settings(database_url=url, _env_file=None)
        world = await build_world(make_session_factory(engine), settings.policy())
        log(f"loading {rows} tickets …")
        loaded = await bulk_load(engine, world, rows, datetime.now(UTC))
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.exec_driver_sql(EVENTS_SQL.format(empty="'{}'::json"))
            # Grids 0.01° apart (about 1.1 km), so a centre picks its own grid within 500 m.
            await conn.exec_driver_sql(
                "UPDATE areas SET centre_latitude = 30 + id * 0.01, centre_longitude = 120 "
                "WHERE level = 'grid'"
            )
            centres = (
                await conn.exec_driver_sql(
                    "SELECT centre_latitude, centre_longitude FROM areas WHERE level = 'grid' "
                    "ORDER BY id"
                )
            ).all()
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE ticket_events")
        loaded["events_s"] = round(time.perf_counter() - started, 1)
        async with engine.connect() as conn:
            loaded["events"] = (
                await conn.exec_driver_sql("SELECT count(*) FROM ticket_events")
            ).scalar_one()
        log(f"loaded: {loaded}")
        return loaded, [(lat, lon) for lat, lon in centres]
    finally:
        await engine.dispose()


async def measure(url: str, args: argparse.Namespace, centres: list) -> dict[str, Any]:
    settings = Settings(
        database_url=url, listen_host="127.0.0.1", open311_posts_per_minute=100_000, _env_file=None
    )
    engine = make_engine(url)
    services = Services(settings, engine, make_session_factory(engine), settings.policy())
    async with services.sessions() as session:
        _, key = await create_api_key(session, "bench", services.policy.clock.now())
        await session.commit()
    app = build_web_app(services)

    async def bare(request: web.Request) -> web.Response:
        await request.post()
        return web.json_response(
            [{"service_request_id": "0", "service_notice": None, "account_id": None}]
        )

    app.router.add_post("/bench/bare", bare)
    serve_channel_route(app, "/bench/bare")  # past the console's CSRF check, as Open311's POST
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    counter = iter(range(10**9))

    def form() -> dict[str, str]:
        n = next(counter)
        lat, lon = centres[n % len(centres)]
        return {
            "api_key": key,
            "service_code": "0102",
            "description": DESCRIPTIONS[n % len(DESCRIPTIONS)],
            "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}",
        }

    try:
        async with aiohttp.ClientSession(f"http://{host}:{port}") as client:

            async def posts(path: str, count: int) -> float:
                async def one_client(share: int) -> None:
                    for _ in range(share):
                        async with client.post(path, data=form()) as response:
                            await response.read()
                            assert response.status == 200, (path, response.status)

                shares = [count // args.concurrency] * args.concurrency
                started = time.perf_counter()
                await asyncio.gather(*(one_client(share) for share in shares))
                return sum(shares) / (time.perf_counter() - started)

            await posts("/open311/v2/requests.json", 16)  # warm-up: pools, classifier, caches
            await posts("/bench/bare", 16)
            rates: dict[str, list[float]] = {"open311": [], "bare": []}
            per_round = max(args.concurrency, args.posts // args.rounds)
            for round_number in range(args.rounds):
                rates["open311"].append(await posts("/open311/v2/requests.json", per_round))
                rates["bare"].append(await posts("/bench/bare", per_round))
                log(
                    f"round {round_number + 1}: {rates['open311'][-1]:.0f} vs "
                    f"{rates['bare'][-1]:.0f} posts/s"
                )
            round_ratios = [a / b for a, b in zip(rates["open311"], rates["bare"], strict=True)]

            # The default answer (the target), then filtered ones: open tickets only, and a
            # service few tickets have (only the posts above carry a 二级 class), which walks
            # the whole 90-day window.
            queries = {
                "default": "",
                "status_open": "?status=open",
                "rare_service": "?service_code=0102",
            }
            timings: dict[str, list[float]] = {name: [] for name in queries}
            answered: dict[str, set[int]] = {name: set() for name in queries}
            for round_number in range(args.gets + 2):
                for name, query in queries.items():
                    started = time.perf_counter()
                    async with client.get(f"/open311/v2/requests.json{query}") as response:
                        body = await response.json()
                        assert response.status == 200, response.status
                    if round_number >= 2:  # the first two warm the statement caches
                        timings[name].append(time.perf_counter() - started)
                    answered[name].add(len(body))
    finally:
        await runner.cleanup()
        await engine.dispose()
    gets = {
        name: summary_ms(samples) | {"requests_per_answer": sorted(answered[name])}
        for name, samples in timings.items()
    }
    return {
        "post_requests_per_s": round(statistics.median(rates["open311"]), 1),
        "bare_posts_per_s": round(statistics.median(rates["bare"]), 1),
        "ratio_post_over_bare": round(statistics.median(round_ratios), 3),
        "rounds": {kind: [round(rate, 1) for rate in values] for kind, values in rates.items()},
        "get_requests": gets,
        "meets": {"get_p95_le_200ms": gets["default"]["p95_ms"] <= TARGET_P95_MS},
    }


async def main() -> None:
    args = parse_args()
    base = args.postgres_url or os.environ.get("MINHU_TEST_DATABASE_URL")
    if not base:
        sys.exit("bench_open311: pass --postgres-url or set MINHU_TEST_DATABASE_URL")
    await drop_postgres(base, args.pg_database)
    url = await prepare_postgres(base, args.pg_database)
    try:
        loaded, centres = await load(url, args.rows)
        result = await measure(url, args, centres)
    finally:
        if not args.keep:
            await drop_postgres(base, args.pg_database)
    emit(
        {
            "benchmark": "open311",
            "machine": machine()
            | {"loadavg": os.getloadavg(), "postgresql": await server_version(base)},
            "rows": args.rows,
            "concurrency": args.concurrency,
            "load": loaded,
            "result": result,
            "target": {"get_p95_ms": TARGET_P95_MS},
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
