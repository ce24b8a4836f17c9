"""The in-loop SQLite driver (storage/sqlite_inloop.py): statements run on the event loop's
thread, so waiting for another connection's write lock must yield to the loop, not block it."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import sqlite_inloop
from storage.engine import make_engine


async def test_a_writer_waits_for_the_lock_without_holding_the_event_loop(tmp_path):
    engine = make_engine(f"sqlite+inloop:///{tmp_path / 'locks.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE marks (n INTEGER)"))
    first_holds_lock, second_waits, done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    ticks_while_waiting = 0

    async def first() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO marks VALUES (1)"))
            first_holds_lock.set()
            await second_waits.wait()
            await asyncio.sleep(0.1)  # keep the write lock while the second writer waits

    async def second() -> None:
        await first_holds_lock.wait()
        async with engine.begin() as connection:
            second_waits.set()
            await connection.execute(text("INSERT INTO marks VALUES (2)"))

    async def ticker() -> None:
        nonlocal ticks_while_waiting
        await second_waits.wait()
        while not done.is_set():
            ticks_while_waiting += 1
            await asyncio.sleep(0.005)

    ticking = asyncio.create_task(ticker())
    try:
        await asyncio.wait_for(asyncio.gather(first(), second()), timeout=10)
        done.set()
        await ticking
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT n FROM marks ORDER BY rowid"))).all()
    finally:
        await engine.dispose()
    assert [row.n for row in rows] == [1, 2]  # the second write went in after the first commit
    assert ticks_while_waiting >= 5  # and the loop kept turning while it waited


async def test_a_lock_held_past_the_timeout_fails_as_sqlite_would(tmp_path):
    path = tmp_path / "locks.db"
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("PRAGMA journal_mode=WAL")
    other_process.execute("CREATE TABLE marks (n INTEGER)")
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock and never lets go
    engine = make_engine(f"sqlite+inloop:///{path}")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            raw.driver_connection.lock_timeout = 0.2
            with pytest.raises(OperationalError, match="locked"):
                await connection.execute(text("INSERT INTO marks VALUES (1)"))
    finally:
        other_process.rollback()
        other_process.close()
        await engine.dispose()


async def test_checkpoints_run_in_a_worker_thread_not_inside_a_commit(tmp_path):
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite+inloop:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE marks (n INTEGER)"))
            raw = await connection.get_raw_connection()
            checkpoints = raw.driver_connection.checkpoints
            autocheckpoint = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
        assert autocheckpoint == 0  # SQLite's own, inside a commit, is off
        every = sqlite_inloop.CHECKPOINT_EVERY
        for n in range(every - 1):  # with the CREATE, one commit short of a checkpoint
            if n == every - 2:
                assert checkpoints.running is None
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO marks VALUES (:n)"), {"n": n})
        assert checkpoints.running is not None  # started by the last commit, which went on
        await checkpoints.running
        assert checkpoints.completed == 1
        # The log was copied into the database file: the file alone, without its log, has
        # every row.
        alone = tmp_path / "alone.db"
        shutil.copyfile(path, alone)
        rows = sqlite3.connect(alone).execute("SELECT count(*) FROM marks").fetchone()
        assert rows == (every - 1,)
    finally:
        await engine.dispose()
