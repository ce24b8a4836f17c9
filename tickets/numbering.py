"""Readable ticket numbers: the local date and a per-day sequence, e.g. 20261122-0042.

The counter row is bumped with one atomic upsert, so concurrent transactions (several processes on
PostgreSQL) can never draw the same number: the second waits for the first one's row lock.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import TicketCounter


async def next_ticket_number(session: AsyncSession, day: date) -> str:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = TicketCounter.__table__
    statement = (
        insert(table)
        .values(day=day, value=1)
        .on_conflict_do_update(index_elements=["day"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    value = (await session.exec(statement)).scalar_one()
    return f"{day:%Y%m%d}-{value:04d}"
