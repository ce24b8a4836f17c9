"""Who hears about 吹哨报到, and what they read (queued in the outbox with the move):

- a whistle: each summoned department's handlers get the summons with its 报到 button; the
  resident hears, in plain words, that departments were called to the place;
- a 报到: whoever whistled and the worker holding the ticket hear the department arrived (in
  time or late); the resident hears it is on site;
- the report clock: the department is reminded before its deadline; when the deadline passes,
  the street's staff are alerted, and the department, the whistler and the resident told.

Whistling and reporting leave the ticket's version as it was, so each message's key names the
summons (or the whistle's event) instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from handlers.buttons import ReportArrival, ViewTicket
from handlers.context import Turn
from handlers.events import Button, Reply
from handlers.evidence import place, resident_photos
from handlers.render import address_line, area_name, local_time, preview
from handlers.texts import label, locale_or_default, tr
from storage import Session
from storage.models import Person, Ticket, TicketPart
from storage.outbox import enqueue_many, outbox_row
from tickets.policy import Policy
from tickets.recipients import (
    Recipient,
    area_names,
    department_handlers,
    department_names,
    recipients,
    residents_of,
    staff_by_area,
)
from tickets.summons_sweeps import SummonsClockEvent
from tickets.whistle import WhistleMove


async def department_list(turn: Turn, parts: Sequence[TicketPart]) -> str:
    """The summoned departments' names, as one phrase in the reader's language."""
    names = await department_names(turn.session, [part.department_id for part in parts])
    return turn.t("list_separator").join(names[part.department_id] for part in parts)


async def announce_whistle(turn: Turn, moved: WhistleMove) -> None:
    ticket, event = moved.ticket, moved.event
    departments = [part.department_id for part in moved.parts]
    handlers = await department_handlers(turn.session, departments)
    names = await department_names(turn.session, departments)
    area = await area_name(turn.session, ticket.area_id)
    whistler = turn.person.display_name or label(turn.locale, "role", turn.person.role)
    for part in moved.parts:
        for handler in handlers.get(part.department_id, []):
            locale = locale_or_default(handler.locale)
            text = tr(
                locale,
                "n_summoned",
                number=ticket.number,
                urgency=label(locale, "urgency", ticket.urgency),
                whistler=whistler,
                department=names[part.department_id],
                note=event.note or tr(locale, "none"),
                text=preview(ticket.text),
                area=area,
                deadline=local_time(part.due_report_at, turn.policy),
            ) + address_line(locale, ticket)
            reply = Reply(
                text,
                _arrival_row(locale, ticket, part),
                photos=resident_photos(ticket),
                location=place(ticket),
            )
            _queue(turn, handler, reply, f"t{ticket.id}:part{part.id}:summoned")
    for resident in await residents_of(turn.session, ticket):
        locale = locale_or_default(resident.locale)
        listed = tr(locale, "list_separator").join(names[d] for d in departments)
        text = tr(locale, "n_whistle_resident", number=ticket.number, departments=listed)
        _queue(turn, _recipient(resident), Reply(text), f"t{ticket.id}:whistle{event.id}")


async def announce_arrival(turn: Turn, moved: WhistleMove) -> None:
    ticket, summons = moved.ticket, moved.parts[0]
    department = (await department_names(turn.session, [summons.department_id]))[
        summons.department_id
    ]
    key = "n_arrived" if summons.reported_in_time else "n_arrived_late"
    told = {summons.created_by_id, ticket.assignee_id} - {None}
    people = await recipients(turn.session, told)
    for person in people.values():
        locale = locale_or_default(person.locale)
        text = tr(
            locale,
            key,
            number=ticket.number,
            department=department,
            at=local_time(summons.reported_at, turn.policy),
        )
        row = ((Button(tr(locale, "btn_view"), ViewTicket(ticket.id or 0).pack()),),)
        _queue(turn, person, Reply(text, row), f"t{ticket.id}:part{summons.id}:arrived")
    for resident in await residents_of(turn.session, ticket):
        locale = locale_or_default(resident.locale)
        text = tr(locale, "n_arrived_resident", number=ticket.number, department=department)
        _queue(turn, _recipient(resident), Reply(text), f"t{ticket.id}:part{summons.id}:arrived")


async def announce_summons_clocks(
    session: Session, policy: Policy, events: Sequence[SummonsClockEvent]
) -> int:
    """Queue the notices for a sweep's summons clocks; returns how many were queued."""
    if not events:
        return 0
    departments = {event.department_id for event in events}
    handlers = await department_handlers(session, departments)
    names = await department_names(session, departments)
    streets = {event.street_area_id for event in events if event.street_area_id is not None}
    staff = await staff_by_area(session, streets)
    street_names = await area_names(session, streets)
    people = await recipients(session, _whistlers(events))
    messages: list[dict[str, Any]] = []

    def send(person: Recipient, event: SummonsClockEvent, key: str, arrive: bool) -> None:
        locale = locale_or_default(person.locale)
        text = tr(
            locale,
            key,
            number=event.number,
            department=names.get(event.department_id, ""),
            deadline=local_time(event.deadline, policy),
            area=street_names.get(event.street_area_id or 0, ""),
        )
        row = [Button(tr(locale, "btn_view"), ViewTicket(event.ticket_id).pack())]
        if arrive:
            row.insert(
                0, Button(tr(locale, "btn_report_arrival"), ReportArrival(event.part_id).pack())
            )
        messages.append(
            outbox_row(
                dedupe_key=f"t{event.ticket_id}:part{event.part_id}:{event.kind}:{key}:p{person.id}",
                person_id=person.id,
                channel=person.channel,
                chat_id=person.chat_id,
                body=Reply(text, (tuple(row),)).to_body(),
                now=policy.clock.now(),
            )
        )

    for event in events:
        summoned = handlers.get(event.department_id, [])
        if event.kind == "remind_report":
            for person in summoned:
                send(person, event, "n_remind_report", arrive=True)
            continue
        for person in staff.get(event.street_area_id or 0, []):
            send(person, event, "n_report_overdue_staff", arrive=False)
        for person in summoned:
            send(person, event, "n_report_overdue_department", arrive=True)
        for person_id in {event.whistled_by_id, event.assignee_id} - {None}:
            if (person := people.get(person_id or 0)) is not None:
                send(person, event, "n_report_overdue_whistler", arrive=False)
        if (resident := people.get(event.resident_id)) is not None:
            send(resident, event, "n_report_overdue_resident", arrive=False)
    await enqueue_many(session, messages)
    return len(messages)


def _whistlers(events: Iterable[SummonsClockEvent]) -> set[int]:
    found = {event.whistled_by_id for event in events} | {event.assignee_id for event in events}
    found |= {event.resident_id for event in events}
    return {person_id for person_id in found if person_id is not None}


def _arrival_row(locale: str, ticket: Ticket, part: TicketPart) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(tr(locale, "btn_report_arrival"), ReportArrival(part.id or 0).pack()),
            Button(tr(locale, "btn_view"), ViewTicket(ticket.id or 0).pack()),
        ),
    )


def _recipient(person: Person) -> Recipient:
    return Recipient(person.id or 0, person.locale, person.channel, person.chat_id)


def _queue(turn: Turn, person: Recipient, reply: Reply, key: str) -> None:
    """`reply` for `person` in the turn's transaction (never the sender: they get the answer)."""
    if person.id == turn.person.id:
        return
    turn.outgoing.append(
        outbox_row(
            dedupe_key=f"{key}:p{person.id}",
            person_id=person.id,
            channel=person.channel,
            chat_id=person.chat_id,
            body=reply.to_body(),
            now=turn.policy.clock.now(),
        )
    )
