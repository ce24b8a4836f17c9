"""Running MinHu's Telegram channel against the emulator: a fresh database with the test cast
(numeric Telegram ids), the channel served in this process, and the real outbox delivery loop
so messages for other people arrive too."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.delivery.loop import deliver_forever
from bot.delivery.pacing import build_pacer
from bot.delivery.sending import Sender
from bot.settings import Settings
from bot.telegram.serve import TelegramChannel, telegram_channel
from bot.wiring import Services
from storage.engine import SessionFactory, make_engine, make_session_factory
from storage.schema import upgrade_async
from tests.factories import DIRECTORY
from tickets.areas import get_area_by_code
from tickets.clock import Clock, SystemClock
from tickets.directory import load_directory, parse_directory
from tickets.people import register_person, set_home_area

# The cast of tests/factories.py, with the numeric ids Telegram gives people.
IDS = {
    "admin": 1001,
    "staff-s1": 2001,
    "staff-c1": 2002,
    "staff-s2": 2003,
    "worker-g1": 3001,
    "worker-g2": 3002,
    "worker-g3": 3003,
    "dept-cg": 4001,
    "dept-zj": 4002,
    "dept-sw": 4003,
}
RESIDENT, RESIDENT2 = 5001, 5002
SECRET = "e2e-secret_token"


ROOT = Path(__file__).parents[2]


def minhu_environment(database_url: str, token: str, api_base: str, **settings: str) -> dict:
    """The environment of a `python -m bot …` child process: this one's without any MINHU_
    variable, then the bot's database, token and Bot API, and `settings` as MINHU_ names
    (`log_level="DEBUG"` → MINHU_LOG_LEVEL)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINHU_")},
        "PYTHONPATH": str(ROOT),
        "MINHU_DATABASE_URL": database_url,
        "MINHU_TELEGRAM_TOKEN": token,
        "MINHU_TELEGRAM_API_BASE": api_base,
        **{f"MINHU_{name.upper()}": value for name, value in settings.items()},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def fresh_database(url: str) -> None:
    """An empty database brought to the newest schema by the real migrations."""
    if make_url(url).get_backend_name() == "postgresql":
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await upgrade_async(url)


async def load_cast(sessions: SessionFactory, settings: Settings) -> None:
    directory = copy.deepcopy(DIRECTORY)
    for person in directory["people"]:
        person["user_id"] = str(IDS[person["user_id"]])
    policy = settings.policy()
    async with sessions() as session:
        await load_directory(session, policy, parse_directory(directory))
        grid = await get_area_by_code(session, "g1")
        for resident in (RESIDENT, RESIDENT2):
            person = await register_person(
                session,
                policy,
                channel="telegram",
                channel_user_id=str(resident),
                chat_id=str(resident),
            )
            await set_home_area(session, person, grid.id)
        await session.commit()


def settings_for(emulator_url: str, token: str, database_url: str, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        telegram_token=token,
        telegram_api_base=emulator_url,
        max_new_tickets_per_hour=100,
        **extra,
    )


async def deliver_outbox(
    sessions: SessionFactory, sender: Sender, settings: Settings, stop: asyncio.Event
) -> None:
    """The real delivery loop of bot/delivery (pacing from `settings`, retries, 429s) until
    `stop`: messages for other people reach the emulator the way they reach Telegram."""
    await deliver_forever(sessions, sender, build_pacer(settings), SystemClock(), stop)


@dataclass
class RunningBot:
    services: Services
    channel: TelegramChannel
    webhook_port: int | None


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    webhook_port: int | None = None,
    deliver: bool = True,
    clock: Clock | None = None,
) -> AsyncIterator[RunningBot]:
    """The channel served in this process (polling, or webhook on `webhook_port`), with the
    outbox drained, on a database prepared by the caller. `clock` is the domain's (the
    delivery keeps the real one: a manual clock set in the past sends at once)."""
    engine = make_engine(settings.database_url)
    services = Services(settings, engine, make_session_factory(engine), settings.policy(clock))
    channel = telegram_channel(services)
    # Two stops, as in bot.delivery.service.serve_channel: the delivery finishes its sends in
    # flight before the channel closes the HTTP session under them.
    stop, delivery_stop = asyncio.Event(), asyncio.Event()
    runner = None
    if webhook_port is not None:
        app = web.Application()
        channel.mount(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", webhook_port).start()
    serving = asyncio.create_task(channel.run(stop))
    ready = asyncio.create_task(channel.ready.wait())
    await asyncio.wait({serving, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not channel.ready.is_set():
        ready.cancel()
        stop.set()
        await serving  # raises what went wrong
        raise RuntimeError("the Telegram channel did not start within 60 s")
    delivering = None
    if deliver:
        delivering = asyncio.create_task(
            deliver_outbox(services.sessions, channel.sender, settings, delivery_stop)
        )
    try:
        yield RunningBot(services, channel, webhook_port)
    finally:
        delivery_stop.set()
        if delivering is not None:
            await asyncio.wait_for(delivering, timeout=30)
        stop.set()
        await asyncio.wait_for(serving, timeout=30)
        if runner is not None:
            await runner.cleanup()
        await engine.dispose()


async def accept(worker: Any, resident: Any, number: str) -> None:
    """接单: the worker takes the assignment ping's button; both sides hear it."""
    await worker.press("接单")
    await worker.expect(f"已接单：工单 {number}")
    await resident.expect(f"工单 {number} 网格员已接单")


async def resolve(worker: Any, resident: Any, number: str, reply: str) -> None:
    """办结 with `reply`: the worker is told, the resident reads the reply."""
    await worker.press("办结")
    await worker.expect("请输入给居民的办理结果答复")
    await worker.say(reply)
    await worker.expect(f"工单 {number} 已办结")
    await resident.expect(f"工单 {number} 已办结")
