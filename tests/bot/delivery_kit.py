"""Test kit for the delivery loop: a recording sender that fails on chosen calls, a sleep that moves
a ManualClock instead of waiting, queueing helpers, and a drain that jumps the clock to the next due
message."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.delivery.loop import Deliverer, DeliveryReport
from bot.delivery.sending import ChatUnreachable
from storage import outbox
from storage.engine import SessionFactory
from storage.models import OutboxMessage
from storage.outbox import enqueue_many, outbox_row
from tickets.clock import ManualClock


class RecordingSender:
    """Records (chat, text, time) of every successful send; `failures[n]` is raised on call n
    (1-based); chats in `blocked` raise ChatUnreachable every time."""

    def __init__(
        self,
        clock: ManualClock,
        failures: Mapping[int, Exception] | None = None,
        blocked: set[str] | None = None,
    ) -> None:
        self.clock = clock
        self.failures = dict(failures or {})
        self.blocked = blocked or set()
        self.calls: list[tuple[str, str, float]] = []
        self.sent: list[tuple[str, str, float]] = []

    async def send(self, chat_id: str, body: Mapping[str, Any]) -> None:
        call = (chat_id, body["text"], self.clock.now().timestamp())
        self.calls.append(call)
        failure = self.failures.pop(len(self.calls), None)
        if failure is not None:
            raise failure
        if chat_id in self.blocked:
            raise ChatUnreachable("Forbidden: bot was blocked by the user")
        self.sent.append(call)


def virtual_sleep(clock: ManualClock):
    async def sleep(seconds: float) -> None:
        # Let the sends just started run at the current time, then jump; rounded up to the
        # clock's microseconds, as a real sleep never wakes early.
        await asyncio.sleep(0)
        clock.advance(timedelta(microseconds=math.ceil(seconds * 1_000_000)))

    return sleep


async def queue(
    sessions: SessionFactory,
    now: datetime,
    chats: list[str],
    *,
    channel: str = "telegram",
    prefix: str = "m",
) -> list[str]:
    """One message per entry of `chats`, texts m0, m1, …; returns the texts in queue order."""
    texts = [f"{prefix}{index}" for index in range(len(chats))]
    rows = [
        outbox_row(
            dedupe_key=text,
            person_id=None,
            channel=channel,
            chat_id=chat,
            body={"text": text},
            now=now,
        )
        for text, chat in zip(texts, chats, strict=True)
    ]
    async with sessions() as session:
        await enqueue_many(session, rows)
        await session.commit()
    return texts


async def rows(sessions: SessionFactory) -> dict[str, OutboxMessage]:
    async with sessions() as session:
        found = (await session.exec(select(OutboxMessage))).scalars().all()
    return {row.body["text"]: row for row in found}


async def next_due(sessions: SessionFactory, channel: str = "telegram") -> datetime | None:
    async with sessions() as session:
        return await outbox.next_attempt_at(session, channel=channel)


async def drain(deliverer: Deliverer, clock: ManualClock, *, rounds: int = 500) -> DeliveryReport:
    """Deliver until nothing is pending, jumping the clock to each next due message."""
    total = DeliveryReport()
    for _ in range(rounds):
        total.add(await deliverer.deliver_once())
        due = await next_due(deliverer.sessions, deliverer.channel)
        if due is None:
            return total
        if due > clock.now():
            clock.set(due)
    raise AssertionError("the outbox did not drain")
