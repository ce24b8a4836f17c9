"""Two `minhu run` processes behind one webhook, sharing one PostgreSQL database: a round-robin
proxy (the load balancer) hands Telegram's updates to either, the conversation goes on wherever
the next update lands, and a redelivered update does nothing in the other process."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from storage.engine import make_engine, make_session_factory
from storage.models import ProcessedUpdate, Ticket
from tests.conftest import postgres_url
from tests.e2e.emulator import Emulator
from tests.e2e.harness import (
    IDS,
    RESIDENT,
    SECRET,
    accept,
    free_port,
    fresh_database,
    load_cast,
    minhu_environment,
    resolve,
    settings_for,
)

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).parents[2]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class RoundRobin:
    """The load balancer in front of the processes: each update to the next one in turn."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.turns = itertools.cycle(range(len(backends)))
        self.served: Counter[int] = Counter()
        self.updates: list[tuple[int, dict[str, Any]]] = []

    async def forward(self, request: web.Request) -> web.Response:
        index = next(self.turns)
        body = await request.json()
        headers = {SECRET_HEADER: request.headers.get(SECRET_HEADER, "")}
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.backends[index], json=body, headers=headers) as answer,
        ):
            if answer.status == 200:
                self.served[index] += 1
                self.updates.append((index, body))
            return web.Response(status=answer.status, body=await answer.read())


@contextlib.asynccontextmanager
async def listening(app: web.Application, port: int) -> AsyncIterator[None]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def wait_listening(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        assert process.poll() is None, "a bot process exited early"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            assert loop.time() < deadline, f"nothing listens on {port}"
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return


async def wait_webhook_set(emulator: Emulator, token: str, timeout: float = 60) -> None:
    """Listening is not enough: updates reach the processes only once one has called
    setWebhook (after its start-up), so the story must not begin before."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while token not in (await emulator.state())["webhooks"]:
        assert loop.time() < deadline, "no process set the webhook"
        await asyncio.sleep(0.1)


async def test_two_processes_serve_one_bot_behind_one_webhook(
    emulator: Emulator, token: str, tmp_path: Path
):
    database_url = postgres_url()
    await fresh_database(database_url)
    settings = settings_for(emulator.url, token, database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    await load_cast(sessions, settings)

    ports = [free_port(), free_port()]
    proxy_port = free_port()
    balancer = RoundRobin([f"http://127.0.0.1:{port}/tg/hook" for port in ports])
    proxy = web.Application()
    proxy.router.add_post("/tg/hook", balancer.forward)
    environment = minhu_environment(
        database_url,
        token,
        emulator.url,
        webhook_url=f"http://127.0.0.1:{proxy_port}/tg/hook",
        webhook_secret=SECRET,
        sweep_seconds="3600",
    )
    logs = [(tmp_path / f"bot{index}.log").open("w+") for index in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env={**environment, "MINHU_LISTEN_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    # No delivery here: the two processes deliver the outbox themselves, side by side.
    try:
        async with listening(proxy, proxy_port):
            for port, process in zip(ports, processes, strict=True):
                await wait_listening(port, process)
            await wait_webhook_set(emulator, token)
            await _ticket_story(emulator, token, sessions)
            assert min(balancer.served.values()) >= 3, balancer.served
            await _redelivery_is_ignored(emulator, token, balancer, ports)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process, log in zip(processes, logs, strict=True):
            log.seek(0)
            assert process.wait(timeout=60) == 0, log.read()
    finally:
        for process in processes:
            process.kill()
        await engine.dispose()


async def _ticket_story(emulator: Emulator, token: str, sessions) -> None:
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")
    await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便")
    await resident.expect("您反映的问题")
    await resident.press("提交")
    accepted = await resident.expect("已受理，工单号")
    async with sessions() as session:
        number = (await session.exec(select(Ticket))).one().number
    assert number in accepted.text
    await worker.expect(f"【新派单】工单 {number}")
    await accept(worker, resident, number)
    await resolve(worker, resident, number, "已更换灯泡")
    await resident.press("已解决")
    await resident.expect("您对办理结果满意吗")
    await resident.press("满意")
    await resident.expect("还有什么想说的吗")
    await resident.press("跳过")
    await resident.expect(f"感谢您的评价！工单 {number} 已办结归档。")
    async with sessions() as session:
        handled = (await session.exec(select(ProcessedUpdate))).all()
        assert (await session.exec(select(Ticket))).one().state == "closed"
    assert len(handled) == 8  # every update the people sent, recorded once


async def _redelivery_is_ignored(emulator, token, balancer: RoundRobin, ports) -> None:
    """The last update again, straight to the process that did not handle it (as after a
    timeout on Telegram's side): accepted, and nobody hears anything twice."""
    index, update = balancer.updates[-1]
    other = f"http://127.0.0.1:{ports[1 - index]}/tg/hook"
    async with aiohttp.ClientSession() as http:
        async with http.post(other, json=update, headers={SECRET_HEADER: SECRET}) as answer:
            assert answer.status == 200
        async with http.post(other, json=update, headers={SECRET_HEADER: "forged"}) as answer:
            assert answer.status == 401
    resident = emulator.person(token, RESIDENT, "张阿姨")
    resident.read = len(resident.inbox)
    assert await resident.quiet(1.0) == []
