"""Processed update ids: a redelivered chat update is recognised and handled at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate


def claim_update(session: AsyncSession, channel: str, update_id: int, now: datetime) -> None:
    """Record the update in the caller's transaction.

    No read first: the row goes out with the transaction's first flush, and an update handled
    before (by this process or another) makes that flush or the commit fail on the primary key,
    which the caller treats as "already handled" — the whole transaction, and so every effect of
    the second handling, is rolled back.
    """
    session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))


async def purge_processed_updates(session: AsyncSession, *, before: datetime) -> int:
    """Retention: forget update ids recorded before `before`. Telegram redelivers an update for
    at most a day, so ids older than that cannot come back."""
    table = ProcessedUpdate.__table__
    result = await session.exec(delete(table).where(table.c.processed_at < before))
    return result.rowcount or 0
