"""Who hears about a ticket's move, and what they read: queued in the outbox, in the same
transaction as the move, each in the recipient's own language.

The resident hears about every change of state (and so does the resident of any duplicate merged
into the ticket); the worker hears about assignments and decisions on their work; staff hear about
what waits in their triage queue and about extension requests.
"""

from __future__ import annotations

from sqlmodel import select

from handlers import buttons
from handlers.context import Turn
from handlers.events import Button, Reply
from handlers.keyboards import staff_buttons, work_buttons
from handlers.render import area_name, category_text, local_time, preview
from handlers.texts import label, locale_or_default, tr
from storage.models import Person, Ticket
from tickets.areas import get_area
from tickets.people import staff_of_area
from tickets.routing import triage_area


async def residents_of(turn: Turn, ticket: Ticket) -> list[Person]:
    """The ticket's resident and those whose duplicates were merged into it."""
    ids = [ticket.resident_id]
    merged = await turn.session.exec(
        select(Ticket.resident_id).where(Ticket.merged_into_id == ticket.id)
    )
    ids += [resident_id for resident_id in merged.all() if resident_id not in ids]
    people = [await turn.session.get(Person, person_id) for person_id in ids]
    return [person for person in people if person is not None]


def _key(ticket: Ticket, what: str) -> str:
    return f"t{ticket.id}:v{ticket.version}:{what}"


async def tell_residents(turn: Turn, ticket: Ticket, key: str, **params: str) -> None:
    for person in await residents_of(turn, ticket):
        locale = locale_or_default(person.locale)
        number = ticket.number
        turn.notify(person, Reply(tr(locale, key, number=number, **params)), _key(ticket, key))


async def assignment_ping(turn: Turn, ticket: Ticket, *, reopened: bool = False) -> None:
    """派单 to the assignee, with 接单 / 退单 buttons bound to this version of the ticket."""
    worker = await turn.session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    if worker is None:
        return
    locale = locale_or_default(worker.locale)
    accept_by = local_time(ticket.due_accept_at, turn.policy)
    if reopened:
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
    turn.notify(worker, Reply(text, work_buttons(locale, ticket)), _key(ticket, "assignment"))


async def triage_alert(turn: Turn, ticket: Ticket, why: str, note: str | None = None) -> None:
    """Tell the staff of the handling area that a ticket waits in their queue."""
    for staff in await staff_of_area(turn.session, ticket.handling_area_id):
        locale = locale_or_default(staff.locale)
        text = tr(
            locale,
            "n_triage",
            number=ticket.number,
            urgency=label(locale, "urgency", ticket.urgency),
            why=tr(locale, why, note=note or "") if why else "",
            category=category_text(locale, ticket),
            area=await area_name(turn.session, ticket.area_id),
            text=preview(ticket.text),
        )
        turn.notify(staff, Reply(text, staff_buttons(locale, ticket)), _key(ticket, "triage"))


async def after_submit(turn: Turn, ticket: Ticket) -> None:
    if ticket.assignee_id is not None:
        await assignment_ping(turn, ticket)
    else:
        why = "why_unclassified" if ticket.category is None else "why_unroutable"
        await triage_alert(turn, ticket, why)


async def after_assign(turn: Turn, ticket: Ticket, previous_assignee_id: int | None) -> None:
    await assignment_ping(turn, ticket)
    if previous_assignee_id and previous_assignee_id != ticket.assignee_id:
        previous = await turn.session.get(Person, previous_assignee_id)
        if previous is not None:
            locale = locale_or_default(previous.locale)
            text = tr(locale, "n_reassigned_away", number=ticket.number)
            turn.notify(previous, Reply(text), _key(ticket, "away"))
    area = await area_name(turn.session, ticket.handling_area_id)
    await tell_residents(
        turn,
        ticket,
        "n_assigned",
        area=area,
        accept_by=local_time(ticket.due_accept_at, turn.policy),
    )


async def after_accept(turn: Turn, ticket: Ticket) -> None:
    resolve_by = local_time(ticket.due_resolve_at, turn.policy)
    await tell_residents(turn, ticket, "n_accepted", resolve_by=resolve_by)


async def after_return(turn: Turn, ticket: Ticket, reason: str) -> None:
    await triage_alert(turn, ticket, "why_returned", reason)
    await tell_residents(turn, ticket, "n_returned")


async def after_escalate(turn: Turn, ticket: Ticket, reason: str) -> None:
    await triage_alert(turn, ticket, "why_escalated", reason)
    area = await area_name(turn.session, ticket.handling_area_id)
    await tell_residents(turn, ticket, "n_escalated", area=area)


async def after_extension_request(turn: Turn, ticket: Ticket, days: int, reason: str) -> None:
    """Ask the supervisors: the staff of the nearest staffed area above the handling grid."""
    handling = await get_area(turn.session, ticket.handling_area_id)
    supervising = await triage_area(turn.session, handling)
    for staff in await staff_of_area(turn.session, supervising.id):
        locale = locale_or_default(staff.locale)
        text = tr(locale, "n_extension_request", number=ticket.number, days=days, note=reason)
        row = (
            Button(tr(locale, "btn_approve"), buttons.make("xa", ticket.id, ticket.version)),
            Button(tr(locale, "btn_refuse"), buttons.make("xr", ticket.id, ticket.version)),
        )
        turn.notify(staff, Reply(text, (row,)), _key(ticket, "extension"))


async def after_extension_decision(
    turn: Turn, ticket: Ticket, approved: bool, days: int, reason: str
) -> None:
    resolve_by = local_time(ticket.due_resolve_at, turn.policy)
    worker = await turn.session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    if worker is not None:
        locale = locale_or_default(worker.locale)
        key = "n_extension_decided_yes" if approved else "n_extension_decided_no"
        text = tr(locale, key, number=ticket.number, days=days, resolve_by=resolve_by)
        turn.notify(worker, Reply(text, work_buttons(locale, ticket)), _key(ticket, "decision"))
    if approved:
        await tell_residents(turn, ticket, "n_extended", reason=reason, resolve_by=resolve_by)


async def after_resolve(turn: Turn, ticket: Ticket) -> None:
    """The resident reads the worker's reply and is asked: solved?"""
    for person in await residents_of(turn, ticket):
        locale = locale_or_default(person.locale)
        text = tr(locale, "ask_solved", number=ticket.number, reply=ticket.resolution_reply)
        row = (
            Button(tr(locale, "btn_solved"), buttons.make("cb", ticket.id, ticket.version, 1)),
            Button(tr(locale, "btn_unsolved"), buttons.make("cb", ticket.id, ticket.version, 0)),
        )
        turn.notify(person, Reply(text, (row,)), _key(ticket, "resolved"))


async def after_callback(turn: Turn, ticket: Ticket, solved: bool, satisfaction: str) -> None:
    worker = await turn.session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    if worker is None:
        return
    locale = locale_or_default(worker.locale)
    text = tr(
        locale,
        "n_rated",
        number=ticket.number,
        solved=label(locale, "solved", int(solved)),
        satisfaction=label(locale, "satisfaction", satisfaction),
    )
    turn.notify(worker, Reply(text), _key(ticket, "rated"))
    if ticket.state == "assigned":
        await assignment_ping(turn, ticket, reopened=True)


async def after_close(turn: Turn, ticket: Ticket, note: str | None) -> None:
    await tell_residents(turn, ticket, "n_closed", note=note or "")


async def after_reopen(turn: Turn, ticket: Ticket) -> None:
    await assignment_ping(turn, ticket, reopened=True)
    await tell_residents(turn, ticket, "n_reopened")


async def after_cancel(turn: Turn, ticket: Ticket, previous_assignee_id: int | None) -> None:
    worker = await turn.session.get(Person, previous_assignee_id) if previous_assignee_id else None
    if worker is not None:
        text = tr(locale_or_default(worker.locale), "n_cancelled", number=ticket.number)
        turn.notify(worker, Reply(text), _key(ticket, "cancelled"))


async def after_merge(turn: Turn, duplicate: Ticket, original: Ticket) -> None:
    await tell_residents(turn, duplicate, "n_merged", original=original.number)


async def after_recategorise(turn: Turn, ticket: Ticket) -> None:
    category = ticket.category or ""
    await tell_residents(turn, ticket, "n_recategorised", category=category)


async def after_information(turn: Turn, ticket: Ticket, text: str) -> None:
    worker = await turn.session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    if worker is not None:
        locale = locale_or_default(worker.locale)
        message = tr(locale, "n_info_added", number=ticket.number, text=preview(text))
        turn.notify(worker, Reply(message), _key(ticket, "info"))
