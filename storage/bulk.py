"""Bulk writes through PostgreSQL's COPY, for the sweeps' thousands of rows at once: binding
every parameter of a multi-row INSERT costs more than the database's work. Only inside the
caller's transaction, so the rows stand or fall with it; elsewhere the caller INSERTs."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    is_json = [isinstance(table.c[name].type, JSON) for name in columns]
    return [
        tuple(
            json.dumps(row[name], ensure_ascii=False) if as_json else row[name]
            for name, as_json in zip(columns, is_json, strict=True)
        )
        for row in rows
    ]
