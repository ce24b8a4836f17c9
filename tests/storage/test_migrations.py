"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from storage.engine import is_sqlite, make_engine
from storage.schema import alembic_config, drop_all, upgrade_async


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


async def _one_area_centre(url: str, columns: str) -> tuple:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            query = text(f"SELECT {columns} FROM areas WHERE code = 'g'")
            return tuple((await connection.execute(query)).one())
    finally:
        await engine.dispose()


async def test_upgrade_keeps_the_points_areas_already_have_as_their_centres(database_url):
    await _empty(database_url)
    await upgrade_async(database_url, "0002")
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO areas (code, name, level, path, latitude, longitude) "
                "VALUES ('g', '网格', 'grid', '/', 30.5, 120.25)"
            )
        )
    await engine.dispose()
    await upgrade_async(database_url)
    assert await _one_area_centre(database_url, "centre_latitude, centre_longitude") == (
        30.5,
        120.25,
    )
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0002")
    assert await _one_area_centre(database_url, "latitude, longitude") == (30.5, 120.25)


async def test_upgrade_gives_existing_tickets_the_resident_chat_source(database_url):
    await _empty(database_url)
    await upgrade_async(database_url, "0005")
    engine = make_engine(database_url)
    now = "2026-11-23 02:00:00"
    async with engine.begin() as connection:
        for statement in (
            "INSERT INTO areas (id, code, name, level, path) "
            "VALUES (1, 'g', '网格', 'grid', '/1/')",
            "INSERT INTO people (id, channel, channel_user_id, chat_id, role, locale, on_duty, "
            f"created_at) VALUES (1, 'telegram', '1', '1', 'resident', 'zh-CN', true, '{now}')",
            "INSERT INTO tickets (number, resident_id, text, attachments, category_keywords, "
            "urgency, state, area_id, handling_area_id, handling_level, created_at, "
            "extension_days, reopen_count, version) VALUES ('20261123-000001', 1, '路灯坏了', "
            f"'[]', '[]', 'normal', 'submitted', 1, 1, 'grid', '{now}', 0, 0, 1)",
        ):
            await connection.execute(text(statement))
    await engine.dispose()
    await upgrade_async(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT source, on_behalf_name, on_behalf_phone FROM tickets")
                )
            ).one()
    finally:
        await engine.dispose()
    assert tuple(row) == ("resident_chat", None, None)
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0005")
