"""三率 per department (职能部门) and per tier (分级), next to the grids and workers of a report.

A department's figures come from its parts of tickets (tickets/parts.py):
  响应率 = lead and assist parts accepted within their accept clock ÷ those parts assigned; a
          part returned or withdrawn before its accept clock ran out is no response either way
          and leaves the rate, as a 退单 within the window does for a worker;
  解决率, 满意率 = the callbacks of the tickets the department led (主办): the resident judges the
          one reply the lead gave;
  报到 = departments summoned by 吹哨 that reported on site within their clock, of those summoned.
A tier's figures are the tickets of that tier, counted as tickets/stats.py counts an area's.
Parts count by when they were created; callbacks by when they were given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Department, Ticket, TicketCallback, TicketPart
from tickets.parts import DISPATCH_ROLES, PartRole, PartState
from tickets.stats import (
    Period,
    ThreeRates,
    callback_rates_query,
    count_if,
    in_period,
    within,
)


@dataclass(frozen=True)
class DepartmentFigures:
    """One row per department: its parts' 响应率, its led tickets' callbacks, its 报到."""

    department_id: int
    name: str
    serves_path: str  # the path of the area it serves (tickets.areas.contains)
    rates: ThreeRates
    summoned: int = 0
    reported_in_time: int = 0


def _dispatched() -> Any:
    return col(TicketPart.role).in_(DISPATCH_ROLES)


def part_rates_query(*where: Any) -> Any:
    """Per department: parts assigned, accepted in time, summoned, reported in time."""
    settled = or_(
        col(TicketPart.accepted_in_time).is_not(None), TicketPart.state == PartState.ASSIGNED
    )
    return (
        select(
            TicketPart.department_id,
            count_if(_dispatched() & settled),
            count_if(_dispatched() & col(TicketPart.accepted_in_time).is_(True)),
            count_if(TicketPart.role == PartRole.SUMMONED),
            count_if(col(TicketPart.reported_in_time).is_(True)),
        )
        .where(*where)
        .group_by(TicketPart.department_id)
    )


async def department_rows(
    session: AsyncSession, ids: list[int] | None, period: Period | None
) -> tuple[DepartmentFigures, ...]:
    """Every department with a part or a led callback in the period, about tickets of the areas
    `ids` (None: the whole tree), sorted by name. Two grouped queries, each read from an index
    alone over the whole tree (ix_ticket_parts_rates, ix_callbacks_department_at), and the
    names."""
    parts = part_rates_query(*in_period(TicketPart.created_at, period))
    if ids is not None:
        parts = parts.join(Ticket, col(Ticket.id) == TicketPart.ticket_id).where(
            *within(Ticket.area_id, ids)
        )
    callbacks = callback_rates_query(
        TicketCallback.department_id,
        col(TicketCallback.department_id).is_not(None),
        *within(TicketCallback.area_id, ids),
        *in_period(TicketCallback.at, period),
    )
    rates: dict[int, ThreeRates] = defaultdict(ThreeRates)
    reports: dict[int, tuple[int, int]] = {}
    for department_id, assigned, in_time, summoned, reported in await session.exec(parts):
        rates[department_id] += ThreeRates(assigned=int(assigned), accepted_in_time=int(in_time))
        reports[department_id] = (int(summoned), int(reported))
    for department_id, count, solved, satisfied in await session.exec(callbacks):
        rates[department_id] += ThreeRates(
            callbacks=count, solved=int(solved), satisfied=int(satisfied)
        )
    names = await _names(session, list(rates))
    rows = [
        DepartmentFigures(
            department_id,
            *names[department_id],
            figures,
            *reports.get(department_id, (0, 0)),
        )
        for department_id, figures in rates.items()
    ]
    return tuple(sorted(rows, key=lambda row: row.name))


async def _names(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each department's name and the path of the area it serves."""
    if not ids:
        return {}
    query = (
        select(Department.id, Department.name, Area.path)
        .join(Area, col(Area.id) == Department.area_id)
        .where(col(Department.id).in_(ids))
    )
    return {department_id: (name, path) for department_id, name, path in await session.exec(query)}
