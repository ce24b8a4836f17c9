"""The outbox: messages to other people, queued in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
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
        **outbox_row(
            dedupe_key=dedupe_key,
            person_id=person_id,
            channel=channel,
            chat_id=chat_id,
            body=body,
            now=now,
        )
    )
    session.add(message)
    return message


def outbox_row(
    *,
    dedupe_key: str,
    person_id: int | None,
    channel: str,
    chat_id: str,
    body: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """One message as a row for `enqueue_many`."""
    return {
        "dedupe_key": dedupe_key[:128],
        "person_id": person_id,
        "channel": channel,
        "chat_id": chat_id,
        "body": body,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }


async def enqueue_many(session: AsyncSession, messages: list[dict[str, Any]]) -> None:
    """Queue many messages in one statement (the clock sweeps); a message whose dedupe key is
    already queued is skipped, never sent twice."""
    if not messages:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OutboxMessage.__table__
    statement = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await session.exec(statement, params=messages)
