"""Retention: the bookkeeping tables that would otherwise grow for ever. The caller schedules it
(e.g. hourly) and commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.outbox import purge_sent
from storage.updates import purge_processed_updates

# Telegram keeps an unconfirmed update for at most 24 hours; two days leaves a margin.
KEEP_UPDATE_IDS = timedelta(days=2)
# Sent messages are kept a week for questions like "did the resident get the notice?".
KEEP_SENT_MESSAGES = timedelta(days=7)


@dataclass(frozen=True)
class Purged:
    sent_messages: int
    update_ids: int


async def purge_expired(
    session: AsyncSession,
    now: datetime,
    *,
    keep_sent: timedelta = KEEP_SENT_MESSAGES,
    keep_updates: timedelta = KEEP_UPDATE_IDS,
) -> Purged:
    """Delete sent outbox rows and processed update ids past their keep; parked and pending
    messages are never touched."""
    return Purged(
        sent_messages=await purge_sent(session, before=now - keep_sent),
        update_ids=await purge_processed_updates(session, before=now - keep_updates),
    )
