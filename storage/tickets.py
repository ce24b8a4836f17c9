"""A new ticket and its first timeline events, written past the ORM's unit of work: a complaint
is the hottest write there is, and its rows are complete before they are written, so plain
INSERTs do, and on PostgreSQL a single statement does."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, insert, select, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.bulk import copy_driver, copy_records
from storage.models import Ticket, TicketEvent

_TICKETS = Ticket.__table__
_EVENTS = TicketEvent.__table__
_TICKET_COLUMNS = tuple(column.key for column in _TICKETS.columns if column.key != "id")
_EVENT_COLUMNS = tuple(
    column.key for column in _EVENTS.columns if column.key not in ("id", "ticket_id")
)
_INSERT_TICKET = insert(_TICKETS).returning(_TICKETS.c.id)


async def insert_ticket(session: AsyncSession, ticket: Ticket, events: list[dict[str, Any]]) -> int:
    """INSERT `ticket` (complete, without an id) and its `events` (rows without ticket_id) in
    the session's transaction; returns the ticket's id. The object stays outside the session."""
    connection = await session.connection()
    values = {key: getattr(ticket, key) for key in _TICKET_COLUMNS}
    if connection.dialect.name == "postgresql" and events:
        params = values | {
            f"e{index}_{key}": event[key]
            for index, event in enumerate(events)
            for key in _EVENT_COLUMNS
        }
        result = await connection.execute(_ticket_with_events(len(events)), params)
        return result.scalars().first()
    ticket_id = (await connection.execute(_INSERT_TICKET, values)).scalar_one()
    if events:
        rows = [event | {"ticket_id": ticket_id} for event in events]
        await connection.execute(insert(_EVENTS), rows)
    return ticket_id


@cache
def _ticket_with_events(count: int) -> Insert:
    """WITH new AS (INSERT INTO tickets … RETURNING id) INSERT INTO ticket_events SELECT new.id,
    … (one SELECT per event): one round trip for the ticket and its first events."""
    new = (
        insert(_TICKETS)
        .values({key: bindparam(key, type_=_TICKETS.c[key].type) for key in _TICKET_COLUMNS})
        .returning(_TICKETS.c.id)
        .cte("new_ticket")
    )
    rows = [
        select(
            new.c.id,
            *(
                bindparam(f"e{index}_{key}", type_=_EVENTS.c[key].type).label(key)
                for key in _EVENT_COLUMNS
            ),
        )
        for index in range(count)
    ]
    source = rows[0] if count == 1 else union_all(*rows)
    return (
        insert(_EVENTS)
        .from_select(["ticket_id", *_EVENT_COLUMNS], source)
        .returning(_EVENTS.c.ticket_id)
    )


async def insert_tickets(
    session: AsyncSession, tickets: Sequence[Any], events: list[list[dict[str, Any]]]
) -> list[int]:
    """INSERT many complete tickets (without ids; Tickets, or anything with their columns as
    attributes) and each one's `events` (rows without ticket_id) in the session's transaction,
    for an import: returns the ids in order. On
    PostgreSQL the ids are drawn from the table's sequence up front and the rows COPYed."""
    if not tickets:
        return []
    rows = [{key: getattr(ticket, key) for key in _TICKET_COLUMNS} for ticket in tickets]
    driver = await copy_driver(session)
    if driver is not None:
        ids = [
            record[0]
            for record in await driver.fetch(
                "SELECT nextval(pg_get_serial_sequence('tickets', 'id')) "
                "FROM generate_series(1, $1)",
                len(rows),
            )
        ]
        columns = ("id", *_TICKET_COLUMNS)
        rows = [row | {"id": ticket_id} for row, ticket_id in zip(rows, ids, strict=True)]
        records = copy_records(_TICKETS, columns, rows)
        await driver.copy_records_to_table("tickets", records=records, columns=columns)
    else:
        connection = await session.connection()
        await connection.execute(insert(_TICKETS), rows)
        ids = await _ids_by_number(session, [row["number"] for row in rows])
    event_rows = [
        event | {"ticket_id": ticket_id}
        for ticket_id, ticket_events in zip(ids, events, strict=True)
        for event in ticket_events
    ]
    if event_rows and driver is not None:
        columns = ("ticket_id", *_EVENT_COLUMNS)
        records = copy_records(_EVENTS, columns, event_rows)
        await driver.copy_records_to_table("ticket_events", records=records, columns=columns)
    elif event_rows:
        connection = await session.connection()
        await connection.execute(insert(_EVENTS), event_rows)
    return ids


# SQLite binds at most 32,766 parameters a statement; a chunk stays well below.
_CHUNK = 5000


async def _ids_by_number(session: AsyncSession, numbers: list[str]) -> list[int]:
    connection = await session.connection()
    found: dict[str, int] = {}
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        query = select(_TICKETS.c.number, _TICKETS.c.id).where(_TICKETS.c.number.in_(chunk))
        found.update((await connection.execute(query)).tuples().all())
    return [found[number] for number in numbers]
