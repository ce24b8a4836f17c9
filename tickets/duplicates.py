"""重复诉求: a new complaint about a problem that an open ticket nearby already carries.

The rule (issue #16): an open ticket still being worked on (submitted, returned, assigned or
accepted — not yet resolved, closed, cancelled or merged) about the same community (the
complaint's grid, its community, or another grid of that community), created within the last 30
days, of the same category, sharing keywords with the complaint, and — when both have a location
— within `NEAR_METRES` of it.

The resident is offered to follow (关注) such a ticket instead of opening a second one, and staff
see it as a merge suggestion. Following writes a ticket born merged into the original
(`follow_ticket`): the resident's own words stay on record and the existing "residents of merged
duplicates follow the original" path tells them every change, while the follower's ticket is
never assigned and never asked for a callback, so the 三率 count the problem once, through the
original.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, or_, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Person, Ticket
from storage.tickets import insert_ticket
from tickets.areas import Level, get_area
from tickets.errors import NotFound, PermissionDenied, RuleViolation
from tickets.intake import check_complaint_text
from tickets.lifecycle import Action, Role, State
from tickets.numbering import next_ticket_number
from tickets.policy import Policy
from tickets.timeline import event_row

WINDOW = timedelta(days=30)
NEAR_METRES = 500.0
# Keywords two complaints must share: two, or every keyword of one that has fewer.
MIN_SHARED = 2
# The states of a ticket still being worked on: a resolved one waits for its callback, and a
# complaint about it is a reason to say 未解决, not a duplicate.
WORKED_ON = (State.SUBMITTED, State.RETURNED, State.ASSIGNED, State.ACCEPTED)
# Rows the database returns per complaint, those sharing most keywords first: the few among
# which the nearest is chosen.
BEST_ROWS = 5


@dataclass(frozen=True)
class Similar:
    """An open ticket a complaint may duplicate: what may be shown of it to anyone (no text,
    no resident), and the keywords both share."""

    id: int
    number: str
    state: str
    category: str | None
    created_at: datetime
    area_id: int
    shared: tuple[str, ...]
    metres: float | None  # apart, when both have a location


def metres_apart(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance between two WGS-84 points, in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(math.sqrt(min(1.0, h)))


def shared_keywords(mine: Sequence[str], theirs: Sequence[str]) -> tuple[str, ...]:
    """The keywords both complaints share, in `mine`'s order, if they are enough to call them
    the same problem; else ()."""
    mine, theirs = _distinct(mine), set(_distinct(theirs))
    shared = tuple(word for word in mine if word in theirs)
    needed = min(MIN_SHARED, len(mine), len(theirs))
    return shared if shared and len(shared) >= needed else ()


def _distinct(words: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(word for word in words if word))


# The community whose grids count as "the same place" as the complaint's area: a grid's parent,
# a community itself; above that (a street, the district) only the area itself counts (-1 is
# nobody's parent).
_COMMUNITY = (
    select(
        case(
            (Area.level == Level.GRID, col(Area.parent_id)),
            (Area.level == Level.COMMUNITY, col(Area.id)),
            else_=-1,
        )
    )
    .where(Area.id == bindparam("area_id"))
    .scalar_subquery()
)
_SCOPE = select(Area.id).where(or_(Area.id == bindparam("area_id"), Area.parent_id == _COMMUNITY))
_TIME = Ticket.__table__.c.created_at.type


def _candidates(elements: str) -> Select:
    """Open tickets of one category about the community's areas (ix_tickets_similar: a few
    index ranges), with the number of keywords each shares with the complaint, counted by the
    database (`elements`: its function that unnests a JSON array), so only the few best rows
    come back: reading every candidate into Python cost more than the rest of a chat turn."""
    words = getattr(func, elements)(Ticket.category_keywords).table_valued("value")
    shared = (
        select(func.count())
        .select_from(words)
        .where(words.c.value.in_(bindparam("keywords", expanding=True)))
        .scalar_subquery()
    )
    theirs = func.json_array_length(Ticket.category_keywords)
    # Two shared, or all of the fewer; never none (an empty list has nothing to share).
    needed = case(
        (theirs == 0, 1), (theirs < bindparam("needed"), theirs), else_=bindparam("needed")
    )
    return (
        select(
            Ticket.id,
            Ticket.number,
            Ticket.state,
            Ticket.category,
            Ticket.created_at,
            Ticket.area_id,
            Ticket.category_keywords,
            Ticket.latitude,
            Ticket.longitude,
            shared.label("shared"),
        )
        .where(
            col(Ticket.area_id).in_(_SCOPE.scalar_subquery()),
            Ticket.category == bindparam("category"),
            col(Ticket.state).in_(WORKED_ON),
            col(Ticket.created_at) >= bindparam("since", type_=_TIME),
            col(Ticket.created_at) <= bindparam("until", type_=_TIME),
            Ticket.id != bindparam("exclude_id"),
            Ticket.resident_id != bindparam("exclude_resident_id"),
            # Near enough when both have a location: a box here, the circle in Python.
            or_(
                col(Ticket.latitude).is_(None),
                col(Ticket.longitude).is_(None),
                and_(
                    col(Ticket.latitude).between(bindparam("south"), bindparam("north")),
                    col(Ticket.longitude).between(bindparam("west"), bindparam("east")),
                ),
            ),
            shared >= needed,
        )
        .order_by(text("shared DESC"), col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(BEST_ROWS)
    )


# JSON arrays are unnested by json_each on SQLite, json_array_elements_text on PostgreSQL; both
# name the element "value".
_CANDIDATES = {
    "sqlite": _candidates("json_each"),
    "postgresql": _candidates("json_array_elements_text"),
}


async def find_similar(
    session: AsyncSession,
    *,
    area_id: int,
    category: str | None,
    keywords: Sequence[str],
    at: datetime,
    latitude: float | None = None,
    longitude: float | None = None,
    exclude_id: int | None = None,
    exclude_resident_id: int | None = None,
) -> Similar | None:
    """The open ticket a complaint about `area_id` made `at` most likely duplicates, or None.

    Best is the one sharing the most keywords, then the nearest, then the newest. An
    unclassified complaint has no category to compare, so it matches nothing."""
    mine = _distinct(keywords)
    if category is None or not mine:
        return None
    located = latitude is not None and longitude is not None
    params = {
        "area_id": area_id,
        "category": category,
        "since": at - WINDOW,
        "until": at,
        "keywords": mine,
        "needed": min(MIN_SHARED, len(mine)),
        "exclude_id": exclude_id if exclude_id is not None else -1,
        "exclude_resident_id": exclude_resident_id if exclude_resident_id is not None else -1,
        **(_box(latitude, longitude) if located else _WORLD),
    }
    dialect = (await session.connection()).dialect.name
    best: tuple[Any, ...] | None = None
    found: Similar | None = None
    for row in (await session.exec(_CANDIDATES[dialect], params=params)).all():
        (ticket_id, number, state, cat, created, row_area, words, lat, lon, _count) = row
        shared = shared_keywords(mine, words or [])
        metres = None
        if located and lat is not None and lon is not None:
            metres = metres_apart(latitude, longitude, lat, lon)
            if metres > NEAR_METRES:
                continue
        rank = (len(shared), -(metres or 0.0), created, ticket_id)
        if shared and (best is None or rank > best):
            best = rank
            found = Similar(ticket_id, number, state, cat, created, row_area, shared, metres)
    return found


_WORLD = {"south": -90.0, "north": 90.0, "west": -180.0, "east": 180.0}


def _box(latitude: float, longitude: float) -> dict[str, float]:
    """A latitude/longitude box holding the circle of NEAR_METRES around the point."""
    dlat = math.degrees(NEAR_METRES / 6_371_000.0)
    dlon = dlat / max(math.cos(math.radians(latitude)), 0.01)
    return {
        "south": latitude - dlat,
        "north": latitude + dlat,
        "west": longitude - dlon,
        "east": longitude + dlon,
    }


def _community_id(area: Area) -> int:
    """The community whose grids count as "the same place": a grid's parent, a community
    itself. Above the community (a street, the district) only the area itself counts: -1
    names no parent."""
    if area.level == Level.GRID and area.parent_id is not None:
        return area.parent_id
    if area.level == Level.COMMUNITY:
        return area.id
    return -1


async def similar_to_ticket(session: AsyncSession, ticket: Ticket) -> Similar | None:
    """For staff: an older open ticket that `ticket` may duplicate (合并 suggestion)."""
    if ticket.merged_into_id is not None or ticket.state not in WORKED_ON:
        return None
    return await find_similar(
        session,
        area_id=ticket.area_id,
        category=ticket.category,
        keywords=ticket.category_keywords or [],
        at=ticket.created_at,
        latitude=ticket.latitude,
        longitude=ticket.longitude,
        exclude_id=ticket.id,
    )


async def follow_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    resident: Person,
    original_id: int,
    text: str,
    area_id: int | None = None,
    category: str | None = None,
    subcategory: str | None = None,
    keywords: Sequence[str] = (),
    urgency: str = "normal",
    attachments: Sequence[dict[str, Any]] = (),
    latitude: float | None = None,
    longitude: float | None = None,
) -> Ticket:
    """关注: the resident follows an open ticket about the same problem instead of opening one.

    Their complaint is kept as a ticket born merged into the original (closed at once, never
    assigned, no clocks): they hear every change of the original as its own resident does, the
    original's callback stays with its own resident, and nobody is given the work twice."""
    if Role(resident.role) is not Role.RESIDENT:
        raise PermissionDenied("only residents follow tickets", role=resident.role)
    body = check_complaint_text(text, policy)
    area = await get_area(session, area_id or resident.area_id or 0)
    original = await session.get(Ticket, original_id)
    if original is None:
        raise NotFound(f"no ticket with id {original_id}", ticket_id=original_id)
    await _check_followable(session, original, area, resident)
    now = policy.clock.now()
    ticket = Ticket(
        number=await next_ticket_number(session, policy.calendar.local_date(now)),
        resident_id=resident.id,
        text=body,
        attachments=list(attachments),
        latitude=latitude,
        longitude=longitude,
        category=category,
        subcategory=subcategory,
        category_keywords=list(keywords),
        urgency=urgency,
        state=State.CLOSED,
        area_id=area.id,
        handling_area_id=original.handling_area_id,
        handling_level=original.handling_level,
        merged_into_id=original.id,
        created_at=now,
        closed_at=now,
    )
    data = {"original_id": original.id, "original_number": original.number, "followed": True}
    events = [
        _event(resident, Action.SUBMIT, None, State.SUBMITTED, now),
        _event(resident, Action.MERGE, State.SUBMITTED, State.CLOSED, now) | {"data": data},
    ]
    ticket.id = await insert_ticket(session, ticket, events)
    return ticket


async def _check_followable(
    session: AsyncSession, original: Ticket, area: Area, resident: Person
) -> None:
    """Only a ticket the rule could have offered: open, not merged, about the same community,
    not the resident's own. Anything else is refused as unknown, so a forged id tells nothing."""
    community = _community_id(area)
    place = await session.get(Area, original.area_id)
    same_place = place is not None and (
        place.id == area.id or (community != -1 and community in (place.id, place.parent_id))
    )
    if not same_place or original.resident_id == resident.id:
        raise NotFound(f"no ticket with id {original.id}", ticket_id=original.id)
    if original.state in (State.CLOSED, State.CANCELLED) or original.merged_into_id is not None:
        raise RuleViolation(
            f"ticket {original.number} is {original.state}; it can no longer be followed",
            number=original.number,
            reason="follow_closed",
        )


def _event(
    actor: Person, action: str, from_state: str | None, to: str, at: datetime
) -> dict[str, Any]:
    return event_row(
        ticket_id=None, actor=actor, action=action, from_state=from_state, to_state=to, at=at
    )
