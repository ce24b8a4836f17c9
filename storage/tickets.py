"""A new ticket and its first timeline events, written past the ORM's unit of work: a complaint
is the hottest write there is, and its rows are complete before they are written, so plain
INSERTs do, and on PostgreSQL a single statement does."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, insert, select, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

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
