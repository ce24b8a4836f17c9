"""Bulk writes through PostgreSQL's COPY, for the sweeps' thousands of rows at once: binding
every parameter of a multi-row INSERT costs more than the database's work. Only inside the
caller's transaction, so the rows stand or fall with it; elsewhere the caller INSERTs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table
from sqlmodel.ext.asyncio.session import AsyncSession


async def copy_driver(session: AsyncSession) -> Any | None:
    """asyncpg's connection under the session's transaction, or None (SQLite, or no
    transaction begun: COPY there would outlive a rollback)."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return None
    driver = (await connection.get_raw_connection()).driver_connection
    return driver if driver.is_in_transaction() else None


def copy_records(
    table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """`rows` as COPY records: JSON columns serialised as the JSON type would."""
    json_at = [at for at, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    # One itemgetter and one encoder for all rows: over tens of thousands of rows, a generator
    # over the columns and json.dumps's per-call setup were a visible cost.
    pick = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    records = []
    for row in rows:
        record = list(pick(row))
        for at in json_at:
            record[at] = _encode(record[at])
        records.append(tuple(record))
    return records


_encode = json.JSONEncoder(ensure_ascii=False).encode
