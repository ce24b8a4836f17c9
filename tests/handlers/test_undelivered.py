"""/undelivered: staff see the messages the delivery loop gave up on, for people in their area."""

from __future__ import annotations

from sqlalchemy import select

from storage import outbox
from storage.models import OutboxMessage


async def _park(sessions, person, key: str, error: str, now) -> None:
    async with sessions() as session:
        outbox.enqueue(
            session,
            dedupe_key=key,
            person_id=person.id,
            channel="telegram",
            chat_id=person.chat_id,
            body={"text": key},
            now=now,
        )
        await session.flush()
        row = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
        ).scalar_one()
        await outbox.park(session, row.id, now=now, error=error)
        await session.commit()


async def test_staff_see_parked_messages_of_their_area_only(chat, cast, sessions, clock):
    await chat.command("staff-s1", "undelivered")
    assert chat.last("staff-s1") == "没有发送失败的消息。"

    blocked = "Forbidden: bot was blocked by the user"
    await _park(sessions, cast["resident"], "east", blocked, clock.now())
    await _park(sessions, cast["resident3"], "west", "Bad Request: chat not found", clock.now())

    await chat.command("staff-s1", "undelivered")
    east = chat.last("staff-s1")
    assert east.startswith("发送失败、已停止重试的消息（1 条）：")
    assert "bot was blocked by the user" in east and "chat not found" not in east

    await chat.command("admin", "undelivered")
    assert "（2 条）" in chat.last("admin")

    await chat.command("resident", "undelivered")
    assert "发送失败" not in chat.last("resident")
