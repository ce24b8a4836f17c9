"""Turning tickets into text: local times, time left on a clock, ticket cards and timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from handlers.texts import label, tr
from storage import Session
from storage.models import Area, Person, Ticket, TicketEvent
from tickets.contact import shown_phone
from tickets.department_figures import DepartmentFigures
from tickets.departments import current_dispatch
from tickets.duplicates import Similar
from tickets.parts import PartState
from tickets.policy import Policy
from tickets.recipients import department_names
from tickets.report import percents
from tickets.sla import Duration
from tickets.tiers import MODES, Tier, propose_tier
from tickets.whistle import WORKED_ON, summonses

# Texts longer than this are shortened in notifications and lists; the ticket keeps them whole.
PREVIEW_CHARS = 300


def local_time(moment: datetime | None, policy: Policy) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(policy.calendar.timezone).strftime("%m-%d %H:%M")


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def duration(locale: str, seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return tr(locale, "days_hours", days=days, hours=hours)
    if hours:
        return tr(locale, "hours_minutes", hours=hours, minutes=minutes)
    return tr(locale, "minutes", minutes=minutes)


# A configured limit in words, singular and plural: "1wd" is configuration, people read
# "1 个工作日" / "1 working day".
DURATION_KEYS = {
    "m": ("duration_m_one", "duration_m"),
    "h": ("duration_h_one", "duration_h"),
    "d": ("duration_d_one", "duration_d"),
    "wd": ("duration_wd_one", "duration_wd"),
    "wh": ("duration_wh_one", "duration_wh"),
}


def duration_words(locale: str, limit: str | Duration) -> str:
    """A clock's limit as written in the configuration (`15m`, `24h`, `7d`, `1wd`, `2wh`) in
    words."""
    limit = Duration.parse(limit) if isinstance(limit, str) else limit
    one, many = DURATION_KEYS[limit.unit]
    return tr(locale, one if limit.amount == 1 else many, n=limit.amount)


def time_left(locale: str, due: datetime | None, now: datetime) -> str:
    if due is None:
        return "—"
    seconds = (due - now).total_seconds()
    key = "left" if seconds >= 0 else "overdue_by"
    return tr(locale, key, time=duration(locale, seconds))


async def area_name(session: Session, area_id: int | None) -> str:
    area = await session.get(Area, area_id) if area_id is not None else None
    return area.name if area else "—"


def address_line(locale: str, ticket: Ticket) -> str:
    """The resident's words for where the problem is, as a line to add to a notice ("" without)."""
    return f"\n{tr(locale, 'ticket_address', address=ticket.address)}" if ticket.address else ""


def tier_text(locale: str, tier: str) -> str:
    """简单（立即办）: a tier with the handling mode it sets."""
    mode = label(locale, "mode", MODES[Tier(tier)])
    return tr(locale, "tier_with_mode", tier=label(locale, "tier", tier), mode=mode)


def proposal_text(locale: str, ticket: Ticket) -> str:
    """建议：简单（立即办）——单一设施报修（坏了）: the classifier's tier for the ticket and why."""
    proposal = propose_tier(ticket.text, ticket.urgency)
    why = tr(locale, f"why_tier_{proposal.reason}", words="、".join(proposal.words))
    return tr(locale, "tier_proposal", tier=tier_text(locale, proposal.tier), why=why)


def category_text(locale: str, ticket: Ticket) -> str:
    if not ticket.category:
        return tr(locale, "none")
    return f"{ticket.category}/{ticket.subcategory}" if ticket.subcategory else ticket.category


def similar_text(locale: str, similar: Similar) -> str:
    """For staff: the open ticket this one may duplicate (重复诉求), and the words they share."""
    return tr(
        locale,
        "similar_hint",
        number=similar.number,
        keywords=tr(locale, "list_separator").join(similar.shared),
    )


async def ticket_card(
    session: Session,
    ticket: Ticket,
    locale: str,
    policy: Policy,
    *,
    handler: bool,
    sees_contact: bool = False,
    personal: bool = True,
) -> str:
    """The ticket as its resident or a handler sees it. Handlers also see who reported it and
    the call-back number, unless the resident asked for anonymity and `sees_contact` is False
    (tickets.permissions.sees_contact). Without `personal` (a department whose part is over,
    tickets.permissions.works_on) the card leaves out the address and the resident's contact."""
    lines = [
        tr(
            locale,
            "ticket_view",
            number=ticket.number,
            state=label(locale, "state", ticket.state),
            category=category_text(locale, ticket),
            urgency=label(locale, "urgency", ticket.urgency),
            area=await area_name(session, ticket.area_id),
            created=local_time(ticket.created_at, policy),
            text=ticket.text,
        )
    ]
    if ticket.state in ("assigned", "accepted"):
        lines.append(
            tr(
                locale,
                "ticket_due",
                accept_by=local_time(ticket.due_accept_at, policy),
                resolve_by=local_time(ticket.due_resolve_at, policy),
            )
        )
    if handler and ticket.tier:
        lines.append(tr(locale, "ticket_tier", tier=tier_text(locale, ticket.tier)))
        leader = await session.get(Person, ticket.leader_id) if ticket.leader_id else None
        if leader is not None:
            lines.append(tr(locale, "tier_leader", leader=leader.display_name or leader.id))
    if ticket.address and personal:
        lines.append(tr(locale, "ticket_address", address=ticket.address))
    if ticket.resolution_reply:
        lines.append(tr(locale, "ticket_reply", reply=ticket.resolution_reply))
    lines += await dispatch_lines(session, ticket, locale, policy, handler=handler)
    lines += await summons_lines(session, ticket, locale, policy)
    if handler and personal:
        lines += await contact_lines(session, ticket, locale, sees_contact=sees_contact)
    return "\n".join(lines)


# A department's part by where it stands (党委派单 / 联动办).
_PART_KEYS = {
    PartState.ASSIGNED: "dispatch_part_assigned",
    PartState.ACCEPTED: "dispatch_part_accepted",
    PartState.FINISHED: "dispatch_part_finished",
    PartState.RETURNED: "dispatch_part_returned",
}


async def dispatch_lines(
    session: Session, ticket: Ticket, locale: str, policy: Policy, *, handler: bool
) -> list[str]:
    """The departments holding the ticket: lead and assists, each with where its part stands
    (a return's reason only for those handling the ticket)."""
    parts = await current_dispatch(session, ticket.id or 0)
    names = await department_names(session, [part.department_id for part in parts])
    lines = []
    for part in parts:
        state = PartState(part.state)
        due = part.due_accept_at if state is PartState.ASSIGNED else part.due_finish_at
        why = handler and state is PartState.RETURNED and bool(part.note)
        key = (
            "dispatch_part_returned_why" if why else _PART_KEYS.get(state, "dispatch_part_finished")
        )
        lines.append(
            tr(
                locale,
                key,
                role=tr(locale, "part_role_lead" if part.role == "lead" else "part_role_assist"),
                department=names.get(part.department_id, ""),
                deadline=local_time(due, policy),
                note=part.note or "",
            )
        )
    return lines


# A summons' line by where it stands: reported (in time or late), waiting, or overdue.
_SUMMONS_KEYS = {
    (PartState.REPORTED, True): "summons_reported",
    (PartState.REPORTED, False): "summons_reported_late",
    (PartState.SUMMONED, None): "summons_waiting",
    (PartState.SUMMONED, False): "summons_overdue",
}


async def summons_lines(session: Session, ticket: Ticket, locale: str, policy: Policy) -> list[str]:
    """吹哨报到: each department summoned to the ticket and where its 报到 stands."""
    summoned = await summonses(session, ticket.id or 0)
    names = await department_names(session, [part.department_id for part in summoned])
    lines = []
    for part in summoned:
        key = _SUMMONS_KEYS.get((PartState(part.state), part.reported_in_time))
        if part.state == PartState.SUMMONED and ticket.state not in WORKED_ON:
            continue  # the ticket was done before the department came: nothing waits now
        if key is not None:
            lines.append(
                tr(
                    locale,
                    key,
                    department=names.get(part.department_id, ""),
                    at=local_time(part.reported_at, policy),
                    deadline=local_time(part.due_report_at, policy),
                )
            )
    return lines


async def contact_lines(
    session: Session, ticket: Ticket, locale: str, *, sees_contact: bool
) -> list[str]:
    """Who reported the ticket and the number to call back, for someone handling it: "匿名"
    in their place when the resident asked for it and the reader is not to see them. A ticket
    recorded for a resident (代办, patrol …) says where it came from instead."""
    if ticket.source != "resident_chat":
        return await _recorded_lines(session, ticket, locale)
    if ticket.anonymous and not sees_contact:
        return reach_lines(ticket, locale, sees_contact=False)
    lines = []
    resident = await session.get(Person, ticket.resident_id)
    if resident is not None and resident.display_name:
        lines.append(tr(locale, "ticket_resident", name=resident.display_name))
    return lines + reach_lines(ticket, locale, sees_contact=True)


async def _recorded_lines(session: Session, ticket: Ticket, locale: str) -> list[str]:
    """Where a recorded ticket came from, who recorded it, and the name and phone the worker
    was given (代办)."""
    lines = [tr(locale, "ticket_source", source=label(locale, "source", ticket.source))]
    # A hotline case has no recorder here: its "resident" is the caller, named just below.
    recorder = None if ticket.source == "hotline" else await session.get(Person, ticket.resident_id)
    if recorder is not None and recorder.display_name:
        lines.append(tr(locale, "ticket_recorded_by", name=recorder.display_name))
    if ticket.on_behalf_name or ticket.on_behalf_phone:
        none = tr(locale, "none")
        lines.append(
            tr(
                locale,
                "ticket_on_behalf",
                name=ticket.on_behalf_name or none,
                phone=shown_phone(ticket.on_behalf_phone) if ticket.on_behalf_phone else none,
            )
        )
    return lines


def reach_lines(ticket: Ticket, locale: str, *, sees_contact: bool) -> list[str]:
    """How to reach the resident, for a notice to someone handling the ticket: the call-back
    number, and whether they asked for anonymity ("匿名" alone for those not to see more)."""
    if ticket.anonymous and not sees_contact:
        return [tr(locale, "ticket_resident", name=tr(locale, "anonymous"))]
    lines = []
    if ticket.contact_phone:
        lines.append(tr(locale, "ticket_call_back", phone=shown_phone(ticket.contact_phone)))
    if ticket.anonymous:
        lines.append(tr(locale, "ticket_anonymous_staff"))
    return lines


# What a resident reads of the timeline: working notes and the reasons behind internal moves
# (退单, 上报) stay with the people handling the ticket.
RESIDENT_NOTES = frozenset(
    {"add_info", "resolve", "close", "confirm", "reject", "request_extension", "cancel", "urge"}
)


def timeline_text(
    events: Sequence[TicketEvent], locale: str, policy: Policy, *, for_resident: bool = False
) -> str:
    separator = tr(locale, "note_separator")
    lines = [tr(locale, "timeline_title")]
    for event in events:
        if for_resident and event.action == "note":
            continue
        shown = event.note and (not for_resident or event.action in RESIDENT_NOTES)
        lines.append(
            tr(
                locale,
                "timeline_line",
                at=local_time(event.at, policy),
                action=label(locale, "action", event.action),
                note=preview(f"{separator}{event.note}", 120) if shown else "",
            )
        )
    return "\n".join(lines)


def department_line(locale: str, row: DepartmentFigures) -> str:
    """One department's 三率 and 报到 on one line (/stats and the monthly ranking)."""
    shown = percents(row.rates)
    return tr(
        locale,
        "department_line",
        name=row.name,
        response=shown.response,
        solve=shown.solve,
        satisfaction=shown.satisfaction,
        reported=row.reported_in_time,
        summoned=row.summoned,
    )
