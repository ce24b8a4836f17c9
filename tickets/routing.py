"""Routing: a ticket goes to a worker of its grid, or to the triage queue of the nearest staffed
area above it when the grid has nobody on duty, the resident gave no grid, or the text could not
be classified."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Person, Ticket
from tickets.areas import Level, ancestor_ids, get_area
from tickets.lifecycle import Role, State


@dataclass(frozen=True)
class Route:
    """Where a ticket goes: the area that handles it, and the worker when one was found."""

    area: Area
    worker: Person | None


async def route(session: AsyncSession, area: Area, *, classified: bool) -> Route:
    if classified and area.level == Level.GRID:
        worker = await least_loaded_worker(session, area)
        if worker is not None:
            return Route(area, worker)
    return Route(await triage_area(session, area), None)


async def least_loaded_worker(session: AsyncSession, grid: Area) -> Person | None:
    """The grid's on-duty worker with the fewest open tickets (the longest-serving on a tie)."""
    open_work = and_(
        Ticket.assignee_id == Person.id,
        col(Ticket.state).in_([State.ASSIGNED, State.ACCEPTED]),
    )
    query = (
        select(Person, func.count(col(Ticket.id)).label("load"))
        .outerjoin(Ticket, open_work)
        .where(Person.area_id == grid.id, Person.role == Role.WORKER, col(Person.on_duty))
        .group_by(col(Person.id))
        .order_by(func.count(col(Ticket.id)), col(Person.id))
        .limit(1)
    )
    row = (await session.exec(query)).first()
    return row[0] if row else None


async def triage_area(session: AsyncSession, area: Area) -> Area:
    """The nearest area at or above `area` with staff on it; the top of the tree when none has."""
    ids = ancestor_ids(area)
    query = (
        select(Area)
        .join(Person, col(Person.area_id) == Area.id)
        .where(col(Area.id).in_(ids), col(Person.role).in_([Role.STAFF, Role.ADMIN]))
    )
    staffed = (await session.exec(query)).all()
    if staffed:
        return max(staffed, key=lambda candidate: len(candidate.path))
    return await get_area(session, ids[0])
