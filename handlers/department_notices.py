"""Who hears of the departments' moves (党委派单, 部门接单/退单, 协办完成), in their own language:
each department's handlers get their part with its buttons; the resident hears every hand-off
in plain words; street staff hear what comes back to them. Registered in handlers.notify's
NOTICES beside the worker's moves."""

from __future__ import annotations

from typing import Any

from handlers.events import Reply
from handlers.keyboards import part_buttons
from handlers.render import area_name, category_text, local_time, preview
from handlers.texts import label, locale_or_default, tr
from storage.models import Person, Ticket, TicketEvent, TicketPart
from tickets.departments import department_names, held_by_departments, open_part_of
from tickets.lifecycle import Action
from tickets.parts import PartRole, part_deadline
from tickets.recipients import department_people, residents_of, triage_staff


def _key(ticket: Ticket, what: str) -> str:
    return f"t{ticket.id}:v{ticket.version}:{what}"


async def _tell_residents(turn: Any, ticket: Ticket, key: str, **params: Any) -> None:
    for resident in await residents_of(turn.session, ticket):
        text = tr(locale_or_default(resident.locale), key, number=ticket.number, **params)
        turn.notify(resident, Reply(text), _key(ticket, key))


async def _name(turn: Any, department_id: int | None) -> str:
    names = await department_names(turn.session, [department_id or 0])
    return names.get(department_id or 0, "")


def _translator(locale: str):
    return lambda key, **params: tr(locale, key, **params)


async def _tell_department(
    turn: Any, ticket: Ticket, part: TicketPart, key: str, what: str, **params: Any
) -> None:
    """The department's handlers, with the buttons their part takes now."""
    for handler in await department_people(turn.session, part.department_id):
        locale = locale_or_default(handler.locale)
        role = tr(locale, "part_role_lead" if part.role == PartRole.LEAD else "part_role_assist")
        text = tr(locale, key, number=ticket.number, role=role, **params)
        buttons = part_buttons(_translator(locale), part, ticket)
        turn.notify(handler, Reply(text, buttons), f"{_key(ticket, what)}:part{part.id}")


# --- departments ---------------------------------------------------------------------------------


async def parts_dispatched(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    """派单: each department hears of its new part, with 接单 / 退单."""
    ids = (event.data or {}).get("part_ids", [])
    area = await area_name(turn.session, ticket.area_id)
    for part_id in ids:
        part = await turn.session.get(TicketPart, part_id)
        if part is None:
            continue
        for handler in await department_people(turn.session, part.department_id):
            locale = locale_or_default(handler.locale)
            role = tr(
                locale, "part_role_lead" if part.role == PartRole.LEAD else "part_role_assist"
            )
            text = tr(
                locale,
                "n_part_assigned",
                number=ticket.number,
                role=role,
                category=category_text(locale, ticket),
                area=area,
                text=preview(ticket.text),
                accept_by=local_time(part.due_accept_at, turn.policy),
            )
            buttons = part_buttons(_translator(locale), part, ticket)
            turn.notify(handler, Reply(text, buttons), f"{_key(ticket, 'dispatch')}:part{part.id}")


async def lead_told_part_finished(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    """协办完成: the lead department reads what the assist did, with its 办结 button."""
    lead = await open_part_of(turn.session, ticket.id or 0, ticket.department_id)
    if lead is None:
        return
    department = await _name(turn, (event.data or {}).get("department_id"))
    await _tell_department(
        turn,
        ticket,
        lead,
        "n_part_finished_lead",
        "finished",
        department=department,
        note=event.note or "",
    )


async def lead_told_reopened(turn: Any, ticket: Ticket, _event: TicketEvent) -> None:
    """重办 of a department's ticket: the lead department takes it again."""
    lead = await open_part_of(turn.session, ticket.id or 0, ticket.department_id)
    if lead is not None:
        await _tell_department(turn, ticket, lead, "n_part_reopened", "reopened")


# --- staff ---------------------------------------------------------------------------------------


async def staff_told_part_returned(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    department = await _name(turn, (event.data or {}).get("department_id"))
    for staff in await triage_staff(turn.session, ticket):
        text = tr(
            locale_or_default(staff.locale),
            "n_part_returned_staff",
            number=ticket.number,
            department=department,
            note=event.note or "",
        )
        turn.notify(staff, Reply(text), _key(ticket, "part_returned"))


# --- the resident ------------------------------------------------------------------------------


async def residents_needs_department(turn: Any, ticket: Ticket, _event: TicketEvent) -> None:
    area = await area_name(turn.session, ticket.handling_area_id)
    await _tell_residents(turn, ticket, "n_needs_department", area=area)


async def residents_dispatched(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    data = event.data or {}
    names = await department_names(
        turn.session, [data.get("lead_id", 0), *data.get("assist_ids", [])]
    )
    accept_by = local_time(ticket.due_accept_at, turn.policy)
    for resident in await residents_of(turn.session, ticket):
        locale = locale_or_default(resident.locale)
        assists = [names.get(i, "") for i in data.get("assist_ids", [])]
        text = tr(
            locale,
            "n_dispatched_departments",
            number=ticket.number,
            lead=names.get(data.get("lead_id", 0), ""),
            assists=tr(locale, "with_assists", names="、".join(assists)) if assists else "",
            accept_by=accept_by,
        )
        turn.notify(resident, Reply(text), _key(ticket, "n_dispatched_departments"))


async def residents_department_accepted(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    department = await _name(turn, (event.data or {}).get("department_id"))
    resolve_by = local_time(ticket.due_resolve_at, turn.policy)
    await _tell_residents(
        turn, ticket, "n_department_accepted", department=department, resolve_by=resolve_by
    )


async def residents_part_accepted(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    data = event.data or {}
    department = await _name(turn, data.get("department_id"))
    for resident in await residents_of(turn.session, ticket):
        text = tr(
            locale_or_default(resident.locale),
            "n_part_accepted_resident",
            number=ticket.number,
            department=department,
        )
        turn.notify(resident, Reply(text), f"{_key(ticket, 'assist')}:part{data.get('part_id')}")


async def residents_department_returned(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    department = await _name(turn, (event.data or {}).get("department_id"))
    await _tell_residents(turn, ticket, "n_department_returned", department=department)


async def lead_supervised(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    """督办 of a ticket departments hold: the lead department reads the staff member's note."""
    lead = await open_part_of(turn.session, ticket.id or 0, ticket.department_id)
    if lead is None or ticket.assignee_id is not None:
        return
    staff = await turn.session.get(Person, event.actor_id) if event.actor_id else None
    count = (event.data or {}).get("count", 1)
    for handler in await department_people(turn.session, lead.department_id):
        locale = locale_or_default(handler.locale)
        text = tr(
            locale,
            "n_supervised",
            number=ticket.number,
            staff=(staff.display_name if staff else None) or label(locale, "role", "staff"),
            note=event.note or "",
            due=local_time(part_deadline(lead), turn.policy),
        )
        buttons = part_buttons(_translator(locale), lead, ticket)
        turn.notify(
            handler, Reply(text, buttons), f"{_key(ticket, f'supervise{count}')}:part{lead.id}"
        )


async def lead_handlers(turn: Any, ticket: Ticket) -> list[Person]:
    """The handlers of the department leading the ticket now, or none."""
    return (
        await department_people(turn.session, ticket.department_id)
        if held_by_departments(ticket)
        else []
    )


async def lead_urged(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    """催办 of a ticket departments hold: the lead department hears it, with its buttons."""
    lead = await open_part_of(turn.session, ticket.id or 0, ticket.department_id)
    if lead is None:
        return
    count = (event.data or {}).get("count", 1)
    due = part_deadline(lead)
    for handler in await department_people(turn.session, lead.department_id):
        locale = locale_or_default(handler.locale)
        text = tr(
            locale,
            "n_urged",
            number=ticket.number,
            count=count,
            due=local_time(due, turn.policy),
            text=preview(ticket.text, 100),
        )
        buttons = part_buttons(_translator(locale), lead, ticket)
        turn.notify(handler, Reply(text, buttons), f"{_key(ticket, f'urge{count}')}:part{lead.id}")


async def departments_told_withdrawn(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    """撤回 by the resident: every department whose part the withdrawal ended hears it."""
    for part in await _ended_parts(turn, event):
        for handler in await department_people(turn.session, part.department_id):
            text = tr(locale_or_default(handler.locale), "n_cancelled", number=ticket.number)
            turn.notify(handler, Reply(text), f"{_key(ticket, 'cancelled')}:part{part.id}")


# Why a department's part ended, by the move someone else made (撤回 has its own notice).
_ENDED_WHY = {
    Action.DEPARTMENT_RETURN: "part_ended_lead_returned",
    Action.ASSIGN: "part_ended_sent_elsewhere",
    Action.REASSIGN: "part_ended_sent_elsewhere",
    Action.ESCALATE: "part_ended_escalated",
    Action.DISPATCH_DEPARTMENT: "part_ended_dispatched_again",
    Action.MERGE: "part_ended_merged",
    Action.DEPARTMENT_RESOLVE: "part_ended_resolved_without",
}


async def departments_told_parts_ended(turn: Any, ticket: Ticket, event: TicketEvent) -> None:
    """Someone else's move ended departments' parts (the lead's 退单 or 办结 without them,
    staff sending the ticket elsewhere or merging it): each such department hears why, so
    it stops work on it."""
    why = _ENDED_WHY.get(Action(event.action))
    if why is None:
        return
    data = event.data or {}
    note = data.get("without_reason") or event.note or ""
    for part in await _ended_parts(turn, event):
        for handler in await department_people(turn.session, part.department_id):
            locale = locale_or_default(handler.locale)
            reason = tr(locale, why, note=note, original=data.get("original_number", ""))
            text = tr(locale, "n_part_ended", number=ticket.number, reason=reason)
            turn.notify(handler, Reply(text), f"{_key(ticket, 'part_ended')}:part{part.id}")


async def _ended_parts(turn: Any, event: TicketEvent) -> list[TicketPart]:
    """The parts the move ended (tickets.handling records them on its event)."""
    ids = (event.data or {}).get("ended_part_ids", [])
    parts = [await turn.session.get(TicketPart, part_id) for part_id in ids]
    return [part for part in parts if part is not None]
