"""Benchmark of the Telegram webhook path (issue #5's benchmark).

Updates per second handled by MinHu through aiogram's webhook over loopback: each update is a
resident's complaint text POSTed with the secret-token header to the aiohttp route; the webhook
answers after the update is handled (classified, kept as a draft in the database, the proposal
sent to the Bot API). Every update comes from a resident of its own, so every one is a first
complaint and every round does the same work (a second text from a resident whose proposal waits
would be added to the draft and classified with it, a different and growing workload). The texts
are the demo's 25 complaints in turn; 2 of them are emergencies, which MinHu does not draft but
submits at once (a ticket routed to the grid's worker, a warning and the ticket number sent). The
Bot API is the project's emulator (tests/e2e/emulator, `npm ci` there first).

Baseline in the same run: a bare aiogram echo bot behind the same kind of webhook (the same
aiohttp handler, the same secret check, one sendMessage per update to the same emulator). Rounds
of every kind take turns, so machine noise hits them alike: rates are the median round, ratios
the median of the ratios within each round.

    python bench/bench_webhook.py [--updates N] [--concurrency C] [--rounds R] [--paced N]
                                  [--quick] [--database-url URL]

More references, to show where the time goes:
- `handlers_only`: the same updates handed straight to `handlers.dispatch.handle` in this process
  (no HTTP, no aiogram, nothing sent). `ratio_webhook_over_handlers` is what the adapter and the
  two HTTP hops cost.
- Two floors behind the same webhook (bench/webhook_floors.py): `reply_only` classifies and sends
  the proposal but keeps nothing in any database; `hand_written_sqlite` adds the turn's
  bookkeeping as plain sqlite3 statements (SQLite runs only). Their ratios to the echo show what
  the durable bookkeeping of a turn costs.
- Latency: after each round of throughput, updates are POSTed at a steady 50 per second (each on
  its own schedule, not waiting for the ones before) to MinHu and to the echo bot; the time from
  an update's scheduled arrival to the webhook's answer, which comes once the reply has gone to
  the Bot API, gives p50 and p99 per bot.

The machine is shared, so besides updates per second each round reports this process's CPU time
per update (the webhook server, the aiohttp client driving it, the handlers; the emulator is
another process). CPU time is steadier than wall-clock rates when neighbours are busy.

Prints one JSON object on stdout. There is no target ratio: the old one (MinHu ≥ 0.5 of the
echo) is withdrawn, because the durable bookkeeping a turn needs (the update id, the draft, in
one transaction) costs more than that leaves; the floors show how much.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bench.webhook_floors import connect, hand_written_sqlite_app, reply_only_app
from bot.demo import COMPLAINTS
from bot.settings import Settings
from bot.telegram.aiogram_adapter import AiogramChannel
from bot.telegram.chat_locks import ChatLocks
from bot.telegram.translate import incoming
from bot.wiring import Services
from handlers.context import Deps
from handlers.dispatch import handle
from storage.engine import make_engine, make_session_factory
from storage.models import Area
from storage.schema import create_all, drop_all
from tickets.directory import load_directory, parse_directory
from tickets.people import register_person

EMULATOR_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e" / "emulator"
SECRET = "bench-secret"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
WARM_UP = 50
PACED_PER_S = 50  # the latency runs' arrival rate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    node = shutil.which("node")
    if node is None or not (EMULATOR_DIR / "node_modules").is_dir():
        sys.exit(f"needs node and `npm ci` in {EMULATOR_DIR}")
    process = subprocess.Popen(
        [node, "shim.js", "0"], cwd=EMULATOR_DIR, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    port = json.loads(process.stdout.readline())["port"]
    return process, f"http://127.0.0.1:{port}"


def update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "居民"},
            "text": text,
        },
    }


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    port = free_port()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/hook"


async def minhu_app(
    api: str, database_url: str, residents: int
) -> tuple[AiogramChannel, web.Application, Any, Deps]:
    port_url = "http://127.0.0.1:1/hook"  # only its path matters to the route
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        telegram_token="1:minhu",
        telegram_api_base=api,
        webhook_url=port_url,
        webhook_secret=SECRET,
        max_new_tickets_per_hour=10_000,
    )
    engine = make_engine(database_url)
    await drop_all(engine)
    await create_all(engine)
    services = Services(settings, engine, make_session_factory(engine), settings.policy())
    await _residents(services, residents)
    deps = services.deps()
    channel = AiogramChannel(settings, deps, ChatLocks(engine))
    app = web.Application()
    channel.mount(app)
    return channel, app, engine, deps


async def _residents(services: Services, count: int) -> None:
    spec = {
        "areas": [
            {
                "code": "c",
                "name": "幸福社区",
                "level": "community",
                "children": [{"code": "g", "name": "第一网格", "level": "grid"}],
            }
        ],
        "people": [{"name": "网格员", "role": "worker", "area": "g", "user_id": "1"}],
    }
    async with services.sessions() as session:
        await load_directory(session, services.policy, parse_directory(spec))
        from sqlmodel import select

        grid = (await session.exec(select(Area).where(Area.code == "g"))).one()
        for update_id in range(1, count + 1):
            await register_person(
                session,
                services.policy,
                channel="telegram",
                channel_user_id=str(resident_of(update_id)),
                chat_id=str(resident_of(update_id)),
                area_id=grid.id,
            )
        await session.commit()


def echo_app(api: str) -> tuple[Bot, web.Application]:
    bot = Bot("2:echo", session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.bot.send_message(message.chat.id, message.text or "")

    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=SECRET).register(
        app, path="/hook"
    )
    return bot, app


class Round(NamedTuple):
    per_s: float  # updates per second
    cpu_us: float  # this process's CPU time per update, in microseconds


async def timed(run: Awaitable[float], updates: int) -> Round:
    started = time.process_time()
    per_s = await run
    return Round(per_s, (time.process_time() - started) / updates * 1e6)


async def drive(url: str, updates: list[dict[str, Any]], concurrency: int) -> float:
    """POST every update, `concurrency` at a time; updates per second."""
    queue = iter(updates)
    async with aiohttp.ClientSession() as http:

        async def client() -> None:
            for body in queue:
                async with http.post(url, json=body, headers={HEADER: SECRET}) as answer:
                    if answer.status != 200:
                        raise RuntimeError(f"webhook answered {answer.status}")
                    await answer.read()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return len(updates) / (time.perf_counter() - started)


async def handle_directly(deps: Deps, updates: list[dict[str, Any]], concurrency: int) -> float:
    """The same updates straight into the handlers; updates per second."""
    events = iter([Update.model_validate(body) for body in updates])

    async def worker() -> None:
        for update in events:
            event = incoming(update)
            assert event is not None
            await handle(deps, event)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(updates) / (time.perf_counter() - started)


async def paced(url: str, updates: list[dict[str, Any]], per_s: float) -> list[float]:
    """POST update n at start + n / per_s, without waiting for the ones before; for each, the ms
    from that scheduled arrival to the webhook's answer (a late start counts as waiting)."""
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        start = loop.time() + 0.05

        async def one(n: int, body: dict[str, Any]) -> float:
            arrival = start + n / per_s
            await asyncio.sleep(arrival - loop.time())
            async with http.post(url, json=body, headers={HEADER: SECRET}) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"webhook answered {answer.status}")
                await answer.read()
            return (loop.time() - arrival) * 1000

        return await asyncio.gather(*(one(n, body) for n, body in enumerate(updates)))


def resident_of(update_id: int) -> int:
    return 10_000 + update_id


def batch(ids: itertools.count, count: int) -> list[dict[str, Any]]:
    updates = []
    for n in range(count):
        update_id = next(ids)
        text = COMPLAINTS[n % len(COMPLAINTS)][0]
        updates.append(update(update_id, resident_of(update_id), text))
    return updates


async def main(args: argparse.Namespace) -> dict[str, Any]:
    emulator, api = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            path = None if args.database_url else f"{scratch}/bench.db"
            database_url = args.database_url or f"sqlite+aiosqlite:///{path}"
            measured = await measure(args, api, database_url, path)
    finally:
        # Also when the set-up fails (say, a database that is not there): no node left running.
        emulator.terminate()
        emulator.wait()
    return report(args, database_url, measured)


# Every kind of round: four webhooks (minhu_app, echo_app, webhook_floors), then handle_directly.
KINDS = ("echo", "minhu", "reply_only", "hand_written_sqlite", "handlers")
# The bots whose latency is measured at PACED_PER_S.
PACED = ("minhu", "echo")


class Measured(NamedTuple):
    rounds: dict[str, list[Round]]
    latency_ms: dict[str, list[float]]  # per bot in PACED, every paced update of every round


async def measure(
    args: argparse.Namespace, api: str, database_url: str, sqlite_path: str | None
) -> Measured:
    """Every kind of round, `args.rounds` times, taking turns, each round followed by the paced
    latency runs; the floor that needs SQLite runs only when `sqlite_path` is the benchmark's
    own database file."""
    # A warm-up, the rounds of each kind and the paced runs: one resident per update id.
    residents = len(KINDS) * (WARM_UP + args.rounds * args.updates)
    residents += len(PACED) * args.rounds * args.paced
    channel, minhu, engine, deps = await minhu_app(api, database_url, residents)
    echo_bot, echo = echo_app(api)
    apps = {
        "echo": echo,
        "minhu": minhu,
        "reply_only": reply_only_app(deps, channel.bot, SECRET),
    }
    database = None if sqlite_path is None else connect(sqlite_path)
    if database is not None:
        apps["hand_written_sqlite"] = hand_written_sqlite_app(deps, channel.bot, SECRET, database)
    served = {name: await serve(app) for name, app in apps.items()}
    ids = itertools.count(1)
    try:
        # Warm-up: the classifier's dictionary, connection pools, the emulator's JIT.
        for _runner, url in served.values():
            await drive(url, batch(ids, WARM_UP), args.concurrency)
        rounds: dict[str, list[Round]] = {name: [] for name in [*served, "handlers"]}
        latency_ms: dict[str, list[float]] = {name: [] for name in PACED}
        for _ in range(args.rounds):
            for name, (_runner, url) in served.items():
                run = drive(url, batch(ids, args.updates), args.concurrency)
                rounds[name].append(await timed(run, args.updates))
            run = handle_directly(deps, batch(ids, args.updates), args.concurrency)
            rounds["handlers"].append(await timed(run, args.updates))
            figures = ", ".join(
                f"{name} {values[-1].per_s:.0f}/s {values[-1].cpu_us:.0f} µs"
                for name, values in rounds.items()
            )
            print(f"round: {figures}", file=sys.stderr)
            for name in PACED:
                url = served[name][1]
                latency_ms[name] += await paced(url, batch(ids, args.paced), PACED_PER_S)
    finally:
        for runner, _url in served.values():
            await runner.cleanup()
        await channel.bot.session.close()
        await echo_bot.session.close()
        await engine.dispose()
        if database is not None:
            database.close()
    return Measured(rounds, latency_ms)


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 1), "p99_ms": round(cuts[98], 1)}


def report(args: argparse.Namespace, database_url: str, measured: Measured) -> dict:
    rounds = measured.rounds
    per_s = {name: statistics.median(r.per_s for r in values) for name, values in rounds.items()}
    cpu_us = {name: statistics.median(r.cpu_us for r in values) for name, values in rounds.items()}

    def ratio(top: str, bottom: str) -> float:
        """Median over rounds of the rate ratio within a round: a busy spell hits both alike."""
        pairs = zip(rounds[top], rounds[bottom], strict=True)
        return round(statistics.median(a.per_s / b.per_s for a, b in pairs), 3)

    def cpu_ratio(top: str, bottom: str) -> float:
        pairs = zip(rounds[top], rounds[bottom], strict=True)
        return round(statistics.median(a.cpu_us / b.cpu_us for a, b in pairs), 3)

    floors = {
        name: {
            "updates_per_s": round(per_s[name], 1),
            "cpu_us_per_update": round(cpu_us[name]),
            "ratio_over_echo": ratio(name, "echo"),
            "cpu_ratio_echo_over_floor": cpu_ratio("echo", name),
        }
        for name in ("reply_only", "hand_written_sqlite")
        if name in rounds
    }
    return {
        "benchmark": "telegram webhook (aiogram) over loopback",
        "database": database_url.split(":", 1)[0] if args.database_url else "sqlite (temporary)",
        "update": "a resident's complaint text: classified, drafted, proposal sent",
        "updates_per_round": args.updates,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "minhu_updates_per_s": round(per_s["minhu"], 1),
        "echo_updates_per_s": round(per_s["echo"], 1),
        "minhu_rounds": [round(r.per_s, 1) for r in rounds["minhu"]],
        "echo_rounds": [round(r.per_s, 1) for r in rounds["echo"]],
        "ratio_minhu_over_echo": ratio("minhu", "echo"),
        "minhu_cpu_us_per_update": round(cpu_us["minhu"]),
        "echo_cpu_us_per_update": round(cpu_us["echo"]),
        "cpu_ratio_echo_over_minhu": cpu_ratio("echo", "minhu"),
        "handlers_only_per_s": round(per_s["handlers"], 1),
        "ratio_webhook_over_handlers": ratio("minhu", "handlers"),
        "floors": floors,
        "latency_at_per_s": PACED_PER_S,
        "latency_updates": len(measured.latency_ms["minhu"]),
        "latency": {name: percentiles(values) for name, values in measured.latency_ms.items()},
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=1000, help="updates per round")
    parser.add_argument("--concurrency", type=int, default=8, help="webhook requests at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--paced", type=int, default=500, help=f"updates per latency run, at {PACED_PER_S}/s"
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--quick", action="store_true", help="200 updates, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.updates, args.rounds, args.paced = 200, 1, 200
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse_args())), ensure_ascii=False, indent=2))
