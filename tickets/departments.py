"""党委派单 / 部门接单 / 联动办: tickets the grid cannot solve, handled by functional departments.

A grid worker who cannot solve a ticket (小事不出网格 fails) sends it back "needing a department",
with a reason, to the street's triage. Street staff dispatch it to one lead department (主办) and
any assisting ones (协办); the category → department table suggests which. Each department's
part is accepted (or returned, with a reason, within the return window), handled and finished by
that department's own handlers on its own clocks (tickets/parts.py). The lead's moves carry the
ticket: its 接单 accepts the ticket, its 退单 puts it back in the street's triage, its 办结
resolves it — once the other parts are finished, or with a recorded reason why not. The resident
sees one ticket and gets one reply.

Every move follows tickets/handling.py: lock the ticket, check the lifecycle table and scope,
check the move's own rules, then change and append one timeline event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Department, DepartmentCategory, Person, Ticket, TicketPart
from tickets.areas import ancestor_ids, escalation_target, get_area
from tickets.clocks import start_auto_close, start_dispatch_clock
from tickets.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, StaleTicket
from tickets.handling import Move, finish_move, load_ticket, optional_text, required_text
from tickets.lifecycle import Action, Role, State
from tickets.parts import (
    OPEN_PART_STATES,
    PartRole,
    PartState,
    arm_part,
    check_part_return_window,
    open_dispatch_parts,
    parts_of,
    quiet_ticket_clocks,
    start_part_clocks,
    stop_part_clocks,
    withdraw_parts,
)
from tickets.permissions import authorize
from tickets.policy import Policy
from tickets.routing import triage_area

# Tickets a department holds: its open parts' tickets are in one of these.
WITH_DEPARTMENTS = (State.ASSIGNED, State.ACCEPTED)


def held_by_departments(ticket: Ticket) -> bool:
    """Departments hold the ticket now (no worker has it): the lead department hears what
    would otherwise go to the worker (催办, 补充)."""
    return (
        ticket.department_id is not None
        and ticket.assignee_id is None
        and ticket.state in WITH_DEPARTMENTS
    )


@dataclass(frozen=True)
class PartMove(Move):
    """A move on one department's part: the part as it is now, and the parts the move ended
    (the other open parts, when the lead returns the ticket)."""

    part: TicketPart | None = None
    parts: list[TicketPart] = field(default_factory=list)


async def get_department(session: AsyncSession, department_id: int) -> Department:
    department = await session.get(Department, department_id)
    if department is None:
        raise NotFound(f"no department with id {department_id}", department_id=department_id)
    return department


async def departments_serving(session: AsyncSession, ticket: Ticket) -> Sequence[Department]:
    """Every department serving the place of the problem (its area or one above it)."""
    area = await get_area(session, ticket.area_id)
    query = select(Department).where(col(Department.area_id).in_(ancestor_ids(area)))
    return (await session.exec(query.order_by(col(Department.code)))).all()


async def suggest_departments(session: AsyncSession, ticket: Ticket) -> list[Department]:
    """The departments the category table names for the ticket, among those serving its place:
    a second-level match before a first-level one, then the most local department first."""
    names = [name for name in (ticket.subcategory, ticket.category) if name]
    if not names:
        return []
    area = await get_area(session, ticket.area_id)
    depth = {area_id: index for index, area_id in enumerate(ancestor_ids(area))}
    rank = case((DepartmentCategory.category == ticket.subcategory, 0), else_=1)
    query = (
        select(Department, func.min(rank))
        .join(DepartmentCategory, col(DepartmentCategory.department_id) == Department.id)
        .where(
            col(DepartmentCategory.category).in_(names),
            col(Department.area_id).in_(list(depth)),
        )
        .group_by(col(Department.id))
    )
    found = (await session.exec(query)).all()
    ordered = sorted(found, key=lambda row: (row[1], -depth[row[0].area_id], row[0].code))
    return [department for department, _ in ordered]


async def needs_department(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reason: str,
    expected_version: int | None = None,
) -> Move:
    """需要部门处理: the grid cannot solve it; the ticket goes to the street's triage with the
    reason, for staff to dispatch to a department."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.NEEDS_DEPARTMENT)
    reason = required_text(reason, "reason", policy)
    street = await triage_area(session, await street_of(session, ticket))
    now = policy.clock.now()
    previous = ticket.assignee_id
    ticket.assignee_id, ticket.escalated_at, ticket.due_accept_at = None, now, None
    ticket.handling_area_id, ticket.handling_level = street.id, street.level
    start_dispatch_clock(ticket, policy, now)
    data = {"to_area_id": street.id, "previous_assignee_id": previous}
    return finish_move(session, policy, ticket, actor, transition, now, note=reason, data=data)


async def street_of(session: AsyncSession, ticket: Ticket) -> Area:
    """The street (街道) above the ticket's place; where the tree has none, the level above the
    one handling it."""
    area = await get_area(session, ticket.area_id)
    query = select(Area).where(col(Area.id).in_(ancestor_ids(area)), Area.level == "street")
    street = (await session.exec(query)).first()
    if street is not None:
        return street
    return await escalation_target(session, await get_area(session, ticket.handling_area_id))


async def dispatch_to_departments(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    lead_id: int,
    assist_ids: Sequence[int] = (),
    note: str | None = None,
    expected_version: int | None = None,
) -> PartMove:
    """党委派单: staff send a ticket from triage to a lead department and any assisting ones;
    each gets a part with its own accept clock. The ticket is assigned, to no worker."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.DISPATCH_DEPARTMENT)
    assists = list(dict.fromkeys(assist_ids))
    if lead_id in assists:
        raise InvalidInput("the lead department cannot also assist", reason="lead_assists")
    serving = {
        department.id: department for department in await departments_serving(session, ticket)
    }
    for department_id in (lead_id, *assists):
        if department_id not in serving:
            await get_department(session, department_id)  # an unknown id says so
            raise InvalidInput(
                "this department does not serve the ticket's area",
                department_id=department_id,
                reason="not_serving",
            )
    note = optional_text(note, "note", policy)
    now = policy.clock.now()
    ended = withdraw_parts(await parts_of(session, ticket_id), now)  # a dispatch left over
    parts = [
        _new_part(ticket, department_id, role, actor, policy, now)
        for department_id, role in (
            (lead_id, PartRole.LEAD),
            *((a, PartRole.ASSIST) for a in assists),
        )
    ]
    session.add_all([*parts, *ended])
    await session.flush()
    lead = parts[0]
    # Sent on after the dispatch clock ran out: the response is late whatever the lead does.
    late = ticket.accepted_in_time is False
    ticket.assignee_id, ticket.department_id = None, lead_id
    ticket.assigned_at, ticket.accepted_at = now, None
    ticket.due_accept_at, ticket.due_resolve_at = lead.due_accept_at, lead.due_finish_at
    ticket.accepted_in_time = False if late else None
    data = {
        "lead_id": lead_id,
        "assist_ids": assists,
        "part_ids": [part.id for part in parts],
        **({"ended_part_ids": [part.id for part in ended]} if ended else {}),
    }
    move = finish_move(session, policy, ticket, actor, transition, now, note=note, data=data)
    quiet_ticket_clocks(ticket)
    return PartMove(move.ticket, move.event, part=lead, parts=parts)


def _new_part(
    ticket: Ticket,
    department_id: int,
    role: PartRole,
    actor: Person,
    policy: Policy,
    now: Any,
) -> TicketPart:
    part = TicketPart(
        ticket_id=ticket.id or 0,
        department_id=department_id,
        role=role,
        state=PartState.ASSIGNED,
        created_at=now,
        created_by_id=actor.id,
    )
    start_part_clocks(part, ticket, policy, now)
    return part


async def _own_part(
    session: AsyncSession,
    ticket: Ticket,
    actor: Person | None,
    expected_version: int | None,
    states: frozenset[str] = OPEN_PART_STATES,
) -> tuple[TicketPart, list[TicketPart]]:
    """The actor's department's open part of the ticket (and all its parts), checked against
    the button's version: each department's buttons follow its own part."""
    if actor is None or Role(actor.role) is not Role.DEPARTMENT or actor.department_id is None:
        raise PermissionDenied("only a department's handlers act on its part", number=ticket.number)
    parts = await parts_of(session, ticket.id or 0)
    own = [part for part in open_dispatch_parts(parts) if part.department_id == actor.department_id]
    if not own or ticket.department_id is None:
        raise RuleViolation(
            f"your department has no open part in ticket {ticket.number}",
            number=ticket.number,
            reason="no_part",
        )
    part = own[-1]
    if expected_version is not None and part.version != expected_version:
        raise StaleTicket(
            f"ticket {ticket.number} has changed since this button was shown",
            number=ticket.number,
            state=ticket.state,
        )
    if part.state not in states:
        raise RuleViolation(
            f"your department's part is already {part.state}",
            number=ticket.number,
            state=part.state,
            reason=f"part_{part.state}",
        )
    return part, list(parts)


def _part_data(part: TicketPart, **more: Any) -> dict[str, Any]:
    return {"part_id": part.id, "department_id": part.department_id, "role": part.role, **more}


async def accept_part(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    expected_version: int | None = None,
) -> PartMove:
    """部门接单: a handler takes their department's part; its accept clock is settled (the
    department's 响应率). The lead's 接单 accepts the ticket too."""
    ticket = await load_ticket(session, ticket_id, viewer=actor)
    part, _ = await _own_part(
        session, ticket, actor, expected_version, frozenset({PartState.ASSIGNED})
    )
    lead = part.role == PartRole.LEAD
    transition = await authorize(
        session, actor, ticket, Action.DEPARTMENT_ACCEPT if lead else Action.PART_ACCEPT
    )
    now = policy.clock.now()
    in_time = part.due_accept_at is None or now <= part.due_accept_at
    part.accepted_in_time = in_time and part.accepted_in_time is not False
    part.state, part.accepted_at, part.accepted_by_id = PartState.ACCEPTED, now, actor.id
    arm_part(part, ticket, policy, now, start=now)
    part.version += 1
    session.add(part)
    if lead:
        ticket.accepted_at = now
        ticket.accepted_in_time = in_time and ticket.accepted_in_time is not False
    move = finish_move(session, policy, ticket, actor, transition, now, data=_part_data(part))
    quiet_ticket_clocks(ticket)
    return PartMove(move.ticket, move.event, part=part)


async def return_part(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reason: str,
    expected_version: int | None = None,
) -> PartMove:
    """部门退单, with a reason, within the return window: an assist's return ends its part and
    staff hear it; the lead's puts the ticket back in the street's triage and ends the other
    open parts, for staff to dispatch again."""
    ticket = await load_ticket(session, ticket_id, viewer=actor)
    part, parts = await _own_part(
        session, ticket, actor, expected_version, frozenset({PartState.ASSIGNED})
    )
    lead = part.role == PartRole.LEAD
    transition = await authorize(
        session, actor, ticket, Action.DEPARTMENT_RETURN if lead else Action.PART_RETURN
    )
    reason = required_text(reason, "reason", policy)
    check_part_return_window(part, policy)
    now = policy.clock.now()
    part.state, part.returned_at, part.note = PartState.RETURNED, now, reason
    stop_part_clocks(part)
    part.version += 1
    session.add(part)
    ended: list[TicketPart] = []
    if lead:
        ended = withdraw_parts([other for other in parts if other.id != part.id], now)
        session.add_all(ended)
        triage = await triage_area(session, await get_area(session, ticket.handling_area_id))
        ticket.department_id, ticket.returned_at, ticket.due_accept_at = None, now, None
        ticket.handling_area_id, ticket.handling_level = triage.id, triage.level
        start_dispatch_clock(ticket, policy, now)
    data = _part_data(part, ended_part_ids=[other.id for other in ended])
    move = finish_move(session, policy, ticket, actor, transition, now, note=reason, data=data)
    if not lead:
        quiet_ticket_clocks(ticket)
    return PartMove(move.ticket, move.event, part=part, parts=ended)


async def finish_part(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    note: str,
    expected_version: int | None = None,
) -> PartMove:
    """协办完成: an assisting department has done its part, and says what it did."""
    ticket = await load_ticket(session, ticket_id, viewer=actor)
    part, _ = await _own_part(
        session, ticket, actor, expected_version, frozenset({PartState.ACCEPTED})
    )
    if part.role == PartRole.LEAD:
        raise RuleViolation(
            "the lead department resolves the ticket instead", reason="lead_resolves"
        )
    transition = await authorize(session, actor, ticket, Action.PART_FINISH)
    note = required_text(note, "note", policy)
    now = policy.clock.now()
    part.state, part.finished_at, part.note = PartState.FINISHED, now, note
    stop_part_clocks(part)
    part.version += 1
    session.add(part)
    move = finish_move(
        session, policy, ticket, actor, transition, now, note=note, data=_part_data(part)
    )
    quiet_ticket_clocks(ticket)
    return PartMove(move.ticket, move.event, part=part)


async def resolve_by_lead(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reply: str,
    without_reason: str | None = None,
    expected_version: int | None = None,
) -> PartMove:
    """主办办结: the lead department resolves the ticket with one reply to the resident, once
    every other part is finished (or returned) — or, with `without_reason`, without them."""
    ticket = await load_ticket(session, ticket_id, viewer=actor)
    part, parts = await _own_part(
        session, ticket, actor, expected_version, frozenset({PartState.ACCEPTED})
    )
    if part.role != PartRole.LEAD:
        raise RuleViolation(
            "only the lead department resolves the ticket; finish your part instead",
            reason="not_lead",
        )
    transition = await authorize(session, actor, ticket, Action.DEPARTMENT_RESOLVE)
    reply = required_text(reply, "reply", policy)
    waiting = [other for other in open_dispatch_parts(parts) if other.id != part.id]
    without_reason = optional_text(without_reason, "reason", policy)
    if waiting and without_reason is None:
        raise RuleViolation(
            f"{len(waiting)} assisting part(s) are not finished; finish them or give a reason",
            waiting=len(waiting),
            reason="parts_open",
        )
    now = policy.clock.now()
    # Resolved without them: their parts end, so no button, list or late count outlives them.
    session.add_all(withdraw_parts(waiting, now))
    part.state, part.finished_at, part.note = PartState.FINISHED, now, reply
    stop_part_clocks(part)
    part.version += 1
    session.add(part)
    ticket.resolution_reply, ticket.resolved_at = reply, now
    start_auto_close(ticket, policy, now)
    ended_ids = [other.id for other in waiting]
    data = _part_data(part, without_part_ids=ended_ids, ended_part_ids=ended_ids)
    if without_reason is not None:
        data["without_reason"] = without_reason
    move = finish_move(session, policy, ticket, actor, transition, now, note=reply, data=data)
    return PartMove(move.ticket, move.event, part=part, parts=waiting)


async def department_work(
    session: AsyncSession, department_id: int, *, limit: int = 50
) -> Sequence[tuple[TicketPart, Ticket]]:
    """A department's open parts with their tickets, the nearest deadline first: what its
    handlers list. Only tickets departments still hold."""
    deadline = case(
        (TicketPart.state == PartState.ASSIGNED, TicketPart.due_accept_at),
        else_=TicketPart.due_finish_at,
    )
    query = (
        select(TicketPart, Ticket)
        .join(Ticket, col(Ticket.id) == TicketPart.ticket_id)
        .where(
            TicketPart.department_id == department_id,
            col(TicketPart.state).in_(list(OPEN_PART_STATES)),
            col(TicketPart.role).in_([PartRole.LEAD, PartRole.ASSIST]),
            col(Ticket.state).in_(list(WITH_DEPARTMENTS)),
            col(Ticket.department_id).is_not(None),
        )
        .order_by(deadline, col(TicketPart.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def open_part_of(
    session: AsyncSession, ticket_id: int, department_id: int | None
) -> TicketPart | None:
    """The department's open lead or assist part of the ticket (the latest), or None: what its
    handlers' buttons are about."""
    if department_id is None:
        return None
    query = (
        select(TicketPart)
        .where(
            TicketPart.ticket_id == ticket_id,
            TicketPart.department_id == department_id,
            col(TicketPart.state).in_(list(OPEN_PART_STATES)),
            col(TicketPart.role).in_([PartRole.LEAD, PartRole.ASSIST]),
        )
        .order_by(col(TicketPart.id).desc())
    )
    return (await session.exec(query)).first()


async def others_open(session: AsyncSession, part: TicketPart) -> int:
    """How many other lead or assist parts of the part's ticket are still open."""
    query = select(func.count()).where(
        TicketPart.ticket_id == part.ticket_id,
        TicketPart.id != part.id,
        col(TicketPart.state).in_(list(OPEN_PART_STATES)),
        col(TicketPart.role).in_([PartRole.LEAD, PartRole.ASSIST]),
    )
    return (await session.exec(query)).one()


async def department_names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    query = select(Department.id, Department.name).where(col(Department.id).in_(list(ids)))
    return {department_id: name for department_id, name in (await session.exec(query)).all()}


async def current_dispatch(session: AsyncSession, ticket_id: int) -> list[TicketPart]:
    """The lead and assist parts of the ticket's latest dispatch (the lead first): what its
    card shows. Earlier dispatches' parts stay on the timeline."""
    query = (
        select(TicketPart)
        .where(
            TicketPart.ticket_id == ticket_id,
            col(TicketPart.role).in_([PartRole.LEAD, PartRole.ASSIST]),
        )
        .order_by(col(TicketPart.id))
    )
    parts = (await session.exec(query)).all()
    if not parts:
        return []
    latest = max(part.created_at for part in parts)
    return [part for part in parts if part.created_at == latest]
