"""Benchmark of the Telegram webhook path (issue #5's benchmark).

Updates per second handled by MinHu through aiogram's webhook over loopback: each update is a
resident's complaint text POSTed with the secret-token header to the aiohttp route; the webhook
answers after the update is handled (classified, kept as a draft in the database, the proposal
sent to the Bot API). Every update comes from a resident of its own, so every one is a first
complaint and every round does the same work (a second text from a resident whose proposal waits
would be added to the draft and classified with it, a different and growing workload). The Bot
API is the project's emulator (tests/e2e/emulator, `npm ci` there first).

Baseline in the same run: a bare aiogram echo bot behind the same kind of webhook (the same
aiohttp handler, the same secret check, one sendMessage per update to the same emulator). Rounds
alternate between the two so machine noise hits both alike; the median round counts.

    python bench/bench_webhook.py [--updates N] [--concurrency C] [--rounds R] [--quick]
                                  [--database-url URL]

A second reference, to show where the time goes: the same updates handed straight to
`handlers.dispatch.handle` in this process (no HTTP, no aiogram, nothing sent), so
`ratio_webhook_over_handlers` is what the adapter and the two HTTP hops cost.

Prints one JSON object on stdout. Target: ratio MinHu / echo ≥ 0.5.
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

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
TARGET_RATIO = 0.5
WARM_UP = 50


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
    with tempfile.TemporaryDirectory() as scratch:
        database_url = args.database_url or f"sqlite+inloop:///{scratch}/bench.db"
        # Two warm-ups of WARM_UP, then three kinds of round: one resident per update id.
        residents = 2 * WARM_UP + 3 * args.rounds * args.updates
        channel, minhu, engine, deps = await minhu_app(api, database_url, residents)
        echo_bot, echo = echo_app(api)
        minhu_runner, minhu_url = await serve(minhu)
        echo_runner, echo_url = await serve(echo)
        ids = itertools.count(1)
        try:
            # Warm-up: the classifier's dictionary, connection pools, the emulator's JIT.
            await drive(minhu_url, batch(ids, WARM_UP), args.concurrency)
            await drive(echo_url, batch(ids, WARM_UP), args.concurrency)
            rounds: dict[str, list[float]] = {"minhu": [], "echo": [], "handlers": []}
            for _ in range(args.rounds):
                rounds["echo"].append(
                    await drive(echo_url, batch(ids, args.updates), args.concurrency)
                )
                rounds["minhu"].append(
                    await drive(minhu_url, batch(ids, args.updates), args.concurrency)
                )
                rounds["handlers"].append(
                    await handle_directly(deps, batch(ids, args.updates), args.concurrency)
                )
                figures = ", ".join(f"{name} {values[-1]:.0f}/s" for name, values in rounds.items())
                print(f"round: {figures}", file=sys.stderr)
        finally:
            await minhu_runner.cleanup()
            await echo_runner.cleanup()
            await channel.bot.session.close()
            await echo_bot.session.close()
            await engine.dispose()
            emulator.terminate()
            emulator.wait()
    minhu_per_s = statistics.median(rounds["minhu"])
    echo_per_s = statistics.median(rounds["echo"])
    handlers_per_s = statistics.median(rounds["handlers"])
    ratio = minhu_per_s / echo_per_s
    return {
        "benchmark": "telegram webhook (aiogram) over loopback",
        "database": database_url.split(":", 1)[0] if args.database_url else "sqlite (temporary)",
        "update": "a resident's complaint text: classified, drafted, proposal sent",
        "updates_per_round": args.updates,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "minhu_updates_per_s": round(minhu_per_s, 1),
        "echo_updates_per_s": round(echo_per_s, 1),
        "minhu_rounds": [round(value, 1) for value in rounds["minhu"]],
        "echo_rounds": [round(value, 1) for value in rounds["echo"]],
        "ratio_minhu_over_echo": round(ratio, 3),
        "handlers_only_per_s": round(handlers_per_s, 1),
        "ratio_webhook_over_handlers": round(minhu_per_s / handlers_per_s, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=1000, help="updates per round")
    parser.add_argument("--concurrency", type=int, default=8, help="webhook requests at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--quick", action="store_true", help="200 updates, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.updates, args.rounds = 200, 1
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse_args())), ensure_ascii=False, indent=2))
