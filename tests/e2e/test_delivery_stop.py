"""`minhu run` stopped (SIGTERM) while messages are on their way, again and again, with either
framework and either database: every message reaches its chat exactly once and in order, and
every stop takes a few seconds at most.

A proxy sits between MinHu and the emulator. It passes every call on at once — a message is in
the person's chat as soon as MinHu sends it — but answers sendMessage only after `LATENCY`, as a
distant Telegram would: at any moment some messages are delivered and not yet acknowledged,
which is exactly when a stop must neither send them again nor lose them.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from storage.engine import make_engine, make_session_factory
from storage.outbox import enqueue_many, outbox_counts, outbox_row
from tests.e2e.emulator import Emulator
from tests.e2e.harness import free_port, fresh_database, minhu_environment
from tickets.clock import SystemClock

CHATS = [7001 + index for index in range(24)]
PER_CHAT = 4
LATENCY = 0.5  # seconds between a message reaching the chat and MinHu hearing so
STOPS = 3
STOP_WITHIN = 5.0


class SlowAnswers:
    """Forwards every Bot API call to the emulator; sendMessage's answer comes `LATENCY` late."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.passed_on = 0  # sendMessage calls the emulator has taken
        self.answered = 0
        self.http: aiohttp.ClientSession | None = None

    @property
    def unanswered(self) -> int:
        return self.passed_on - self.answered

    async def forward(self, request: web.Request) -> web.Response:
        assert self.http is not None
        body = await request.read()
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        url = f"{self.upstream}{request.path_qs}"
        try:
            async with self.http.request(request.method, url, data=body, headers=headers) as answer:
                payload, status = await answer.read(), answer.status
                content_type = answer.headers.get("Content-Type", "application/json")
        except aiohttp.ClientError:
            return web.Response(status=502)
        if request.path.endswith("/sendMessage"):
            self.passed_on += 1
            try:
                await asyncio.sleep(LATENCY)  # the network's latency, not a wait in the test
            finally:
                self.answered += 1
        return web.Response(status=status, body=payload, headers={"Content-Type": content_type})


async def _queue(database_url: str) -> list[tuple[int, str]]:
    engine = make_engine(database_url)
    now = SystemClock().now()
    messages = [(chat, f"消息 {chat}-{n}") for n in range(PER_CHAT) for chat in CHATS]
    rows = [
        outbox_row(
            dedupe_key=text,
            person_id=None,
            channel="telegram",
            chat_id=str(chat),
            body={"text": text, "buttons": []},
            now=now,
        )
        for chat, text in messages
    ]
    try:
        async with make_session_factory(engine)() as session, session.begin():
            await enqueue_many(session, rows)
    finally:
        await engine.dispose()
    return messages


async def _counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            return await outbox_counts(session, channel="telegram")
    finally:
        await engine.dispose()


async def _until(condition, what: str, log, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            log.seek(0)
            raise AssertionError(f"{what}; its log:\n{log.read()}")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_stops_while_sending_deliver_every_message_once_in_order(
    framework: str, database_url: str, emulator: Emulator, token: str, tmp_path: Path
):
    await fresh_database(database_url)
    messages = await _queue(database_url)
    proxy = SlowAnswers(emulator.url)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    proxy_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", proxy_port).start()
    environment = minhu_environment(
        database_url,
        token,
        f"http://127.0.0.1:{proxy_port}",
        telegram_framework=framework,
        sweep_seconds="3600",
    )
    log = (tmp_path / "minhu.log").open("w+")
    stop_seconds: list[float] = []
    process: subprocess.Popen | None = None
    proxy.http = aiohttp.ClientSession()
    try:
        for stop in range(STOPS + 1):
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=tmp_path,
                env={**environment, "MINHU_LISTEN_PORT": str(free_port())},
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            if stop < STOPS:
                # Stopped mid-queue, with messages delivered and their answers on the way.
                enough = (stop + 1) * len(messages) // (STOPS + 2)

                async def mid_queue(enough: int = enough) -> bool:
                    return proxy.answered >= enough and proxy.unanswered > 0

                await _until(
                    mid_queue,
                    f"{framework}: run {stop} sent too little",
                    log,
                )
            else:

                async def drained() -> bool:
                    await asyncio.sleep(0.1)
                    return (await _counts(database_url))["pending"] == 0

                await _until(drained, "the queue did not drain", log, 120)
            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(process.wait, 60)
            stop_seconds.append(time.monotonic() - began)
            log.seek(0)
            assert code == 0, log.read()
    finally:
        if process is not None and process.poll() is None:
            process.kill()
        await proxy.http.close()
        await runner.cleanup()

    # Every message counted: each arrived exactly once, and each chat read them in order.
    people = [emulator.person(token, chat, f"居民{chat}") for chat in CHATS]
    arrived = await asyncio.gather(*(person.quiet(0.5) for person in people))
    times = collections.Counter(text for texts in arrived for text in texts)
    twice = sorted(text for text, count in times.items() if count > 1)
    lost = sorted(text for _, text in messages if text not in times)
    assert (twice, lost) == ([], []), f"{len(twice)} arrived twice, {len(lost)} never arrived"
    for chat, texts in zip(CHATS, arrived, strict=True):
        assert texts == [text for to, text in messages if to == chat]
    assert await _counts(database_url) == {"pending": 0, "parked": 0, "sent": len(messages)}
    assert proxy.passed_on == len(messages)
    assert max(stop_seconds) < STOP_WITHIN, stop_seconds
