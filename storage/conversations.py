"""Conversation state per (channel, chat, user), kept in the database so a restart or a second
process loses no half-finished complaint.

Every chat turn reads this row and most write it, so these are plain statements built once (not
ORM objects, whose unit of work cost more than the statements themselves).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationState, Person

_STATES = ConversationState.__table__
# The key's parameters are named apart from the columns: an UPDATE reserves the column names
# for its SET clause.
_THIS_CHAT = and_(
    _STATES.c.channel == bindparam("in_channel"),
    _STATES.c.chat_id == bindparam("in_chat"),
    _STATES.c.user_id == bindparam("in_user"),
)
_LOAD = select(_STATES.c.state, _STATES.c.data).where(_THIS_CHAT)
_INSERT = insert(_STATES)
_UPDATE = (
    update(_STATES)
    .where(_THIS_CHAT)
    .values(state=bindparam("state"), data=bindparam("data"), updated_at=bindparam("updated_at"))
)
_DELETE = delete(_STATES).where(_THIS_CHAT)


# A chat turn starts with who is writing and where their conversation stands: one query.
_PERSON_AND_STATE = (
    select(Person, _STATES.c.state, _STATES.c.data)
    .outerjoin(
        _STATES,
        and_(
            _STATES.c.channel == Person.channel,
            _STATES.c.chat_id == bindparam("in_chat"),
            _STATES.c.user_id == Person.channel_user_id,
        ),
    )
    .where(
        Person.channel == bindparam("in_channel"),
        Person.channel_user_id == bindparam("in_user"),
    )
)


class SavedState(NamedTuple):
    state: str
    data: dict[str, Any]


async def load_person_and_state(
    session: AsyncSession, channel: str, chat_id: str, user_id: str
) -> tuple[Person | None, SavedState | None]:
    """The person known by this chat identity (None before their first contact) and their
    stored conversation state in this chat (None when idle)."""
    result = await session.exec(_PERSON_AND_STATE, params=_key(channel, chat_id, user_id))
    row = result.first()
    if row is None:
        return None, None
    person, state, data = row
    return person, SavedState(state, data or {}) if state is not None else None


async def load_state(
    session: AsyncSession, channel: str, chat_id: str, user_id: str
) -> SavedState | None:
    connection = await session.connection()
    row = (await connection.execute(_LOAD, _key(channel, chat_id, user_id))).first()
    return SavedState(row.state, row.data or {}) if row is not None else None


async def store_state(
    session: AsyncSession,
    existed: bool,
    *,
    channel: str,
    chat_id: str,
    user_id: str,
    state: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """Write the new state in the caller's transaction; `existed` says whether `load_state`
    found a row. "idle" removes the row."""
    connection = await session.connection()
    key = _key(channel, chat_id, user_id)
    if state == "idle":
        if existed:
            await connection.execute(_DELETE, key)
        return
    values = {"state": state, "data": dict(data), "updated_at": now}
    if existed:
        await connection.execute(_UPDATE, key | values)
    else:
        row = {"channel": channel, "chat_id": chat_id, "user_id": user_id}
        await connection.execute(_INSERT, row | values)


def _key(channel: str, chat_id: str, user_id: str) -> dict[str, str]:
    return {"in_channel": channel, "in_chat": chat_id, "in_user": user_id}
