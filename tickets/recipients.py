"""Who is told about a ticket: the reads behind every notice, so the conversations never query.

Single tickets (a chat turn) get Person rows; a clock sweep, which can reach thousands of people
at once, gets `Recipient` tuples read as plain columns in a few set queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Department, Person, Ticket, TicketEvent
from tickets.areas import Level, ancestor_ids, get_area
from tickets.lifecycle import Action, Role
from tickets.people import staff_of_area
from tickets.routing import triage_area

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


async def person(session: AsyncSession, person_id: int | None) -> Person | None:
    """The person with this id, or None (no id, or gone)."""
    return await session.get(Person, person_id) if person_id is not None else None


async def residents_of(session: AsyncSession, ticket: Ticket) -> list[Person]:
    """The ticket's resident and those whose duplicates were merged into it: they follow it."""
    ids = [ticket.resident_id]
    merged = await session.exec(
        select(Ticket.resident_id).where(Ticket.merged_into_id == ticket.id)
    )
    ids += [resident_id for resident_id in merged.all() if resident_id not in ids]
    people = [await session.get(Person, person_id) for person_id in ids]
    return [found for found in people if found is not None]


async def triage_staff(session: AsyncSession, ticket: Ticket) -> list[Person]:
    """Staff seated at the area now handling the ticket: its triage queue is theirs."""
    return list(await staff_of_area(session, ticket.handling_area_id))


async def emergency_staff(session: AsyncSession, ticket: Ticket) -> list[Person]:
    """The staff on duty of the community and the street the ticket is about: an emergency
    reaches them at submission, whoever handles it."""
    area = await get_area(session, ticket.area_id)
    query = (
        select(Person)
        .join(Area, col(Area.id) == Person.area_id)
        .where(
            col(Person.area_id).in_(ancestor_ids(area)),
            col(Area.level).in_([Level.COMMUNITY, Level.STREET]),
            col(Person.role).in_(STAFF_ROLES),
            col(Person.on_duty),
        )
        .order_by(col(Area.path).desc(), col(Person.id))
    )
    return list((await session.exec(query)).all())


async def supervising_staff(session: AsyncSession, ticket: Ticket) -> list[Person]:
    """The staff of the nearest staffed area at or above the handling one: who decides on the
    worker's requests (延期)."""
    supervising = await triage_area(session, await get_area(session, ticket.handling_area_id))
    return list(await staff_of_area(session, supervising.id))


async def last_note(session: AsyncSession, ticket_id: int, action: Action) -> str:
    """The note of the ticket's latest `action` (e.g. the reason given with 延期), or ''."""
    query = (
        select(TicketEvent.note)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == action)
        .order_by(col(TicketEvent.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first() or ""


# --- for a whole sweep at once ----------------------------------------------------------------


class Recipient(NamedTuple):
    """What a notice needs of a person."""

    id: int
    locale: str | None
    channel: str
    chat_id: str


_RECIPIENT = (Person.id, Person.locale, Person.channel, Person.chat_id)


async def recipients(session: AsyncSession, ids: Iterable[int]) -> dict[int, Recipient]:
    rows = await session.exec(select(*_RECIPIENT).where(col(Person.id).in_(set(ids))))
    return {row[0]: Recipient(*row) for row in rows.all()}


async def staff_by_area(
    session: AsyncSession, area_ids: Iterable[int]
) -> dict[int, list[Recipient]]:
    """Staff seated at each of the areas."""
    area_ids = set(area_ids)
    if not area_ids:
        return {}
    query = select(Person.area_id, *_RECIPIENT).where(
        col(Person.area_id).in_(area_ids), col(Person.role).in_(STAFF_ROLES)
    )
    by_area: dict[int, list[Recipient]] = defaultdict(list)
    for area_id, *found in (await session.exec(query)).all():
        by_area[area_id].append(Recipient(*found))
    return by_area


async def area_names(session: AsyncSession, area_ids: Iterable[int]) -> dict[int, str]:
    area_ids = set(area_ids)
    if not area_ids:
        return {}
    rows = await session.exec(select(Area.id, Area.name).where(col(Area.id).in_(area_ids)))
    return {area_id: name for area_id, name in rows.all()}


async def followers(session: AsyncSession, ticket_ids: Iterable[int]) -> dict[int, list[Recipient]]:
    """Residents of duplicates merged into these tickets, by the ticket they follow."""
    query = (
        select(Ticket.merged_into_id, *_RECIPIENT)
        .join(Person, col(Person.id) == Ticket.resident_id)
        .where(col(Ticket.merged_into_id).in_(list(ticket_ids)))
    )
    by_ticket: dict[int, list[Recipient]] = defaultdict(list)
    for original, *found in (await session.exec(query)).all():
        by_ticket[original].append(Recipient(*found))
    return by_ticket


async def department_handlers(
    session: AsyncSession, department_ids: Iterable[int]
) -> dict[int, list[Recipient]]:
    """The handlers of each department (role `department`), on duty."""
    department_ids = set(department_ids)
    if not department_ids:
        return {}
    query = select(Person.department_id, *_RECIPIENT).where(
        col(Person.department_id).in_(department_ids),
        Person.role == Role.DEPARTMENT,
        col(Person.on_duty),
    )
    by_department: dict[int, list[Recipient]] = defaultdict(list)
    for department_id, *found in (await session.exec(query)).all():
        by_department[department_id].append(Recipient(*found))
    return by_department


async def department_names(session: AsyncSession, department_ids: Iterable[int]) -> dict[int, str]:
    department_ids = set(department_ids)
    if not department_ids:
        return {}
    query = select(Department.id, Department.name).where(col(Department.id).in_(department_ids))
    return {department_id: name for department_id, name in (await session.exec(query)).all()}


async def department_people(session: AsyncSession, department_id: int | None) -> list[Person]:
    """A department's handlers on duty: who hears of its parts."""
    if department_id is None:
        return []
    query = select(Person).where(
        Person.department_id == department_id,
        Person.role == Role.DEPARTMENT,
        col(Person.on_duty),
    )
    return list((await session.exec(query.order_by(col(Person.id)))).all())
