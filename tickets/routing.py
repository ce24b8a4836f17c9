"""Routing: a ticket goes to a worker of its grid, or to the triage queue of the nearest staffed
area above it when the grid has nobody on duty, the resident gave no grid, or the text could not
be classified."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, literal_column
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from storage.models import Area, Person, Ticket
from tickets.areas import Level, ancestor_ids, get_area
from tickets.lifecycle import Role, State
from tickets.sla import Urgency


class TriageReason(StrEnum):
    """Why a new ticket waits in a triage queue instead of going to a grid worker."""

    UNCLASSIFIED = "unclassified"  # the classifier could not place it
    NOT_GRID = "not_grid"  # reported at community level (or above): no grid chosen
    NO_WORKER = "no_worker"  # the grid has no worker on duty


@dataclass(frozen=True)
class Route:
    """Where a ticket goes: the area that handles it, and the worker when one was found (else
    why not)."""

    area: Area
    worker_id: int | None
    reason: TriageReason | None = None


def dispatchable(category: str | None, urgency: str) -> bool:
    """Can the ticket go straight to a grid worker? An emergency goes even when the classifier
    could not place it."""
    return category is not None or urgency == Urgency.EMERGENCY


def triage_reason(area: Area, *, classified: bool) -> TriageReason:
    """Why a ticket about `area` did not go to a grid worker, given that it did not."""
    if not classified:
        return TriageReason.UNCLASSIFIED
    if area.level != Level.GRID:
        return TriageReason.NOT_GRID
    return TriageReason.NO_WORKER


async def route(
    session: AsyncSession, area: Area, *, classified: bool, grid_worker_id: int | None
) -> Route:
    """`grid_worker_id` is the least-loaded worker of `area` (`least_loaded_worker_id`), looked
    up by the caller together with the area, so a routed ticket costs no query here."""
    if classified and area.level == Level.GRID and grid_worker_id is not None:
        return Route(area, grid_worker_id)
    reason = triage_reason(area, classified=classified)
    return Route(await triage_area(session, area), None, reason)


async def least_loaded_worker(session: AsyncSession, grid: Area) -> Person | None:
    """The grid's on-duty worker with the fewest open tickets (the longest-serving on a tie)."""
    worker_id = (await session.exec(least_loaded_worker_id(grid.id))).first()
    return await session.get(Person, worker_id) if worker_id is not None else None


# Written into the SQL as literals: a bound IN list is expanded anew on every execution, and
# this query runs with every complaint.
_OPEN_WORK_STATES = [
    literal_column(f"'{state.value}'") for state in (State.ASSIGNED, State.ACCEPTED)
]


def least_loaded_worker_id(grid_id: Any) -> Select:
    """The query behind `least_loaded_worker`, for the worker's id only. `grid_id` may be a
    column of an enclosing query (intake asks it as a subquery of its area lookup)."""
    open_work = and_(
        Ticket.assignee_id == Person.id,
        col(Ticket.state).in_(_OPEN_WORK_STATES),
    )
    return (
        select(Person.id)
        .outerjoin(Ticket, open_work)
        .where(Person.area_id == grid_id, Person.role == Role.WORKER, col(Person.on_duty))
        .group_by(col(Person.id))
        # Counting assignee_id, which the open-work index holds, lets the count come from the
        # index alone instead of visiting each open ticket's row.
        .order_by(func.count(col(Ticket.assignee_id)), col(Person.id))
        .limit(1)
    )


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
