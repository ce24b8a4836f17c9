"""Processed update ids: a redelivered chat update is recognised and handled at most once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate


async def claim_update(session: AsyncSession, channel: str, update_id: int, now: datetime) -> bool:
    """Record the update in the caller's transaction; False if it was recorded before.

    Two processes handling the same update at once both get True here; the second one's commit
    then fails on the primary key, and the caller treats that as "already handled".
    """
    if await session.get(ProcessedUpdate, (channel, update_id)) is not None:
        return False
    session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))
    await session.flush()
    return True
