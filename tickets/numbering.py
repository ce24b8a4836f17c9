"""Readable ticket numbers: the local date and a sequence, e.g. 20261122-000042.

The sequence never hands out a value twice, however many transactions ask at once. On PostgreSQL
it is a real SEQUENCE: drawing from it locks nothing, so concurrent submissions do not queue
behind each other's commit (a per-day counter row did, capping throughput at one commit at a
time). SQLite has a single writer anyway and no sequences: one counter row, bumped atomically.
A rolled-back submission leaves a gap; numbers are unique, not gapless.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import TICKET_NUMBERS


async def next_ticket_number(session: AsyncSession, day: date) -> str:
    return ticket_number(day, await _next_value(session))


def ticket_number(day: date, value: int) -> str:
    return f"{day:%Y%m%d}-{value:06d}"


# On PostgreSQL a value can be drawn inside another query (intake asks it with its area lookup).
SEQUENCE_DRAW = TICKET_NUMBERS.next_value()


_SEQUENCE_SELECT = select(SEQUENCE_DRAW)
# Written out rather than built with sqlite.insert().on_conflict_do_update(): SQLAlchemy 2.0
# cannot cache ON CONFLICT statements and would compile this one for every ticket.
_COUNTER_BUMP = text(
    "INSERT INTO ticket_counters (name, value) VALUES ('ticket', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = ticket_counters.value + 1 RETURNING value"
)


async def _next_value(session: AsyncSession) -> int:
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    return (await connection.execute(_SEQUENCE_SELECT if postgres else _COUNTER_BUMP)).scalar_one()
