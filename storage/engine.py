"""The async engine and session factory, made once at start-up from a database URL."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.orm.session import Session

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


async def write_first(session: AsyncSession) -> None:
    """On SQLite, take the database's write lock before the transaction's first read. A
    transaction that reads, then writes while another one writes cannot wait for it (SQLite
    refuses the upgrade at once: "database is locked"); one that holds the lock from the start
    makes the others wait their busy timeout instead. PostgreSQL needs nothing."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        # A write statement takes the lock even when it matches no row.
        await connection.exec_driver_sql("UPDATE ticket_counters SET value = value WHERE 0")


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An engine for `url` (sqlite+aiosqlite:///file.db or postgresql+asyncpg://…).

    Statement parameters carry residents' words, names and phone numbers: they are kept out of
    logs and error messages (`hide_parameters`), and aiosqlite's own DEBUG log, which prints every
    statement with its parameters, is held at INFO.
    """
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, _level("aiosqlite")))
    if is_sqlite(url):
        # sqlite3's `timeout` is SQLite's busy timeout: a writer waits up to 30 s for another
        # connection's lock instead of failing at once (in aiosqlite's thread, not the loop's).
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, echo=echo, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size
    )


def database_failure(error: BaseException) -> str | None:
    """The first line of what the database or its driver said, when `error` is theirs (a
    database that does not exist, a file that is not SQLite, a refused connection); else None.
    Only the first line: PostgreSQL's DETAIL line may quote a row."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    elif not isinstance(error, SQLAlchemyError | asyncpg.PostgresError | sqlite3.Error | OSError):
        return None
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _level(name: str) -> int:
    return logging.getLogger(name).level


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PinningSession(Session):
    """A session whose identity map holds its objects strongly until the session ends.

    SQLAlchemy's identity map is weak: the worker and grid a submission routed to are dropped
    once unreferenced, and rendering the notice `get`s them again. Sessions live for one chat
    update, so holding what they load is cheap. This is SQLAlchemy's documented recipe
    ("Session Referencing Behavior", public session events only) that replaced
    `weak_identity_map=False`: sqlalchemy/sqlalchemy#3517.

    Kept for the capacity it measurably gives (bench_handlers on aiosqlite, with and without it
    taking turns, 2 shared cores): 11 statements per submission instead of 13, 5.4-6.1 ms of CPU
    instead of 6.1-7.1, and 152-180 submissions/s instead of 115-163; without it the 150/s
    floor held in 1 run of 3.
    """


def _pin(session: Session, instance: Any) -> None:
    session.info.setdefault("pinned", {})[id(instance)] = instance


def _unpin(session: Session, instance: Any) -> None:
    session.info.get("pinned", {}).pop(id(instance), None)


for _name in ("pending_to_persistent", "loaded_as_persistent", "detached_to_persistent"):
    event.listen(PinningSession, _name, _pin)
for _name in ("persistent_to_detached", "persistent_to_deleted", "persistent_to_transient"):
    event.listen(PinningSession, _name, _unpin)


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit (handlers render them afterwards)."""
    return async_sessionmaker(
        engine, class_=AsyncSession, sync_session_class=PinningSession, expire_on_commit=False
    )
