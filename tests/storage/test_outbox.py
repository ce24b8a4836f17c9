"""The outbox's bulk queueing: once per dedupe key, and only if the transaction commits."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import OutboxMessage
from storage.outbox import claim_due, enqueue_many, mark_sent, outbox_row, retry_later
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


async def test_a_chat_later_message_waits_while_an_earlier_one_is_pending(sessions):
    """Order per chat lives in the database, so it holds across processes and restarts: a
    message waiting for its retry holds back the chat's later ones, other chats go on."""
    other_chat = _rows("other")[0] | {"chat_id": "43"}
    async with sessions() as session, session.begin():
        await enqueue_many(session, [*_rows("first", "second"), other_chat])
    later = MONDAY_10AM + timedelta(minutes=5)
    async with sessions() as session, session.begin():
        claimed = await claim_due(
            session, channel="telegram", now=MONDAY_10AM, lease_until=later, limit=10
        )
        assert [message.body["text"] for message in claimed] == ["提醒 first", "提醒 other"]
        first, other = claimed
        await retry_later(session, first.id, at=later, error="timeout")
        await mark_sent(session, other.id, MONDAY_10AM)
    for _ in range(2):  # whoever claims next, and however often: the second waits
        async with sessions() as session, session.begin():
            claimed = await claim_due(
                session, channel="telegram", now=MONDAY_10AM, lease_until=later, limit=10
            )
            assert claimed == []
    async with sessions() as session, session.begin():
        await mark_sent(session, first.id, later)
        claimed = await claim_due(
            session, channel="telegram", now=later, lease_until=later, limit=10
        )
        assert [message.body["text"] for message in claimed] == ["提醒 second"]
