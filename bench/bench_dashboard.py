"""Benchmark of the staff dashboard (issue #7): every dashboard page over HTTP on loopback, with
1,000,000 tickets in PostgreSQL.

The tickets come from bench/kit.py's generator (a district of 400 grids, tickets over a year, ~10%
open, 60% with a callback). The real web app (bot.web.build_web_app) serves them; a client signed
in as staff fetches each page `--runs` times in turn (after two warm-ups) and reports p50/p95.
Baselines in the same run, on the same app and connection: a bare aiohttp "hello" route and a
route that runs the cheapest query (`SELECT 1`) through the same session factory.

Charts are drawn once per distinct data (handlers/charts.py keeps drawings by their data, never
by time); `chart_*_cold` times the same pages with that cache emptied before each request, i.e.
query plus drawing.

Pages are timed for the district's staff (the whole tree, no area filter) and for a street's staff
(a subtree: an IN list of 41 areas). Target (the issue): every page ≤ 300 ms; judged on p50 and
on p95, both shown, cold charts included.

Prints one JSON object on stdout; progress goes to stderr. The database (`test_web` on the
server of MINHU_TEST_DATABASE_URL by default) is wiped and reloaded unless --reuse finds the rows.

    python bench/bench_dashboard.py                  # 1M rows
    python bench/bench_dashboard.py --rows 20000 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from bench.kit import (
    StatementRecorder,
    build_world,
    bulk_load,
    explain,
    log,
    main_statements,
    prepare_postgres,
    server_version,
)
from bot.settings import Settings
from bot.web import build_web_app
from bot.web.auth import set_password
from bot.wiring import Services
from handlers import charts
from storage.engine import make_engine, make_session_factory
from storage.models import Person
from storage.schema import create_all, drop_all
from tickets.areas import get_area
from tickets.dashboard import TicketFilter, created_per_day, find_tickets, overdue_list
from tickets.report import build_report, tickets_per_area, top_categories
from tickets.stats import Period

TARGET_MS = 300
PASSWORD = "bench-password"
STAFF = {"district": "s-b", "street": "s-b-s3"}


def pages(number: str) -> dict[str, str]:
    return {
        "dashboard": "/dashboard",
        "chart_category_svg": "/charts/category.svg",
        "chart_area_svg": "/charts/area.svg",
        "chart_trend_svg": "/charts/trend.svg",
        "chart_category_png": "/charts/category.png",
        "tickets": "/tickets",
        "tickets_filtered": "/tickets?state=accepted&category=%E5%9F%8E%E4%B9%A1%E5%BB%BA%E8%AE%BE",
        "tickets_overdue": "/tickets?overdue=1",
        "tickets_page_5": "/tickets?page=5",
        "ticket": f"/tickets/{number}",
    }


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


async def load(url: str, rows: int, reuse: bool) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        if reuse:
            try:
                async with engine.connect() as conn:
                    count = (await conn.exec_driver_sql("SELECT count(*) FROM tickets")).scalar()
                if count == rows:
                    log(f"reusing {count} tickets")
                    return {"tickets": count, "reused": True}
            except Exception:
                pass
        await drop_all(engine)
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await create_all(engine)
        settings = Settings(database_url=url, _env_file=None)
        world = await build_world(sessions, settings.policy())
        log(f"loading {rows} tickets …")
        loaded = await bulk_load(engine, world, rows, datetime.now(UTC))
        log(f"loaded: {loaded}")
        return loaded
    finally:
        await engine.dispose()


async def measure(url: str, runs: int) -> dict[str, Any]:
    settings = Settings(database_url=url, listen_host="127.0.0.1", _env_file=None)
    engine = make_engine(url)
    services = Services(settings, engine, make_session_factory(engine), settings.policy())
    names: dict[str, str] = {}
    numbers: dict[str, str] = {}
    async with services.sessions() as session:
        for key, user_id in STAFF.items():
            query = select(Person).where(Person.channel_user_id == user_id)
            person = (await session.exec(query)).one()
            await set_password(session, person, PASSWORD)
            names[key] = person.display_name
            # A ticket this staff member may open: the newest in their subtree.
            area = await get_area(session, person.area_id)
            newest, _ = await find_tickets(
                session,
                scope=area if area.parent_id else None,
                filters=TicketFilter(),
                now=services.policy.clock.now(),
                zone=settings.timezone,
                page_size=1,
            )
            numbers[key] = newest[0].number
        await session.commit()

    app = build_web_app(services)

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def cheapest(_request: web.Request) -> web.Response:
        async with services.sessions() as session:
            value = (await session.exec(text("SELECT 1"))).scalar()
        return web.Response(text=str(value))

    # Added after the factory, as the Telegram webhook route is.
    app.router.add_get("/bench/hello", hello)
    app.router.add_get("/bench/select1", cheapest)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    result: dict[str, Any] = {}
    try:
        for who, name in names.items():
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(base, cookie_jar=jar) as client:
                async with client.get("/login") as response:
                    await response.read()
                csrf = jar.filter_cookies(client._base_url)["minhu_csrf"].value
                form = {"name": name, "password": PASSWORD, "csrf": csrf}
                async with client.post("/login", data=form, allow_redirects=False) as response:
                    assert response.status == 302, f"sign-in failed: {response.status}"
                targets = {"baseline_hello": "/bench/hello", "baseline_select1": "/bench/select1"}
                targets |= pages(numbers[who])
                timings: dict[str, list[float]] = {key: [] for key in targets}
                cold = {f"{key}_cold": path for key, path in targets.items() if "chart" in key}
                timings |= {key: [] for key in cold}
                # Warm rounds, then cold ones (the drawing cache emptied before each request);
                # within a round pages are interleaved, so machine noise hits them alike.
                for plan, clear in ((targets, False), (cold, True)):
                    for round_number in range(runs + 2):
                        for key, path in plan.items():
                            if clear:
                                charts.forget_drawings()
                            started = time.perf_counter()
                            async with client.get(path) as response:
                                body = await response.read()
                                assert response.status == 200, f"{path}: {response.status}"
                            elapsed = (time.perf_counter() - started) * 1000
                            if round_number >= 2:
                                timings[key].append(elapsed)
                            if round_number == 0 and key == "dashboard":
                                assert "响应率" in body.decode(), "the dashboard shows no rates"
                log(f"{who}: done")
                result[who] = {key: summary(samples) for key, samples in timings.items()}
    finally:
        await runner.cleanup()
        await engine.dispose()
    return result


async def plans(url: str) -> dict[str, Any]:
    """The indexes behind each of the dashboard's queries (whole tree), from EXPLAIN ANALYZE of
    the SQL the functions actually sent, and the median of 5 calls of each function."""
    settings = Settings(database_url=url, _env_file=None)
    engine = make_engine(url)
    recorder = StatementRecorder(engine)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    period = Period(since=now - timedelta(days=30))
    calls: dict[str, Callable[[Any], Awaitable[Any]]] = {
        # The page's report: 三率, backlog, overdue (tickets.report.build_report).
        "report_30d": lambda s: build_report(s, area=None, period=period, now=now, top=0),
        # The status line's: everything, all time (the 三率 target: ≤ 1 s at 1M tickets).
        "report_all_time": lambda s: build_report(s, area=None, period=Period(), now=now, top=0),
        "overdue_list": lambda s: overdue_list(s, now, area=None),
        "by_category_30d": lambda s: top_categories(s, area=None, period=period),
        "by_area_30d": lambda s: tickets_per_area(s, area=None, period=period, level="street"),
        "per_day_30d": lambda s: created_per_day(
            s, area=None, days=30, now=now, zone=settings.timezone
        ),
        "ticket_list": lambda s: find_tickets(
            s, scope=None, filters=TicketFilter(), now=now, zone=settings.timezone
        ),
    }
    result: dict[str, Any] = {}
    try:
        for name, call in calls.items():

            async def once(call: Callable[[Any], Awaitable[Any]] = call) -> None:
                async with sessions() as session:
                    await call(session)

            statements = main_statements(await recorder.capture(once))
            found: list[str] = []
            milliseconds = 0.0
            for sql, params in statements:
                plan = await explain(engine, sql, params)
                names = re.findall(r"(?:using|Bitmap Index Scan on) (\w+)", "\n".join(plan))
                found = list(dict.fromkeys([*found, *names]))
                timing = [line for line in plan if "Execution Time" in line]
                if timing:
                    milliseconds += float(re.findall(r"[\d.]+", timing[0])[0])
            calls_ms = []
            for _ in range(5):  # the function as the page calls it, round trips included
                started = time.perf_counter()
                await once()
                calls_ms.append((time.perf_counter() - started) * 1000)
            result[name] = {
                "indexes": found,
                "execution_ms": round(milliseconds, 1),
                "call_median_ms": round(statistics.median(calls_ms), 1),
            }
    finally:
        await engine.dispose()
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = await prepare_postgres(args.postgres_url, args.database)
    loaded = await load(url, args.rows, args.reuse)
    timings = await measure(url, args.runs)
    query_plans = await plans(url)
    pages_only = {
        f"{who}.{page}": figures
        for who, by_page in timings.items()
        for page, figures in by_page.items()
        if not page.startswith("baseline")
    }
    worst = max(pages_only.items(), key=lambda item: item[1]["p95_ms"])
    return {
        "benchmark": "dashboard",
        "rows": args.rows,
        "runs_per_page": args.runs,
        "postgres": await server_version(url),
        "database": make_url(url).database,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load": loaded,
        "target_ms": TARGET_MS,
        "pages": timings,
        "query_plans": query_plans,
        "slowest_page": {"page": worst[0], **worst[1]},
        "meets_target_p50": all(f["p50_ms"] <= TARGET_MS for f in pages_only.values()),
        "meets_target_p95": all(f["p95_ms"] <= TARGET_MS for f in pages_only.values()),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "MINHU_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test_web"
        ),
    )
    parser.add_argument("--database", default="test_web")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the tickets if the count fits")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    print(json.dumps(asyncio.run(run(parse_args(argv))), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
