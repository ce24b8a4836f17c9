"""A stop while messages are on their way (SIGTERM): the sends in flight are answered and recorded,
nothing more is started, what was claimed goes back due at once, and a send with no answer is cut
off after the grace instead of holding the stop for its whole timeout."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.delivery.loop import Deliverer, DeliveryPolicy
from bot.delivery.pacing import MemoryPacer, PaceLimits
from bot.delivery.service import serve_channel
from bot.settings import Settings
from bot.wiring import Services
from tests.bot.delivery_kit import RecordingSender, drain, queue, rows, virtual_sleep
from tickets.clock import SystemClock

FAST = PaceLimits(per_second=30, per_chat_seconds=1, per_group_minute=20)
# A stop must never take as long as this; the tests fail instead of hanging.
PATIENCE = 10.0


class HeldSender:
    """Every send reaches the chat at once (`arrived`) and is answered when the test says so."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.answer = asyncio.Event()
        self.closed = False  # the channel's HTTP session

    async def send(self, chat_id: str, body: Mapping[str, Any]) -> None:
        if self.closed:
            raise RuntimeError("Session is closed")
        self.arrived.append(body["text"])
        await self.answer.wait()
        if self.closed:
            raise RuntimeError("Session is closed")  # as aiohttp does under a closed session


def _deliverer(sessions, clock, sender, **policy: Any) -> Deliverer:
    return Deliverer(
        sessions,
        sender,
        MemoryPacer(FAST),
        clock,
        virtual_sleep(clock),
        policy=DeliveryPolicy(batch=50, concurrency=4, **policy),
        rng=random.Random(3),
    )


async def _until(condition) -> None:
    async with asyncio.timeout(PATIENCE):
        while not condition():
            await asyncio.sleep(0)


async def test_a_stop_records_the_sends_in_flight_and_hands_back_the_rest(sessions, clock):
    texts = await queue(sessions, clock.now(), [str(chat) for chat in range(20)])
    sender = HeldSender()
    live = _deliverer(sessions, clock, sender)
    stop = asyncio.Event()
    running = asyncio.create_task(live.deliver_forever(stop))
    await _until(lambda: len(sender.arrived) == 4)  # all four places in flight taken

    stop.set()
    sender.answer.set()
    async with asyncio.timeout(PATIENCE):
        await running

    in_flight = sender.arrived[:4]
    assert sender.arrived == in_flight  # nothing started after the stop
    stored = await rows(sessions)
    assert all(stored[text].sent_at is not None for text in in_flight)
    rest = [stored[text] for text in texts if text not in in_flight]
    # Handed back, due at once for the next deliverer: not held for the lease.
    assert all(row.sent_at is None and row.next_attempt_at <= clock.now() for row in rest)
    assert all(row.attempts == 0 for row in rest)

    after = RecordingSender(clock)
    await drain(_deliverer(sessions, clock, after), clock)
    assert sorted(in_flight + [text for _, text, _ in after.sent]) == sorted(texts)


async def test_a_send_with_no_answer_is_cut_off_after_the_grace_not_its_timeout(sessions, clock):
    await queue(sessions, clock.now(), ["1"])
    sender = HeldSender()  # never answered
    live = _deliverer(sessions, clock, sender, send_timeout=30, stop_grace=2)
    stop = asyncio.Event()
    running = asyncio.create_task(live.deliver_forever(stop))
    await _until(lambda: sender.arrived == ["m0"])
    stopped_at = clock.now()

    stop.set()
    async with asyncio.timeout(PATIENCE):  # real seconds: the 30 s send timeout must not run
        await running

    assert clock.now() - stopped_at < timedelta(seconds=30)  # the grace, not the timeout
    row = (await rows(sessions))["m0"]
    # Its outcome is unknown: retried later like a timeout, with the reason kept.
    assert row.sent_at is None and row.parked_at is None
    assert row.attempts == 1 and "TimeoutError" in (row.last_error or "")
    assert row.next_attempt_at < stopped_at + timedelta(seconds=120)  # not the lease's end


class FakeChannel:
    """A channel whose stop closes the HTTP session its sender uses, as both adapters do."""

    def __init__(self) -> None:
        self.sender = HeldSender()
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.ready.set()
        await stop.wait()
        self.sender.closed = True


async def test_the_channel_stays_open_until_its_deliveries_are_answered(sessions, database_url):
    await queue(sessions, SystemClock().now(), ["1"])  # the services' clock is the system's
    settings = Settings(_env_file=None, database_url=database_url)
    policy = settings.policy()
    services = Services(settings, sessions.kw["bind"], sessions, policy)
    channel = FakeChannel()
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_channel(services, channel, stop))
    await _until(lambda: channel.sender.arrived == ["m0"])

    stop.set()
    await asyncio.sleep(0)  # let the channel see the stop, if it were going to
    channel.sender.answer.set()
    async with asyncio.timeout(PATIENCE):
        await serving

    row = (await rows(sessions))["m0"]
    assert row.sent_at is not None and row.last_error is None
    assert channel.sender.closed
