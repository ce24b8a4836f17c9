"""The clocks' sweep (件件有着落、事事有回音): reminders before deadlines, escalation up the area
tree when one passes, and auto-close of resolved tickets nobody rated. Escalation goes to the
nearest level above with staff on duty: a level nobody sits at would hear nothing.

A sweep claims the tickets whose `next_due_at` has come — `FOR UPDATE SKIP LOCKED` on PostgreSQL,
so two processes sweeping at once never take the same ticket; on SQLite a first no-op UPDATE
takes the single write lock, so a second sweeper waits and then sees the tickets already moved
on. The claimed tickets are read as plain rows, decided in Python against the lifecycle table,
and written back with one bulk UPDATE and one bulk INSERT of timeline events: ten thousand due
tickets cost a handful of statements, not ten thousand round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Row, bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.bulk import copy_driver, copy_records
from storage.models import Area, Person, Ticket, TicketEvent
from tickets.clocks import deadline, next_due, running_clock
from tickets.lifecycle import Action, Role, State, transition_for
from tickets.policy import Policy
from tickets.sources import NO_CALLBACK

_TICKETS = Ticket.__table__
_STAFF_ROLES = (Role.STAFF, Role.ADMIN)
# Read from each claimed ticket: what the clocks and the notices need, nothing more. Table
# columns, not the model's attributes: a statement over them skips the ORM's compilation and
# result processing, which cost more than the claim itself.
_COLUMNS = tuple(
    _TICKETS.c[name]
    for name in (
        "id",
        "number",
        "state",
        "urgency",
        "category",
        "tier",
        "leader_id",
        "resident_id",
        "assignee_id",
        "area_id",
        "handling_area_id",
        "handling_level",
        "created_at",
        "assigned_at",
        "due_dispatch_at",
        "due_accept_at",
        "due_resolve_at",
        "due_close_at",
        "remind_at",
        "escalate_at",
        "accepted_in_time",
        "escalated_at",
        "closed_at",
        "unvisited",
        "source",
        "version",
    )
)


@dataclass(frozen=True)
class ClockEvent:
    """What a sweep did to one ticket, for the notices: `kind` is remind_ or escalate_ and the
    clock (dispatch, accept, resolve), or auto_close."""

    kind: str
    ticket_id: int
    number: str
    version: int
    resident_id: int
    assignee_id: int | None
    handling_area_id: int
    deadline: datetime | None
    at_top: bool = False
    leader_id: int | None = None  # 包案领导: hears the ticket's alerts too


async def sweep(session: AsyncSession, policy: Policy, *, limit: int = 5000) -> list[ClockEvent]:
    """Do what is due now on at most `limit` tickets, in the caller's transaction."""
    now = policy.clock.now()
    rows = await _claim(session, now, limit)
    if not rows:
        return []
    parents = await _ladder(session)
    rungs = _Rungs(policy, now)
    changes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    fired: list[ClockEvent] = []
    for row in rows:
        ticket = SimpleNamespace(**row._asdict())
        clock_event, timeline_event = _fire(ticket, rungs, now, parents)
        changes.append(_changed_columns(ticket))
        if clock_event is not None:
            fired.append(clock_event)
        if timeline_event is not None:
            events.append(timeline_event)
    # Core statements with many parameter sets: the ORM's per-row bookkeeping is not needed
    # for rows nobody holds as objects, and costs more than the database's work.
    if changes and _is_postgres(session):
        # One statement over arrays: executemany would run the UPDATE once per ticket.
        arrays = {name: [change[name] for change in changes] for name in ("ticket_id", *_WRITTEN)}
        await session.exec(_UPDATE_FROM_ARRAYS, params=arrays)
    elif changes:
        await session.exec(_UPDATE, params=changes)
    if events:
        await _append_events(session, events)
    return fired


async def _claim(session: AsyncSession, now: datetime, limit: int) -> Sequence[Row]:
    """The due tickets' columns, claimed in the same statement that reads them."""
    # `next_due_at <= now` alone: it implies the partial index's IS NOT NULL, and an explicit
    # IS NOT NULL beside it made PostgreSQL's planner misjudge the rows (85 ms a claim, not 25).
    due = _TICKETS.c.next_due_at <= now
    connection = await session.connection()
    if _is_postgres(session):
        claim = (
            select(*_COLUMNS)
            .where(due)
            .order_by(_TICKETS.c.next_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await connection.execute(claim)).all()
    oldest = select(_TICKETS.c.id).where(due).order_by(_TICKETS.c.next_due_at).limit(limit)
    touch = (
        update(_TICKETS)
        .where(_TICKETS.c.id.in_(oldest.scalar_subquery()))
        .values(next_due_at=_TICKETS.c.next_due_at)
        .returning(*_COLUMNS)
    )
    return (await connection.execute(touch)).all()


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def _ladder(session: AsyncSession) -> dict[int, tuple[int | None, str | None]]:
    """The escalation ladder: for every area, the one an overdue ticket climbs to and its
    level — the nearest area above with staff on duty, else the top of the tree (None at the
    top itself)."""
    areas = {
        area_id: (parent, level)
        for area_id, parent, level in (
            await session.exec(select(Area.id, Area.parent_id, Area.level))
        ).all()
    }
    staffed = set(
        (
            await session.exec(
                select(Person.area_id)
                .where(col(Person.role).in_(_STAFF_ROLES), col(Person.on_duty))
                .distinct()
            )
        ).all()
    )
    ladder: dict[int, tuple[int | None, str | None]] = {}
    for area_id in areas:
        target = areas[area_id][0]
        while target is not None and target not in staffed and areas[target][0] is not None:
            target = areas[target][0]
        ladder[area_id] = (target, areas[target][1] if target in areas else None)
    return ladder


class _Rungs:
    """The next escalation time per (clock, urgency, category, tier): the same for every ticket
    of a sweep, so the working-day arithmetic is done once per kind, not once per ticket."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self.policy, self.now = policy, now
        self._cache: dict[tuple[str, str, str | None, str | None], datetime] = {}

    def next(self, clock: str, urgency: str, category: str | None, tier: str | None) -> datetime:
        key = (clock, urgency, category, tier)
        if key not in self._cache:
            window = self.policy.sla.limit(clock, urgency, category, tier)
            self._cache[key] = window.after(self.now, self.policy.calendar)
        return self._cache[key]


def _fire(
    ticket: SimpleNamespace,
    rungs: _Rungs,
    now: datetime,
    parents: dict[int, tuple[int | None, str | None]],
) -> tuple[ClockEvent | None, dict[str, Any] | None]:
    """Decide one ticket: auto-close, escalate, remind, or (nothing due after all) re-aim."""
    if ticket.state == State.RESOLVED and ticket.due_close_at and ticket.due_close_at <= now:
        return _auto_close(ticket, now)
    clock = running_clock(ticket)
    if clock is not None and ticket.escalate_at is not None and ticket.escalate_at <= now:
        return _escalate(ticket, clock, rungs, now, parents)
    if clock is not None and ticket.remind_at is not None and ticket.remind_at <= now:
        ticket.remind_at = None
        ticket.next_due_at = next_due(ticket)
        return _event(f"remind_{clock}", ticket), None
    ticket.next_due_at = next_due(ticket)  # a stale next_due_at: just look again later
    return None, None


def _auto_close(ticket: SimpleNamespace, now: datetime) -> tuple[ClockEvent, dict[str, Any]]:
    transition = transition_for(Action.CLOSE, State(ticket.state), Role.SYSTEM)
    from_state = ticket.state
    ticket.state = transition.target_from(State(from_state))
    ticket.closed_at, ticket.due_close_at, ticket.next_due_at = now, None, None
    # Closed without a 回访: 句号管理 counts it as 未回访, unless nobody was there to call.
    ticket.unvisited = ticket.source not in NO_CALLBACK
    ticket.version += 1
    timeline = _timeline(ticket, Action.CLOSE, from_state, now, {"auto": True})
    return _event("auto_close", ticket), timeline


def _escalate(
    ticket: SimpleNamespace,
    clock: str,
    rungs: _Rungs,
    now: datetime,
    parents: dict[int, tuple[int | None, str | None]],
) -> tuple[ClockEvent, dict[str, Any]]:
    """The clock ran out: the level above takes over supervision (the assignee keeps the work),
    and the next rung comes one window later — until the top of the tree."""
    transition_for(Action.ESCALATE_OVERDUE, State(ticket.state), Role.SYSTEM)
    parent, parent_level = parents.get(ticket.handling_area_id, (None, None))
    at_top = parent is None
    if not at_top:
        ticket.handling_area_id, ticket.handling_level = parent, parent_level
    ticket.escalated_at = now
    # A dispatch or accept clock run out: the response to the resident is late (响应率).
    if clock in ("dispatch", "accept") and ticket.accepted_in_time is None:
        ticket.accepted_in_time = False
    can_climb = not at_top and parents.get(parent, (None, None))[0] is not None
    kind = (clock, ticket.urgency, ticket.category, ticket.tier)
    ticket.escalate_at = rungs.next(*kind) if can_climb else None
    ticket.remind_at = None
    ticket.next_due_at = next_due(ticket)
    ticket.version += 1
    data = {"clock": clock, "to_area_id": ticket.handling_area_id, "at_top": at_top}
    timeline = _timeline(ticket, Action.ESCALATE_OVERDUE, ticket.state, now, data)
    return _event(f"escalate_{clock}", ticket, at_top=at_top), timeline


def _event(kind: str, ticket: SimpleNamespace, *, at_top: bool = False) -> ClockEvent:
    return ClockEvent(
        kind=kind,
        ticket_id=ticket.id,
        number=ticket.number,
        version=ticket.version,
        resident_id=ticket.resident_id,
        assignee_id=ticket.assignee_id,
        handling_area_id=ticket.handling_area_id,
        deadline=deadline(ticket),
        at_top=at_top,
        leader_id=ticket.leader_id,
    )


def _timeline(
    ticket: SimpleNamespace, action: Action, from_state: str, now: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "at": now,
        "actor_id": None,
        "actor_role": Role.SYSTEM,
        "action": action,
        "from_state": from_state,
        "to_state": ticket.state,
        "note": None,
        "data": data,
    }


_WRITTEN = (
    "state",
    "handling_area_id",
    "handling_level",
    "accepted_in_time",
    "due_close_at",
    "remind_at",
    "escalate_at",
    "next_due_at",
    "escalated_at",
    "closed_at",
    "unvisited",
    "version",
)


_UPDATE = (
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("ticket_id"))
    .values({name: bindparam(name) for name in _WRITTEN})
)


_ARRAYS = {"ticket_id": _TICKETS.c.id.type} | {name: _TICKETS.c[name].type for name in _WRITTEN}
_UPDATE_FROM_ARRAYS = text(
    "UPDATE tickets SET "
    + ", ".join(f"{name} = v.{name}" for name in _WRITTEN)
    + " FROM unnest("
    + ", ".join(f":{name}" for name in _ARRAYS)
    + ") AS v("
    + ", ".join(_ARRAYS)
    + ") WHERE tickets.id = v.ticket_id"
).bindparams(*(bindparam(name, type_=ARRAY(kind)) for name, kind in _ARRAYS.items()))


_EVENTS = TicketEvent.__table__
_EVENT_COLUMNS = tuple(column.key for column in _EVENTS.columns if column.key != "id")


async def _append_events(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    driver = await copy_driver(session)
    if driver is None:
        await session.exec(insert(_EVENTS), params=events)
        return
    records = copy_records(_EVENTS, _EVENT_COLUMNS, events)
    await driver.copy_records_to_table("ticket_events", records=records, columns=_EVENT_COLUMNS)


def _changed_columns(ticket: SimpleNamespace) -> dict[str, Any]:
    return {"ticket_id": ticket.id, **{name: getattr(ticket, name) for name in _WRITTEN}}
