"""The outbox seen by staff (parked messages, counts) and the retention of sent messages and
processed update ids."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage import outbox
from storage.models import OutboxMessage, ProcessedUpdate
from storage.retention import Purged, purge_expired
from storage.updates import claim_update
from tests.factories import cast_in


def _row(key: str, person, now, chat: str = "1") -> dict:
    return outbox.outbox_row(
        dedupe_key=key,
        person_id=person.id if person else None,
        channel="telegram",
        chat_id=chat,
        body={"text": key},
        now=now,
    )


async def test_parked_messages_are_listed_per_subtree_with_their_error(sessions, policy, clock):
    cast = await cast_in(sessions, policy)
    now = clock.now()
    async with sessions() as session:
        await outbox.enqueue_many(
            session,
            [
                _row("east", cast["resident"], now),  # lives in g1, under s1
                _row("west", cast["resident3"], now),  # lives in g3, under s2
                _row("fine", cast["resident"], now),
            ],
        )
        await session.commit()
    async with sessions() as session:
        ids = {
            row.body["text"]: row.id
            for row in (await session.exec(select(OutboxMessage))).scalars()
        }
        await outbox.park(session, ids["east"], now=now, error="ChatUnreachable: bot was blocked")
        await outbox.park(session, ids["west"], now=now + timedelta(minutes=1), error="gone")
        await outbox.mark_sent(session, ids["fine"], now)
        await session.commit()

    async with sessions() as session:
        everywhere = await outbox.parked_messages(session)
        east = await outbox.parked_messages(session, area_path=cast.areas["s1"].path)
        counts = await outbox.outbox_counts(session, channel="telegram")

    assert [message.dedupe_key for message in everywhere] == ["west", "east"]
    assert [message.dedupe_key for message in east] == ["east"]
    assert east[0].last_error == "ChatUnreachable: bot was blocked"
    assert east[0].person_id == cast["resident"].id and east[0].attempts == 1
    assert counts == {"pending": 0, "parked": 2, "sent": 1}


async def test_retention_forgets_old_sent_messages_and_update_ids_only(sessions, clock):
    old, now = clock.now() - timedelta(days=10), clock.now()
    async with sessions() as session:
        await outbox.enqueue_many(
            session, [_row(key, None, old) for key in ("old-sent", "new-sent", "parked", "queued")]
        )
        await claim_update(session, "telegram", 1, old)
        await claim_update(session, "telegram", 2, now - timedelta(hours=1))
        await session.commit()
    async with sessions() as session:
        ids = {
            row.body["text"]: row.id
            for row in (await session.exec(select(OutboxMessage))).scalars()
        }
        await outbox.mark_sent(session, ids["old-sent"], old)
        await outbox.mark_sent(session, ids["new-sent"], now)
        await outbox.park(session, ids["parked"], now=old, error="gone")
        await session.commit()

    async with sessions() as session:
        purged = await purge_expired(session, now)
        await session.commit()

    async with sessions() as session:
        left = sorted(
            row.body["text"] for row in (await session.exec(select(OutboxMessage))).scalars()
        )
        updates = (await session.exec(select(func.count()).select_from(ProcessedUpdate))).scalar()
    assert purged == Purged(sent_messages=1, update_ids=1)
    assert left == ["new-sent", "parked", "queued"]
    assert updates == 1
