"""Processed update ids: a redelivered chat update is recognised and handled at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate

_UPDATES = ProcessedUpdate.__table__
_CLAIM = insert(_UPDATES)


async def claim_update(session: AsyncSession, channel: str, update_id: int, now: datetime) -> None:
    """Record the update in the caller's transaction.

    No read first: an update handled before (by this process or another) makes the INSERT fail
    on the primary key, which the caller treats as "already handled". On PostgreSQL a second
    process handling the same update at the same moment waits here until the first commits (then
    fails) or rolls back (then goes on): the claim is the lock.
    """
    connection = await session.connection()
    values = {"channel": channel, "update_id": update_id, "processed_at": now}
    await connection.execute(_CLAIM, values)


async def purge_processed_updates(session: AsyncSession, *, before: datetime) -> int:
    """Retention: forget update ids recorded before `before`. Telegram redelivers an update for
    at most a day, so ids older than that cannot come back."""
    result = await session.exec(delete(_UPDATES).where(_UPDATES.c.processed_at < before))
    return result.rowcount or 0
