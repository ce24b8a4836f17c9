"""SQLite through aiosqlite, MinHu's embedded default: every connection gets the pragmas, and a
writer waits for another connection's lock (in aiosqlite's thread) while the event loop goes on."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.engine import make_engine


def aiosqlite_url(path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_every_connection_gets_the_pragmas(tmp_path):
    engine = make_engine(aiosqlite_url(tmp_path / "pragmas.db"))
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert isinstance(driver, aiosqlite.Connection)
    # synchronous 1 is NORMAL: safe with WAL, and a commit does not wait for the disk.
    assert pragmas == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 30_000,
    }


async def _ticks_while(awaitable, started: asyncio.Event) -> tuple[object, int]:
    """What `awaitable` gives, and how often the loop ran a 5 ms ticker after `started`."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        await started.wait()
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    ticking = asyncio.create_task(ticker())
    try:
        result = await asyncio.wait_for(awaitable, timeout=10)
    finally:
        done.set()
        await ticking
    return result, ticks


async def test_a_writer_waits_for_the_lock_without_holding_the_event_loop(tmp_path):
    engine = make_engine(aiosqlite_url(tmp_path / "locks.db"))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE marks (n INTEGER)"))
    first_holds_lock, second_waits = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO marks VALUES (1)"))
            first_holds_lock.set()
            await second_waits.wait()
            await asyncio.sleep(0.2)  # keep the write lock while the second writer waits

    async def second() -> None:
        await first_holds_lock.wait()
        async with engine.begin() as connection:
            second_waits.set()
            await connection.execute(text("INSERT INTO marks VALUES (2)"))

    try:
        _, ticks = await _ticks_while(asyncio.gather(first(), second()), second_waits)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT n FROM marks ORDER BY rowid"))).all()
    finally:
        await engine.dispose()
    assert [row.n for row in rows] == [1, 2]  # the second write went in after the first commit
    assert ticks >= 5  # and the loop kept turning while it waited


async def test_a_lock_held_past_the_timeout_fails_as_sqlite_would(tmp_path):
    path = tmp_path / "locks.db"
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("PRAGMA journal_mode=WAL")
    other_process.execute("CREATE TABLE marks (n INTEGER)")
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock and never lets go
    engine = make_engine(aiosqlite_url(path))
    try:
        async with engine.connect() as connection:
            # The same wait as the default 30 s, shortened so the test ends.
            await connection.exec_driver_sql("PRAGMA busy_timeout=300")
            started = asyncio.Event()
            started.set()
            began = time.monotonic()
            with pytest.raises(OperationalError, match="locked"):
                await _ticks_while(
                    connection.execute(text("INSERT INTO marks VALUES (1)")), started
                )
            waited = time.monotonic() - began
    finally:
        other_process.rollback()
        other_process.close()
        await engine.dispose()
    assert waited >= 0.25  # it waited for the lock before giving up
