"""党委派单 / 部门接单 / 联动办 in the conversations: the grid worker's 需要部门处理 with a reason;
staff choosing a lead department (the category table's suggestions first) and any assisting
ones; a department's handler with 接单 / 退单 on a new part, then 完成我的部分 (协办) or 办结
(主办), and /tasks listing only their department's open parts."""

from __future__ import annotations

from handlers import evidence, notify, whistle
from handlers.buttons import (
    ConfirmDispatch,
    DispatchDepartments,
    LeadResolve,
    PartAccept,
    PartFinish,
    PartReturn,
    PickLead,
    ToggleAssist,
)
from handlers.common import check_press, complete_pending, say_ticket_list
from handlers.context import Turn
from handlers.conversation import ChatState
from handlers.events import Button, Incoming
from handlers.keyboards import part_buttons
from handlers.render import area_name, local_time, ticket_card, timeline_text
from storage.models import Ticket, TicketPart
from tickets import departments
from tickets.errors import NotFound, RuleViolation, StaleTicket
from tickets.lifecycle import Action
from tickets.parts import PartRole, PartState, check_part_return_window
from tickets.permissions import sees_contact, works_on
from tickets.timeline import ticket_timeline

MAX_SHOWN = 30  # departments on one keyboard


# --- the grid worker ---------------------------------------------------------------------------


async def needs_department(turn: Turn, said: Incoming) -> None:
    moved = await complete_pending(turn, departments.needs_department, reason=said.text)
    ticket = moved.ticket
    area = await area_name(turn.session, ticket.handling_area_id)
    turn.say_key("needs_department_sent", number=ticket.number, area=area)
    await notify.announce(turn, moved)


# --- staff ---------------------------------------------------------------------------------------


async def choose_lead(turn: Turn, press: DispatchDepartments) -> None:
    ticket = await check_press(turn, press, Action.DISPATCH_DEPARTMENT)
    suggested = await departments.suggest_departments(turn.session, ticket)
    serving = await departments.departments_serving(turn.session, ticket)
    if not serving:
        turn.say_key("no_departments")
        return
    first = {department.id for department in suggested}
    ordered = [*suggested, *(d for d in serving if d.id not in first)][:MAX_SHOWN]
    rows = [
        [
            Button(
                turn.t("suggested_department", name=department.name)
                if department.id in first
                else department.name,
                PickLead(ticket.id, ticket.version, department.id).pack(),
            )
        ]
        for department in ordered
    ]
    turn.say_key("choose_lead", rows, number=ticket.number)


async def lead_picked(turn: Turn, press: PickLead) -> None:
    await check_press(turn, press, Action.DISPATCH_DEPARTMENT)
    turn.expect(
        ChatState.DISPATCHING,
        ticket_id=press.ticket_id,
        version=press.version,
        lead_id=press.department_id,
        assists=[],
    )
    await _show_assists(turn)


async def assist_toggled(turn: Turn, press: ToggleAssist) -> None:
    if press.ticket_id != turn.data.get("ticket_id"):
        turn.say_key("bad_button")
        return
    assists: list[int] = list(turn.data.get("assists", []))
    if press.department_id in assists:
        assists.remove(press.department_id)
    elif press.department_id != turn.data["lead_id"]:
        assists.append(press.department_id)
    turn.data["assists"] = assists
    turn.state_changed = True
    await _show_assists(turn)


async def _show_assists(turn: Turn) -> None:
    ticket = await turn.session.get(Ticket, turn.data["ticket_id"])
    if ticket is None:
        raise NotFound("no such ticket")
    lead_id, chosen = turn.data["lead_id"], set(turn.data.get("assists", []))
    version = turn.data["version"]
    serving = await departments.departments_serving(turn.session, ticket)
    lead = next((d for d in serving if d.id == lead_id), None)
    rows = [
        [
            Button(
                turn.t("assist_chosen", name=d.name) if d.id in chosen else d.name,
                ToggleAssist(ticket.id, version, d.id).pack(),
            )
        ]
        for d in serving
        if d.id != lead_id
    ][:MAX_SHOWN]
    rows.append([turn.button("btn_confirm_dispatch", ConfirmDispatch(ticket.id, version).pack())])
    names = "、".join(d.name for d in serving if d.id in chosen) or turn.t("none")
    turn.say_key("choose_assists", rows, lead=lead.name if lead else "", assists=names)


async def dispatch_confirmed(turn: Turn, press: ConfirmDispatch) -> None:
    if press.ticket_id != turn.data.get("ticket_id"):
        turn.say_key("bad_button")
        return
    moved = await complete_pending(
        turn,
        departments.dispatch_to_departments,
        lead_id=turn.data["lead_id"],
        assist_ids=turn.data.get("assists", []),
    )
    names = await departments.department_names(
        turn.session, [part.department_id for part in moved.parts]
    )
    turn.say_key(
        "dispatched_departments",
        number=moved.ticket.number,
        lead=names.get(moved.ticket.department_id or 0, ""),
        assists=_assists_text(turn.t, moved.parts, names),
    )
    await notify.announce(turn, moved)


def _assists_text(t, parts: list[TicketPart], names: dict[int, str]) -> str:
    assists = [names.get(p.department_id, "") for p in parts if p.role == PartRole.ASSIST]
    return t("with_assists", names="、".join(assists)) if assists else ""


# --- a department's handler ----------------------------------------------------------------------


async def tasks(turn: Turn) -> None:
    work = await departments.department_work(turn.session, turn.person.department_id or 0)
    tickets = {ticket.id: ticket for _, ticket in work}
    # 吹哨: the summonses waiting for the department's 报到 are on its list too.
    for ticket in await whistle.summoned_tickets(turn):
        tickets.setdefault(ticket.id, ticket)
    if not tickets:
        turn.say_key("tasks_none")
        return
    await say_ticket_list(turn, list(tickets.values()), "tasks_list")


async def show_ticket(turn: Turn, ticket: Ticket) -> None:
    """The ticket for a department's handler: in full while the department works on it; once
    its part is over, its history without the resident's contact, address or photos."""
    working = await works_on(turn.session, turn.person, ticket)
    card = await ticket_card(
        turn.session,
        ticket,
        turn.locale,
        turn.policy,
        handler=True,
        sees_contact=sees_contact(turn.person, ticket),
        personal=working,
    )
    part = await departments.open_part_of(turn.session, ticket.id or 0, turn.person.department_id)
    lines = [card]
    if part is not None:
        lines.append(
            turn.t(
                "your_part",
                role=turn.t(_ROLE_KEYS[part.role]),
                state=turn.label("state", part.state),
            )
        )
    history = timeline_text(
        await ticket_timeline(turn.session, ticket.id), turn.locale, turn.policy
    )
    summons_lines, summons_rows = await whistle.summons_view(turn, ticket)
    lines += summons_lines
    buttons = (*part_buttons(turn.t, part, ticket), *summons_rows)
    shown = evidence.for_handlers(ticket) if working else {}
    turn.say("\n".join(lines) + f"\n\n{history}", buttons, **shown)


_ROLE_KEYS = {
    PartRole.LEAD: "part_role_lead",
    PartRole.ASSIST: "part_role_assist",
    PartRole.SUMMONED: "part_role_summoned",
}


async def accept(turn: Turn, press: PartAccept) -> None:
    moved = await departments.accept_part(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        expected_version=press.version,
    )
    part = moved.part
    turn.say_key(
        "part_accepted",
        part_buttons(turn.t, part, moved.ticket),
        number=moved.ticket.number,
        finish_by=local_time(part.due_finish_at if part else None, turn.policy),
    )
    await notify.announce(turn, moved)


async def _own_part(turn: Turn, press: PartReturn | PartFinish | LeadResolve) -> TicketPart:
    """The department's open part the button is about, still as the button showed it."""
    ticket = await turn.session.get(Ticket, press.ticket_id)
    part = (
        await departments.open_part_of(turn.session, press.ticket_id, turn.person.department_id)
        if ticket is not None
        else None
    )
    if ticket is None or part is None:
        raise NotFound("no such part")
    if part.version != press.version:
        raise StaleTicket("stale button", number=ticket.number, state=part.state)
    return part


async def ask_return_reason(turn: Turn, press: PartReturn) -> None:
    part = await _own_part(turn, press)
    if part.state != PartState.ASSIGNED:
        ticket = await turn.session.get(Ticket, press.ticket_id)
        number = ticket.number if ticket else ""
        raise RuleViolation("already accepted", number=number, reason=f"part_{part.state}")
    check_part_return_window(part, turn.policy)
    turn.expect(ChatState.PART_RETURN_REASON, ticket_id=press.ticket_id, version=press.version)
    turn.say_key("ask_part_return_reason")


async def returned(turn: Turn, said: Incoming) -> None:
    moved = await complete_pending(turn, departments.return_part, reason=said.text)
    turn.say_key("part_returned", number=moved.ticket.number)
    await notify.announce(turn, moved)


async def ask_finish_note(turn: Turn, press: PartFinish) -> None:
    await _own_part(turn, press)
    turn.expect(ChatState.PART_FINISH_NOTE, ticket_id=press.ticket_id, version=press.version)
    turn.say_key("ask_part_finish_note")


async def finished(turn: Turn, said: Incoming) -> None:
    moved = await complete_pending(turn, departments.finish_part, note=said.text)
    turn.say_key("part_finished", number=moved.ticket.number)
    await notify.announce(turn, moved)


async def ask_resolve(turn: Turn, press: LeadResolve) -> None:
    """办结 by the lead: when assisting parts are still open, why it cannot wait comes first."""
    part = await _own_part(turn, press)
    waiting = await departments.others_open(turn.session, part)
    if waiting:
        turn.expect(ChatState.LEAD_WITHOUT_REASON, ticket_id=press.ticket_id, version=press.version)
        turn.say_key("ask_without_reason", count=waiting)
        return
    turn.expect(ChatState.LEAD_RESOLVE_REPLY, ticket_id=press.ticket_id, version=press.version)
    turn.say_key("ask_resolve_reply")


async def without_reason_given(turn: Turn, said: Incoming) -> None:
    turn.data["without_reason"] = said.text
    turn.state = ChatState.LEAD_RESOLVE_REPLY
    turn.state_changed = True
    turn.say_key("ask_resolve_reply")


async def resolved(turn: Turn, said: Incoming) -> None:
    without = turn.data.get("without_reason")
    moved = await complete_pending(
        turn, departments.resolve_by_lead, reply=said.text, without_reason=without
    )
    turn.say_key("resolved", number=moved.ticket.number)
    await notify.announce(turn, moved)
