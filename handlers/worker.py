"""The grid worker (网格员): 接单 or 退单 an assignment; once accepted, note, 延期, 上报, 办结;
/tasks with the time left on each clock."""

from __future__ import annotations

from handlers import buttons, notify
from handlers.common import complete_pending, say_ticket_list
from handlers.context import Turn
from handlers.events import Button
from handlers.keyboards import work_buttons
from handlers.render import area_name, local_time, ticket_card, timeline_text
from storage.models import Ticket
from tickets import handling
from tickets.queries import open_tasks
from tickets.timeline import ticket_timeline

EXTENSION_CHOICES = (1, 2, 3, 5, 10)


async def tasks(turn: Turn) -> None:
    work = await open_tasks(turn.session, turn.person)
    if not work:
        turn.say_key("tasks_none")
        return
    await say_ticket_list(turn, work, "tasks_list")


async def show_ticket(turn: Turn, ticket: Ticket) -> None:
    card = await ticket_card(turn.session, ticket, turn.locale, turn.policy, handler=True)
    history = timeline_text(
        await ticket_timeline(turn.session, ticket.id), turn.locale, turn.policy
    )
    mine = ticket.assignee_id == turn.person.id
    turn.say(f"{card}\n\n{history}", work_buttons(turn.locale, ticket) if mine else [])


async def accept(turn: Turn, ticket_id: int, version: int) -> None:
    ticket = await handling.accept_ticket(
        turn.session, turn.policy, ticket_id=ticket_id, actor=turn.person, expected_version=version
    )
    turn.say_key(
        "accepted",
        work_buttons(turn.locale, ticket),
        number=ticket.number,
        resolve_by=local_time(ticket.due_resolve_at, turn.policy),
    )
    await notify.after_accept(turn, ticket)


async def returned(turn: Turn, reason: str) -> None:
    ticket = await complete_pending(turn, handling.return_ticket, reason=reason)
    turn.say_key("returned", number=ticket.number)
    await notify.after_return(turn, ticket, reason)


async def noted(turn: Turn, note: str) -> None:
    ticket = await handling.add_note(
        turn.session, turn.policy, ticket_id=turn.data["ticket_id"], actor=turn.person, note=note
    )
    turn.reset()
    turn.say_key("noted", work_buttons(turn.locale, ticket))


async def ask_extension_days(turn: Turn, ticket_id: int, version: int) -> None:
    row = [
        Button(str(days), buttons.make("extd", ticket_id, version, days))
        for days in EXTENSION_CHOICES
    ]
    turn.say_key("ask_extension_days", [row])


async def extension_reason(turn: Turn, reason: str) -> None:
    days = turn.data["days"]
    ticket = await complete_pending(turn, handling.request_extension, days=days, reason=reason)
    turn.say_key("extension_requested", work_buttons(turn.locale, ticket))
    await notify.after_extension_request(turn, ticket, days, reason)


async def escalated(turn: Turn, reason: str) -> None:
    ticket = await complete_pending(turn, handling.escalate_ticket, reason=reason)
    area = await area_name(turn.session, ticket.handling_area_id)
    turn.say_key("escalated", number=ticket.number, area=area)
    await notify.after_escalate(turn, ticket, reason)


async def resolved(turn: Turn, reply: str, photo: str | None = None) -> None:
    attachments = [{"kind": "photo", "ref": photo, "by": "worker"}] if photo else []
    ticket = await complete_pending(
        turn, handling.resolve_ticket, reply=reply, attachments=attachments
    )
    turn.say_key("resolved", number=ticket.number)
    await notify.after_resolve(turn, ticket)
