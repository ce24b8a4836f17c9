"""The real delivery loop against the emulator: Telegram's 429 is honoured (everyone waits, then
everything arrives once) and the loop keeps to the per-chat pace while it drains a queue."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from typing import Any

from sqlmodel import col, func, select

from bot.delivery.sending import RetryAfter, Sender
from bot.telegram.aiogram_adapter import AiogramSender, make_bot
from storage.engine import make_engine, make_session_factory
from storage.models import OutboxMessage
from storage.outbox import enqueue_many, outbox_row
from tests.e2e.emulator import Emulator
from tests.e2e.harness import deliver_outbox, fresh_database, settings_for
from tickets.clock import SystemClock

CHATS = (6001, 6002, 6003, 6004)
PER_CHAT = 3


class Recording:
    """The real sender, with the moment of every send and every 429 noted."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.sent: list[tuple[float, str]] = []
        self.refused: list[tuple[float, float]] = []

    async def send(self, chat_id: str, body: Mapping[str, Any]) -> None:
        # When the send left, which the pacer governs; when its answer came back varies with
        # the round trip, and on a busy machine that alone moved two sends 10 ms closer.
        started = time.monotonic()
        try:
            await self.sender.send(chat_id, body)
        except RetryAfter as error:
            self.refused.append((time.monotonic(), error.seconds))
            raise
        self.sent.append((started, chat_id))


async def test_a_429_pauses_everyone_and_the_queue_drains_once_at_the_chat_pace(
    emulator: Emulator, token: str, tmp_path
):
    settings = settings_for(emulator.url, token, f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    await fresh_database(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    now = SystemClock().now()
    rows = [
        outbox_row(
            dedupe_key=f"e2e:{chat}:{n}",
            person_id=None,
            channel="telegram",
            chat_id=str(chat),
            body={"text": f"消息 {chat}-{n}", "buttons": []},
            now=now,
        )
        for n in range(PER_CHAT)
        for chat in CHATS
    ]
    async with sessions() as session, session.begin():
        await enqueue_many(session, rows)
    await emulator.fail("sendMessage", 2, retry_after=2)
    bot = make_bot(settings)
    sender = Recording(AiogramSender(bot))
    stop = asyncio.Event()
    delivering = asyncio.create_task(deliver_outbox(sessions, sender, settings, stop))
    try:
        deadline = time.monotonic() + 90
        while await _unsent(sessions):
            assert time.monotonic() < deadline, "the outbox did not drain within 90 s"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(delivering, timeout=30)
        await bot.session.close()
        await engine.dispose()

    # Every message arrived, once, in its chat's order.
    for chat in CHATS:
        person = emulator.person(token, chat, f"居民{chat}")
        texts = [(await person.next()).text for _ in range(PER_CHAT)]
        assert texts == [f"消息 {chat}-{n}" for n in range(PER_CHAT)]
        assert await person.quiet(0.3) == []
    # The 429s were met, and nothing went out while Telegram asked us to wait.
    assert len(sender.refused) == 2
    first_refusal, wait = sender.refused[0]
    assert not [at for at, _chat in sender.sent if first_refusal < at < first_refusal + wait]
    # One chat never got two messages within a second.
    for chat in CHATS:
        times = [at for at, to in sender.sent if to == str(chat)]
        assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(times))


async def _unsent(sessions) -> int:
    async with sessions() as session:
        query = select(func.count()).where(col(OutboxMessage.sent_at).is_(None))
        return (await session.exec(query)).one()
