"""群众点单: a resident's complaint becomes a ticket and is routed at once; so does a complaint a
grid worker records for a resident (代办) or a hazard found on patrol (隐患上报)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Person, Ticket
from storage.tickets import insert_ticket
from tickets.areas import Level
from tickets.clocks import arm, start_dispatch_clock
from tickets.contact import check_phone
from tickets.errors import InvalidInput, NotFound, PlaceNeeded, RuleViolation
from tickets.handling import assign_to
from tickets.lifecycle import Action, Role, State
from tickets.numbering import next_ticket_number
from tickets.policy import Policy
from tickets.routing import dispatchable, least_loaded_worker_id, route
from tickets.sla import Urgency
from tickets.sources import Source, check_source
from tickets.timeline import event_row

# Where the problem is, in words: a 小区, building, crossing or landmark, not a second complaint.
MAX_ADDRESS_CHARS = 200


def _printable(text: str) -> str:
    # Stricter than plain_text (every control and format character goes), so one pass does both.
    return "".join(
        char for char in text if char in "\n\t" or unicodedata.category(char)[0] != "C"
    ).strip()


def check_complaint_text(text: str, policy: Policy) -> str:
    """The complaint as it will be stored, or a clear refusal: empty, unreadable or too long."""
    if not isinstance(text, str):
        raise InvalidInput("a complaint must be text")
    cleaned = _printable(text)
    if not cleaned:
        raise InvalidInput("the complaint is empty", reason="empty")
    if not has_words(cleaned):
        raise InvalidInput("the complaint has no words", reason="no_words")
    if len(cleaned) > policy.max_complaint_chars:
        raise InvalidInput(
            f"the complaint has {len(cleaned)} characters; at most "
            f"{policy.max_complaint_chars} are accepted",
            reason="too_long",
            length=len(cleaned),
            limit=policy.max_complaint_chars,
        )
    return cleaned


def has_words(text: str) -> bool:
    """Whether a text says anything: a letter (any script) or a digit. Emoji and punctuation
    alone (👍, ？？？) describe no problem anyone could handle."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def check_address(text: str) -> str:
    """Where the resident says the problem is, as it will be stored, or a clear refusal."""
    cleaned = " ".join(_printable(text).split()) if isinstance(text, str) else ""
    if not cleaned:
        raise InvalidInput("the address is empty", reason="empty")
    if len(cleaned) > MAX_ADDRESS_CHARS:
        raise InvalidInput(
            f"the address has {len(cleaned)} characters; at most {MAX_ADDRESS_CHARS}",
            reason="too_long",
            length=len(cleaned),
            limit=MAX_ADDRESS_CHARS,
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
    contact_phone: str | None = None,
    anonymous: bool = False,
    source: Source | str = Source.RESIDENT_CHAT,
    on_behalf_name: str | None = None,
    on_behalf_phone: str | None = None,
    address: str | None = None,
    ask_where: bool = False,
) -> Ticket:
    """Open a ticket for `resident` and route it: to a worker of the grid, else to triage.

    `resident` is whoever opens it in chat: the resident, or for another `source` the worker
    or staff member who records it (they follow it; a 代办 resident's own name and phone are
    `on_behalf_name`/`on_behalf_phone`). Everything is checked before anything is written, so
    a refusal leaves no half-made ticket.
    With `ask_where`, a ticket that no grid, location or address places is refused with
    PlaceNeeded, for the caller to ask where (checked here, where the area is read anyway).
    """
    source = check_source(source, Role(resident.role), resident.channel)
    body = check_complaint_text(text, policy)
    address = check_address(address) if address is not None else None
    try:
        urgency = Urgency(urgency)
    except ValueError:
        raise InvalidInput(f"unknown urgency {urgency!r}") from None
    phone = None if contact_phone is None else check_phone(contact_phone)
    if latitude is not None and not (-90 <= latitude <= 90 and -180 <= (longitude or 0) <= 180):
        raise InvalidInput("the location is not on Earth")
    now = policy.clock.now()
    area, recent, grid_worker_id = await _intake_facts(
        session, area_id or resident.area_id, resident, now
    )
    # Workers on patrol record many hazards an hour; the guard is against floods from residents.
    if source is Source.RESIDENT_CHAT and recent >= policy.max_new_tickets_per_hour:
        # At most so many an hour: one person cannot flood the queue.
        raise RuleViolation(
            f"at most {policy.max_new_tickets_per_hour} new complaints an hour",
            reason="flood",
            limit=policy.max_new_tickets_per_hour,
        )
    if ask_where and area.level != Level.GRID and latitude is None and address is None:
        raise PlaceNeeded("neither a grid, a location nor an address says where", area=area.name)
    destination = await route(
        session,
        area,
        classified=dispatchable(category, urgency),
        grid_worker_id=grid_worker_id,
    )
    ticket = Ticket(
        # Taken last, past every refusal: see tickets.numbering.
        number=await next_ticket_number(session, policy.calendar.local_date(now)),
        resident_id=resident.id,
        text=body,
        attachments=list(attachments),
        latitude=latitude,
        longitude=longitude,
        contact_phone=phone,
        anonymous=anonymous,
        address=address,
        category=category,
        subcategory=subcategory,
        category_confidence=confidence,
        category_keywords=list(keywords),
        urgency=urgency,
        source=source,
        on_behalf_name=on_behalf_name if source is Source.ON_BEHALF else None,
        on_behalf_phone=on_behalf_phone if source is Source.ON_BEHALF else None,
        state=State.SUBMITTED,
        area_id=area.id,
        handling_area_id=destination.area.id,
        handling_level=destination.area.level,
        created_at=now,
    )
    events = [_event(ticket, resident, Action.SUBMIT, None, State.SUBMITTED, now)]
    if destination.worker_id is not None:
        assign_to(ticket, destination.worker_id, destination.area, policy, now)
        ticket.state = State.ASSIGNED
        events.append(
            _event(ticket, None, Action.ASSIGN, State.SUBMITTED, State.ASSIGNED, now)
            | {"data": {"assignee_id": destination.worker_id}}
        )
    else:
        start_dispatch_clock(ticket, policy, now)
        events[0]["data"] = {**events[0]["data"], "triage": str(destination.reason)}
    arm(ticket, policy, now)
    # Written past the unit of work (see storage.tickets). The ticket returned is not in the
    # session: load it (`load_ticket`) to change it in the same transaction.
    ticket.id = await insert_ticket(session, ticket, events)
    return ticket


def _event(
    ticket: Ticket, actor: Person | None, action: str, from_state: str | None, to: str, at: datetime
) -> dict[str, Any]:
    return event_row(
        ticket_id=None, actor=actor, action=action, from_state=from_state, to_state=to, at=at
    )


# Built once: a statement object made afresh per complaint costs more to key for SQLAlchemy's
# compiled cache than the database takes to run it.
_RECENT = (
    select(func.count())
    .where(
        Ticket.resident_id == bindparam("resident_id"),
        col(Ticket.created_at) > bindparam("since", type_=Ticket.__table__.c.created_at.type),
    )
    .scalar_subquery()
)
# The worker comes as a whole row: it lands in the session, where the assignment ping that
# follows finds it without another query. The least-loaded query takes the area id as the same
# parameter, not as a column of `Area`: uncorrelated, PostgreSQL runs it once and fetches the
# worker by primary key, where the correlated form ran it twice and hashed the whole people
# table (0.66 ms of server time per complaint at a million tickets).
_WORKER = aliased(Person, name="worker")
_FACTS = (
    select(Area, _RECENT, _WORKER)
    .outerjoin(
        _WORKER, _WORKER.id == least_loaded_worker_id(bindparam("area_id")).scalar_subquery()
    )
    .where(Area.id == bindparam("area_id"))
)


async def _intake_facts(
    session: AsyncSession, area_id: int | None, resident: Person, now: datetime
) -> tuple[Area, int, int | None]:
    """The complaint's area, the resident's complaints in the last hour (the flood guard) and
    the least-loaded worker of the area if it is a grid: one round trip."""
    if area_id is None:
        area_id = (await _only_top_area(session)).id
    params = {"resident_id": resident.id, "since": now - timedelta(hours=1), "area_id": area_id}
    row = (await session.exec(_FACTS, params=params)).first()
    if row is None:
        raise NotFound(f"no area with id {area_id}", area_id=area_id)
    area, count, worker = row
    return area, count, worker.id if worker is not None else None


async def _only_top_area(session: AsyncSession) -> Area:
    """With no area known, the single top area if there is one."""
    roots = (await session.exec(select(Area).where(Area.level == Level.DISTRICT))).all()
    if len(roots) == 1 and roots[0].parent_id is None:
        return roots[0]
    raise InvalidInput("choose your community or grid before writing a complaint", reason="no_area")
