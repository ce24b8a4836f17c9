"""One update of a chat at a time, across every process serving the bot.

Telegram may deliver several updates of one chat at once (an album, a quick follow-up; webhook
deliveries run in parallel, and behind a load balancer they land in different processes). Each
update reads the conversation state and writes it back, so two at once would lose one's change.
Updates of one chat therefore queue: in this process behind an asyncio lock, and across
processes behind a PostgreSQL advisory lock keyed by the chat. SQLite serves a single process,
so the asyncio lock is all it needs.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import is_sqlite


def lock_key(chat_id: str) -> int:
    """A signed 64-bit key for pg_advisory_lock, the same in every process."""
    digest = hashlib.blake2b(f"minhu-chat:{chat_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ChatLocks:
    def __init__(self, engine: AsyncEngine, *, max_holders: int = 5) -> None:
        self.engine = engine
        self.shared = not is_sqlite(engine.url.render_as_string())
        self._local: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        # A holder keeps one pooled connection for the lock and needs another for its work:
        # bounding the holders keeps the pool from running dry with every holder waiting.
        self._holders = asyncio.Semaphore(max_holders)

    @asynccontextmanager
    async def hold(self, chat_id: str) -> AsyncIterator[None]:
        lock = self._local.setdefault(chat_id, asyncio.Lock())
        self._waiting[chat_id] = self._waiting.get(chat_id, 0) + 1
        try:
            async with lock:
                if not self.shared:
                    yield
                    return
                async with self._holders, self.engine.connect() as connection:
                    key = {"key": lock_key(chat_id)}
                    await connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
                    try:
                        yield
                    finally:
                        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        finally:
            # Forget the lock once nobody waits for it, so the table stays the size of the
            # chats active right now.
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:
                del self._waiting[chat_id], self._local[chat_id]
