"""What people hear of an import of hotline cases: what a chat complaint's submission tells them
(handlers.notify) — the assignment with its 接单/退单 buttons to the worker, the triage alert to
the staff of the queue, an emergency to the staff on duty of its community and street — for a
whole import at once: the people and areas read in a few queries, the messages queued in one
statement. The caller has no chat: nothing goes to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.events import Reply
from handlers.keyboards import staff_buttons, work_buttons
from handlers.notify import WHY_IN_TRIAGE
from handlers.render import address_line, category_text, local_time, preview, reach_lines
from handlers.texts import label, locale_or_default, tr
from storage import Session
from storage.models import Area, Person, Ticket
from storage.outbox import enqueue_many, outbox_row
from tickets.policy import Policy
from tickets.recipients import Recipient, area_names, emergency_staff, recipients, staff_by_area
from tickets.routing import TriageReason, dispatchable, triage_reason
from tickets.sla import Urgency


async def announce_imported(session: Session, policy: Policy, tickets: Sequence[Any]) -> int:
    """Queue the notices of newly imported tickets (Tickets, or their columns as attributes);
    returns how many messages were queued."""
    if not tickets:
        return 0
    workers = await recipients(session, {t.assignee_id for t in tickets if t.assignee_id})
    waiting = [ticket for ticket in tickets if ticket.assignee_id is None]
    staff = await staff_by_area(session, {ticket.handling_area_id for ticket in waiting})
    names = await area_names(session, {ticket.area_id for ticket in tickets})
    messages: list[dict[str, Any]] = []

    def send(person: Recipient, ticket: Ticket, key: str, reply: Reply) -> None:
        messages.append(
            outbox_row(
                dedupe_key=f"t{ticket.id}:v{ticket.version}:{key}:p{person.id}",
                person_id=person.id,
                channel=person.channel,
                chat_id=person.chat_id,
                body=reply.to_body(),
                now=policy.clock.now(),
            )
        )

    on_duty: dict[int, list[Recipient]] = {}
    for ticket in tickets:
        area = names.get(ticket.area_id, "—")
        why = await _why(session, ticket)
        worker = workers.get(ticket.assignee_id) if ticket.assignee_id else None
        alerted: list[Recipient] = []
        if ticket.urgency == Urgency.EMERGENCY:
            if ticket.area_id not in on_duty:
                found = await emergency_staff(session, ticket)
                on_duty[ticket.area_id] = [_recipient(person) for person in found]
            alerted = on_duty[ticket.area_id]
            assignee = await session.get(Person, ticket.assignee_id) if worker else None
            for person in alerted:
                reply = _emergency(person, ticket, area, assignee, why, policy)
                send(person, ticket, "emergency", reply)
        if worker is not None:
            send(worker, ticket, "assignment", _assignment(worker, ticket, area, policy))
            continue
        for person in staff.get(ticket.handling_area_id, []):
            if person not in alerted:  # their emergency alert says all this already
                send(person, ticket, "triage", _triage(person, ticket, area, why, policy))
    await enqueue_many(session, messages)
    return len(messages)


def _recipient(person: Any) -> Recipient:
    return Recipient(person.id, person.locale, person.channel, person.chat_id)


async def _why(session: Session, ticket: Ticket) -> str | None:
    """The text key saying why a ticket waits in triage (None when a worker has it)."""
    if ticket.assignee_id is not None:
        return None
    area = await session.get(Area, ticket.area_id)  # in the session already: the import read all
    if area is None:
        return None
    reason = triage_reason(area, classified=dispatchable(ticket.category, ticket.urgency))
    # No resident chose the place: the hotline's address named no grid.
    return "why_hotline_not_grid" if reason is TriageReason.NOT_GRID else WHY_IN_TRIAGE[reason]


def _assignment(worker: Recipient, ticket: Ticket, area: str, policy: Policy) -> Reply:
    locale = locale_or_default(worker.locale)
    text = tr(
        locale,
        "n_assignment",
        number=ticket.number,
        urgency=label(locale, "urgency", ticket.urgency),
        category=category_text(locale, ticket),
        area=area,
        text=preview(ticket.text),
        accept_by=local_time(ticket.due_accept_at, policy),
    )
    text = "\n".join([text, *reach_lines(ticket, locale, sees_contact=True)])
    return Reply(text + address_line(locale, ticket), work_buttons(locale, ticket))


def _triage(staff: Recipient, ticket: Ticket, area: str, why: str | None, policy: Policy) -> Reply:
    locale = locale_or_default(staff.locale)
    text = tr(
        locale,
        "n_triage",
        number=ticket.number,
        urgency=label(locale, "urgency", ticket.urgency),
        why=tr(locale, why, area=area) if why else "",
        category=category_text(locale, ticket),
        area=area,
        text=preview(ticket.text),
        dispatch_by=local_time(ticket.due_dispatch_at, policy),
    )
    text = "\n".join([text, *reach_lines(ticket, locale, sees_contact=True)])
    return Reply(text + address_line(locale, ticket), staff_buttons(locale, ticket))


def _emergency(
    staff: Recipient,
    ticket: Ticket,
    area: str,
    worker: Person | None,
    why: str | None,
    policy: Policy,
) -> Reply:
    locale = locale_or_default(staff.locale)
    if worker is not None:
        status = tr(
            locale,
            "emergency_sent_to",
            worker=worker.display_name or tr(locale, "unnamed_worker"),
            accept_by=local_time(ticket.due_accept_at, policy),
        )
    else:
        status = tr(
            locale,
            "emergency_waits",
            why=tr(locale, why, area=area) if why else "",
            dispatch_by=local_time(ticket.due_dispatch_at, policy),
        )
    known = [value for value in (ticket.on_behalf_name, ticket.contact_phone) if value]
    text = tr(
        locale,
        "n_emergency",
        number=ticket.number,
        status=status,
        area=area,
        location=tr(locale, "none"),
        contact=" ".join(known) if known else tr(locale, "none"),
        text=preview(ticket.text),
    )
    return Reply(text, staff_buttons(locale, ticket))
