"""The delivery process killed mid-queue (SIGKILL) and started again: nothing is lost, and the
only messages that may arrive twice are the ones whose send was in flight at the kill."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
from pathlib import Path

import pytest

from storage.outbox import outbox_counts
from tests.bot.bot_api_stub import BotApiStub, serve
from tests.bot.delivery_kit import queue
from tickets.clock import SystemClock

ROOT = Path(__file__).resolve().parents[2]
TOTAL, KILL_AFTER = 300, 100


async def start_child(database_url: str, api_base: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bot.delivery_child",
        database_url,
        api_base,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def until(condition, seconds: float = 60.0) -> None:
    """Poll a condition (not a timer) until it holds."""
    async with asyncio.timeout(seconds):
        while not await condition():
            await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_killed_mid_queue_loses_nothing_and_doubles_only_what_was_in_flight(
    sessions, database_url
):
    texts = await queue(sessions, SystemClock().now(), [str(1000 + i % 50) for i in range(TOTAL)])
    stub = BotApiStub(per_second=1000, per_chat_seconds=0, reach_at=KILL_AFTER)
    runner, base = await serve(stub)
    child = await start_child(database_url, base)
    try:
        async with asyncio.timeout(60):
            await stub.reached.wait()
        # From now on the server takes requests and never answers: those sends are in flight.
        stub.hold = True
        answered = len(stub.accepted)

        async def answered_recorded_and_one_in_flight() -> bool:
            async with sessions() as session:
                recorded = (await outbox_counts(session))["sent"] >= answered
            return recorded and bool(stub.held)

        await until(answered_recorded_and_one_in_flight)
        child.send_signal(signal.SIGKILL)
        assert await child.wait() == -signal.SIGKILL
        in_flight = {arrival.text for arrival in stub.held}

        stub.let_go()
        child = await start_child(database_url, base)
        async with asyncio.timeout(120):
            assert await child.wait() == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await runner.cleanup()

    arrived = collections.Counter(arrival.text for arrival in stub.accepted)
    arrived.update(in_flight)  # the server received them, though it never answered
    assert set(arrived) == set(texts)
    doubled = {text for text, count in arrived.items() if count > 1}
    assert all(count <= 2 for count in arrived.values())
    assert doubled == in_flight  # exactly the sends in flight at the kill, and only those
    assert 0 < len(in_flight) <= 4  # at most `concurrency` of them
    async with sessions() as session:
        assert await outbox_counts(session) == {"pending": 0, "parked": 0, "sent": TOTAL}
