"""Work lists: a resident's tickets, a worker's open tasks, a staff member's triage queue, and the
tickets whose clock is due. Each list is scoped to what the person may see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, case, cast
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person, Ticket
from tickets.areas import get_area, subtree_ids
from tickets.errors import NotFound, PermissionDenied
from tickets.lifecycle import TRIAGE_STATES, Role, State
from tickets.permissions import check_can_view, in_scope


async def find_ticket(session: AsyncSession, viewer: Person, number: str) -> Ticket:
    """A ticket by its number, if `viewer` may see it. Unknown and forbidden look alike to
    residents, so nobody can probe other people's ticket numbers."""
    ticket = (await session.exec(select(Ticket).where(Ticket.number == number.strip()))).first()
    if ticket is None:
        raise NotFound(f"no ticket {number}", number=number)
    try:
        await check_can_view(session, viewer, ticket)
    except PermissionDenied:
        if Role(viewer.role) is Role.RESIDENT:
            raise NotFound(f"no ticket {number}", number=number) from None
        raise
    return ticket


async def tickets_of_resident(
    session: AsyncSession, resident: Person, *, limit: int = 20
) -> Sequence[Ticket]:
    query = (
        select(Ticket)
        .where(Ticket.resident_id == resident.id)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()


# The running clock's deadline in SQL (tickets.clocks.deadline in Python).
_deadline = case(
    (Ticket.state == State.ASSIGNED, col(Ticket.due_accept_at)), else_=col(Ticket.due_resolve_at)
)


async def open_tasks(session: AsyncSession, worker: Person, *, limit: int = 50) -> Sequence[Ticket]:
    """The worker's assigned and accepted tickets, the most pressing (overdue) first."""
    query = (
        select(Ticket)
        .where(
            Ticket.assignee_id == worker.id,
            col(Ticket.state).in_([State.ASSIGNED, State.ACCEPTED]),
        )
        .order_by(_deadline.asc().nulls_last(), col(Ticket.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def triage_queue(
    session: AsyncSession, staff: Person, *, limit: int = 50
) -> Sequence[Ticket]:
    """Unclassified, unroutable and returned tickets waiting in staff's subtree, oldest first."""
    if Role(staff.role) not in (Role.STAFF, Role.ADMIN) or staff.area_id is None:
        raise PermissionDenied("only staff have a triage queue", role=staff.role)
    area_ids = await subtree_ids(session, await get_area(session, staff.area_id))
    query = (
        select(Ticket)
        .where(
            col(Ticket.handling_area_id).in_(area_ids),
            or_(
                col(Ticket.state).in_(TRIAGE_STATES),
                (col(Ticket.category).is_(None)) & (Ticket.state == State.ASSIGNED),
            ),
        )
        .order_by(col(Ticket.created_at), col(Ticket.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def due_ticket_ids(
    session: AsyncSession, now: datetime, *, limit: int = 500
) -> list[tuple[int, datetime]]:
    """(id, due time) of tickets whose running clock has reached `now`, earliest first: the
    sweeps' work list. Ids only: a sweep locks and loads each ticket as it handles it."""
    query = (
        select(Ticket.id, Ticket.next_due_at)
        .where(col(Ticket.next_due_at).is_not(None), col(Ticket.next_due_at) <= now)
        .order_by(col(Ticket.next_due_at))
        .limit(limit)
    )
    return [(ticket_id, due) for ticket_id, due in (await session.exec(query)).all()]


async def may_see_photo(session: AsyncSession, viewer: Person, ref: str) -> bool:
    """Whether `viewer` may see the photo `ref`: it belongs to a ticket they may see (their own
    as a resident, one they handle as a worker or staff)."""
    as_text = cast(Ticket.attachments, String)
    rows = await session.exec(select(Ticket).where(as_text.contains(ref, autoescape=True)))
    for ticket in rows.all():
        held = any(a.get("kind") == "photo" and a.get("ref") == ref for a in ticket.attachments)
        if held and await in_scope(session, viewer, ticket):
            return True
    return False
