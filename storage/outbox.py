"""The outbox: messages to other people, queued in the caller's transaction."""

from __future__ import annotations

import json
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
    """Queue many messages at once (the clock sweeps); a message whose dedupe key is already
    queued is skipped, never sent twice."""
    if not messages:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection
        # Only inside the caller's transaction: outside it the rows would outlive a rollback.
        if driver.is_in_transaction():
            await _copy_many(driver, messages)
            return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(_TABLE).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await connection.execute(statement, messages)


_TABLE = OutboxMessage.__table__
_COPIED = ("dedupe_key", "person_id", "channel", "chat_id", "body", "created_at", "next_attempt_at")
_STAGE = "outbox_incoming"


async def _copy_many(driver: Any, messages: list[dict[str, Any]]) -> None:
    """PostgreSQL: COPY into a per-connection staging table, then one INSERT … SELECT that skips
    queued dedupe keys. A sweep's tens of thousands of notices cost a fraction of the time of
    multi-row INSERTs, whose parameters are each bound and sent separately."""
    columns = ", ".join(_COPIED)
    await driver.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
        "(dedupe_key text, person_id integer, channel text, chat_id text, body json, "
        "created_at timestamptz, next_attempt_at timestamptz) ON COMMIT DELETE ROWS"
    )
    records = [
        (
            message["dedupe_key"],
            message["person_id"],
            message["channel"],
            message["chat_id"],
            json.dumps(message["body"], ensure_ascii=False),
            message["created_at"],
            message["next_attempt_at"],
        )
        for message in messages
    ]
    await driver.copy_records_to_table(_STAGE, records=records, columns=list(_COPIED))
    await driver.execute(
        f"INSERT INTO outbox ({columns}, attempts) "
        f"SELECT {columns}, 0 FROM {_STAGE} "
        "ON CONFLICT (dedupe_key) DO NOTHING"
    )
    # Emptied now, not at commit: a second batch in the same transaction starts clean.
    await driver.execute(f"TRUNCATE {_STAGE}")
