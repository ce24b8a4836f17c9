"""The clocks of departments' parts (tickets/parts.py), swept like tickets' (tickets/sweeps.py):
a reminder before the part's deadline, and when it passes one escalation to the street staff
holding the ticket. No job per part: a sweep claims the parts whose `next_due_at` has come —
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two sweepers never take the same part; on SQLite a
first no-op UPDATE takes the single write lock.

Parts are far fewer than tickets (only what the grid could not solve), so the claimed parts are
moved on as objects rather than in bulk statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket, TicketPart
from tickets.lifecycle import Action, State
from tickets.parts import (
    DISPATCH_ROLES,
    next_part_due,
    part_deadline,
    running_part_clock,
    stop_part_clocks,
)
from tickets.policy import Policy
from tickets.timeline import record_event

_PARTS = TicketPart.__table__
_WITH_DEPARTMENTS = (State.ASSIGNED, State.ACCEPTED)


@dataclass(frozen=True)
class PartClockEvent:
    """What a sweep did to one part, for the notices: `kind` is remind_ or escalate_ and the
    clock (accept, resolve)."""

    kind: str
    ticket_id: int
    number: str
    part_id: int
    part_version: int
    department_id: int
    role: str
    handling_area_id: int
    deadline: datetime | None
    leader_id: int | None = None  # 包案领导: hears the part's alerts, as the ticket's


async def sweep_parts(
    session: AsyncSession, policy: Policy, *, limit: int = 1000
) -> list[PartClockEvent]:
    """Do what is due now on at most `limit` parts, in the caller's transaction."""
    now = policy.clock.now()
    ids = await claim_due_parts(session, now, limit, DISPATCH_ROLES)
    fired: list[PartClockEvent] = []
    for part, ticket in await claimed_parts(session, ids):
        event = _fire(session, part, ticket, now)
        session.add(part)
        if event is not None:
            fired.append(event)
    return fired


async def claim_due_parts(
    session: AsyncSession, now: datetime, limit: int, roles: Sequence[str]
) -> list[int]:
    """The ids of at most `limit` parts in `roles` whose `next_due_at` has come, claimed for
    this transaction. Each kind of part has its own sweep (吹哨: tickets/summons_sweeps.py)."""
    due = (_PARTS.c.next_due_at <= now) & _PARTS.c.role.in_(list(roles))
    oldest = select(_PARTS.c.id).where(due).order_by(_PARTS.c.next_due_at).limit(limit)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        claim = oldest.with_for_update(skip_locked=True)
        return list((await connection.execute(claim)).scalars().all())
    touch = (
        update(_PARTS)
        .where(_PARTS.c.id.in_(oldest.scalar_subquery()))
        .values(next_due_at=_PARTS.c.next_due_at)
        .returning(_PARTS.c.id)
    )
    return list((await connection.execute(touch)).scalars().all())


async def claimed_parts(
    session: AsyncSession, ids: Sequence[int]
) -> Sequence[tuple[TicketPart, Ticket]]:
    """The claimed parts with their tickets, fresh from the database, in id order."""
    if not ids:
        return []
    query = (
        select(TicketPart, Ticket)
        .join(Ticket, col(Ticket.id) == TicketPart.ticket_id)
        .where(col(TicketPart.id).in_(ids))
        .order_by(col(TicketPart.id))
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).all()


def record_part_escalation(
    session: AsyncSession,
    part: TicketPart,
    ticket: Ticket,
    now: datetime,
    clock: str,
    to_area_id: int,
    **more: Any,
) -> None:
    """The timeline's entry for a part's clock that ran out and went to `to_area_id`'s staff."""
    data = {"clock": clock, "part_id": part.id, "department_id": part.department_id}
    record_event(
        session,
        ticket=ticket,
        actor=None,
        action=Action.ESCALATE_OVERDUE,
        from_state=ticket.state,
        at=now,
        data={**data, "to_area_id": to_area_id, **more},
    )


def _fire(
    session: AsyncSession, part: TicketPart, ticket: Ticket, now: datetime
) -> PartClockEvent | None:
    """Decide one part: escalate, remind, or (the ticket left the departments, or nothing is
    due after all) stop or re-aim."""
    clock = running_part_clock(part)
    if clock is None or ticket.state not in _WITH_DEPARTMENTS or ticket.department_id is None:
        stop_part_clocks(part)  # staff took the ticket elsewhere, or the resident withdrew it
        return None
    if part.escalate_at is not None and part.escalate_at <= now:
        # The department's response is late (its 响应率), whatever it does now.
        if clock == "accept" and part.accepted_in_time is None:
            part.accepted_in_time = False
        part.escalate_at = part.remind_at = None
        part.next_due_at = next_part_due(part)
        record_part_escalation(
            session, part, ticket, now, clock, ticket.handling_area_id, at_top=True
        )
        return _event(f"escalate_{clock}", part, ticket)
    if part.remind_at is not None and part.remind_at <= now:
        part.remind_at = None
        part.next_due_at = next_part_due(part)
        return _event(f"remind_{clock}", part, ticket)
    part.next_due_at = next_part_due(part)
    return None


def _event(kind: str, part: TicketPart, ticket: Ticket) -> PartClockEvent:
    return PartClockEvent(
        kind=kind,
        ticket_id=ticket.id or 0,
        number=ticket.number,
        part_id=part.id or 0,
        part_version=part.version,
        department_id=part.department_id,
        role=part.role,
        handling_area_id=ticket.handling_area_id,
        deadline=part_deadline(part),
        leader_id=ticket.leader_id,
    )
