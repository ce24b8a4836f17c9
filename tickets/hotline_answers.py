"""办理结果回传: what goes back to the 12345 hotline for each of its cases, under its number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket
from tickets.policy import Policy
from tickets.sources import Source

# A case merged into another ticket (重复诉求) is answered by that ticket's handling.
_ORIGINAL = aliased(Ticket, name="original")


async def hotline_answers(
    session: AsyncSession, policy: Policy, *, since: datetime
) -> list[dict[str, Any]]:
    """Each hotline case resolved, called back or closed since `since` (or whose original, if
    merged, was), oldest case first: the reply (办理结果), its times (local, ISO 8601), the
    callback (回访) and the 三率 fields — responded in time (响应), solved (解决), satisfaction
    (满意); None where there is none yet. A merged case carries its original's number and
    answer."""
    moments = [
        moment
        for ticket in (Ticket, _ORIGINAL)
        for moment in (ticket.resolved_at, ticket.callback_at, ticket.closed_at)
    ]
    query = (
        select(Ticket, _ORIGINAL)
        .outerjoin(_ORIGINAL, col(_ORIGINAL.id) == Ticket.merged_into_id)
        .where(
            Ticket.source == Source.HOTLINE,
            col(Ticket.external_number).is_not(None),
            or_(*(col(moment) >= since for moment in moments)),
        )
        .order_by(col(Ticket.id))
    )
    zone = policy.calendar.timezone

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None

    answers = []
    for case, original in (await session.exec(query)).all():
        answered = original or case
        answers.append(
            {
                "case_number": case.external_number,
                "ticket_number": case.number,
                "merged_into": original.number if original else None,
                "state": case.state,
                "reply": answered.resolution_reply,
                "resolved_at": local(answered.resolved_at),
                "closed_at": local(case.closed_at),
                "callback_at": local(answered.callback_at),
                "solved": answered.callback_solved,
                "satisfaction": answered.callback_satisfaction,
                "responded_in_time": answered.accepted_in_time,
            }
        )
    return answers
