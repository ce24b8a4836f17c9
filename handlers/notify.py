"""Who hears about a ticket's move, and what they read: queued in the outbox, in the same
transaction as the move, each in the recipient's own language.

`NOTICES` is the whole map: for each kind of move (the action of the timeline event it wrote),
the notices it sends. The resident hears about every change of state (and so does the resident
of any duplicate merged into the ticket); the worker hears about assignments and decisions on
their work; staff hear about what waits in their triage queue (and why, and by when it must
be sent on) and about extension requests. A 催办 reaches whoever has the ticket now (the worker,
else the triage staff); a 督办 the worker. An emergency reaches the staff on duty of its
community and street at submission, with the resident's contact and where it is, whoever
handles it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from handlers import department_notices as departments
from handlers.buttons import AnswerSolved, ApproveExtension, RefuseExtension
from handlers.context import Turn
from handlers.events import Button, Reply
from handlers.evidence import photo_refs, place, resident_photos
from handlers.keyboards import merge_rows, staff_buttons, work_buttons
from handlers.render import (
    address_line,
    area_name,
    category_text,
    local_time,
    preview,
    proposal_text,
    reach_lines,
    similar_text,
    tier_text,
)
from handlers.texts import label, locale_or_default, tr
from storage.models import Area, Person, Ticket, TicketEvent
from tickets.clocks import deadline
from tickets.departments import held_by_departments
from tickets.duplicates import similar_to_ticket
from tickets.handling import Move
from tickets.lifecycle import Action, State
from tickets.permissions import sees_contact
from tickets.recipients import (
    emergency_staff,
    last_note,
    person,
    residents_of,
    supervising_staff,
    triage_staff,
)
from tickets.routing import TriageReason, dispatchable, triage_reason
from tickets.sla import Urgency
from tickets.sources import NO_CALLBACK, Source

Notice = Callable[[Turn, Ticket, TicketEvent], Awaitable[None]]


async def announce(turn: Turn, move: Move) -> None:
    """Queue everything `move` tells other people (NOTICES, below)."""
    for notice in NOTICES.get(Action(move.event.action), ()):
        await notice(turn, move.ticket, move.event)


async def announce_submitted(turn: Turn, ticket: Ticket) -> None:
    """A new ticket: intake writes its events in bulk, so the notices get the move's name."""
    submitted = TicketEvent(ticket_id=ticket.id, action=Action.SUBMIT, actor_role="resident")
    for notice in NOTICES[Action.SUBMIT]:
        await notice(turn, ticket, submitted)


def _with_evidence(ticket: Ticket, text: str, buttons: tuple = ()) -> Reply:
    """A message to someone handling the ticket, with the resident's photos and place."""
    return Reply(text, buttons, photos=resident_photos(ticket), location=place(ticket))


def _key(ticket: Ticket, what: str) -> str:
    return f"t{ticket.id}:v{ticket.version}:{what}"


def _tell(turn: Turn, someone: Person | None, ticket: Ticket, key: str, reply: Reply) -> None:
    if someone is not None:
        turn.notify(someone, reply, _key(ticket, key))


async def _tell_residents(turn: Turn, ticket: Ticket, key: str, **params: Any) -> None:
    for resident in await residents_of(turn.session, ticket):
        text = tr(locale_or_default(resident.locale), key, number=ticket.number, **params)
        turn.notify(resident, Reply(text), _key(ticket, key))


# --- the grid worker ---------------------------------------------------------------------------


async def _assignment(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """派单 to the assignee, with 接单 / 退单 buttons bound to this version of the ticket; a
    reopened ticket (重办) says so."""
    worker = await person(turn.session, ticket.assignee_id)
    if worker is None:
        return
    locale = locale_or_default(worker.locale)
    accept_by = local_time(ticket.due_accept_at, turn.policy)
    if event.action in (Action.REOPEN, Action.REJECT, Action.STAFF_REJECT):
        text = tr(locale, "n_reopen_assignment", number=ticket.number, accept_by=accept_by)
    else:
        text = tr(
            locale,
            "n_assignment",
            number=ticket.number,
            urgency=label(locale, "urgency", ticket.urgency),
            category=category_text(locale, ticket),
            area=await area_name(turn.session, ticket.area_id),
            text=preview(ticket.text),
            accept_by=accept_by,
        )
    text = "\n".join(
        [text, *reach_lines(ticket, locale, sees_contact=sees_contact(worker, ticket))]
    ) + address_line(locale, ticket)
    reply = _with_evidence(ticket, text, work_buttons(locale, ticket))
    _tell(turn, worker, ticket, "assignment", reply)


async def _reassigned_away(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    previous_id = (event.data or {}).get("previous_assignee_id")
    if not previous_id or previous_id == ticket.assignee_id:
        return
    previous = await person(turn.session, previous_id)
    if previous is not None:
        text = tr(locale_or_default(previous.locale), "n_reassigned_away", number=ticket.number)
        _tell(turn, previous, ticket, "away", Reply(text))


async def _extension_decided(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    worker = await person(turn.session, ticket.assignee_id)
    if worker is None:
        return
    locale = locale_or_default(worker.locale)
    approved = event.action == Action.APPROVE_EXTENSION
    key = "n_extension_decided_yes" if approved else "n_extension_decided_no"
    text = tr(
        locale,
        key,
        number=ticket.number,
        days=(event.data or {}).get("days", 0),
        resolve_by=local_time(ticket.due_resolve_at, turn.policy),
    )
    _tell(turn, worker, ticket, "decision", Reply(text, work_buttons(locale, ticket)))


async def _rated(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    worker = await person(turn.session, ticket.assignee_id)
    if worker is None:
        return
    locale = locale_or_default(worker.locale)
    data = event.data or {}
    text = tr(
        locale,
        "n_rated",
        number=ticket.number,
        solved=label(locale, "solved", int(bool(data.get("solved")))),
        satisfaction=label(locale, "satisfaction", data.get("satisfaction", "")),
    )
    _tell(turn, worker, ticket, "rated", Reply(text))


async def _reopened_by_callback(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    if ticket.state == State.ASSIGNED:  # 未解决 or 不满意: 重办 with the same worker
        await _assignment(turn, ticket, event)


async def _withdrawn(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    worker = await person(turn.session, ticket.assignee_id)
    if worker is not None:
        text = tr(locale_or_default(worker.locale), "n_cancelled", number=ticket.number)
        _tell(turn, worker, ticket, "cancelled", Reply(text))


async def _information_added(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """补充信息, with its photos, to whoever has the ticket now: the assignee, the lead
    department's handlers, or the staff whose triage queue holds it."""
    worker = await person(turn.session, ticket.assignee_id)
    readers = [worker] if worker is not None else await departments.lead_handlers(turn, ticket)
    readers = readers or await triage_staff(turn.session, ticket)
    data = event.data or {}
    photos = photo_refs(data.get("attachments") or ())
    where = tuple(data["location"]) if data.get("location") else None
    for reader in readers:
        locale = locale_or_default(reader.locale)
        text = tr(locale, "n_info_added", number=ticket.number, text=preview(event.note or ""))
        _tell(turn, reader, ticket, "info", Reply(text, photos=photos, location=where))


async def _urged(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """催办: to the assignee with their buttons (or the lead department holding it); a ticket
    nobody has yet, to its triage staff."""
    count = (event.data or {}).get("count", 1)
    key = f"urge{count}"  # the version stays: the count tells one urge from the next
    worker = await person(turn.session, ticket.assignee_id)
    if worker is not None:
        locale = locale_or_default(worker.locale)
        text = tr(
            locale,
            "n_urged",
            number=ticket.number,
            count=count,
            due=local_time(deadline(ticket), turn.policy),
            text=preview(ticket.text, 100),
        )
        _tell(turn, worker, ticket, key, Reply(text, work_buttons(locale, ticket)))
        return
    if held_by_departments(ticket):
        await departments.lead_urged(turn, ticket, event)
        return
    for staff in await triage_staff(turn.session, ticket):
        locale = locale_or_default(staff.locale)
        text = tr(
            locale,
            "n_urged_triage",
            number=ticket.number,
            count=count,
            text=preview(ticket.text, 100),
        )
        _tell(turn, staff, ticket, key, Reply(text, staff_buttons(locale, ticket)))


async def _supervised(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """督办: the staff member's note, to the worker, with the deadline that runs."""
    worker = await person(turn.session, ticket.assignee_id)
    if worker is None:
        return
    locale = locale_or_default(worker.locale)
    staff = await person(turn.session, event.actor_id)
    text = tr(
        locale,
        "n_supervised",
        number=ticket.number,
        staff=(staff.display_name if staff else None) or label(locale, "role", "staff"),
        note=event.note or "",
        due=local_time(deadline(ticket), turn.policy),
    )
    what = f"supervise{(event.data or {}).get('count', 1)}"
    _tell(turn, worker, ticket, what, Reply(text, work_buttons(locale, ticket)))


# --- staff ---------------------------------------------------------------------------------------


# Why a new ticket waits in triage (tickets.routing.TriageReason), as the staff read it.
WHY_IN_TRIAGE = {
    TriageReason.UNCLASSIFIED: "why_unclassified",
    TriageReason.NOT_GRID: "why_not_grid",
    TriageReason.NO_WORKER: "why_no_worker",
}


async def why_in_triage(turn: Turn, ticket: Ticket, locale: str) -> str:
    """The true reason a new ticket waits for dispatch, in `locale`, from its routing."""
    area = await turn.session.get(Area, ticket.area_id)
    if area is None:
        return ""
    classified = dispatchable(ticket.category, ticket.urgency)
    return tr(locale, WHY_IN_TRIAGE[triage_reason(area, classified=classified)], area=area.name)


def _triage_alert(why: str | None) -> Notice:
    """Tell the staff of the handling area that a ticket waits in their queue, why, and by when
    it must be dispatched: `why` is a text key (None: a new ticket, see `why_in_triage`)."""

    async def alert(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
        told = {staff.id for staff in await _emergency_readers(turn, ticket, event)}
        similar = await similar_to_ticket(turn.session, ticket)
        readers = await triage_staff(turn.session, ticket)
        leader = await person(turn.session, ticket.leader_id)  # 包案领导 hears its alerts
        if leader is not None and leader.id not in {staff.id for staff in readers}:
            readers.append(leader)
        for staff in readers:
            if staff.id in told:  # their emergency alert says all this already
                continue
            locale = locale_or_default(staff.locale)
            if why is None:
                reason = await why_in_triage(turn, ticket, locale)
            else:
                reason = tr(locale, why, note=event.note or "")
            text = tr(
                locale,
                "n_triage",
                number=ticket.number,
                urgency=label(locale, "urgency", ticket.urgency),
                why=reason,
                category=category_text(locale, ticket),
                area=await area_name(turn.session, ticket.area_id),
                text=preview(ticket.text),
                dispatch_by=local_time(ticket.due_dispatch_at, turn.policy),
            )
            text = "\n".join([text, *reach_lines(ticket, locale, sees_contact=True)])
            text += address_line(locale, ticket)
            if ticket.tier is None:  # 分级 is staff's: the classifier's proposal, for the button
                text += "\n" + proposal_text(locale, ticket)
            if similar is not None:  # a merge suggestion: one press merges it
                text += "\n" + similar_text(locale, similar)
            buttons = staff_buttons(locale, ticket) + merge_rows(locale, ticket, similar)
            _tell(turn, staff, ticket, "triage", _with_evidence(ticket, text, buttons))

    return alert


async def _assignment_or_triage(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    if ticket.assignee_id is not None:
        await _assignment(turn, ticket, event)
    else:
        await _triage_alert(None)(turn, ticket, event)


async def _emergency_readers(turn: Turn, ticket: Ticket, event: TicketEvent) -> list[Person]:
    """Who reads a new emergency's alert (none for anything else)."""
    if event.action != Action.SUBMIT or ticket.urgency != Urgency.EMERGENCY:
        return []
    return await emergency_staff(turn.session, ticket)


async def _emergency_alert(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """An emergency, at once, to the staff on duty of its community and street: what happened,
    where, whom to call back, and where the ticket went (a worker, or their triage queue)."""
    readers = await _emergency_readers(turn, ticket, event)
    if not readers:
        return
    resident = await person(turn.session, ticket.resident_id)
    worker = await person(turn.session, ticket.assignee_id)
    area = await area_name(turn.session, ticket.area_id)
    for staff in readers:
        locale = locale_or_default(staff.locale)
        if worker is not None:
            status = tr(
                locale,
                "emergency_sent_to",
                worker=worker.display_name or tr(locale, "unnamed_worker"),
                accept_by=local_time(ticket.due_accept_at, turn.policy),
            )
        else:
            status = tr(
                locale,
                "emergency_waits",
                why=await why_in_triage(turn, ticket, locale),
                dispatch_by=local_time(ticket.due_dispatch_at, turn.policy),
            )
        text = tr(
            locale,
            "n_emergency",
            number=ticket.number,
            status=status,
            area=area,
            location=_location(locale, ticket),
            contact=_contact(locale, resident, ticket),
            text=preview(ticket.text),
        )
        _tell(turn, staff, ticket, "emergency", Reply(text, staff_buttons(locale, ticket)))


def _location(locale: str, ticket: Ticket) -> str:
    if ticket.latitude is None or ticket.longitude is None:
        return tr(locale, "none")
    return f"{ticket.latitude:.5f}, {ticket.longitude:.5f}"


def _contact(locale: str, resident: Person | None, ticket: Ticket) -> str:
    """The resident's name and call-back phone, for the staff handling an emergency only."""
    name = resident.display_name if resident is not None else None
    phone = ticket.contact_phone or (resident.phone if resident is not None else None)
    known = [value for value in (name, phone) if value]
    return " ".join(known) if known else tr(locale, "none")


async def _extension_requested(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """Ask the supervisors: the staff of the nearest staffed area above the handling grid."""
    days = (event.data or {}).get("days", 0)
    for staff in await supervising_staff(turn.session, ticket):
        locale = locale_or_default(staff.locale)
        text = tr(locale, "n_extension_request", number=ticket.number, days=days, note=event.note)
        row = (
            Button(tr(locale, "btn_approve"), ApproveExtension(ticket.id, ticket.version).pack()),
            Button(tr(locale, "btn_refuse"), RefuseExtension(ticket.id, ticket.version).pack()),
        )
        _tell(turn, staff, ticket, "extension", Reply(text, (row,)))


# --- the resident ------------------------------------------------------------------------------


async def _residents_assigned(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    area = await area_name(turn.session, ticket.handling_area_id)
    accept_by = local_time(ticket.due_accept_at, turn.policy)
    await _tell_residents(turn, ticket, "n_assigned", area=area, accept_by=accept_by)


async def _residents_accepted(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    resolve_by = local_time(ticket.due_resolve_at, turn.policy)
    await _tell_residents(turn, ticket, "n_accepted", resolve_by=resolve_by)


async def _residents_returned(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    await _tell_residents(turn, ticket, "n_returned")


async def _residents_escalated(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    area = await area_name(turn.session, ticket.handling_area_id)
    await _tell_residents(turn, ticket, "n_escalated", area=area)


async def _residents_extended(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    reason = await last_note(turn.session, ticket.id, Action.REQUEST_EXTENSION)
    resolve_by = local_time(ticket.due_resolve_at, turn.policy)
    await _tell_residents(turn, ticket, "n_extended", reason=reason, resolve_by=resolve_by)


async def _residents_asked_solved(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """The resident reads the worker's reply, sees the photos sent with it, and is asked:
    solved? Whoever recorded a ticket for someone else reads the reply (and photos) and calls
    the resident back (回访) themselves. Those following the ticket through a merged duplicate
    read the reply too, but the callback is its own resident's: one answer per ticket, so the
    三率 count it once."""
    photos = photo_refs((event.data or {}).get("attachments") or (), by_worker=True)
    for resident in await residents_of(turn.session, ticket):
        locale = locale_or_default(resident.locale)
        if resident.id != ticket.resident_id:
            text = tr(
                locale, "n_resolved_followed", number=ticket.number, reply=ticket.resolution_reply
            )
            _tell(turn, resident, ticket, "resolved", Reply(text, photos=photos))
            continue
        if ticket.source != Source.RESIDENT_CHAT:
            text = tr(
                locale, "n_resolved_recorded", number=ticket.number, reply=ticket.resolution_reply
            )
            _tell(turn, resident, ticket, "resolved", Reply(text, photos=photos))
            continue
        text = tr(locale, "ask_solved", number=ticket.number, reply=ticket.resolution_reply)
        row = (
            Button(tr(locale, "btn_solved"), AnswerSolved(ticket.id, ticket.version, 1).pack()),
            Button(tr(locale, "btn_unsolved"), AnswerSolved(ticket.id, ticket.version, 0).pack()),
        )
        _tell(turn, resident, ticket, "resolved", Reply(text, (row,), photos=photos))


async def _residents_closed(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    await _tell_residents(turn, ticket, "n_closed", note=event.note or "")


async def _residents_reopened(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    await _tell_residents(turn, ticket, "n_reopened")


async def _residents_merged(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    original = (event.data or {}).get("original_number", "")
    await _tell_residents(turn, ticket, "n_merged", original=original)


async def _residents_recategorised(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    for resident in await residents_of(turn.session, ticket):
        locale = locale_or_default(resident.locale)
        category = category_text(locale, ticket)
        text = tr(locale, "n_recategorised", number=ticket.number, category=category)
        turn.notify(resident, Reply(text), _key(ticket, "n_recategorised"))


# --- tiers and 句号管理 ------------------------------------------------------------------------


async def _leader_named(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """包案: the leader now answering for the ticket hears what it is and its clock."""
    data = event.data or {}
    if ticket.leader_id is None or data.get("previous_leader_id") == ticket.leader_id:
        return
    leader = await person(turn.session, ticket.leader_id)
    if leader is None:
        return
    locale = locale_or_default(leader.locale)
    text = tr(
        locale,
        "n_leader",
        number=ticket.number,
        tier=tier_text(locale, ticket.tier),
        area=await area_name(turn.session, ticket.area_id),
        text=preview(ticket.text),
        resolve_by=local_time(ticket.due_resolve_at, turn.policy),
    )
    _tell(turn, leader, ticket, "leader", Reply(text, staff_buttons(locale, ticket)))


async def _callback_due(turn: Turn, ticket: Ticket, _event: TicketEvent) -> None:
    """句号管理: a ticket whose resident cannot answer in chat (代办, hotline, API) waits for a
    staff 回访; the supervising staff are asked for it, with 记录回访 at hand. (A patrol's hazard
    has no resident to call; whoever recorded a ticket reads its reply already.)"""
    if ticket.source == Source.RESIDENT_CHAT or ticket.source in NO_CALLBACK:
        return
    for staff in await supervising_staff(turn.session, ticket):
        if staff.id == ticket.resident_id:
            continue
        locale = locale_or_default(staff.locale)
        text = tr(
            locale,
            "n_callback_due",
            number=ticket.number,
            reply=preview(ticket.resolution_reply or "", 100),
            close_by=local_time(ticket.due_close_at, turn.policy),
        )
        _tell(turn, staff, ticket, "callback_due", Reply(text, staff_buttons(locale, ticket)))


async def _tier_to_assignee(turn: Turn, ticket: Ticket, event: TicketEvent) -> None:
    """The worker holding the ticket learns its tier and the resolve clock it now runs."""
    worker = await person(turn.session, ticket.assignee_id)
    if worker is None or (event.data or {}).get("previous_tier") == ticket.tier:
        return
    locale = locale_or_default(worker.locale)
    text = tr(
        locale,
        "n_tier_set",
        number=ticket.number,
        tier=tier_text(locale, ticket.tier),
        resolve_by=local_time(ticket.due_resolve_at, turn.policy),
    )
    _tell(turn, worker, ticket, "tier", Reply(text, work_buttons(locale, ticket)))


# Who is told what after which move. A move not listed tells nobody (a working note).
NOTICES: dict[Action, tuple[Notice, ...]] = {
    Action.SUBMIT: (_assignment_or_triage, _emergency_alert),
    Action.ASSIGN: (
        _assignment,
        _reassigned_away,
        _residents_assigned,
        departments.departments_told_parts_ended,
    ),
    Action.REASSIGN: (
        _assignment,
        _reassigned_away,
        _residents_assigned,
        departments.departments_told_parts_ended,
    ),
    Action.ACCEPT: (_residents_accepted,),
    Action.RETURN: (_triage_alert("why_returned"), _residents_returned),
    Action.ESCALATE: (
        _triage_alert("why_escalated"),
        _residents_escalated,
        departments.departments_told_parts_ended,
    ),
    Action.REQUEST_EXTENSION: (_extension_requested,),
    Action.APPROVE_EXTENSION: (_extension_decided, _residents_extended),
    Action.REFUSE_EXTENSION: (_extension_decided,),
    Action.RESOLVE: (_residents_asked_solved, _callback_due),
    Action.CONFIRM: (_rated,),
    Action.REJECT: (_rated, _reopened_by_callback, departments.lead_told_reopened),
    Action.CLOSE: (_residents_closed,),
    Action.REOPEN: (_assignment, departments.lead_told_reopened, _residents_reopened),
    Action.CANCEL: (_withdrawn, departments.departments_told_withdrawn),
    Action.MERGE: (_residents_merged, departments.departments_told_parts_ended),
    Action.RECATEGORISE: (_residents_recategorised,),
    Action.ADD_INFO: (_information_added,),
    Action.URGE: (_urged,),
    Action.SUPERVISE: (_supervised, departments.lead_supervised),
    Action.NEEDS_DEPARTMENT: (
        _triage_alert("why_needs_department"),
        departments.residents_needs_department,
    ),
    Action.DISPATCH_DEPARTMENT: (
        departments.parts_dispatched,
        departments.residents_dispatched,
        departments.departments_told_parts_ended,
    ),
    Action.DEPARTMENT_ACCEPT: (departments.residents_department_accepted,),
    Action.PART_ACCEPT: (departments.residents_part_accepted,),
    Action.DEPARTMENT_RETURN: (
        _triage_alert("why_department_returned"),
        departments.residents_department_returned,
        departments.departments_told_parts_ended,
    ),
    Action.PART_RETURN: (departments.staff_told_part_returned,),
    Action.PART_FINISH: (departments.lead_told_part_finished,),
    Action.DEPARTMENT_RESOLVE: (
        _residents_asked_solved,
        _callback_due,
        departments.departments_told_parts_ended,
    ),
    Action.SET_TIER: (_leader_named, _tier_to_assignee),
    # A staff 回访 that reached the resident tells people as the resident's own answer does,
    # and the residents too (they did not press anything); nobody answering tells nobody.
    Action.STAFF_CONFIRM: (_rated, _residents_closed),
    Action.STAFF_REJECT: (
        _rated,
        _reopened_by_callback,
        departments.lead_told_reopened,
        _residents_reopened,
    ),
}
