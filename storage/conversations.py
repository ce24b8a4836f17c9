"""Conversation state per (channel, chat, user), kept in the database so a restart or a second
process loses no half-finished complaint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationState


async def load_state(
    session: AsyncSession, channel: str, chat_id: str, user_id: str
) -> ConversationState | None:
    return await session.get(ConversationState, (channel, chat_id, user_id))


async def save_state(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    user_id: str,
    state: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    row = await session.get(ConversationState, (channel, chat_id, user_id))
    if row is None:
        row = ConversationState(channel=channel, chat_id=chat_id, user_id=user_id, state=state)
    row.state, row.data, row.updated_at = state, dict(data), now
    session.add(row)


async def clear_state(session: AsyncSession, channel: str, chat_id: str, user_id: str) -> None:
    row = await session.get(ConversationState, (channel, chat_id, user_id))
    if row is not None:
        await session.delete(row)
