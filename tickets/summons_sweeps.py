"""The report clocks of 吹哨报到 (tickets/whistle.py), swept like departments' other parts
(tickets/part_sweeps.py claims them the same way, `FOR UPDATE SKIP LOCKED` on PostgreSQL): a
reminder to the summoned department before its report deadline, and when the deadline passes
one escalation to the staff of the street the ticket lies in, the summons counted late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket, TicketPart
from tickets.departments import street_of
from tickets.part_sweeps import claim_due_parts, claimed_parts, record_part_escalation
from tickets.parts import PartRole, PartState, stop_part_clocks
from tickets.policy import Policy
from tickets.whistle import REPORT_CLOCK, WORKED_ON


@dataclass(frozen=True)
class SummonsClockEvent:
    """What a sweep did to one summons, for the notices: `kind` is remind_report or
    escalate_report; `street_area_id` is where an escalation went."""

    kind: str
    ticket_id: int
    number: str
    part_id: int
    part_version: int
    department_id: int
    whistled_by_id: int | None
    assignee_id: int | None
    resident_id: int
    street_area_id: int | None
    deadline: datetime | None


async def sweep_summonses(
    session: AsyncSession, policy: Policy, *, limit: int = 1000
) -> list[SummonsClockEvent]:
    """Do what is due now on at most `limit` summonses, in the caller's transaction."""
    now = policy.clock.now()
    ids = await claim_due_parts(session, now, limit, (PartRole.SUMMONED,))
    fired: list[SummonsClockEvent] = []
    for part, ticket in await claimed_parts(session, ids):
        event = await _fire(session, part, ticket, now)
        session.add(part)
        if event is not None:
            fired.append(event)
    return fired


async def _fire(
    session: AsyncSession, part: TicketPart, ticket: Ticket, now: datetime
) -> SummonsClockEvent | None:
    if part.state != PartState.SUMMONED or ticket.state not in WORKED_ON:
        stop_part_clocks(part)  # reported, or the ticket was resolved, closed or withdrawn
        return None
    if part.escalate_at is not None and part.escalate_at <= now:
        # Late whatever the department does now: its 报到 is counted so.
        part.reported_in_time = False
        stop_part_clocks(part)
        street = await street_of(session, ticket)
        record_part_escalation(session, part, ticket, now, REPORT_CLOCK, street.id or 0)
        return _event("escalate_report", part, ticket, street.id)
    if part.remind_at is not None and part.remind_at <= now:
        part.remind_at = None
        part.next_due_at = part.escalate_at
        return _event("remind_report", part, ticket, None)
    part.next_due_at = min(
        (moment for moment in (part.remind_at, part.escalate_at) if moment is not None),
        default=None,
    )
    return None


def _event(
    kind: str, part: TicketPart, ticket: Ticket, street_area_id: int | None
) -> SummonsClockEvent:
    return SummonsClockEvent(
        kind=kind,
        ticket_id=ticket.id or 0,
        number=ticket.number,
        part_id=part.id or 0,
        part_version=part.version,
        department_id=part.department_id,
        whistled_by_id=part.created_by_id,
        assignee_id=ticket.assignee_id,
        resident_id=ticket.resident_id,
        street_area_id=street_area_id,
        deadline=part.due_report_at,
    )
