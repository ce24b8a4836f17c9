"""Who may see and move which ticket. Buttons are never trusted: every move is checked here.

A resident sees only their own tickets, a worker the tickets assigned to them or lying in their
grid, a department handler the tickets their department has a part in, staff everything in their
subtree of the area tree, an admin everything.
"""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person, Ticket, TicketPart
from tickets.areas import contains, get_area
from tickets.errors import PermissionDenied
from tickets.lifecycle import WORKED_ON_STATES, Action, Role, State, Transition, transition_for
from tickets.parts import DISPATCH_ROLES, OPEN_PART_STATES, PartRole


def role_of(actor: Person | None) -> Role:
    return Role.SYSTEM if actor is None else Role(actor.role)


async def in_scope(session: AsyncSession, person: Person, ticket: Ticket) -> bool:
    """Is `ticket` within what `person` may see?"""
    role = Role(person.role)
    if role is Role.ADMIN:
        return True
    if role is Role.RESIDENT:
        return ticket.resident_id == person.id
    if role is Role.DEPARTMENT:
        # Not by area: a department serving the whole district sees only what it was sent.
        return await has_part(session, person.department_id, ticket)
    if role is Role.WORKER and ticket.assignee_id == person.id:
        return True
    if person.area_id is None:
        return False
    own_area = await get_area(session, person.area_id)
    for area_id in {ticket.area_id, ticket.handling_area_id}:
        if contains(own_area, (await get_area(session, area_id)).path):
            return True
    return False


async def has_part(session: AsyncSession, department_id: int | None, ticket: Ticket) -> bool:
    """Has the department a part (lead, assist or summoned) in `ticket`?"""
    if department_id is None:
        return False
    query = select(TicketPart.id).where(
        TicketPart.ticket_id == ticket.id, TicketPart.department_id == department_id
    )
    return (await session.exec(query.limit(1))).first() is not None


async def works_on(session: AsyncSession, person: Person, ticket: Ticket) -> bool:
    """Whether `person` handles `ticket` now rather than looks back at it. A department does
    while its lead or assist part is open, or while it is summoned (吹哨, waiting or reported on
    site) to a ticket still worked on; a department whose part is over (returned as not its
    own, finished, withdrawn) keeps the ticket's history but no longer the resident's contact,
    address or photos. Everyone else works on what their scope holds (checked apart)."""
    if Role(person.role) is not Role.DEPARTMENT:
        return True
    if person.department_id is None:
        return False
    open_part = and_(
        col(TicketPart.role).in_(DISPATCH_ROLES), col(TicketPart.state).in_(OPEN_PART_STATES)
    )
    conditions = [open_part]
    if State(ticket.state) in WORKED_ON_STATES:
        conditions.append(TicketPart.role == PartRole.SUMMONED)
    query = select(TicketPart.id).where(
        TicketPart.ticket_id == ticket.id,
        TicketPart.department_id == person.department_id,
        or_(*conditions),
    )
    return (await session.exec(query.limit(1))).first() is not None


def sees_contact(person: Person, ticket: Ticket) -> bool:
    """Whether someone handling `ticket` sees who reported it and their call-back number: staff
    always (on duty they may need to reach the resident in an emergency); the assignee and
    other workers unless the resident asked for anonymity (匿名). Scope is checked apart."""
    if Role(person.role) in (Role.STAFF, Role.ADMIN):
        return True
    return not ticket.anonymous


async def check_can_view(session: AsyncSession, person: Person, ticket: Ticket) -> None:
    if not await in_scope(session, person, ticket):
        raise PermissionDenied("this ticket is not yours to see", number=ticket.number)


async def authorize(
    session: AsyncSession, actor: Person | None, ticket: Ticket, action: Action
) -> Transition:
    """The transition `actor` may make on `ticket`, or a domain error saying why not.

    Scope is checked first, so someone outside the ticket's area learns nothing about its state.
    """
    role = role_of(actor)
    if actor is not None and not await in_scope(session, actor, ticket):
        raise PermissionDenied("this ticket is outside your area", number=ticket.number)
    transition = transition_for(action, State(ticket.state), role)
    if actor is None:
        return transition
    if role is Role.WORKER and ticket.assignee_id != actor.id:
        raise PermissionDenied("this ticket is not assigned to you", number=ticket.number)
    if transition.assignee_only and ticket.assignee_id != actor.id:
        raise PermissionDenied("only the assigned worker may do this", number=ticket.number)
    return transition
