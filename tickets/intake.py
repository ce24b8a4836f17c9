"""群众点单: a resident's complaint becomes a ticket and is routed at once."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Person, Ticket
from tickets.areas import Level, get_area
from tickets.clocks import arm
from tickets.errors import InvalidInput, PermissionDenied, RuleViolation
from tickets.handling import assign_to
from tickets.lifecycle import Action, Role, State
from tickets.numbering import next_ticket_number
from tickets.policy import Policy
from tickets.routing import route
from tickets.sla import Urgency
from tickets.timeline import record_event


def check_complaint_text(text: str, policy: Policy) -> str:
    """The complaint as it will be stored, or a clear refusal: empty, unreadable or too long."""
    if not isinstance(text, str):
        raise InvalidInput("a complaint must be text")
    cleaned = "".join(
        char for char in text if char in "\n\t" or unicodedata.category(char)[0] != "C"
    ).strip()
    if not cleaned:
        raise InvalidInput("the complaint is empty", reason="empty")
    if len(cleaned) > policy.max_complaint_chars:
        raise InvalidInput(
            f"the complaint has {len(cleaned)} characters; at most "
            f"{policy.max_complaint_chars} are accepted",
            reason="too_long",
            length=len(cleaned),
            limit=policy.max_complaint_chars,
        )
    return cleaned


async def submit_complaint(
    session: AsyncSession,
    policy: Policy,
    *,
    resident: Person,
    text: str,
    area_id: int | None = None,
    category: str | None = None,
    subcategory: str | None = None,
    confidence: float | None = None,
    keywords: Sequence[str] = (),
    urgency: Urgency | str = Urgency.NORMAL,
    attachments: Sequence[dict[str, Any]] = (),
    latitude: float | None = None,
    longitude: float | None = None,
) -> Ticket:
    """Open a ticket for `resident` and route it: to a worker of the grid, else to triage.

    Everything is checked before anything is written, so a refusal leaves no half-made ticket.
    """
    if Role(resident.role) is not Role.RESIDENT:
        raise PermissionDenied("only residents submit complaints", role=resident.role)
    body = check_complaint_text(text, policy)
    try:
        urgency = Urgency(urgency)
    except ValueError:
        raise InvalidInput(f"unknown urgency {urgency!r}") from None
    if latitude is not None and not (-90 <= latitude <= 90 and -180 <= (longitude or 0) <= 180):
        raise InvalidInput("the location is not on Earth")
    area = await _complaint_area(session, area_id or resident.area_id)
    now = policy.clock.now()
    await _check_flood(session, policy, resident, now)
    # An emergency goes to the grid at once even when the classifier could not place it.
    dispatchable = category is not None or urgency is Urgency.EMERGENCY
    destination = await route(session, area, classified=dispatchable)
    ticket = Ticket(
        number=await next_ticket_number(session, policy.calendar.local_date(now)),
        resident_id=resident.id,
        text=body,
        attachments=list(attachments),
        latitude=latitude,
        longitude=longitude,
        category=category,
        subcategory=subcategory,
        category_confidence=confidence,
        category_keywords=list(keywords),
        urgency=urgency,
        state=State.SUBMITTED,
        area_id=area.id,
        handling_area_id=destination.area.id,
        handling_level=destination.area.level,
        created_at=now,
    )
    # The row is complete before it is written: one INSERT, no UPDATE after it.
    if destination.worker is not None:
        assign_to(ticket, destination.worker, destination.area, policy, now)
        ticket.state = State.ASSIGNED
    arm(ticket, policy, now)
    session.add(ticket)
    await session.flush()
    record_event(
        session,
        ticket=ticket,
        actor=resident,
        action=Action.SUBMIT,
        from_state=None,
        to_state=State.SUBMITTED,
        at=now,
    )
    if destination.worker is not None:
        record_event(
            session,
            ticket=ticket,
            actor=None,
            action=Action.ASSIGN,
            from_state=State.SUBMITTED,
            at=now,
            data={"assignee_id": destination.worker.id},
        )
    return ticket


async def _check_flood(
    session: AsyncSession, policy: Policy, resident: Person, now: datetime
) -> None:
    """At most `max_new_tickets_per_hour` per resident: one person cannot flood the queue."""
    recent = select(func.count()).where(
        Ticket.resident_id == resident.id, col(Ticket.created_at) > now - timedelta(hours=1)
    )
    if (await session.exec(recent)).one() >= policy.max_new_tickets_per_hour:
        raise RuleViolation(
            f"at most {policy.max_new_tickets_per_hour} new complaints an hour",
            reason="flood",
            limit=policy.max_new_tickets_per_hour,
        )


async def _complaint_area(session: AsyncSession, area_id: int | None) -> Area:
    """The area a complaint is about; with none known, the single top area if there is one."""
    if area_id is not None:
        return await get_area(session, area_id)
    roots = (await session.exec(select(Area).where(Area.level == Level.DISTRICT))).all()
    if len(roots) == 1 and roots[0].parent_id is None:
        return roots[0]
    raise InvalidInput("choose your community or grid before writing a complaint", reason="no_area")
