"""Moves on a ticket: 派单, 接单, 退单, 延期, 上报, 办结, 回访 (the resident's, or one staff
record), 重办, close, merge, withdraw, 催办, 督办 and 分级.

Each move follows the same steps: lock the ticket, check the lifecycle table and the actor's scope,
check the move's own rules, and only then change the ticket and append one timeline event. A
refusal therefore changes nothing. `actor` None means the system. (The clocks' own moves,
escalation and auto-close, are made in bulk by `tickets.sweeps` from the same table.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Area,
    CategoryCorrection,
    Person,
    Ticket,
    TicketCallback,
    TicketEvent,
    TicketPart,
)
from tickets.areas import contains, escalation_target, get_area
from tickets.categories import SUBCATEGORIES
from tickets.clocks import (
    arm,
    restart_for_tier,
    start_auto_close,
    start_clocks,
    start_dispatch_clock,
)
from tickets.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, StaleTicket
from tickets.lifecycle import Action, Role, State, Transition
from tickets.parts import (
    parts_of,
    quiet_ticket_clocks,
    reopen_lead_part,
    restart_parts_for_tier,
    withdraw_parts,
)
from tickets.people import get_person, possible_leaders
from tickets.permissions import authorize, check_can_view
from tickets.plain_text import plain_text
from tickets.policy import Policy
from tickets.routing import triage_area
from tickets.sla import Duration
from tickets.sources import NO_CALLBACK
from tickets.tiers import LEADER_TIERS, Tier
from tickets.timeline import record_event


class Satisfaction:
    """满意 / 基本满意 / 不满意."""

    SATISFIED = "satisfied"
    BASIC = "basic"
    UNSATISFIED = "unsatisfied"
    ALL = (SATISFIED, BASIC, UNSATISFIED)


async def load_ticket(
    session: AsyncSession,
    ticket_id: int,
    *,
    expected_version: int | None = None,
    viewer: Person | None = None,
) -> Ticket:
    """The ticket, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite locks the file).

    `expected_version` comes from the button the person pressed: if the ticket moved since, the
    press is stale and refused rather than applied to a ticket the person has not seen. The
    `viewer` (the person pressing) must be allowed to see the ticket before a stale press is
    told its number and state: a forged button would otherwise reveal other people's tickets.
    """
    query = (
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    ticket = (await session.exec(query)).first()
    if ticket is None:
        raise NotFound(f"no ticket with id {ticket_id}", ticket_id=ticket_id)
    if viewer is not None:
        await check_can_view(session, viewer, ticket)
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(
            f"ticket {ticket.number} has changed since this button was shown",
            number=ticket.number,
            state=ticket.state,
        )
    return ticket


@dataclass(frozen=True)
class Move:
    """What a move did: the ticket as it is now and the one timeline event it wrote (who, what,
    from which state, the note and the data), so whoever tells people about it needs no re-read."""

    ticket: Ticket
    event: TicketEvent


# Moves that set a deadline anew without changing the state. (分级 re-arms the clocks itself,
# only where a deadline moved: tickets.clocks.restart_for_tier.)
_RESTART_CLOCKS = frozenset({Action.ASSIGN, Action.REASSIGN, Action.APPROVE_EXTENSION})


def finish_move(
    session: AsyncSession,
    policy: Policy,
    ticket: Ticket,
    actor: Person | None,
    transition: Transition,
    now: datetime,
    *,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> Move:
    """Apply the transition's target state, re-arm the clocks, append the one event."""
    from_state = ticket.state
    ticket.state = transition.target_from(State(from_state))
    if ticket.state != from_state or transition.action in _RESTART_CLOCKS:
        arm(ticket, policy, now)
    ticket.version += 1
    session.add(ticket)
    event = record_event(
        session,
        ticket=ticket,
        actor=actor,
        action=transition.action,
        from_state=from_state,
        at=now,
        note=note,
        data=data,
    )
    return Move(ticket, event)


def _remark(
    session: AsyncSession,
    ticket: Ticket,
    actor: Person,
    transition: Transition,
    now: datetime,
    *,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> Move:
    """A move that only speaks (催办, 督办): one event, and the ticket left as it is. Its version
    stays, so the worker's 接单 or 办结 buttons drawn before an urge still work."""
    event = record_event(
        session,
        ticket=ticket,
        actor=actor,
        action=transition.action,
        from_state=ticket.state,
        at=now,
        note=note,
        data=data,
    )
    return Move(ticket, event)


def required_text(value: str | None, what: str, policy: Policy) -> str:
    text = plain_text(value or "").strip()
    if not text:
        raise InvalidInput(f"{what} is required", field=what, reason="required")
    if len(text) > policy.max_note_chars:
        raise InvalidInput(
            f"{what} is too long (at most {policy.max_note_chars} characters)",
            field=what,
            reason="too_long",
            length=len(text),
            limit=policy.max_note_chars,
        )
    return text


def optional_text(value: str | None, what: str, policy: Policy) -> str | None:
    return required_text(value, what, policy) if value and value.strip() else None


def assign_to(ticket: Ticket, worker_id: int, area: Area, policy: Policy, now: datetime) -> None:
    """Point the ticket at `worker` in `area` and start both clocks (shared with intake). The
    state itself is the caller's to set, so the timeline records where the ticket came from."""
    ticket.assignee_id = worker_id
    ticket.handling_area_id, ticket.handling_level = area.id, area.level
    ticket.assigned_at, ticket.accepted_at = now, None
    start_clocks(ticket, policy, now)


async def assign_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person | None,
    worker_id: int,
    note: str | None = None,
    expected_version: int | None = None,
) -> Move:
    """派单: staff send a ticket from triage (or from another worker) to a worker of their area."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    action = Action.ASSIGN if ticket.state in (State.SUBMITTED, State.RETURNED) else Action.REASSIGN
    transition = await authorize(session, actor, ticket, action)
    worker = await get_person(session, worker_id)
    if Role(worker.role) not in (Role.WORKER, Role.STAFF) or worker.area_id is None:
        raise InvalidInput("tickets can only be assigned to workers or staff", role=worker.role)
    if not worker.on_duty:
        raise RuleViolation("this worker is not on duty", worker_id=worker_id, reason="off_duty")
    worker_area = await get_area(session, worker.area_id)
    if actor is not None and Role(actor.role) is Role.STAFF:
        own_area = await get_area(session, actor.area_id) if actor.area_id else None
        if own_area is None or not contains(own_area, worker_area.path):
            raise PermissionDenied("this worker is outside your area", worker_id=worker_id)
    if ticket.assignee_id == worker.id and ticket.state != State.RETURNED:
        raise RuleViolation(
            "the ticket is already assigned to this worker", reason="already_assigned"
        )
    note = optional_text(note, "note", policy)
    now = policy.clock.now()
    previous = ticket.assignee_id
    ended = await _take_from_departments(session, ticket, now)
    # Sent on after the dispatch clock ran out: the response is late whatever the worker does.
    late = action is Action.ASSIGN and ticket.accepted_in_time is False
    assign_to(ticket, worker.id, worker_area, policy, now)
    if late:
        ticket.accepted_in_time = False
    data = _with_ended({"assignee_id": worker.id, "previous_assignee_id": previous}, ended)
    return finish_move(session, policy, ticket, actor, transition, now, note=note, data=data)


async def accept_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    expected_version: int | None = None,
) -> Move:
    """接单/签收: the assigned worker takes the ticket; the accept clock is settled.

    The 接单 button stays good while the ticket still waits for this worker's acceptance: the
    clocks' reminders and escalations move the version on, but not what the worker was asked."""
    ticket = await load_ticket(session, ticket_id, viewer=actor)
    waiting = actor is not None and (ticket.state, ticket.assignee_id) == (State.ASSIGNED, actor.id)
    if expected_version is not None and ticket.version != expected_version and not waiting:
        raise StaleTicket(
            f"ticket {ticket.number} has changed since this button was shown",
            number=ticket.number,
            state=ticket.state,
        )
    transition = await authorize(session, actor, ticket, Action.ACCEPT)
    now = policy.clock.now()
    ticket.accepted_at = now
    in_time = ticket.due_accept_at is None or now <= ticket.due_accept_at
    ticket.accepted_in_time = in_time and ticket.accepted_in_time is not False
    return finish_move(session, policy, ticket, actor, transition, now)


async def return_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reason: str,
    expected_version: int | None = None,
) -> Move:
    """退单: the worker sends the ticket back to triage, with a reason, within the return window."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.RETURN)
    reason = required_text(reason, "reason", policy)
    check_return_window(ticket, policy)
    now = policy.clock.now()
    triage = await triage_area(session, await get_area(session, ticket.handling_area_id))
    previous = ticket.assignee_id
    ticket.assignee_id, ticket.returned_at = None, now
    ticket.handling_area_id, ticket.handling_level = triage.id, triage.level
    ticket.due_accept_at = None
    start_dispatch_clock(ticket, policy, now)
    data = {"previous_assignee_id": previous}
    return finish_move(session, policy, ticket, actor, transition, now, note=reason, data=data)


async def _take_from_departments(
    session: AsyncSession, ticket: Ticket, now: datetime
) -> list[TicketPart]:
    """Staff send elsewhere a ticket departments hold: their open parts end with it; returns
    those ended."""
    if ticket.department_id is None:
        return []
    ticket.department_id = None
    return await _end_parts(session, ticket, now)


async def _end_parts(session: AsyncSession, ticket: Ticket, now: datetime) -> list[TicketPart]:
    """The ticket leaves the departments (sent elsewhere, withdrawn, merged): their open lead
    and assist parts end, so no button, list or late count outlives it; returns those ended."""
    if ticket.id is None:
        return []
    ended = withdraw_parts(await parts_of(session, ticket.id), now)
    session.add_all(ended)
    return ended


def _with_ended(data: dict[str, Any], ended: Sequence[TicketPart]) -> dict[str, Any]:
    """The event names the parts the move ended, for their departments to be told."""
    return {**data, "ended_part_ids": [part.id for part in ended]} if ended else data


def check_return_window(ticket: Ticket, policy: Policy) -> None:
    """退单 is allowed only within the return window (1 working day) after assignment."""
    window = Duration.parse(policy.sla.return_window)
    deadline = window.after(ticket.assigned_at or policy.clock.now(), policy.calendar)
    if policy.clock.now() > deadline:
        raise RuleViolation(
            f"a ticket can only be returned within {window} of assignment",
            window=str(window),
            reason="return_window",
        )


async def add_note(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    note: str,
) -> Move:
    """A working note from the worker or staff, kept on the timeline."""
    ticket = await load_ticket(session, ticket_id)
    transition = await authorize(session, actor, ticket, Action.NOTE)
    note = required_text(note, "note", policy)
    return finish_move(session, policy, ticket, actor, transition, policy.clock.now(), note=note)


async def add_information(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    text: str,
    attachments: Sequence[dict[str, Any]] = (),
    location: tuple[float, float] | None = None,
) -> Move:
    """补充: the resident adds details, a photo or the place (which replaces the one the
    ticket had: the resident knows better now) to their open ticket."""
    ticket = await load_ticket(session, ticket_id)
    transition = await authorize(session, actor, ticket, Action.ADD_INFO)
    note = required_text(text, "information", policy)
    if location is not None and not (-90 <= location[0] <= 90 and -180 <= location[1] <= 180):
        raise InvalidInput("the location is not on Earth")
    now = policy.clock.now()
    data: dict[str, Any] = {}
    if attachments:
        ticket.attachments = [*ticket.attachments, *attachments]
        data["attachments"] = list(attachments)
    if location is not None:
        ticket.latitude, ticket.longitude = location
        data["location"] = list(location)
    return finish_move(
        session, policy, ticket, actor, transition, now, note=note, data=data or None
    )


async def request_extension(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    days: int,
    reason: str,
    expected_version: int | None = None,
) -> Move:
    """延期: the worker asks for more working days; staff approve or refuse."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.REQUEST_EXTENSION)
    reason = required_text(reason, "reason", policy)
    if ticket.pending_extension_days is not None:
        raise RuleViolation(
            "an extension request is already waiting for a decision", reason="extension_pending"
        )
    left = policy.sla.max_extension_days - ticket.extension_days
    if not isinstance(days, int) or not 1 <= days <= left:
        raise RuleViolation(
            f"an extension must be between 1 and {left} working days",
            days=days,
            left=left,
            reason="extension_range",
        )
    ticket.pending_extension_days = days
    now = policy.clock.now()
    return finish_move(
        session, policy, ticket, actor, transition, now, note=reason, data={"days": days}
    )


async def decide_extension(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    approve: bool,
    note: str | None = None,
    expected_version: int | None = None,
) -> Move:
    """Staff approve (the resolve clock moves) or refuse a pending extension."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    action = Action.APPROVE_EXTENSION if approve else Action.REFUSE_EXTENSION
    transition = await authorize(session, actor, ticket, action)
    days = ticket.pending_extension_days
    if days is None:
        raise RuleViolation("there is no extension request to decide", reason="no_extension")
    note = optional_text(note, "note", policy)
    now = policy.clock.now()
    if approve:
        base = ticket.due_resolve_at or now
        ticket.due_resolve_at = policy.calendar.add_working_days(base, days)
        ticket.extension_days += days
    ticket.pending_extension_days = None
    data = {"days": days, "due_resolve_at": _iso(ticket.due_resolve_at)}
    return finish_move(session, policy, ticket, actor, transition, now, note=note, data=data)


async def escalate_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reason: str,
    expected_version: int | None = None,
) -> Move:
    """上报: beyond the grid's means; the ticket goes to the triage of the next level up."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.ESCALATE)
    reason = required_text(reason, "reason", policy)
    target = await escalation_target(session, await get_area(session, ticket.handling_area_id))
    handler = await triage_area(session, target)
    now = policy.clock.now()
    previous = ticket.assignee_id
    ended = await _take_from_departments(session, ticket, now)
    ticket.assignee_id, ticket.escalated_at, ticket.due_accept_at = None, now, None
    ticket.handling_area_id, ticket.handling_level = handler.id, handler.level
    start_dispatch_clock(ticket, policy, now)
    data = _with_ended({"to_area_id": handler.id, "previous_assignee_id": previous}, ended)
    return finish_move(session, policy, ticket, actor, transition, now, note=reason, data=data)


async def resolve_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reply: str,
    attachments: Sequence[dict[str, Any]] = (),
    expected_version: int | None = None,
) -> Move:
    """办结: the worker reports the result; the resident reads `reply` (and sees the photos in
    `attachments`) and is asked to rate it."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.RESOLVE)
    reply = required_text(reply, "reply", policy)
    now = policy.clock.now()
    ticket.resolution_reply, ticket.resolved_at = reply, now
    if attachments:
        ticket.attachments = [*ticket.attachments, *attachments]
    start_auto_close(ticket, policy, now)
    data = {"attachments": list(attachments)} if attachments else None
    return finish_move(session, policy, ticket, actor, transition, now, note=reply, data=data)


async def answer_callback(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    solved: bool,
    satisfaction: str,
    comment: str | None = None,
    expected_version: int | None = None,
) -> Move:
    """回访: the resident says whether it is solved and how satisfied they are.

    已解决 with 满意 or 基本满意 closes the ticket; 未解决 or 不满意 reopens it (重办) with the same
    worker and fresh clocks.
    """
    if satisfaction not in Satisfaction.ALL:
        raise InvalidInput(f"unknown satisfaction {satisfaction!r}")
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    content = solved and satisfaction != Satisfaction.UNSATISFIED
    transition = await authorize(
        session, actor, ticket, Action.CONFIRM if content else Action.REJECT
    )
    comment = optional_text(comment, "comment", policy)
    if not content:
        _check_reopenable(ticket)
    now = policy.clock.now()
    _record_callback(
        session,
        policy,
        ticket,
        now,
        content=content,
        solved=solved,
        satisfaction=satisfaction,
        comment=comment,
    )
    data = {"solved": solved, "satisfaction": satisfaction}
    move = finish_move(session, policy, ticket, actor, transition, now, note=comment, data=data)
    if not content:
        await reopen_lead_part(session, policy, ticket, now)
    return move


def _record_callback(
    session: AsyncSession,
    policy: Policy,
    ticket: Ticket,
    now: datetime,
    *,
    content: bool,
    solved: bool | None,
    satisfaction: str | None,
    **row: Any,
) -> None:
    """A 回访 in the books: its row (behind 解决率 and 满意率, by area, worker and lead
    department) and, when it reached the resident (`solved` is known), their answer on the
    ticket, which closes it if they are content and reopens it otherwise."""
    session.add(
        TicketCallback(
            ticket_id=ticket.id,
            at=now,
            area_id=ticket.area_id,
            worker_id=ticket.assignee_id,
            department_id=ticket.department_id,
            solved=solved,
            satisfaction=satisfaction,
            **row,
        )
    )
    if solved is None:  # a staff call nobody answered: kept, counted in no rate
        return
    ticket.callback_solved, ticket.callback_satisfaction = solved, satisfaction
    ticket.callback_at, ticket.due_close_at = now, None
    if content:
        ticket.closed_at = now
    else:
        _reopen(ticket, policy, now)


def _check_reopenable(ticket: Ticket) -> None:
    # A department's ticket goes back to its lead department.
    if ticket.assignee_id is None and ticket.department_id is None:
        raise RuleViolation(
            "the ticket has no worker to reopen it for; assign it instead", reason="no_worker"
        )


def _reopen(ticket: Ticket, policy: Policy, now: datetime) -> None:
    ticket.reopen_count += 1
    ticket.unvisited = False
    ticket.assigned_at, ticket.accepted_at, ticket.resolved_at, ticket.closed_at = (
        now,
        None,
        None,
        None,
    )
    ticket.due_close_at = None
    start_clocks(ticket, policy, now)


async def close_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person | None,
    note: str | None = None,
    expected_version: int | None = None,
) -> Move:
    """Close: after resolution (staff, or the auto-close clock), or from triage with a reason."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.CLOSE)
    if ticket.state != State.RESOLVED:
        note = required_text(note, "reason", policy)
    else:
        if actor is not None:  # the auto-close clock closes unvisited: counted as 未回访
            await check_visited(session, ticket)
        note = optional_text(note, "note", policy)
    now = policy.clock.now()
    ticket.closed_at, ticket.due_close_at = now, None
    return finish_move(session, policy, ticket, actor, transition, now, note=note)


async def check_visited(session: AsyncSession, ticket: Ticket) -> None:
    """句号管理: a resolved ticket closes only after a 回访 since it was resolved — the
    resident's answer, or a staff member's record of calling them. A hazard found on patrol has
    no resident to call back."""
    if ticket.source in NO_CALLBACK:
        return
    query = select(TicketCallback.id).where(TicketCallback.ticket_id == ticket.id)
    if ticket.resolved_at is not None:
        query = query.where(col(TicketCallback.at) >= ticket.resolved_at)
    if (await session.exec(query.limit(1))).first() is None:
        raise RuleViolation(
            f"ticket {ticket.number} has had no 回访 yet: record the call first",
            number=ticket.number,
            reason="no_callback",
        )


async def record_callback(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reached: bool,
    solved: bool | None = None,
    satisfaction: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> Move:
    """回访 by staff: they called the resident of a resolved ticket (one whose resident does not
    answer in chat, or a 代办 or hotline ticket's). Reached, the answer counts like the
    resident's own: 已解决 with 满意 or 基本满意 closes the ticket (STAFF_CONFIRM), anything else
    reopens it (STAFF_REJECT, 重办). Not reached (RECORD_CALLBACK), the call is kept, the ticket
    stays resolved, and staff may now close it."""
    if reached and (solved is None or satisfaction not in Satisfaction.ALL):
        raise InvalidInput("a reached 回访 says whether it is solved and how satisfied")
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    content = reached and bool(solved) and satisfaction != Satisfaction.UNSATISFIED
    if not reached:
        action = Action.RECORD_CALLBACK
    else:
        action = Action.STAFF_CONFIRM if content else Action.STAFF_REJECT
    transition = await authorize(session, actor, ticket, action)
    note = optional_text(note, "note", policy)
    if reached and not content:
        _check_reopenable(ticket)
    now = policy.clock.now()
    answer = (bool(solved), satisfaction) if reached else (None, None)
    _record_callback(
        session,
        policy,
        ticket,
        now,
        content=content,
        solved=answer[0],
        satisfaction=answer[1],
        comment=note,
        kind="staff",
        recorded_by_id=actor.id,
        reached=reached,
    )
    data = {"reached": reached, "solved": answer[0], "satisfaction": answer[1]}
    move = finish_move(session, policy, ticket, actor, transition, now, note=note, data=data)
    if reached and not content:  # a department's ticket goes back to its lead department
        await reopen_lead_part(session, policy, ticket, now)
    return move


async def set_tier(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    tier: str,
    leader_id: int | None = None,
    expected_version: int | None = None,
) -> Move:
    """分级: staff set the tier, which sets the handling mode and the clocks still running;
    历史遗留 and 重大疑难 need a leader who answers for the ticket (包案领导), a staff member
    seated at the ticket's area or above."""
    try:
        tier = Tier(tier)
    except ValueError:
        raise InvalidInput(f"unknown tier {tier!r}", reason="unknown_tier") from None
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.SET_TIER)
    if tier in LEADER_TIERS:
        if leader_id is None:
            raise RuleViolation(f"a {tier} ticket needs a leader", reason="leader_required")
        if leader_id not in {leader.id for leader in await possible_leaders(session, ticket)}:
            raise InvalidInput(
                "the leader must be staff at the ticket's area or above",
                leader_id=leader_id,
                reason="leader_not_eligible",
            )
    else:
        leader_id = None
    if (ticket.tier, ticket.leader_id) == (tier, leader_id):
        raise RuleViolation("the ticket already has this tier", tier=str(tier), reason="same_tier")
    data = {
        "tier": str(tier),
        "previous_tier": ticket.tier,
        "leader_id": leader_id,
        "previous_leader_id": ticket.leader_id,
    }
    ticket.tier, ticket.leader_id = tier, leader_id
    now = policy.clock.now()
    restart_for_tier(ticket, policy, now)
    if ticket.department_id is not None:  # departments hold it: their parts' clocks speak
        parts = restart_parts_for_tier(await parts_of(session, ticket.id or 0), ticket, policy, now)
        session.add_all(parts)
        quiet_ticket_clocks(ticket)
    return finish_move(session, policy, ticket, actor, transition, now, data=data)


async def reopen_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reason: str,
    expected_version: int | None = None,
) -> Move:
    """重办 by staff: a resolved or closed ticket goes back to its worker with fresh clocks."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.REOPEN)
    reason = required_text(reason, "reason", policy)
    _check_reopenable(ticket)
    now = policy.clock.now()
    _reopen(ticket, policy, now)
    move = finish_move(session, policy, ticket, actor, transition, now, note=reason)
    await reopen_lead_part(session, policy, ticket, now)
    return move


async def cancel_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Move:
    """撤回: the resident withdraws their own open ticket."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.CANCEL)
    reason = optional_text(reason, "reason", policy)
    now = policy.clock.now()
    ticket.cancelled_at = now
    data = _with_ended({}, await _end_parts(session, ticket, now)) or None
    return finish_move(session, policy, ticket, actor, transition, now, note=reason, data=data)


async def merge_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    original_id: int,
    expected_version: int | None = None,
) -> Move:
    """合并: a duplicate is closed into its original; its resident follows the original and is
    counted there (tickets/duplicates.py)."""
    if ticket_id == original_id:
        raise InvalidInput("a ticket cannot be merged into itself", reason="merge_self")
    # Lock both in id order, so two opposite merges wait for each other instead of deadlocking.
    first, second = sorted((ticket_id, original_id))
    locked = {first: await load_ticket(session, first), second: await load_ticket(session, second)}
    ticket, original = locked[ticket_id], locked[original_id]
    await check_can_view(session, actor, ticket)  # before the version says anything about it
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(f"ticket {ticket.number} has changed", number=ticket.number)
    transition = await authorize(session, actor, ticket, Action.MERGE)
    await check_can_view(session, actor, original)
    if original.state in (State.CLOSED, State.CANCELLED) or original.merged_into_id is not None:
        raise RuleViolation(
            f"ticket {original.number} is {original.state}; merge into an open ticket",
            number=original.number,
            reason="merge_closed",
        )
    now = policy.clock.now()
    ticket.merged_into_id, ticket.closed_at = original.id, now
    # One problem counts once in the 三率, through its original: the duplicate leaves 响应率's
    # rows (the timeline keeps its assignment), as a followed complaint never enters them.
    ticket.assigned_at, ticket.accepted_in_time = None, None
    data = {"original_id": original.id, "original_number": original.number}
    data = _with_ended(data, await _end_parts(session, ticket, now))
    return finish_move(session, policy, ticket, actor, transition, now, data=data)


async def recategorise_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    category: str,
    subcategory: str | None = None,
    expected_version: int | None = None,
) -> Move:
    """Staff correct the category, both levels (一级/二级); the correction is kept to teach the
    classifier. A second level must be one of the first level's in the taxonomy."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.RECATEGORISE)
    category = required_text(category, "category", policy)[:64]
    if subcategory is not None and subcategory not in SUBCATEGORIES.get(category, ()):
        raise InvalidInput(
            f"{subcategory!r} is not a second level of {category!r}",
            category=category,
            subcategory=subcategory,
            reason="unknown_subcategory",
        )
    if category == ticket.category and subcategory == ticket.subcategory:
        raise RuleViolation(
            "the ticket already has this category", category=category, reason="same_category"
        )
    now = policy.clock.now()
    old = ticket.category
    session.add(
        CategoryCorrection(
            ticket_id=ticket.id,
            at=now,
            staff_id=actor.id,
            old_category=old,
            new_category=category,
            new_subcategory=subcategory,
        )
    )
    old_subcategory = ticket.subcategory
    ticket.category, ticket.subcategory, ticket.category_confidence = category, subcategory, 1.0
    data = {
        "old": old,
        "old_subcategory": old_subcategory,
        "new": category,
        "subcategory": subcategory,
    }
    return finish_move(session, policy, ticket, actor, transition, now, data=data)


async def urge_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
) -> Move:
    """催办: the resident presses for their open ticket, at most once per working day; the
    assignee (or the triage staff) hears it. Nothing but the timeline changes."""
    ticket = await load_ticket(session, ticket_id, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.URGE)
    now = policy.clock.now()
    urges = await _times_of(session, ticket, Action.URGE)
    today = policy.calendar.working_day_of(now)
    if urges and policy.calendar.working_day_of(urges[0]) == today:
        raise RuleViolation(
            "a ticket can be urged once per working day",
            number=ticket.number,
            next_day=policy.calendar.next_working_day(today).isoformat(),
            reason="urged_today",
        )
    data = {"count": len(urges) + 1}
    return _remark(session, ticket, actor, transition, now, data=data)


async def supervise_ticket(
    session: AsyncSession,
    policy: Policy,
    *,
    ticket_id: int,
    actor: Person,
    note: str,
    expected_version: int | None = None,
) -> Move:
    """督办: staff press the worker handling the ticket, with a note they must read."""
    ticket = await load_ticket(session, ticket_id, expected_version=expected_version, viewer=actor)
    transition = await authorize(session, actor, ticket, Action.SUPERVISE)
    note = required_text(note, "note", policy)
    count = len(await _times_of(session, ticket, Action.SUPERVISE)) + 1
    data = {"assignee_id": ticket.assignee_id, "count": count}
    return _remark(session, ticket, actor, transition, policy.clock.now(), note=note, data=data)


async def _times_of(session: AsyncSession, ticket: Ticket, action: Action) -> Sequence[datetime]:
    """When the ticket's earlier `action` moves were made, latest first."""
    query = (
        select(TicketEvent.at)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == action)
        .order_by(col(TicketEvent.id).desc())
    )
    return (await session.exec(query)).all()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
