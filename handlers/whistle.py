"""吹哨报到 in chat. The worker holding a ticket (or staff) presses 吹哨, ticks the departments
to summon (the category table's suggestions come ticked), says what they are needed for, and
the whistle goes out; a summoned department's handler presses 报到 on arrival."""

from __future__ import annotations

from handlers import whistle_notices
from handlers.buttons import ReportArrival, Whistle, WhistleGo, WhistlePick
from handlers.common import check_press
from handlers.context import Turn
from handlers.conversation import ChatState
from handlers.events import Button, Incoming
from handlers.keyboards import Rows, work_buttons
from handlers.render import local_time
from storage.models import Ticket
from tickets import whistle
from tickets.handling import load_ticket
from tickets.lifecycle import Action
from tickets.permissions import authorize


async def choose_departments(turn: Turn, press: Whistle) -> None:
    """吹哨 pressed: the departments serving the place, the suggested ones ticked."""
    ticket = await check_press(turn, press, Action.WHISTLE)
    choices = await whistle.whistle_choices(turn.session, ticket)
    if not choices:
        turn.say_key("whistle_no_departments")
        return
    chosen = [department.id for department, suggested in choices if suggested]
    turn.expect(ChatState.WHISTLE_CHOOSING, ticket_id=ticket.id, chosen=chosen)
    await _show_choices(turn, ticket)


async def picked(turn: Turn, press: WhistlePick) -> None:
    """A department ticked, or unticked."""
    chosen: list[int] = turn.data["chosen"]
    if press.department_id in chosen:
        chosen.remove(press.department_id)
    else:
        chosen.append(press.department_id)
    turn.state_changed = True
    await _show_choices(turn, await _ticket(turn))


async def chosen(turn: Turn, press: WhistleGo) -> None:
    if not turn.data["chosen"]:
        turn.say_key("whistle_choose_one")
        return
    await authorize(turn.session, turn.person, await _ticket(turn), Action.WHISTLE)
    turn.expect(ChatState.WHISTLE_NOTE, **turn.data)
    turn.say_key("ask_whistle_note")


async def noted(turn: Turn, said: Incoming) -> None:
    """The note given: the whistle goes out."""
    moved = await whistle.whistle(
        turn.session,
        turn.policy,
        ticket_id=turn.data["ticket_id"],
        actor=turn.person,
        department_ids=turn.data["chosen"],
        note=said.text,
    )
    turn.reset()
    names = await whistle_notices.department_list(turn, moved.parts)
    ticket = moved.ticket
    # The worker carries on with the ticket: its buttons come back with the answer.
    buttons = work_buttons(turn.locale, ticket) if ticket.assignee_id == turn.person.id else ()
    turn.say_key(
        "whistled",
        buttons,
        number=ticket.number,
        departments=names,
        deadline=local_time(moved.parts[0].due_report_at, turn.policy),
    )
    await whistle_notices.announce_whistle(turn, moved)


async def reported(turn: Turn, press: ReportArrival) -> None:
    """报到 pressed by a summoned department's handler."""
    moved = await whistle.report_arrival(
        turn.session, turn.policy, part_id=press.part_id, actor=turn.person
    )
    summons = moved.parts[0]
    turn.say_key(
        "arrival_reported" if summons.reported_in_time else "arrival_reported_late",
        number=moved.ticket.number,
        at=local_time(summons.reported_at, turn.policy),
    )
    await whistle_notices.announce_arrival(turn, moved)


async def summons_view(turn: Turn, ticket: Ticket) -> tuple[list[str], Rows]:
    """For a department's handler viewing a ticket: their department's waiting summons, as a
    line and its 报到 button (nothing when there is none)."""
    summons = await whistle.waiting_summons(turn.session, ticket.id or 0, turn.person.department_id)
    if summons is None or ticket.state not in whistle.WORKED_ON:
        return [], ()
    line = turn.t("your_summons", deadline=local_time(summons.due_report_at, turn.policy))
    button = turn.button("btn_report_arrival", ReportArrival(summons.id or 0).pack())
    return [line], ((button,),)


async def summoned_tickets(turn: Turn) -> list[Ticket]:
    """The tickets the handler's department is summoned to and has not reported on yet."""
    work = await whistle.summoned_work(turn.session, turn.person.department_id or 0)
    return [ticket for _, ticket in work]


async def _ticket(turn: Turn) -> Ticket:
    return await load_ticket(turn.session, turn.data["ticket_id"], viewer=turn.person)


async def _show_choices(turn: Turn, ticket: Ticket) -> None:
    chosen = set(turn.data["chosen"])
    rows = []
    for department, suggested in await whistle.whistle_choices(turn.session, ticket):
        key = "whistle_choice_suggested" if suggested else "whistle_choice"
        mark = "✅ " if department.id in chosen else ""
        text = mark + turn.t(key, department=department.name)
        rows.append([Button(text, WhistlePick(department.id or 0).pack())])
    rows.append([turn.button("btn_whistle_go", WhistleGo().pack())])
    turn.say_key("whistle_choose", rows, number=ticket.number)


async def no_whistle(turn: Turn, press: WhistlePick | WhistleGo) -> None:
    """A choice pressed when no whistle is being prepared (an old list, or one already sent)."""
    turn.say_key("whistle_none")
