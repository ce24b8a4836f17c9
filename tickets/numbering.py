"""Readable ticket numbers: the local date and a counter, e.g. 20261122-000042.

A number is taken only when its ticket is: one counter row, bumped in the ticket's own
transaction right before the ticket is written, after every check that can refuse it. A refused
or rolled-back submission gives its number back, so the numbers have no gaps, on SQLite and
PostgreSQL alike.

The row stays locked until the transaction ends, so concurrent submissions take their numbers in
the order they commit, and what a submission writes after its number (the worker's ping) is
written in number order too. (PostgreSQL drew numbers from a SEQUENCE at the start of intake:
nothing is rolled back from a sequence, so refusals left gaps, and a later number could commit —
and its ping go out — before an earlier one.) The price is one commit at a time from the number to
the end of the turn; the number is drawn last so that stretch stays short.

A PostgreSQL database numbered by that sequence carries on from it: the counter row starts at the
sequence's last value.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


async def next_ticket_number(session: AsyncSession, day: date) -> str:
    """Take the next number in the caller's transaction (call it just before the INSERT)."""
    return ticket_number(day, await _next_value(session))


async def next_ticket_numbers(session: AsyncSession, day: date, count: int) -> list[str]:
    """Take `count` consecutive numbers at once (an import), in the caller's transaction."""
    if count <= 0:
        return []
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    bump = _BLOCK_BUMP_POSTGRES if postgres else _BLOCK_BUMP
    last = (await connection.execute(bump, {"count": count})).scalar_one()
    return [ticket_number(day, value) for value in range(last - count + 1, last + 1)]


def ticket_number(day: date, value: int) -> str:
    return f"{day:%Y%m%d}-{value:06d}"


# Written out rather than built with insert().on_conflict_do_update(): SQLAlchemy 2.0 cannot
# cache ON CONFLICT statements and would compile this one for every ticket.
_COUNTER_BUMP = text(
    "INSERT INTO ticket_counters (name, value) VALUES ('ticket', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = ticket_counters.value + 1 RETURNING value"
)
_COUNTER_BUMP_POSTGRES = text(
    "INSERT INTO ticket_counters (name, value) "
    "SELECT 'ticket', 1 + CASE WHEN is_called THEN last_value ELSE 0 END FROM ticket_number_seq "
    "ON CONFLICT (name) DO UPDATE SET value = ticket_counters.value + 1 RETURNING value"
)

_BLOCK_BUMP = text(
    "INSERT INTO ticket_counters (name, value) VALUES ('ticket', :count) "
    "ON CONFLICT (name) DO UPDATE SET value = ticket_counters.value + :count RETURNING value"
)
_BLOCK_BUMP_POSTGRES = text(
    "INSERT INTO ticket_counters (name, value) "
    "SELECT 'ticket', :count + CASE WHEN is_called THEN last_value ELSE 0 END "
    "FROM ticket_number_seq "
    "ON CONFLICT (name) DO UPDATE SET value = ticket_counters.value + :count RETURNING value"
)


async def _next_value(session: AsyncSession) -> int:
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    bump = _COUNTER_BUMP_POSTGRES if postgres else _COUNTER_BUMP
    return (await connection.execute(bump)).scalar_one()
