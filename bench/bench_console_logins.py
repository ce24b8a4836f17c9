"""Benchmark of the web console under a crowd of wrong sign-ins (issue #14): the latency of a
plain page (`GET /login`) idle, and again while `--clients` clients post wrong passwords as fast
as they are answered, in the same run on the same app.

Every wrong sign-in costs one scrypt check (about 50 ms of CPU). The console runs them in worker
threads, a bounded number at once (bot/web/auth.py PasswordChecker); the reference round runs
the same checks on the event loop, as the console did before, to show what that cost. The sign-in
throttle is opened wide for the run (every attempt is checked), or it would refuse the crowd
before any scrypt and there would be nothing to measure.

Target: p95 of the page under the crowd ≤ 2 × its p95 idle.

Prints one JSON object on stdout; progress goes to stderr. SQLite in a temporary folder.

    python bench/bench_console_logins.py
    python bench/bench_console_logins.py --clients 8 --requests 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from bot.demo import seed_demo
from bot.settings import Settings
from bot.web import build_web_app
from bot.web.auth import PasswordChecker, demo_accounts, set_password, verify_password
from bot.web.limits import Rule, WebLimits
from bot.wiring import open_services

TARGET_RATIO = 2.0
STAFF, PASSWORD = "赵主任", "bench-password-2026"
# The staff's ticket list (a query and a page, the kind of page the issue saw slow down) and the
# sign-in form (no database at all: the least any page costs).
PAGES = ("/tickets", "/login")
WIDE_OPEN = Rule(10**9, timedelta(minutes=1))
PACE = 0.01  # seconds between two page loads
WARM_UP = 1.0  # seconds the crowd runs before the page is timed


class OnLoopChecker(PasswordChecker):
    """The reference: scrypt on the event loop, as the console checked passwords before."""

    async def verify(self, password: str, stored: str | None) -> bool:
        return verify_password(password, stored)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


async def page_latencies(client: aiohttp.ClientSession, path: str, requests: int) -> list[float]:
    """`requests` page loads, one every PACE seconds (a person clicking, not a load test), so
    the samples spread over the crowd's whole run."""
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        async with client.get(path) as response:
            await response.read()
            assert response.status == 200
        samples.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(max(0.0, PACE - (time.perf_counter() - started)))
    return samples


async def guess(url: str, ready: Path, stop: Path) -> int:
    """One client posting wrong passwords until `stop` exists; how many were answered 401."""
    async with aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get("/login") as response:
            await response.read()
        token = client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value
        data = {"name": STAFF, "password": "wrong-password", "csrf": token}
        refused = 0
        while not stop.exists():
            async with client.post("/login", data=data, allow_redirects=False) as response:
                await response.read()
                refused += response.status == 401
            ready.touch()
        return refused


async def _crowd_main(url: str, clients: int, ready: Path, stop: Path) -> int:
    return sum(await asyncio.gather(*(guess(url, ready, stop) for _ in range(clients))))


def crowd(url: str, clients: int, ready: str, stop: str) -> int:
    """The crowd in a process of its own, as attackers are other machines: its HTTP client
    work does not share the console's event loop. Files say when it runs and when to stop."""
    return asyncio.run(_crowd_main(url, clients, Path(ready), Path(stop)))


async def signed_in(url: str) -> aiohttp.ClientSession:
    client = aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with client.get("/login") as response:
        await response.read()
    token = client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value
    data = {"name": STAFF, "password": PASSWORD, "csrf": token}
    async with client.post("/login", data=data, allow_redirects=False) as response:
        assert response.status == 302, response.status
    return client


async def timed_pages(client: aiohttp.ClientSession, requests: int) -> dict[str, list[float]]:
    """Both pages in turn, so they see the same moments of the crowd."""
    samples: dict[str, list[float]] = {path: [] for path in PAGES}
    for _ in range(requests):
        for path in PAGES:
            samples[path] += await page_latencies(client, path, 1)
    return samples


async def round_of(url: str, clients: int, requests: int) -> dict[str, Any]:
    """The pages idle, then under the crowd: one after the other, same server."""
    async with await signed_in(url) as client:
        await timed_pages(client, 20)  # warm-up
        idle = await timed_pages(client, requests)
        with (
            tempfile.TemporaryDirectory() as folder,
            ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool,
        ):
            ready, stop = Path(folder) / "ready", Path(folder) / "stop"
            crowding = asyncio.get_running_loop().run_in_executor(
                pool, crowd, url, clients, str(ready), str(stop)
            )
            while not ready.exists():  # the crowd's process is importing MinHu
                await asyncio.sleep(0.05)
            await asyncio.sleep(WARM_UP)  # the crowd is at full speed before the pages are timed
            started = time.perf_counter()
            loaded = await timed_pages(client, requests)
            seconds = time.perf_counter() - started + WARM_UP
            stop.touch()
            wrong = await crowding
    pages = {}
    for path in PAGES:
        idle_figures, loaded_figures = summary(idle[path]), summary(loaded[path])
        pages[path] = {
            "idle": idle_figures,
            "under_wrong_sign_ins": loaded_figures,
            "p95_ratio": round(loaded_figures["p95_ms"] / idle_figures["p95_ms"], 2),
        }
    return {"pages": pages, "wrong_sign_ins_per_s": round(wrong / seconds, 1)}


async def serve(services: Any, checker: PasswordChecker) -> tuple[web.AppRunner, str]:
    limits = WebLimits(
        sign_in_name=WIDE_OPEN, sign_in_address=WIDE_OPEN, sign_in_everyone=WIDE_OPEN
    )
    app = build_web_app(services, limits=limits, checker=checker)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'minhu.db'}"
        settings = Settings(database_url=url, listen_host="127.0.0.1", _env_file=None)
        rounds: dict[str, Any] = {}
        async with open_services(settings) as services:
            log("seeding the demo district")
            await seed_demo(services.sessions, services.policy, tickets=300, days=30)
            async with services.sessions() as session:
                for person in await demo_accounts(session):
                    await set_password(session, person, PASSWORD)
                await session.commit()
            for name, checker in (
                ("off_loop", PasswordChecker()),
                ("on_loop_reference", OnLoopChecker()),
            ):
                log(f"{name}: {args.clients} clients, {args.requests} requests per page")
                runner, base = await serve(services, checker)
                try:
                    rounds[name] = await round_of(base, args.clients, args.requests)
                finally:
                    await runner.cleanup()
    ratio = rounds["off_loop"]["pages"]["/tickets"]["p95_ratio"]
    return {
        "benchmark": "console_logins",
        "pages": list(PAGES),
        "judged_on": "/tickets",
        "clients": args.clients,
        "requests_per_phase": args.requests,
        "scrypt_threads": PasswordChecker().max_parallel,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "target_p95_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="clients sending wrong sign-ins")
    parser.add_argument("--requests", type=int, default=300, help="page requests per phase")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    print(json.dumps(asyncio.run(run(parse_args(argv))), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
