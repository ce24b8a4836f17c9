"""办理结果回传: what goes back to the 12345 hotline for each of its cases, under its number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket
from tickets.policy import Policy
from tickets.sources import Source


async def hotline_answers(
    session: AsyncSession, policy: Policy, *, since: datetime
) -> list[dict[str, Any]]:
    """Each hotline case resolved, called back or closed since `since`, oldest case first: the
    reply (办理结果), its times (local, ISO 8601), the callback (回访) and the 三率 fields —
    responded in time (响应), solved (解决), satisfaction (满意); None where there is none yet."""
    query = (
        select(Ticket)
        .where(
            Ticket.source == Source.HOTLINE,
            col(Ticket.external_number).is_not(None),
            or_(
                col(Ticket.resolved_at) >= since,
                col(Ticket.callback_at) >= since,
                col(Ticket.closed_at) >= since,
            ),
        )
        .order_by(col(Ticket.id))
    )
    zone = policy.calendar.timezone

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None

    return [
        {
            "case_number": ticket.external_number,
            "ticket_number": ticket.number,
            "state": ticket.state,
            "reply": ticket.resolution_reply,
            "resolved_at": local(ticket.resolved_at),
            "closed_at": local(ticket.closed_at),
            "callback_at": local(ticket.callback_at),
            "solved": ticket.callback_solved,
            "satisfaction": ticket.callback_satisfaction,
            "responded_in_time": ticket.accepted_in_time,
        }
        for ticket in (await session.exec(query)).all()
    ]
