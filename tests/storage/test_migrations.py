"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from storage.engine import is_sqlite, make_engine
from storage.schema import drop_all, upgrade_async


async def _schema_differences(url: str) -> list:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:

            def compare(sync_connection):
                context = MigrationContext.configure(
                    sync_connection,
                    opts={"compare_type": True, "render_as_batch": is_sqlite(url)},
                )
                return compare_metadata(context, SQLModel.metadata)

            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def _tables_and_indexes(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:

            def read(sync_connection):
                inspector = inspect(sync_connection)
                tables = set(inspector.get_table_names())
                indexes = {
                    index["name"] for table in tables for index in inspector.get_indexes(table)
                }
                return tables, indexes

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def _empty(url: str) -> None:
    engine = make_engine(url)
    await drop_all(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()


async def test_upgrade_builds_the_models_schema(database_url):
    await _empty(database_url)
    await upgrade_async(database_url)
    assert await _schema_differences(database_url) == []
    tables, indexes = await _tables_and_indexes(database_url)
    assert {"tickets", "ticket_events", "outbox", "processed_updates"} <= tables
    assert {"ix_tickets_next_due_at", "ix_tickets_area_created", "ix_outbox_pending"} <= indexes


async def test_upgrade_twice_is_harmless(database_url):
    await _empty(database_url)
    await upgrade_async(database_url)
    await upgrade_async(database_url)
    assert await _schema_differences(database_url) == []
