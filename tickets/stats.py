"""Statistics as SQL aggregates: 三率, overdue, and the queries tickets/report.py builds on.

三率 (DESIGN.md):
  响应率 = tickets accepted within the accept clock ÷ tickets assigned; a ticket whose dispatch
          clock ran out in triage counts as not in time, assigned or not (it must not vanish
          from the rate by never being sent on)
  解决率 = callbacks answering 已解决 ÷ callbacks
  满意率 = (满意 + 基本满意) ÷ callbacks
Callbacks are the residents' answers and the staff's 回访 records that reached the resident (a call
nobody answered counts in no rate). Beside the rates, 未回访: tickets the auto-close clock closed
without any 回访 (句号管理).
Ticket figures count tickets created in the period; callback figures count callbacks given in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Ticket, TicketCallback
from tickets.areas import subtree_ids
from tickets.lifecycle import State

SATISFIED = ("satisfied", "basic")  # 满意 and 基本满意 count towards 满意率


@dataclass(frozen=True)
class Period:
    """[since, until) in UTC; either end may be open."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ThreeRates:
    assigned: int = 0
    accepted_in_time: int = 0
    callbacks: int = 0
    solved: int = 0
    satisfied: int = 0
    unvisited: int = 0  # 未回访: closed by the clock without a 回访

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.accepted_in_time, self.assigned)

    @property
    def solve_rate(self) -> float | None:
        return _ratio(self.solved, self.callbacks)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.callbacks)

    def __add__(self, other: ThreeRates) -> ThreeRates:
        return ThreeRates(
            self.assigned + other.assigned,
            self.accepted_in_time + other.accepted_in_time,
            self.callbacks + other.callbacks,
            self.solved + other.solved,
            self.satisfied + other.satisfied,
            self.unvisited + other.unvisited,
        )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(cast(case((condition, 1), else_=0), Integer)), 0)


def in_period(column: Any, period: Period | None) -> list[ColumnElement[bool]]:
    if period is None:
        return []
    clauses = []
    if period.since is not None:
        clauses.append(column >= period.since)
    if period.until is not None:
        clauses.append(column < period.until)
    return clauses


async def scope_ids(session: AsyncSession, area: Area | None) -> list[int] | None:
    """The ids of `area`'s subtree, or None for the whole tree (no filter, so the planner can
    scan without an IN list)."""
    if area is None or (area.parent_id is None and await _single_root(session)):
        return None
    return await subtree_ids(session, area)


def within(column: Any, ids: list[int] | None) -> list[Any]:
    return [] if ids is None else [col(column).in_(ids)]


async def _area_filter(session: AsyncSession, column: Any, area: Area | None) -> list[Any]:
    return within(column, await scope_ids(session, area))


async def _single_root(session: AsyncSession) -> bool:
    roots = await session.exec(select(func.count()).where(col(Area.parent_id).is_(None)))
    return roots.one() == 1


def ticket_rates_query(key: Any, *where: Any) -> Any:
    """Tickets created: (key,) count, assigned, accepted in time, 未回访; per `key` unless it is
    None. The 三率 columns ride in the created_at indexes, so this reads the indexes alone."""
    keys = [] if key is None else [key]
    query = select(
        *keys,
        func.count(),
        count_if(
            or_(col(Ticket.assigned_at).is_not(None), col(Ticket.accepted_in_time).is_(False))
        ),
        count_if(col(Ticket.accepted_in_time).is_(True)),
        count_if(col(Ticket.unvisited).is_(True)),
    ).where(*where)
    return query if key is None else query.group_by(key)


def callback_rates_query(key: Any, *where: Any) -> Any:
    """Callbacks given that reached the resident: (key,) count, 已解决, 满意 or 基本满意; per `key`
    unless it is None. A 回访 nobody answered has no `solved`, so counting that column leaves it
    out without a filter the indexes do not carry."""
    keys = [] if key is None else [key]
    query = select(
        *keys,
        func.count(TicketCallback.solved),
        count_if(col(TicketCallback.solved).is_(True)),
        count_if(col(TicketCallback.satisfaction).in_(SATISFIED)),
    ).where(*where)
    return query if key is None else query.group_by(key)


async def three_rates_by(
    session: AsyncSession,
    group: str,
    *,
    area: Area | None = None,
    period: Period | None = None,
) -> dict[Any, ThreeRates]:
    """三率 per `group`: "area" (the ticket's area), "worker", "category" or "tier"; one query
    each for tickets and callbacks."""
    ticket_key, callback_key = {
        "area": (Ticket.area_id, TicketCallback.area_id),
        "worker": (Ticket.assignee_id, TicketCallback.worker_id),
        "category": (Ticket.category, Ticket.category),
        "tier": (Ticket.tier, Ticket.tier),
    }[group]
    ids = await scope_ids(session, area)
    ticket_query = ticket_rates_query(
        ticket_key, *within(Ticket.area_id, ids), *in_period(Ticket.created_at, period)
    )
    callback_query = callback_rates_query(
        callback_key, *within(TicketCallback.area_id, ids), *in_period(TicketCallback.at, period)
    )
    if group in ("category", "tier"):
        callback_query = callback_query.join(Ticket, col(Ticket.id) == TicketCallback.ticket_id)
    result: dict[Any, ThreeRates] = defaultdict(ThreeRates)
    for key, _created, assigned, in_time, unvisited in (await session.exec(ticket_query)).all():
        result[key] += ThreeRates(
            assigned=int(assigned), accepted_in_time=int(in_time), unvisited=int(unvisited)
        )
    for key, count, solved, satisfied in (await session.exec(callback_query)).all():
        result[key] += ThreeRates(callbacks=count, solved=int(solved), satisfied=int(satisfied))
    return dict(result)


async def three_rates(
    session: AsyncSession,
    *,
    area: Area | None = None,
    worker_id: int | None = None,
    period: Period | None = None,
) -> ThreeRates:
    """三率 for one area's subtree (or everything) and optionally one worker."""
    ids = await scope_ids(session, area)
    ticket_filter = [*within(Ticket.area_id, ids), *in_period(Ticket.created_at, period)]
    callback_filter = [*within(TicketCallback.area_id, ids), *in_period(TicketCallback.at, period)]
    if worker_id is not None:
        ticket_filter.append(Ticket.assignee_id == worker_id)
        callback_filter.append(TicketCallback.worker_id == worker_id)
    _created, assigned, in_time, unvisited = (
        await session.exec(ticket_rates_query(None, *ticket_filter))
    ).one()
    count, solved, satisfied = (
        await session.exec(callback_rates_query(None, *callback_filter))
    ).one()
    return ThreeRates(
        int(assigned), int(in_time), count, int(solved), int(satisfied), int(unvisited)
    )


_TRIAGE = [State.SUBMITTED, State.RETURNED]


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Open tickets whose dispatch, accept or resolve clock has run out."""
    return or_(
        and_(Ticket.state == State.ASSIGNED, col(Ticket.due_accept_at) < now),
        and_(col(Ticket.state).in_(_TRIAGE), col(Ticket.due_dispatch_at) < now),
        and_(
            col(Ticket.state).in_([State.ACCEPTED, State.SUBMITTED, State.RETURNED]),
            col(Ticket.due_resolve_at) < now,
        ),
    )


def deadline_condition(period: Period) -> ColumnElement[bool]:
    """Open tickets whose running clock (dispatch in triage, accept, else resolve) ends within
    `period`."""
    return or_(
        and_(Ticket.state == State.ASSIGNED, *in_period(Ticket.due_accept_at, period)),
        and_(col(Ticket.state).in_(_TRIAGE), *in_period(Ticket.due_dispatch_at, period)),
        and_(Ticket.state == State.ACCEPTED, *in_period(Ticket.due_resolve_at, period)),
        and_(
            col(Ticket.state).in_(_TRIAGE),
            col(Ticket.due_dispatch_at).is_(None),
            *in_period(Ticket.due_resolve_at, period),
        ),
    )


async def overdue_count(session: AsyncSession, now: datetime, *, area: Area | None = None) -> int:
    query = select(func.count()).where(
        overdue_condition(now), *await _area_filter(session, Ticket.handling_area_id, area)
    )
    return (await session.exec(query)).one()


async def overdue_tickets(
    session: AsyncSession, now: datetime, *, area: Area | None = None, limit: int = 50
) -> Sequence[Ticket]:
    query = (
        select(Ticket)
        .where(overdue_condition(now), *await _area_filter(session, Ticket.handling_area_id, area))
        .order_by(col(Ticket.created_at))
        .limit(limit)
    )
    return (await session.exec(query)).all()
