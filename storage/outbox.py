"""The outbox: messages to other people, queued in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage


def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    person_id: int | None,
    channel: str,
    chat_id: str,
    body: dict[str, Any],
    now: datetime,
) -> OutboxMessage:
    """Queue one message; it is sent only if the caller's transaction commits."""
    message = OutboxMessage(
        dedupe_key=dedupe_key[:128],
        person_id=person_id,
        channel=channel,
        chat_id=chat_id,
        body=body,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    return message
