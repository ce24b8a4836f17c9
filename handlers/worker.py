"""The grid worker (网格员): 接单 or 退单 an assignment; once accepted, note, 延期, 上报, 办结;
/tasks with the time left on each clock."""

from __future__ import annotations

from handlers import evidence, notify
from handlers.buttons import Accept, AddNote, AskExtension, ExtensionDays
from handlers.common import check_move, check_press, complete_pending, say_ticket_list
from handlers.context import Turn
from handlers.conversation import ChatState
from handlers.events import Button, Incoming
from handlers.keyboards import work_buttons
from handlers.render import area_name, local_time, ticket_card, timeline_text
from storage.models import Ticket
from tickets import handling
from tickets.lifecycle import Action
from tickets.permissions import sees_contact
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
    card = await ticket_card(
        turn.session,
        ticket,
        turn.locale,
        turn.policy,
        handler=True,
        sees_contact=sees_contact(turn.person, ticket),
    )
    history = timeline_text(
        await ticket_timeline(turn.session, ticket.id), turn.locale, turn.policy
    )
    mine = ticket.assignee_id == turn.person.id
    buttons = work_buttons(turn.locale, ticket) if mine else []
    turn.say(f"{card}\n\n{history}", buttons, **evidence.for_handlers(ticket))


async def accept(turn: Turn, press: Accept) -> None:
    moved = await handling.accept_ticket(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        expected_version=press.version,
    )
    ticket = moved.ticket
    turn.say_key(
        "accepted",
        work_buttons(turn.locale, ticket),
        number=ticket.number,
        resolve_by=local_time(ticket.due_resolve_at, turn.policy),
    )
    await notify.announce(turn, moved)


async def returned(turn: Turn, said: Incoming) -> None:
    moved = await complete_pending(turn, handling.return_ticket, reason=said.text)
    turn.say_key("returned", number=moved.ticket.number)
    await notify.announce(turn, moved)


async def ask_note(turn: Turn, press: AddNote) -> None:
    await check_move(turn, press.ticket_id, Action.NOTE)
    turn.expect(ChatState.WRITING_NOTE, ticket_id=press.ticket_id)
    turn.say_key("ask_note")


async def noted(turn: Turn, said: Incoming) -> None:
    moved = await handling.add_note(
        turn.session,
        turn.policy,
        ticket_id=turn.data["ticket_id"],
        actor=turn.person,
        note=said.text,
    )
    turn.reset()
    turn.say_key("noted", work_buttons(turn.locale, moved.ticket))


async def ask_extension_days(turn: Turn, press: AskExtension) -> None:
    await check_press(turn, press, Action.REQUEST_EXTENSION)
    row = [
        Button(str(days), ExtensionDays(press.ticket_id, press.version, days).pack())
        for days in EXTENSION_CHOICES
    ]
    turn.say_key("ask_extension_days", [row])


async def ask_extension_reason(turn: Turn, press: ExtensionDays) -> None:
    await check_press(turn, press, Action.REQUEST_EXTENSION)
    turn.expect(
        ChatState.EXTENSION_REASON,
        ticket_id=press.ticket_id,
        version=press.version,
        days=press.days,
    )
    turn.say_key("ask_extension_reason")


async def extension_reason(turn: Turn, said: Incoming) -> None:
    days, reason = turn.data["days"], said.text
    moved = await complete_pending(turn, handling.request_extension, days=days, reason=reason)
    turn.say_key("extension_requested", work_buttons(turn.locale, moved.ticket))
    await notify.announce(turn, moved)


async def escalated(turn: Turn, said: Incoming) -> None:
    moved = await complete_pending(turn, handling.escalate_ticket, reason=said.text)
    ticket = moved.ticket
    area = await area_name(turn.session, ticket.handling_area_id)
    turn.say_key("escalated", number=ticket.number, area=area)
    await notify.announce(turn, moved)


async def resolution_photo(turn: Turn, said: Incoming) -> None:
    """办结 with photos: each photo is kept until the reply comes; a photo with a caption is
    the reply itself."""
    photos = [*turn.data.get("photos", []), said.photo or ""][: evidence.MAX_SHOWN]
    turn.data["photos"] = photos
    turn.state_changed = True
    if said.text.strip():
        await resolved(turn, said)
        return
    turn.say_key("resolve_photo_added", count=len(photos))


async def resolved(turn: Turn, said: Incoming) -> None:
    photos = turn.data.get("photos") or ([said.photo] if said.photo else [])
    attachments = [evidence.photo_attachment(ref, by_worker=True) for ref in photos if ref]
    moved = await complete_pending(
        turn, handling.resolve_ticket, reply=said.text, attachments=attachments
    )
    turn.say_key("resolved", number=moved.ticket.number)
    await notify.announce(turn, moved)
