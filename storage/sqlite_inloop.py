"""SQLite for the async engine, run on the event loop's own thread (`sqlite+inloop:///file.db`).

aiosqlite gives every connection a thread and sends each call over to it: SQLAlchemy's adapter
makes four such trips per statement (cursor, execute, fetch, close), each a queue hand-off and a
wake-up of the event loop, while SQLite itself answers our statements in a few microseconds
from its page cache. In the handlers' benchmark the trips cost 1.6 ms of a 12 ms complaint
submission (14 statements, two commits).

This dialect calls the standard `sqlite3` module directly. The price is that a statement holds
the event loop while it runs, which is what you want for the short statements of a chat turn and
a small street office's database; a deployment with long reports on a large database should use
PostgreSQL (or `sqlite+aiosqlite://`, which stays supported).

Two waits must stay out of the loop's thread:
- Checkpoints copy the write-ahead log into the database file and wait for the disk (measured in
  the handlers' benchmark: 12 ms at p99 and once 0.6 s, against 0.1 ms for a plain commit). SQLite
  runs one inside whichever commit crosses its threshold; here they run in a worker thread, with
  a connection of their own, every `CHECKPOINT_EVERY` commits.
- Waiting for another connection's write lock: SQLite's busy timeout would sleep in the loop's
  thread while the holder, on that same thread, could never finish. So the busy timeout is zero
  and a locked database is retried with `asyncio.sleep`, which lets the holder commit, for up to
  `timeout` seconds (default 30), then fails as SQLite would.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Generator
from typing import Any

from sqlalchemy import pool
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_module
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, AdaptedConnection
from sqlalchemy.util.concurrency import await_only

DEFAULT_LOCK_TIMEOUT_S = 30.0
CHECKPOINT_EVERY = 200  # commits; SQLite's own default is about 1,000 pages of log
log = logging.getLogger(__name__)
_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.05


def _locked(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _Done:
    """An awaitable that is finished at once, without a trip through the event loop."""

    def __await__(self) -> Generator[None, None, None]:
        return
        yield  # a generator that never suspends


_DONE = _Done()


def _while_locked(connection: InLoopConnection, attempt: Any) -> Any:
    """Run `attempt()`; while the database is locked by another connection, pause without holding
    the event loop and try again, up to the connection's lock timeout."""
    # SQLAlchemy's AsyncConnection checks that a statement awaited something, as proof of an
    # async driver; this costs two greenlet switches and never reaches the event loop.
    await_only(_DONE)
    deadline = time.monotonic() + connection.lock_timeout
    pause = _FIRST_PAUSE_S
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as error:
            if not _locked(error) or time.monotonic() + pause > deadline:
                raise
        await_only(asyncio.sleep(pause))
        pause = min(pause * 2, _LONGEST_PAUSE_S)


class InLoopCursor(sqlite3.Cursor):
    """A `sqlite3` cursor whose statements wait for a locked database by yielding to the loop."""

    def execute(self, sql: str, parameters: Any = (), /) -> InLoopCursor:
        _while_locked(self.connection, lambda: super(InLoopCursor, self).execute(sql, parameters))
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> InLoopCursor:
        rows = list(seq_of_parameters)  # an iterator could not be read twice by a retry
        _while_locked(self.connection, lambda: super(InLoopCursor, self).executemany(sql, rows))
        return self

    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's async results; a `sqlite3` cursor has nothing to release."""


class InLoopConnection(sqlite3.Connection):
    """A `sqlite3` connection handing out `InLoopCursor`s, whose commit waits the same way."""

    lock_timeout = DEFAULT_LOCK_TIMEOUT_S

    def cursor(self, factory: Any = InLoopCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    checkpoints: _Checkpoints | None = None

    def commit(self) -> None:
        _while_locked(self, super().commit)
        if self.checkpoints is not None:
            self.checkpoints.committed()


class _Checkpoints:
    """Checkpoints of one database file, in a worker thread with a connection of their own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.commits = 0
        self.running: asyncio.Future[None] | None = None
        self.completed = 0

    def committed(self) -> None:
        self.commits += 1
        if self.commits < CHECKPOINT_EVERY or self.running is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # used outside an event loop: SQLite's own checkpoints are off
            return
        self.commits = 0
        self.running = loop.run_in_executor(None, self._checkpoint)
        self.running.add_done_callback(self._done)

    def _checkpoint(self) -> None:
        # PASSIVE: copy what no reader still needs, never wait for a lock.
        connection = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()

    def _done(self, future: asyncio.Future[None]) -> None:
        self.running = None
        if not future.cancelled() and future.exception() is None:
            self.completed += 1
        elif not future.cancelled():
            # A busy or failed checkpoint is retried after the next batch of commits.
            log.warning("SQLite checkpoint failed: %s", future.exception())


_CHECKPOINTS: dict[str, _Checkpoints] = {}


class _AdaptedInLoopConnection(AdaptedConnection):
    """What the async engine holds: the `sqlite3` connection itself, under the name it expects."""

    __slots__ = ()

    def __init__(self, connection: InLoopConnection) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # The dialect sets `isolation_level` and the like on what it believes is the connection.
        if name == "_connection":
            object.__setattr__(self, name, value)
        else:
            setattr(self._connection, name, value)

    def cursor(self, *args: Any, **kw: Any) -> Any:
        return self._connection.cursor()

    def terminate(self) -> None:
        self._connection.close()


class _InLoopDBAPI(AsyncAdapt_dbapi_module):
    """The `sqlite3` module as the DB-API of an async dialect."""

    def __init__(self) -> None:
        self.sqlite = sqlite3
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "sqlite_version",
            "sqlite_version_info",
            "PARSE_COLNAMES",
            "PARSE_DECLTYPES",
            "Binary",
            "paramstyle",
        ):
            setattr(self, name, getattr(sqlite3, name))

    def connect(self, *args: Any, **kw: Any) -> _AdaptedInLoopConnection:
        timeout = float(kw.pop("timeout", DEFAULT_LOCK_TIMEOUT_S))
        # Any thread may close a pooled connection; the pool hands it to one user at a time.
        kw.update(factory=InLoopConnection, timeout=0, check_same_thread=False)
        connection = sqlite3.connect(*args, **kw)
        connection.lock_timeout = timeout
        path = _file_of(connection)
        if path:
            connection.execute("PRAGMA wal_autocheckpoint=0")
            connection.checkpoints = _CHECKPOINTS.setdefault(path, _Checkpoints(path))
        return _AdaptedInLoopConnection(connection)


def _file_of(connection: sqlite3.Connection) -> str:
    """The main database's file ("" for an in-memory database)."""
    for _seq, name, file in connection.execute("PRAGMA database_list"):
        if name == "main":
            return file or ""
    return ""


class SQLiteDialect_inloop(SQLiteDialect_pysqlite):
    driver = "inloop"
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> _InLoopDBAPI:  # type: ignore[override]
        return _InLoopDBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool

    def get_driver_connection(self, connection: Any) -> Any:
        return connection._connection

    def do_terminate(self, dbapi_connection: Any) -> None:
        dbapi_connection.terminate()


registry.register("sqlite.inloop", __name__, "SQLiteDialect_inloop")
