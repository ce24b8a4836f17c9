"""Ticket rows written past the ORM's unit of work, for the paths where that bookkeeping costs
more than the write itself."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket

_TABLE = Ticket.__table__
_COLUMNS = tuple(column.key for column in _TABLE.columns if column.key != "id")
_INSERT = insert(_TABLE).returning(_TABLE.c.id)


async def insert_ticket(session: AsyncSession, ticket: Ticket) -> int:
    """INSERT `ticket` (complete, without an id) in the session's transaction; returns its id.
    The object stays outside the session."""
    connection = await session.connection()
    values = {key: getattr(ticket, key) for key in _COLUMNS}
    return (await connection.execute(_INSERT, values)).scalar_one()
