"""One report of a part of the area tree over a period: the 三率 with their counts, tickets
created, the backlog by state, overdue and (when asked) soon-due tickets, the top categories,
tickets per source (resident chat, 代办, patrol …), and rows per area of one level (per street,
per grid …) and per worker.

Chat /stats, the web dashboard, `minhu`'s status line, the morning digest and the monthly
ranking all render this one report, and show its percentages through `percent`, the one rounding
rule. Which column counts where (tickets/stats.py): ticket figures are tickets created in the
period about the area's subtree (Ticket.area_id); callbacks are those given in the period; the
backlog, overdue and due figures are open tickets handled in the subtree now (handling_area_id).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Person, Ticket, TicketCallback
from tickets.areas import LEVEL_DEPTH, Level
from tickets.department_figures import DepartmentFigures, department_rows
from tickets.lifecycle import OPEN_STATES, Role, State
from tickets.stats import (
    Period,
    ThreeRates,
    callback_rates_query,
    count_if,
    deadline_condition,
    in_period,
    overdue_condition,
    scope_ids,
    ticket_rates_query,
    within,
)
from tickets.tiers import TIERS

# The open states in the order a ticket meets them: the backlog is always shown in this order.
OPEN_ORDER = (State.SUBMITTED, State.RETURNED, State.ASSIGNED, State.ACCEPTED, State.RESOLVED)


@dataclass(frozen=True)
class AreaFigures:
    """One row of a report per area: tickets created about it and below, and their 三率."""

    area_id: int
    name: str
    level: str
    path: str  # tickets.areas.contains tells whether it lies in a staff member's area
    created: int
    rates: ThreeRates


@dataclass(frozen=True)
class WorkerFigures:
    """One row per worker: the 三率 of the report's tickets assigned to them."""

    person_id: int
    name: str | None
    home_path: str | None  # the path of the worker's own area
    rates: ThreeRates


@dataclass(frozen=True)
class Report:
    area_id: int | None  # None: the whole tree
    area_name: str  # the tree's root when it has one, else ""
    period: Period
    now: datetime
    created: int
    rates: ThreeRates
    backlog: tuple[tuple[str, int], ...]  # every open state in OPEN_ORDER, zeros included
    overdue: int
    due: int | None  # clocks ending between now and `due_by`; None when not asked
    categories: tuple[tuple[str | None, int], ...]  # most first, at most `top`
    areas: tuple[AreaFigures, ...] = ()  # per area at `rows_at`, most tickets first
    workers: tuple[WorkerFigures, ...] = ()
    sources: tuple[tuple[str, int], ...] = ()  # tickets created per source, most first
    # 三率 per tier (分级) in the tiers' order, untiered (None) last; only tiers with tickets.
    tiers: tuple[tuple[str | None, ThreeRates], ...] = ()
    departments: tuple[DepartmentFigures, ...] = ()  # per department, by name

    @property
    def open(self) -> int:
        return sum(count for _, count in self.backlog)


class Percents(NamedTuple):
    response: str
    solve: str
    satisfaction: str


def percent(part: int, whole: int) -> str:
    """The one way a rate is shown, in every channel: one decimal, halves rounded up
    (2 of 3 → "66.7%", 1 of 16 → "6.3%"), "—" when there is nothing to divide by. In integers,
    so no float lands just below a half."""
    if whole <= 0:
        return "—"
    tenths = (2000 * part + whole) // (2 * whole)
    return f"{tenths // 10}.{tenths % 10}%"


def percents(rates: ThreeRates) -> Percents:
    return Percents(
        percent(rates.accepted_in_time, rates.assigned),
        percent(rates.solved, rates.callbacks),
        percent(rates.satisfied, rates.callbacks),
    )


def level_below(area: Area | None) -> Level:
    """The level of an area's children (streets for a district); a grid has none: itself."""
    depth = LEVEL_DEPTH[Level(area.level)] + 1 if area is not None else 1
    return next((level for level, d in LEVEL_DEPTH.items() if d == depth), Level.GRID)


async def build_report(
    session: AsyncSession,
    *,
    area: Area | None,
    period: Period,
    now: datetime,
    top: int = 10,
    rows_at: Level | str | None = None,
    workers: bool = False,
    due_by: datetime | None = None,
    by_source: bool = False,
    by_tier: bool = False,
    by_department: bool = False,
) -> Report:
    """The report of `area`'s subtree (None: everything) over `period`, as of `now`.

    `top` categories (0: none); `rows_at` a level for per-area rows (tickets about areas above
    it keep a row of their own area); `workers` per-worker rows; `due_by` counts the clocks that
    end between now and then; `by_source` the tickets per source; `by_tier` the 三率 per tier
    (two queries more); `by_department` the rows per department (tickets/department_figures.py,
    two queries more). Four queries (five with
    `by_source`), each with a covering index to read (bench_dashboard's query_plans show which),
    plus the areas' and (with `workers`) the workers' names."""
    ids = await scope_ids(session, area)
    tree = await _tree(session, area) if rows_at is not None else {}
    by_area = rows_at is not None
    tickets = await _grouped(
        session,
        ticket_rates_query(
            Ticket.area_id if by_area else None,
            *within(Ticket.area_id, ids),
            *in_period(Ticket.created_at, period),
        ),
        by_area,
    )
    callbacks = await _grouped(
        session,
        callback_rates_query(
            TicketCallback.area_id if by_area else None,
            *within(TicketCallback.area_id, ids),
            *in_period(TicketCallback.at, period),
        ),
        by_area,
    )
    rates = _rates(tickets, callbacks)
    backlog, overdue, due = await _open_figures(session, ids, now, due_by)
    return Report(
        area_id=area.id if area is not None else None,
        area_name=area.name if area is not None else await _root_name(session),
        period=period,
        now=now,
        created=sum(row[0] for row in tickets.values()),
        rates=sum(rates.values(), ThreeRates()),
        backlog=backlog,
        overdue=overdue,
        due=due,
        categories=await _top_categories(session, ids, period, top) if top > 0 else (),
        areas=_area_rows(tree, area, rows_at, tickets, rates) if rows_at is not None else (),
        workers=await _worker_rows(session, ids, period) if workers else (),
        sources=await _sources(session, ids, period) if by_source else (),
        tiers=await _tier_rows(session, ids, period) if by_tier else (),
        departments=await department_rows(session, ids, period) if by_department else (),
    )


async def _grouped(session: AsyncSession, query: Any, keyed: bool) -> dict[Any, tuple[int, ...]]:
    """A rates query's counts as ints, by its key (under None when it has none)."""
    rows = (await session.exec(query)).all()
    if not keyed:
        return {None: tuple(int(value) for value in rows[0])}
    return {row[0]: tuple(int(value) for value in row[1:]) for row in rows}


def _rates(
    tickets: dict[Any, tuple[int, ...]], callbacks: dict[Any, tuple[int, ...]]
) -> dict[Any, ThreeRates]:
    result: dict[Any, ThreeRates] = defaultdict(ThreeRates)
    for key, (_created, assigned, in_time, unvisited) in tickets.items():
        result[key] += ThreeRates(assigned=assigned, accepted_in_time=in_time, unvisited=unvisited)
    for key, (count, solved, satisfied) in callbacks.items():
        result[key] += ThreeRates(callbacks=count, solved=solved, satisfied=satisfied)
    return result


async def _open_figures(
    session: AsyncSession, ids: list[int] | None, now: datetime, due_by: datetime | None
) -> tuple[tuple[tuple[str, int], ...], int, int | None]:
    """Backlog by state, overdue and due, in one pass over the open tickets (read from
    ix_tickets_state_created, which carries the clocks and the handling area)."""
    due = count_if(deadline_condition(Period(now, due_by))) if due_by is not None else literal(0)
    query = (
        select(Ticket.state, func.count(), count_if(overdue_condition(now)), due)
        .where(col(Ticket.state).in_(OPEN_STATES), *within(Ticket.handling_area_id, ids))
        .group_by(Ticket.state)
    )
    counts = {
        state: (n, int(late), int(soon)) for state, n, late, soon in await session.exec(query)
    }
    backlog = tuple((state.value, counts.get(state.value, (0, 0, 0))[0]) for state in OPEN_ORDER)
    overdue = sum(late for _, late, _ in counts.values())
    due_count = sum(soon for _, _, soon in counts.values()) if due_by is not None else None
    return backlog, overdue, due_count


async def _top_categories(
    session: AsyncSession, ids: list[int] | None, period: Period, top: int
) -> tuple[tuple[str | None, int], ...]:
    query = (
        select(Ticket.category, func.count())
        .where(*within(Ticket.area_id, ids), *in_period(Ticket.created_at, period))
        .group_by(Ticket.category)
        .order_by(func.count().desc(), col(Ticket.category))
        .limit(top)
    )
    return tuple((category, count) for category, count in await session.exec(query))


async def _sources(
    session: AsyncSession, ids: list[int] | None, period: Period
) -> tuple[tuple[str, int], ...]:
    """Tickets created in the period per source (from ix_tickets_created_dims alone)."""
    query = (
        select(Ticket.source, func.count())
        .where(*within(Ticket.area_id, ids), *in_period(Ticket.created_at, period))
        .group_by(Ticket.source)
        .order_by(func.count().desc(), col(Ticket.source))
    )
    return tuple((source, count) for source, count in await session.exec(query))


async def _tier_rows(
    session: AsyncSession, ids: list[int] | None, period: Period
) -> tuple[tuple[str | None, ThreeRates], ...]:
    """The report's 三率 per tier: tickets by their tier, callbacks by their ticket's."""
    tickets = await _grouped(
        session,
        ticket_rates_query(
            Ticket.tier, *within(Ticket.area_id, ids), *in_period(Ticket.created_at, period)
        ),
        True,
    )
    callbacks = await _grouped(
        session,
        callback_rates_query(
            Ticket.tier,
            *within(TicketCallback.area_id, ids),
            *in_period(TicketCallback.at, period),
        ).join(Ticket, col(Ticket.id) == TicketCallback.ticket_id),
        True,
    )
    rates = _rates(tickets, callbacks)
    order = [*TIERS, None]
    return tuple((tier, rates[tier]) for tier in order if tier in rates)


class _Node(NamedTuple):
    name: str
    level: str
    path: str


async def _tree(session: AsyncSession, area: Area | None) -> dict[int, _Node]:
    """The subtree's areas (plain columns: a large tree loads no ORM objects)."""
    query = select(Area.id, Area.name, Area.level, Area.path)
    if area is not None:
        query = query.where(col(Area.path).startswith(area.path))
    return {
        area_id: _Node(name, level, path)
        for area_id, name, level, path in await session.exec(query)
    }


def _folder(tree: dict[int, _Node], area: Area | None, level: Level | str):
    """Maps an area id to the area of `level` above it (the area itself when it sits higher),
    or None outside the tree."""
    depth = LEVEL_DEPTH[Level(level)]
    if area is not None:  # never above the report's own area
        depth = max(depth, LEVEL_DEPTH[Level(area.level)])

    def target(area_id: int) -> int | None:
        node = tree.get(area_id)
        if node is None:
            return None
        chain = [int(part) for part in node.path.strip("/").split("/") if part]
        return chain[depth] if len(chain) > depth else area_id

    return target


def _area_rows(
    tree: dict[int, _Node],
    area: Area | None,
    level: Level | str,
    tickets: dict[Any, tuple[int, ...]],
    rates: dict[Any, ThreeRates],
) -> tuple[AreaFigures, ...]:
    """Per-area figures folded up to the areas of `level` (per grid → per street, say)."""
    fold = _folder(tree, area, level)
    created: dict[int, int] = defaultdict(int)
    folded: dict[int, ThreeRates] = defaultdict(ThreeRates)
    for area_id in set(tickets) | set(rates):
        target = fold(area_id)
        if target is not None and target in tree:
            created[target] += tickets.get(area_id, (0,))[0]
            folded[target] += rates.get(area_id, ThreeRates())
    rows = [
        AreaFigures(target, *tree[target], created[target], figures)
        for target, figures in folded.items()
    ]
    return tuple(sorted(rows, key=lambda row: (-row.created, row.name)))


async def top_categories(
    session: AsyncSession, *, area: Area | None, period: Period, top: int = 10
) -> tuple[tuple[str | None, int], ...]:
    """The report's categories alone (the dashboard's chart): the same query, nothing more."""
    return await _top_categories(session, await scope_ids(session, area), period, top)


async def tickets_per_area(
    session: AsyncSession, *, area: Area | None, period: Period, level: Level | str
) -> tuple[tuple[str, int], ...]:
    """The report's tickets per area of `level` alone (the dashboard's chart), most first, by
    name: counted from ix_tickets_created_dims, without the 三率 columns."""
    ids = await scope_ids(session, area)
    tree = await _tree(session, area)
    query = (
        select(Ticket.area_id, func.count())
        .where(*within(Ticket.area_id, ids), *in_period(Ticket.created_at, period))
        .group_by(Ticket.area_id)
    )
    fold = _folder(tree, area, level)
    counts: dict[int, int] = defaultdict(int)
    for area_id, count in await session.exec(query):
        target = fold(area_id)
        if target is not None and target in tree:
            counts[target] += count
    return tuple(
        sorted(((tree[t].name, n) for t, n in counts.items()), key=lambda r: (-r[1], r[0]))
    )


async def _worker_rows(
    session: AsyncSession, ids: list[int] | None, period: Period
) -> tuple[WorkerFigures, ...]:
    """Per assignee, the report's tickets and callbacks; then the names of those workers alone
    (never a load of everyone, residents included)."""
    tickets = await _grouped(
        session,
        ticket_rates_query(
            Ticket.assignee_id,
            col(Ticket.assignee_id).is_not(None),
            *within(Ticket.area_id, ids),
            *in_period(Ticket.created_at, period),
        ),
        True,
    )
    callbacks = await _grouped(
        session,
        callback_rates_query(
            TicketCallback.worker_id,
            col(TicketCallback.worker_id).is_not(None),
            *within(TicketCallback.area_id, ids),
            *in_period(TicketCallback.at, period),
        ),
        True,
    )
    rates = _rates(tickets, callbacks)
    people = await _names_and_homes(session, list(rates))
    return tuple(
        WorkerFigures(person_id, *people.get(person_id, (None, None)), figures)
        for person_id, figures in sorted(rates.items())
    )


async def _names_and_homes(
    session: AsyncSession, ids: list[int]
) -> dict[int, tuple[str | None, str | None]]:
    """Display name and own area's path of the people with these ids."""
    if not ids:
        return {}
    query = (
        select(Person.id, Person.display_name, Area.path)
        .outerjoin(Area, col(Area.id) == Person.area_id)
        .where(col(Person.id).in_(ids))
    )
    return {person_id: (name, path) for person_id, name, path in await session.exec(query)}


async def report_readers(session: AsyncSession) -> list[tuple[Person, Area]]:
    """Staff and admins with an area, each with it: who gets the digest and the ranking."""
    query = (
        select(Person, Area)
        .join(Area, col(Area.id) == Person.area_id)
        .where(col(Person.role).in_([Role.STAFF, Role.ADMIN]))
        .order_by(col(Person.id))
    )
    return [(person, area) for person, area in await session.exec(query)]


async def _root_name(session: AsyncSession) -> str:
    roots = (await session.exec(select(Area.name).where(col(Area.parent_id).is_(None)))).all()
    return roots[0] if len(roots) == 1 else ""
