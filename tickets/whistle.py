"""吹哨报到: a grid worker (or community staff) "blows the whistle" on a ticket that needs
departments on site; each summoned department must report its arrival (报到) within its report
clock (SlaPolicy.report: 30 minutes for an emergency, 1 working day otherwise).

A summons is a department's part of the ticket (role and state `summoned`, tickets/parts.py)
with its own clock: a reminder to the department's handlers before the deadline and, when it
passes, one escalation to the street's staff, the summons counted late (`reported_in_time`
False). A department that reports after that is still recorded, and still counted late.

Whistling and reporting only speak: the ticket stays with whoever holds it, its state and
version unchanged (the worker's buttons stay good). Every move leaves one timeline event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Department, Person, Ticket, TicketPart
from tickets.departments import departments_serving, get_department, suggest_departments
from tickets.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from tickets.handling import Move, load_ticket, optional_text
from tickets.lifecycle import Action, Role, State
from tickets.parts import PartRole, PartState, parts_of, stop_part_clocks
from tickets.permissions import authorize
from tickets.policy import Policy
from tickets.stats import count_if
from tickets.timeline import record_event

REPORT_CLOCK = "report"
# A summons still matters while the ticket is being worked on.
WORKED_ON = (State.SUBMITTED, State.RETURNED, State.ASSIGNED, State.ACCEPTED)
# More than this at once is no on-site meeting any more: the street dispatches instead.
MAX_SUMMONED = 8


@dataclass(frozen=True)
class WhistleMove(Move):
    """A whistle or a report: the ticket (unchanged), its event, and the summonses it made or
    settled."""

    parts: list[TicketPart] = field(default_factory=list)


async def whistle_choices(session: AsyncSession, ticket: Ticket) -> list[tuple[Department, bool]]:
    """The departments that may be summoned to the ticket's place, the category table's
    suggestions first (marked True), then the others serving the place."""
    suggested = await suggest_departments(session, ticket)
    chosen = {department.id for department in suggested}
    others = [d for d in await departments_serving(session, ticket) if d.id not in chosen]
    return [(d, True) for d in suggested] + [(d, False) for d in others]


async def whistle(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    department_ids: Sequence[int],
    note: str | None = None,
) -> WhistleMove:
    """吹哨: summon `department_ids` on site; each gets a summons with its report deadline."""
    ticket = await load_ticket(session, ticket_id, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.WHISTLE)
    wanted = list(dict.fromkeys(department_ids))
    if not wanted:
        raise InvalidInput("choose at least one department", reason="no_departments")
    if len(wanted) > MAX_SUMMONED:
        raise InvalidInput(
            f"at most {MAX_SUMMONED} departments at once", reason="too_many", limit=MAX_SUMMONED
        )
    serving = {department.id for department in await departments_serving(session, ticket)}
    for department_id in wanted:
        if department_id not in serving:
            await get_department(session, department_id)  # an unknown id says so
            raise InvalidInput(
                "this department does not serve the ticket's area",
                department_id=department_id,
                reason="not_serving",
            )
    waiting = {part.department_id for part in await summonses(session, ticket_id, waiting=True)}
    if already := [department_id for department_id in wanted if department_id in waiting]:
        department = await get_department(session, already[0])
        raise RuleViolation(
            f"{department.name} is already summoned and has not reported yet",
            department=department.name,
            reason="already_summoned",
        )
    note = optional_text(note, "note", policy)
    now = policy.clock.now()
    parts = [_summons(ticket, department_id, actor, note, policy, now) for department_id in wanted]
    session.add_all(parts)
    await session.flush()
    event = record_event(
        session,
        ticket=ticket,
        actor=actor,
        action=transition.action,
        from_state=ticket.state,
        at=now,
        note=note,
        data={
            "department_ids": wanted,
            "part_ids": [part.id for part in parts],
            "due_report_at": parts[0].due_report_at.isoformat() if parts[0].due_report_at else None,
        },
    )
    return WhistleMove(ticket, event, parts=parts)


def _summons(
    ticket: Ticket,
    department_id: int,
    actor: Person,
    note: str | None,
    policy: Policy,
    now: datetime,
) -> TicketPart:
    due = policy.sla.due_report(now, ticket.urgency, ticket.category, policy.calendar)
    remind = policy.sla.reminder(
        REPORT_CLOCK, now, due, ticket.urgency, ticket.category, policy.calendar
    )
    remind_at = max(remind, now) if remind < due else None
    return TicketPart(
        ticket_id=ticket.id or 0,
        department_id=department_id,
        role=PartRole.SUMMONED,
        state=PartState.SUMMONED,
        created_at=now,
        created_by_id=actor.id,
        note=note,
        due_report_at=due,
        remind_at=remind_at,
        escalate_at=due,
        next_due_at=remind_at or due,
    )


async def report_arrival(
    session: AsyncSession, policy: Policy, *, part_id: int, actor: Person
) -> WhistleMove:
    """报到: a handler of a summoned department records its arrival on site; in time if before
    the report deadline and the clock had not already run out."""
    summons = await session.get(TicketPart, part_id)
    if summons is None or summons.role != PartRole.SUMMONED:
        raise NotFound("no such summons", part_id=part_id)
    ticket = await load_ticket(session, summons.ticket_id, viewer=actor)
    if Role(actor.role) is not Role.DEPARTMENT or actor.department_id != summons.department_id:
        raise PermissionDenied("only the summoned department reports", number=ticket.number)
    transition = await authorize(session, actor, ticket, Action.REPORT_ARRIVAL)
    parts = {part.id: part for part in await parts_of(session, ticket.id or 0)}  # locked
    summons = parts[part_id]
    if summons.state != PartState.SUMMONED:
        raise RuleViolation(
            f"your department already reported on ticket {ticket.number}",
            number=ticket.number,
            reason="already_reported",
        )
    now = policy.clock.now()
    in_time = summons.due_report_at is None or now <= summons.due_report_at
    summons.reported_in_time = in_time and summons.reported_in_time is not False
    summons.state, summons.reported_at = PartState.REPORTED, now
    summons.accepted_by_id = actor.id
    stop_part_clocks(summons)
    summons.version += 1
    session.add(summons)
    event = record_event(
        session,
        ticket=ticket,
        actor=actor,
        action=transition.action,
        from_state=ticket.state,
        at=now,
        data={
            "part_id": summons.id,
            "department_id": summons.department_id,
            "in_time": summons.reported_in_time,
        },
    )
    return WhistleMove(ticket, event, parts=[summons])


async def summonses(
    session: AsyncSession, ticket_id: int, *, waiting: bool = False
) -> Sequence[TicketPart]:
    """A ticket's summonses, oldest first; `waiting`: only those not reported yet."""
    query = select(TicketPart).where(
        TicketPart.ticket_id == ticket_id, TicketPart.role == PartRole.SUMMONED
    )
    if waiting:
        query = query.where(TicketPart.state == PartState.SUMMONED)
    return (await session.exec(query.order_by(col(TicketPart.id)))).all()


async def waiting_summons(
    session: AsyncSession, ticket_id: int, department_id: int | None
) -> TicketPart | None:
    """The department's summons to the ticket that still waits for its 报到, if any."""
    if department_id is None:
        return None
    query = select(TicketPart).where(
        TicketPart.ticket_id == ticket_id,
        TicketPart.department_id == department_id,
        TicketPart.role == PartRole.SUMMONED,
        TicketPart.state == PartState.SUMMONED,
    )
    return (await session.exec(query.order_by(col(TicketPart.id).desc()))).first()


async def summoned_work(
    session: AsyncSession, department_id: int, *, limit: int = 50
) -> Sequence[tuple[TicketPart, Ticket]]:
    """A department's summonses still waiting for its 报到, on tickets still being worked on,
    the nearest report deadline first: what its handlers list beside their parts."""
    query = (
        select(TicketPart, Ticket)
        .join(Ticket, col(Ticket.id) == TicketPart.ticket_id)
        .where(
            TicketPart.department_id == department_id,
            TicketPart.role == PartRole.SUMMONED,
            TicketPart.state == PartState.SUMMONED,
            col(Ticket.state).in_(list(WORKED_ON)),
        )
        .order_by(col(TicketPart.due_report_at), col(TicketPart.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


@dataclass(frozen=True)
class SummonsCount:
    """One department's 吹哨报到 record over a period: how often it was summoned, how often it
    reported in time, how often late (after its deadline, or never once escalated), and how
    many summonses still wait within their clock. A summons whose ticket was done before the
    department's clock ran out is summoned but in none of the other three."""

    department_id: int
    name: str
    summoned: int
    in_time: int
    late: int
    waiting: int


async def summons_counts(
    session: AsyncSession, *, since: datetime | None = None, until: datetime | None = None
) -> list[SummonsCount]:
    """Per department, its summonses made in [since, until): summoned, in time, late, waiting;
    departments never summoned are left out."""
    in_time = count_if(col(TicketPart.reported_in_time).is_(True))
    late = count_if(col(TicketPart.reported_in_time).is_(False))
    open_ticket = col(Ticket.state).in_(list(WORKED_ON))
    waiting = count_if(col(TicketPart.reported_in_time).is_(None) & open_ticket)
    query = (
        select(Department.id, Department.name, func.count(), in_time, late, waiting)
        .join(TicketPart, col(TicketPart.department_id) == Department.id)
        .join(Ticket, col(Ticket.id) == TicketPart.ticket_id)
        .where(TicketPart.role == PartRole.SUMMONED)
        .group_by(col(Department.id), col(Department.name))
        .order_by(col(Department.name))
    )
    if since is not None:
        query = query.where(TicketPart.created_at >= since)
    if until is not None:
        query = query.where(TicketPart.created_at < until)
    rows = (await session.exec(query)).all()
    return [
        SummonsCount(*(row[0], row[1]), *(int(value or 0) for value in row[2:])) for row in rows
    ]
