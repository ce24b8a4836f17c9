"""Readable ticket numbers: the local date and a sequence, e.g. 20261122-000042.

The sequence never hands out a value twice, however many transactions ask at once. On PostgreSQL
it is a real SEQUENCE: drawing from it locks nothing, so concurrent submissions do not queue
behind each other's commit (a per-day counter row did, capping throughput at one commit at a
time). SQLite has a single writer anyway and no sequences: one counter row, bumped atomically.
A rolled-back submission leaves a gap; numbers are unique, not gapless.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import TICKET_NUMBERS, TicketCounter


async def next_ticket_number(session: AsyncSession, day: date) -> str:
    return f"{day:%Y%m%d}-{await _next_value(session):06d}"


async def _next_value(session: AsyncSession) -> int:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return (await session.exec(select(TICKET_NUMBERS.next_value()))).one()
    table = TicketCounter.__table__
    statement = (
        sqlite.insert(table)
        .values(name="ticket", value=1)
        .on_conflict_do_update(index_elements=["name"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    return (await session.exec(statement)).scalar_one()
