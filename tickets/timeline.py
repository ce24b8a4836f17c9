"""The append-only ticket timeline: every move leaves exactly one event, nothing is ever edited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person, Ticket, TicketEvent
from tickets.lifecycle import Role


def record_event(
    session: AsyncSession,
    *,
    ticket: Ticket,
    actor: Person | None,
    action: str,
    from_state: str | None,
    at: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    to_state: str | None = None,
) -> TicketEvent:
    """Append one event for `ticket`, which must already have an id. `actor` None is the system;
    `to_state` defaults to the ticket's state now."""
    event = TicketEvent(
        **event_row(
            ticket_id=ticket.id,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state or ticket.state,
            at=at,
            note=note,
            data=data,
        )
    )
    session.add(event)
    return event


def event_row(
    *,
    ticket_id: int | None,
    actor: Person | None,
    action: str,
    from_state: str | None,
    to_state: str,
    at: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event as a row for `append_events`."""
    return {
        "ticket_id": ticket_id,
        "at": at,
        "actor_id": actor.id if actor else None,
        "actor_role": actor.role if actor else Role.SYSTEM,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "note": note,
        "data": data or {},
    }


async def ticket_timeline(session: AsyncSession, ticket_id: int) -> Sequence[TicketEvent]:
    query = (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
    )
    return (await session.exec(query)).all()
