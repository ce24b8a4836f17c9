"""A department's part of a ticket (主办 lead, 协办 assist, 吹哨 summoned) and its clocks.

Each lead or assist part runs its own clocks, as a ticket does: accept (签收) while assigned,
finish (办结 of the part) once accepted, each with a reminder before the deadline and, when it
passes, one escalation to the street staff holding the ticket. The deadlines come from the same
SLA table as a ticket's accept and resolve clocks, by the ticket's tier, and end by the 12345
hotline's deadline at the latest. While departments hold a ticket its own reminders stay quiet:
the parts speak for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket, TicketPart
from tickets.clocks import moved_deadline, within_external
from tickets.errors import RuleViolation
from tickets.policy import Policy
from tickets.sla import Duration


class PartRole(StrEnum):
    LEAD = "lead"  # 主办: holds the ticket, resolves it
    ASSIST = "assist"  # 协办: handles its own part
    SUMMONED = "summoned"  # 吹哨报到 (built apart)


class PartState(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    FINISHED = "finished"
    # Returned by the department, or withdrawn when the dispatch it belonged to ended (the lead
    # returned the ticket, or staff sent it elsewhere).
    RETURNED = "returned"
    SUMMONED = "summoned"
    REPORTED = "reported"


OPEN_PART_STATES = frozenset({PartState.ASSIGNED, PartState.ACCEPTED})
DISPATCH_ROLES = (PartRole.LEAD, PartRole.ASSIST)


def running_part_clock(part: TicketPart) -> str | None:
    """The SLA clock a lead or assist part runs: accept while assigned, resolve once accepted."""
    if part.role not in DISPATCH_ROLES:
        return None
    if part.state == PartState.ASSIGNED:
        return "accept"
    if part.state == PartState.ACCEPTED:
        return "resolve"
    return None


def part_deadline(part: TicketPart) -> datetime | None:
    clock = running_part_clock(part)
    if clock == "accept":
        return part.due_accept_at
    if clock == "resolve":
        return part.due_finish_at
    return None


def start_part_clocks(part: TicketPart, ticket: Ticket, policy: Policy, now: datetime) -> None:
    """On dispatch (or 重办): the accept and finish deadlines start over from `now`."""
    _measure_part(part, ticket, policy, now, accept=True)
    part.accepted_in_time = None
    arm_part(part, ticket, policy, now, start=now)


def _measure_part(
    part: TicketPart, ticket: Ticket, policy: Policy, start: datetime, *, accept: bool
) -> None:
    """The part's deadlines from `start`, by the ticket's tier and within the hotline's
    deadline, as the ticket's own are; the accept deadline only while `accept` still runs."""
    sla, calendar, kind = policy.sla, policy.calendar, (ticket.urgency, ticket.category)
    if accept:
        due = sla.due_accept(start, *kind, calendar, ticket.tier)
        part.due_accept_at = within_external(ticket, due)
    due = sla.due_resolve(start, *kind, calendar, ticket.tier)
    part.due_finish_at = within_external(ticket, due)


def restart_parts_for_tier(
    parts: Sequence[TicketPart], ticket: Ticket, policy: Policy, now: datetime
) -> list[TicketPart]:
    """A tier was set on a ticket departments hold: its open lead and assist parts are measured
    again by the tier's limits from when their clocks started (the lead's with the ticket's
    dispatch or 重办, an assist's with its dispatch), and re-armed only where the running
    deadline moved (tickets.clocks.moved_deadline). The ticket's deadlines follow its lead's,
    as at dispatch. Returns the open parts."""
    open_parts = open_dispatch_parts(parts)
    for part in open_parts:
        lead = part.role == PartRole.LEAD and part.department_id == ticket.department_id
        start = ticket.assigned_at if lead and ticket.assigned_at else part.created_at
        before = part_deadline(part)
        _measure_part(part, ticket, policy, start, accept=part.state == PartState.ASSIGNED)
        if moved_deadline(before, part_deadline(part), part.escalate_at, now):
            arm_part(part, ticket, policy, now, start=part.accepted_at or start)
            part.version += 1  # a reminder for the new deadline is news, not a repeat
        if lead:
            ticket.due_accept_at, ticket.due_resolve_at = part.due_accept_at, part.due_finish_at
    return open_parts


def arm_part(
    part: TicketPart,
    ticket: Ticket,
    policy: Policy,
    now: datetime,
    *,
    start: datetime | None = None,
) -> None:
    """After the part's state changes: its running clock's reminder and escalation afresh,
    counted from `start` (the dispatch, by default)."""
    clock, due = running_part_clock(part), part_deadline(part)
    part.escalate_at, part.remind_at = due, None
    if clock is not None and due is not None and due > now:
        kind = (ticket.urgency, ticket.category, policy.calendar, ticket.tier)
        remind = policy.sla.reminder(clock, start or part.created_at, due, *kind)
        part.remind_at = max(remind, now) if remind < due else None
    part.next_due_at = next_part_due(part)


def stop_part_clocks(part: TicketPart) -> None:
    part.remind_at = part.escalate_at = part.next_due_at = None


def next_part_due(part: TicketPart) -> datetime | None:
    if running_part_clock(part) is None:
        return None
    pending = [moment for moment in (part.remind_at, part.escalate_at) if moment is not None]
    return min(pending) if pending else None


def quiet_ticket_clocks(ticket: Ticket) -> None:
    """Departments hold the ticket: its deadlines stay (the dashboard measures them), but its
    own reminders and escalations would repeat what its parts' clocks say."""
    ticket.remind_at = ticket.escalate_at = ticket.next_due_at = None


def check_part_return_window(part: TicketPart, policy: Policy) -> None:
    """退单 within the return window (1 working day by default) of the part's dispatch."""
    window = Duration.parse(policy.sla.return_window)
    if policy.clock.now() > window.after(part.created_at, policy.calendar):
        raise RuleViolation(
            f"a ticket can only be returned within {window} of assignment",
            window=str(window),
            reason="return_window",
        )


async def parts_of(session: AsyncSession, ticket_id: int) -> Sequence[TicketPart]:
    """A ticket's parts, oldest first, locked until the transaction ends: FOR UPDATE on
    PostgreSQL; on SQLite a first no-op UPDATE takes the write lock, so two handlers pressing
    接单 at once take turns and the second reads the part the first accepted."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        table = TicketPart.__table__
        await connection.execute(
            update(table).where(table.c.ticket_id == ticket_id).values(version=table.c.version)
        )
    query = (
        select(TicketPart)
        .where(TicketPart.ticket_id == ticket_id)
        .order_by(col(TicketPart.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).all()


def open_dispatch_parts(parts: Sequence[TicketPart]) -> list[TicketPart]:
    """The lead and assist parts still waiting or in hand."""
    return [
        part for part in parts if part.role in DISPATCH_ROLES and part.state in OPEN_PART_STATES
    ]


def withdraw_parts(parts: Sequence[TicketPart], now: datetime) -> list[TicketPart]:
    """End the open lead and assist parts of a dispatch that is over; returns those ended."""
    ended = open_dispatch_parts(parts)
    for part in ended:
        part.state, part.returned_at = PartState.RETURNED, now
        stop_part_clocks(part)
        part.version += 1
    return ended


async def reopen_lead_part(
    session: AsyncSession, policy: Policy, ticket: Ticket, now: datetime
) -> TicketPart | None:
    """重办 of a ticket a department resolved: the lead part waits for the lead's 接单 again,
    with fresh clocks (its return window, counted from the dispatch, has passed), and the
    ticket's own clocks stay quiet."""
    if ticket.department_id is None:
        return None
    parts = await parts_of(session, ticket.id or 0)
    leads = [
        part
        for part in parts
        if part.role == PartRole.LEAD and part.department_id == ticket.department_id
    ]
    if not leads:
        return None
    lead = leads[-1]
    lead.state, lead.accepted_at, lead.accepted_by_id, lead.finished_at = (
        PartState.ASSIGNED,
        None,
        None,
        None,
    )
    start_part_clocks(lead, ticket, policy, now)
    lead.version += 1
    session.add(lead)
    ticket.due_accept_at, ticket.due_resolve_at = lead.due_accept_at, lead.due_finish_at
    quiet_ticket_clocks(ticket)
    return lead
