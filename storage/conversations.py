"""Conversation state per (channel, chat, user), kept in the database so a restart or a second
process loses no half-finished complaint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationState


async def load_state(
    session: AsyncSession, channel: str, chat_id: str, user_id: str
) -> ConversationState | None:
    return await session.get(ConversationState, (channel, chat_id, user_id))


async def store_state(
    session: AsyncSession,
    existing: ConversationState | None,
    *,
    channel: str,
    chat_id: str,
    user_id: str,
    state: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """Write the new state over `existing` (the row `load_state` returned, or None); "idle"
    removes the row."""
    if state == "idle":
        if existing is not None:
            await session.delete(existing)
        return
    row = existing or ConversationState(channel=channel, chat_id=chat_id, user_id=user_id)
    row.state, row.data, row.updated_at = state, dict(data), now
    # A JSON column changed in place compares equal to itself; say it changed.
    flag_modified(row, "data")
    session.add(row)
