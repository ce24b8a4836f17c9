"""Two floors for the webhook benchmark: MinHu's turn with part of its work taken away.

They answer "how far could MinHu's webhook go if the chat turn were cheaper?" by measurement.
Both sit behind the same aiogram webhook handler as MinHu and the echo bot. They turn the update
into MinHu's channel-neutral event, classify the text with MinHu's classifier, render the real
proposal (text and buttons), and send it with MinHu's own `send_reply`.

- `reply_only` keeps nothing in any database. It is the ceiling for a turn that classifies and
  answers. Whatever the turn must also write (the update id, the draft) has to fit between this
  ceiling and the target.
- `hand_written_sqlite` adds the turn's bookkeeping as plain `sqlite3` statements, with no ORM
  and no SQLAlchemy: record the update id, read the person and their conversation state, store
  the draft, commit. Hardly any storage layer could do the same work for less. An
  emergency is not drafted but submitted at once, so those texts (2 of the 25 demo complaints)
  are rolled back here and handed to MinHu's own `handlers.dispatch.handle`, as a lean fast path
  for drafts would have to do. The plain statements run on the event loop's thread, so while
  such a `handle` holds SQLite's write lock (in aiosqlite's thread, awaiting the loop), a plain
  write would block the loop and never let it finish: one asyncio lock keeps the two apart, as
  SQLite would keep the two writers anyway.

Neither is a product, and both are upper bounds. `reply_only` proposes even for an emergency,
where MinHu submits a ticket. `hand_written_sqlite` classifies an emergency twice (here and in
`handle`), which costs about 1% of its time.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Message, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.telegram.aiogram_adapter import send_reply
from bot.telegram.translate import incoming
from handlers.context import Deps, Turn
from handlers.dispatch import handle
from handlers.events import Incoming
from handlers.resident import classify_draft, new_draft, show_proposal
from storage.models import Person

_CLAIM = "INSERT INTO processed_updates (channel, update_id, processed_at) VALUES (?, ?, ?)"
_PERSON_AND_STATE = (
    "SELECT p.id, p.role, p.area_id, p.locale, s.state, s.data FROM people p"
    " LEFT JOIN conversation_states s"
    " ON s.channel = p.channel AND s.chat_id = ? AND s.user_id = p.channel_user_id"
    " WHERE p.channel = ? AND p.channel_user_id = ?"
)
_STORE = (
    "INSERT INTO conversation_states (channel, chat_id, user_id, state, data, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def _resident(event: Incoming, row: tuple[Any, ...] | None = None) -> Person:
    """The person of `row` (id, role, area, locale), or with no row a stand-in resident."""
    person_id, role, area_id, locale = row[:4] if row else (0, "resident", 1, "zh-CN")
    return Person(
        id=person_id,
        channel=event.channel,
        channel_user_id=event.user_id,
        chat_id=event.chat_id,
        role=role,
        area_id=area_id,
        locale=locale,
        created_at=datetime.now(UTC),
    )


def _propose(deps: Deps, event: Incoming, person: Person) -> Turn:
    """Classify and render the proposal as `handlers.resident.propose` does."""
    # The turn's session is never touched by the proposal: there is none here.
    turn = Turn(deps, None, event, person)  # type: ignore[arg-type]
    draft = new_draft(event.text, None)
    classify_draft(turn, draft)
    turn.expect("drafting", draft=draft)
    show_proposal(turn, draft)
    return turn


def reply_only_app(deps: Deps, bot: Bot, secret: str) -> web.Application:
    async def on_message(message: Message, event_update: Update) -> None:
        event = incoming(event_update)
        assert event is not None
        turn = _propose(deps, event, _resident(event))
        for reply in turn.replies:
            await send_reply(bot, event.chat_id, reply)

    return _app(on_message, bot, secret)


def hand_written_sqlite_app(
    deps: Deps, bot: Bot, secret: str, database: sqlite3.Connection
) -> web.Application:
    writer = asyncio.Lock()

    async def on_message(message: Message, event_update: Update) -> None:
        event = incoming(event_update)
        assert event is not None
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores it
        async with writer:
            database.execute("BEGIN")
            try:
                database.execute(_CLAIM, (event.channel, event.update_id, now))
                key = (event.chat_id, event.channel, event.user_id)
                row = database.execute(_PERSON_AND_STATE, key).fetchone()
                turn = _propose(deps, event, _resident(event, row))
                if turn.data["draft"]["urgency"] == "emergency":
                    database.execute("ROLLBACK")
                    replies = (await handle(deps, event)).replies
                else:
                    state = (event.channel, event.chat_id, event.user_id, turn.state)
                    database.execute(_STORE, (*state, json.dumps(turn.data), now))
                    database.execute("COMMIT")
                    replies = turn.replies
            except BaseException:
                if database.in_transaction:
                    database.execute("ROLLBACK")
                raise
        for reply in replies:
            await send_reply(bot, event.chat_id, reply)

    return _app(on_message, bot, secret)


def connect(path: str) -> sqlite3.Connection:
    """A plain connection to the benchmark's database, with the pragmas MinHu's engine sets."""
    database = sqlite3.connect(path, isolation_level=None)
    database.execute("PRAGMA foreign_keys=ON")
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute("PRAGMA busy_timeout=30000")
    return database


def _app(on_message: Any, bot: Bot, secret: str) -> web.Application:
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.message()(on_message)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
        app, path="/hook"
    )
    return app
