"""What people hear when a clock fires: the worker is reminded before a deadline (the staff of the
triage queue, before a dispatch deadline); when one passes, the staff of the level that now
supervises are alerted, the worker is told, and the resident learns who follows the ticket up;
an auto-closed ticket is announced to both sides. A 历史遗留 or 重大疑难 ticket's leader (包案领导)
hears its reminders and overdue alerts too.

A notice carries the buttons for the move the clock is waiting for — 接单 for the worker whose
acceptance is late, 派单 for the staff of an overdue triage ticket — besides 查看.

Written for a whole sweep at once: the people and areas are read in three queries and the
messages queued in one statement, in the sweep's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.buttons import Accept, ChooseWorker, OnTicket, PartAccept, ViewTicket
from handlers.events import Button, Reply
from handlers.render import local_time
from handlers.texts import label, locale_or_default, tr
from storage import Session
from storage.outbox import enqueue_many, outbox_row
from tickets.part_sweeps import PartClockEvent
from tickets.policy import Policy
from tickets.recipients import (
    Recipient,
    area_names,
    department_handlers,
    department_names,
    followers,
    recipients,
    staff_by_area,
)
from tickets.sweeps import ClockEvent


async def announce(session: Session, policy: Policy, events: Sequence[ClockEvent]) -> int:
    """Queue the notices for `events`; returns how many messages were queued."""
    if not events:
        return 0
    supervising = {
        event.handling_area_id
        for event in events
        if event.kind.startswith("escalate") or event.kind == "remind_dispatch"
    }
    people = await recipients(session, _people_of(events))
    staff = await staff_by_area(session, supervising)
    areas = await area_names(session, supervising)
    following = await followers(session, [event.ticket_id for event in events])
    messages: list[dict[str, Any]] = []
    locales: dict[str, str] = {}

    def send(
        person: Recipient | None,
        event: ClockEvent,
        key: str,
        move: tuple[str, type[OnTicket]] | None = None,
        **params: Any,
    ) -> None:
        if person is None:
            return
        locale = locales.get(person.locale) or locales.setdefault(
            person.locale, locale_or_default(person.locale)
        )
        params = {
            name: label(locale, "clock", value) if name == "clock" else value
            for name, value in params.items()
        }
        row = [Button(tr(locale, "btn_view"), ViewTicket(event.ticket_id).pack())]
        if move is not None:
            button, kind = move
            row.insert(0, Button(tr(locale, button), kind(event.ticket_id, event.version).pack()))
        text = tr(locale, key, number=event.number, **params)
        messages.append(_message(person, event, key, Reply(text, (tuple(row),)), policy))

    for event in events:
        worker = people.get(event.assignee_id)
        residents = [people.get(event.resident_id), *following.get(event.ticket_id, [])]
        due = local_time(event.deadline, policy)
        clock = event.kind.partition("_")[2]
        move = _AWAITED.get(clock)
        seated = staff.get(event.handling_area_id, [])
        # 包案领导: the ticket's alerts reach its leader too, unless they are told as staff.
        leader = people.get(event.leader_id) if event.leader_id else None
        if leader is not None and (event.kind == "auto_close" or leader in seated):
            leader = None
        if event.kind == "remind_dispatch":
            for person in seated:
                send(person, event, "n_remind_dispatch", move, deadline=due)
        elif event.kind.startswith("remind"):
            send(worker, event, f"n_{event.kind}", move, deadline=due)
        if event.kind.startswith("remind"):
            send(leader, event, "n_remind_leader", clock=clock, deadline=due)
        elif event.kind.startswith("escalate"):
            area = areas.get(event.handling_area_id, "")
            staff_move = move if clock == "dispatch" else None
            for person in [*seated, *([leader] if leader else [])]:
                send(person, event, "n_overdue_staff", staff_move, clock=clock, deadline=due)
            send(worker, event, "n_overdue_worker", move, clock=clock, area=area)
            if not event.at_top:  # at the top nobody new takes over: nothing new to tell
                for resident in residents:
                    send(resident, event, "n_overdue_resident", area=area)
        elif event.kind == "auto_close":
            send(worker, event, "n_auto_closed_worker")
            for resident in residents:
                send(resident, event, "n_auto_closed_resident")
    await enqueue_many(session, messages)
    return len(messages)


# The button for the move a running clock waits for (resolving needs a reply: 查看 leads there).
_AWAITED: dict[str, tuple[str, type[OnTicket]]] = {
    "dispatch": ("btn_assign", ChooseWorker),
    "accept": ("btn_accept", Accept),
}


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


def _people_of(events: Sequence[ClockEvent]) -> set[int]:
    ids = {event.resident_id for event in events}
    ids |= {event.leader_id for event in events if event.leader_id is not None}
    return ids | {event.assignee_id for event in events if event.assignee_id is not None}


async def announce_parts(session: Session, policy: Policy, events: Sequence[PartClockEvent]) -> int:
    """Queue the notices for departments' part clocks: the department's handlers are reminded
    before a deadline; when one passes, the street staff holding the ticket are alerted and the
    department is told they were. The ticket's 包案 leader hears both, as for its own clocks:
    while departments hold it, the parts' clocks are the only ones that speak."""
    if not events:
        return 0
    departments = {event.department_id for event in events}
    handlers = await department_handlers(session, departments)
    names = await department_names(session, departments)
    overdue = {event.handling_area_id for event in events if event.kind.startswith("escalate")}
    staff = await staff_by_area(session, overdue)
    leaders = await recipients(session, {e.leader_id for e in events if e.leader_id is not None})
    messages: list[dict[str, Any]] = []
    for event in events:
        clock = event.kind.partition("_")[2]
        due = local_time(event.deadline, policy)
        name = names.get(event.department_id, "")
        leader = leaders.get(event.leader_id) if event.leader_id else None
        if event.kind.startswith("remind"):
            key = _PART_REMINDERS[clock]
            told = [(person, key) for person in handlers.get(event.department_id, [])]
            told += [(leader, "n_part_remind_leader")] if leader else []
        else:
            seated = staff.get(event.handling_area_id, [])
            if leader is not None and leader not in seated:  # told once, as staff or as leader
                seated = [*seated, leader]
            told = [(person, "n_part_overdue_staff") for person in seated]
            told += [
                (person, "n_part_overdue_department")
                for person in handlers.get(event.department_id, [])
            ]
        for person, key in told:
            locale = locale_or_default(person.locale)
            text = tr(
                locale,
                key,
                number=event.number,
                department=name,
                clock=label(locale, "clock", clock),
                deadline=due,
            )
            row: tuple[Button, ...] = (
                Button(tr(locale, "btn_view"), ViewTicket(event.ticket_id).pack()),
            )
            if clock == "accept" and key not in _SUPERVISING:  # what the clock waits for
                accept = PartAccept(event.ticket_id, event.part_version).pack()
                row = (Button(tr(locale, "btn_accept"), accept), *row)
            messages.append(
                outbox_row(
                    dedupe_key=f"t{event.ticket_id}:part{event.part_id}:{event.kind}:"
                    f"v{event.part_version}:p{person.id}",
                    person_id=person.id,
                    channel=person.channel,
                    chat_id=person.chat_id,
                    body=Reply(text, (row,)).to_body(),
                    now=policy.clock.now(),
                )
            )
    await enqueue_many(session, messages)
    return len(messages)


# Spelled whole, so the catalogue check finds them.
_PART_REMINDERS = {"accept": "n_part_remind_accept", "resolve": "n_part_remind_resolve"}
# Notices to those who follow a department up rather than act for it: no 接单 button.
_SUPERVISING = frozenset({"n_part_overdue_staff", "n_part_remind_leader"})
