"""The outbox: messages to other people, queued in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.bulk import copy_driver, copy_records
from storage.models import Area, OutboxMessage, Person

# People who have no chat to write to: Open311 clients follow their requests by asking the API
# (GET requests), and the 12345 hotline's callers hear back through the hotline (its answer
# file), so their messages are never queued, where no deliverer would ever take them.
CHATLESS_CHANNELS = frozenset({"open311", "hotline"})


def _with_chat(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [message for message in messages if message["channel"] not in CHATLESS_CHANNELS]


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


async def queued(session: AsyncSession, dedupe_key: str) -> bool:
    """Whether a message with this dedupe key has been queued (and not purged)."""
    table = OutboxMessage.__table__
    found = await session.exec(select(table.c.id).where(table.c.dedupe_key == dedupe_key[:128]))
    return found.first() is not None


async def enqueue_many(session: AsyncSession, messages: list[dict[str, Any]]) -> None:
    """Queue many messages at once (the clock sweeps); a message whose dedupe key is already
    queued is skipped, never sent twice."""
    messages = _with_chat(messages)
    if not messages:
        return
    driver = await copy_driver(session)
    if driver is not None:
        await _copy_many(driver, messages)
        return
    connection = await session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(_TABLE).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await connection.execute(statement, messages)


_TABLE = OutboxMessage.__table__
# A plain INSERT, not ON CONFLICT: SQLAlchemy 2.0 cannot cache the dialects' ON CONFLICT
# statements and would compile one afresh on every chat turn.
_INSERT = insert(_TABLE)


async def enqueue_rows(session: AsyncSession, messages: list[dict[str, Any]]) -> None:
    """Queue a chat turn's few messages (rows from `outbox_row`) in one statement. As with
    `enqueue`, a dedupe key already queued fails the caller's transaction: the same event was
    handled twice. (For the thousands of a sweep, where that is expected, `enqueue_many`.)"""
    messages = _with_chat(messages)
    if messages:
        connection = await session.connection()
        await connection.execute(_INSERT, messages)


# A message held back until a quiet moment (the proposal that answers a burst of messages) can
# be rewritten or withdrawn while no deliverer has it: a claim pushes `next_attempt_at` past the
# time it was due, so a row still at or before that time is untouched.


def _untouched(table: Any, dedupe_key: str, due: datetime) -> Any:
    return (
        table.c.dedupe_key == dedupe_key[:128],
        table.c.sent_at.is_(None),
        table.c.parked_at.is_(None),
        table.c.next_attempt_at <= due,
    )


async def postpone(
    session: AsyncSession, *, dedupe_key: str, due: datetime, body: dict[str, Any], until: datetime
) -> bool:
    """Give a held-back message (due at `due`) a new body and a later time; False when it has
    been claimed, sent or parked meanwhile (the caller queues a new one)."""
    table = OutboxMessage.__table__
    result = await session.exec(
        update(table)
        .where(*_untouched(table, dedupe_key, due))
        .values(body=body, next_attempt_at=until)
    )
    return (result.rowcount or 0) == 1


async def withdraw(session: AsyncSession, *, dedupe_key: str, due: datetime) -> bool:
    """Take back a held-back message no deliverer has claimed; False when it is too late."""
    table = OutboxMessage.__table__
    result = await session.exec(delete(table).where(*_untouched(table, dedupe_key, due)))
    return (result.rowcount or 0) == 1


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
    records = copy_records(_TABLE, _COPIED, messages)
    await driver.copy_records_to_table(_STAGE, records=records, columns=list(_COPIED))
    await driver.execute(
        f"INSERT INTO outbox ({columns}, attempts) "
        f"SELECT {columns}, 0 FROM {_STAGE} "
        "ON CONFLICT (dedupe_key) DO NOTHING"
    )
    # Emptied now, not at commit: a second batch in the same transaction starts clean.
    await driver.execute(f"TRUNCATE {_STAGE}")


# Delivery: the loop in bot/delivery claims, sends and records. Each function is one statement in
# the caller's transaction; the caller commits (a claim must be committed before anything is sent).

_ERROR_CHARS = 500


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    chat_id: str
    body: dict[str, Any]
    attempts: int


def _pending(table: Any, channel: str) -> Any:
    # The conditions of the partial index ix_outbox_pending, so it serves the claim.
    return (
        table.c.channel == channel,
        table.c.sent_at.is_(None),
        table.c.parked_at.is_(None),
    )


def _first_of_its_chat(table: Any) -> Any:
    """No earlier message of the same chat is pending (ix_outbox_chat_pending serves it)."""
    earlier = table.alias("earlier")
    return ~exists().where(
        earlier.c.channel == table.c.channel,
        earlier.c.chat_id == table.c.chat_id,
        earlier.c.id < table.c.id,
        earlier.c.sent_at.is_(None),
        earlier.c.parked_at.is_(None),
    )


async def claim_due(
    session: AsyncSession, *, channel: str, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedMessage]:
    """Take up to `limit` of the channel's messages that are due, by pushing their
    `next_attempt_at` to `lease_until`: until then no other deliverer claims them, and if this one
    dies they fall due again by themselves. PostgreSQL skips rows another claim has locked;
    SQLite has one writer, so the UPDATE … RETURNING is the whole claim.

    Only a chat's oldest pending message can be claimed: while an earlier one is in flight or
    waits for its retry, the later ones wait too, whichever process or restart comes next, so a
    chat gets its messages in the order they were written."""
    table = OutboxMessage.__table__
    due = (
        select(table.c.id)
        .where(*_pending(table, channel), table.c.next_attempt_at <= now, _first_of_its_chat(table))
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(limit)
    )
    if _dialect(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=lease_until)
        .returning(table.c.id, table.c.chat_id, table.c.body, table.c.attempts)
    )
    rows = (await session.exec(claim)).all()
    claimed = [ClaimedMessage(r.id, r.chat_id, r.body, r.attempts) for r in rows]
    return sorted(claimed, key=lambda message: message.id)


async def next_attempt_at(session: AsyncSession, *, channel: str) -> datetime | None:
    """When the channel's next claimable message falls due (None: nothing pending): a message
    behind an earlier one of its chat waits for that one, whatever its own time says."""
    table = OutboxMessage.__table__
    query = select(func.min(table.c.next_attempt_at)).where(
        *_pending(table, channel), _first_of_its_chat(table)
    )
    return (await session.exec(query)).scalar()


async def mark_sent(session: AsyncSession, message_id: int, now: datetime) -> None:
    table = OutboxMessage.__table__
    await session.exec(
        update(table)
        .where(table.c.id == message_id)
        .values(sent_at=now, attempts=table.c.attempts + 1, last_error=None)
    )


async def retry_later(
    session: AsyncSession,
    message_id: int,
    *,
    at: datetime,
    error: str,
    counts_as_attempt: bool = True,
) -> None:
    """Try again at `at`. A 429 is the channel's state, not the message's fault: it does not count
    towards parking (`counts_as_attempt=False`)."""
    table = OutboxMessage.__table__
    attempts = table.c.attempts + 1 if counts_as_attempt else table.c.attempts
    await session.exec(
        update(table)
        .where(table.c.id == message_id, table.c.sent_at.is_(None))
        .values(next_attempt_at=at, attempts=attempts, last_error=error[:_ERROR_CHARS])
    )


async def park(session: AsyncSession, message_id: int, *, now: datetime, error: str) -> None:
    """Give up on a message: it stays, with its error, for staff to see; it is never retried."""
    table = OutboxMessage.__table__
    await session.exec(
        update(table)
        .where(table.c.id == message_id, table.c.sent_at.is_(None))
        .values(parked_at=now, attempts=table.c.attempts + 1, last_error=error[:_ERROR_CHARS])
    )


async def release(
    session: AsyncSession, message_id: int, *, lease_until: datetime, at: datetime
) -> None:
    """Hand back a claimed message unsent, due again at `at` (its chat was busy). Only while our
    lease holds: after it, another deliverer may have claimed the message."""
    table = OutboxMessage.__table__
    await session.exec(
        update(table)
        .where(
            table.c.id == message_id,
            table.c.next_attempt_at == lease_until,
            table.c.sent_at.is_(None),
        )
        .values(next_attempt_at=at)
    )


# Command menus set for a chat (handlers.menus): kept, as the record of which menu each chat has,
# so a start does not set every worker's and staff member's menu again. One row per change.
KEPT_PREFIX = "menu:"


async def purge_sent(session: AsyncSession, *, before: datetime) -> int:
    """Retention: forget messages sent before `before`. Parked ones stay until staff act, and
    so do the menus set for chats."""
    table = OutboxMessage.__table__
    result = await session.exec(
        delete(table).where(
            table.c.sent_at.is_not(None),
            table.c.sent_at < before,
            table.c.dedupe_key.not_like(f"{KEPT_PREFIX}%"),
        )
    )
    return result.rowcount or 0


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@dataclass(frozen=True)
class ParkedMessage:
    """A message given up on, for staff: to whom, since when, and why."""

    id: int
    person_id: int | None
    chat_id: str
    dedupe_key: str
    created_at: datetime
    parked_at: datetime
    attempts: int
    last_error: str | None


async def parked_messages(
    session: AsyncSession, *, area_path: str | None = None, limit: int = 50
) -> list[ParkedMessage]:
    """Parked messages, newest first; with `area_path` only those to people in that area or
    below it (a staff member's subtree)."""
    table = OutboxMessage.__table__
    query = select(
        table.c.id,
        table.c.person_id,
        table.c.chat_id,
        table.c.dedupe_key,
        table.c.created_at,
        table.c.parked_at,
        table.c.attempts,
        table.c.last_error,
    ).where(table.c.parked_at.is_not(None))
    if area_path is not None:
        people, areas = Person.__table__, Area.__table__
        query = (
            query.join(people, people.c.id == table.c.person_id)
            .join(areas, areas.c.id == people.c.area_id)
            .where(areas.c.path.startswith(area_path, autoescape=True))
        )
    query = query.order_by(table.c.parked_at.desc(), table.c.id.desc()).limit(limit)
    return [ParkedMessage(*row) for row in (await session.exec(query)).all()]


async def outbox_counts(session: AsyncSession, *, channel: str | None = None) -> dict[str, int]:
    """How many messages are pending, parked and sent (for staff and health checks)."""
    table = OutboxMessage.__table__
    state = case(
        (table.c.sent_at.is_not(None), "sent"),
        (table.c.parked_at.is_not(None), "parked"),
        else_="pending",
    )
    query = select(state, func.count()).group_by(state)
    if channel is not None:
        query = query.where(table.c.channel == channel)
    counts = {"pending": 0, "parked": 0, "sent": 0}
    counts.update({name: count for name, count in (await session.exec(query)).all()})
    return counts
