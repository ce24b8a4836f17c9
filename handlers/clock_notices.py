"""What people hear when a clock fires: the worker is reminded before a deadline; when one passes,
the staff of the level that now supervises are alerted, the worker is told, and the resident
learns who follows the ticket up; an auto-closed ticket is announced to both sides.

Written for a whole sweep at once: the people and areas are read in three queries and the
messages queued in one statement, in the sweep's own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import buttons
from handlers.events import Button, Reply
from handlers.render import local_time
from handlers.texts import label, locale_or_default, tr
from storage.models import Area, Person, Ticket
from storage.outbox import enqueue_many, outbox_row
from tickets.lifecycle import Role
from tickets.policy import Policy
from tickets.sweeps import ClockEvent


async def announce(session: AsyncSession, policy: Policy, events: Sequence[ClockEvent]) -> int:
    """Queue the notices for `events`; returns how many messages were queued."""
    if not events:
        return 0
    supervising = {event.handling_area_id for event in events if event.kind.startswith("escalate")}
    people = await _people(session, events)
    staff = await _staff(session, supervising)
    areas = await _area_names(session, supervising)
    followers = await _followers(session, [event.ticket_id for event in events])
    messages: list[dict[str, Any]] = []
    locales: dict[str, str] = {}

    def send(person: Recipient | None, event: ClockEvent, key: str, **params: Any) -> None:
        if person is None:
            return
        locale = locales.get(person.locale) or locales.setdefault(
            person.locale, locale_or_default(person.locale)
        )
        params = {
            name: label(locale, "clock", value) if name == "clock" else value
            for name, value in params.items()
        }
        view = Button(tr(locale, "btn_view"), buttons.make("v", event.ticket_id))
        text = tr(locale, key, number=event.number, **params)
        messages.append(_message(person, event, key, Reply(text, ((view,),)), policy))

    for event in events:
        worker = people.get(event.assignee_id)
        residents = [people.get(event.resident_id), *followers.get(event.ticket_id, [])]
        due = local_time(event.deadline, policy)
        if event.kind.startswith("remind"):
            send(worker, event, f"n_{event.kind}", deadline=due)
        elif event.kind.startswith("escalate"):
            clock = event.kind.removeprefix("escalate_")
            area = areas.get(event.handling_area_id, "")
            for person in staff.get(event.handling_area_id, []):
                send(person, event, "n_overdue_staff", clock=clock, deadline=due)
            send(worker, event, "n_overdue_worker", clock=clock, area=area)
            if not event.at_top:  # at the top nobody new takes over: nothing new to tell
                for resident in residents:
                    send(resident, event, "n_overdue_resident", area=area)
        elif event.kind == "auto_close":
            send(worker, event, "n_auto_closed_worker")
            for resident in residents:
                send(resident, event, "n_auto_closed_resident")
    await enqueue_many(session, messages)
    return len(messages)


def _message(
    person: Recipient, event: ClockEvent, key: str, reply: Reply, policy: Policy
) -> dict[str, Any]:
    return outbox_row(
        dedupe_key=f"t{event.ticket_id}:v{event.version}:{key}:p{person.id}",
        person_id=person.id,
        channel=person.channel,
        chat_id=person.chat_id,
        body=reply.to_body(),
        now=policy.clock.now(),
    )


class Recipient(NamedTuple):
    """What a notice needs of a person: read as plain columns, since a sweep can reach
    thousands of people and loading each as an ORM object would cost more than the sweep."""

    id: int
    locale: str | None
    channel: str
    chat_id: str


_RECIPIENT = (Person.id, Person.locale, Person.channel, Person.chat_id)


async def _people(session: AsyncSession, events: Sequence[ClockEvent]) -> dict[int, Recipient]:
    ids = {event.resident_id for event in events}
    ids |= {event.assignee_id for event in events if event.assignee_id is not None}
    rows = await session.exec(select(*_RECIPIENT).where(col(Person.id).in_(ids)))
    return {row[0]: Recipient(*row) for row in rows.all()}


async def _staff(session: AsyncSession, area_ids: set[int]) -> dict[int, list[Recipient]]:
    if not area_ids:
        return {}
    query = select(Person.area_id, *_RECIPIENT).where(
        col(Person.area_id).in_(area_ids), col(Person.role).in_([Role.STAFF, Role.ADMIN])
    )
    by_area: dict[int, list[Recipient]] = defaultdict(list)
    for area_id, *person in (await session.exec(query)).all():
        by_area[area_id].append(Recipient(*person))
    return by_area


async def _area_names(session: AsyncSession, area_ids: set[int]) -> dict[int, str]:
    if not area_ids:
        return {}
    rows = await session.exec(select(Area.id, Area.name).where(col(Area.id).in_(area_ids)))
    return {area_id: name for area_id, name in rows.all()}


async def _followers(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[Recipient]]:
    """Residents of duplicates merged into these tickets: they follow the original."""
    query = (
        select(Ticket.merged_into_id, *_RECIPIENT)
        .join(Person, col(Person.id) == Ticket.resident_id)
        .where(col(Ticket.merged_into_id).in_(ticket_ids))
    )
    by_ticket: dict[int, list[Recipient]] = defaultdict(list)
    for original, *person in (await session.exec(query)).all():
        by_ticket[original].append(Recipient(*person))
    return by_ticket
