"""The outbox's bulk queueing: once per dedupe key, and only if the transaction commits."""

from __future__ import annotations

from sqlmodel import select

from storage.models import OutboxMessage
from storage.outbox import enqueue_many, outbox_row
from tests.conftest import MONDAY_10AM


def _rows(*keys: str) -> list[dict]:
    return [
        outbox_row(
            dedupe_key=key,
            person_id=None,
            channel="telegram",
            chat_id="42",
            body={"text": f"提醒 {key}", "buttons": []},
            now=MONDAY_10AM,
        )
        for key in keys
    ]


async def _queued(sessions) -> dict[str, OutboxMessage]:
    async with sessions() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return {row.dedupe_key: row for row in rows}


async def test_each_key_is_queued_once_across_batches_and_transactions(sessions):
    async with sessions() as session, session.begin():
        await enqueue_many(session, _rows("a", "b", "a"))
        await enqueue_many(session, _rows("b", "c"))
    async with sessions() as session, session.begin():
        await enqueue_many(session, _rows("c", "d"))
    queued = await _queued(sessions)
    assert sorted(queued) == ["a", "b", "c", "d"]
    assert queued["a"].body == {"text": "提醒 a", "buttons": []}
    assert queued["d"].next_attempt_at == MONDAY_10AM
    assert queued["d"].attempts == 0 and queued["d"].sent_at is None


async def test_a_rolled_back_sweep_queues_nothing(sessions):
    async with sessions() as session:
        await session.begin()
        await enqueue_many(session, _rows("x", "y"))
        await session.rollback()
    async with sessions() as session, session.begin():
        await enqueue_many(session, _rows("z"))
    assert sorted(await _queued(sessions)) == ["z"]
