"""Staff (街道/社区): the triage queue, 派单, category corrections (both levels), extension
decisions, 督办, close, reopen, merge, the overdue list, /stats, invite codes and /undelivered
(messages given up on). Staff 上报 through the worker's own steps (handlers/worker.escalated)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

from handlers import charts, evidence, notify
from handlers.buttons import (
    ApproveExtension,
    AssignTo,
    ChooseCategory,
    ChooseWorker,
    MergeInto,
    Recategorise,
    RecategoriseSub,
    RefuseExtension,
)
from handlers.common import check_press, complete_pending, say_ticket_list
from handlers.context import Turn
from handlers.events import Button, Incoming
from handlers.keyboards import merge_rows, staff_buttons
from handlers.render import (
    category_text,
    department_line,
    local_time,
    preview,
    similar_text,
    ticket_card,
    timeline_text,
)
from storage.models import Person, Ticket
from storage.outbox import parked_messages
from tickets import handling
from tickets.areas import get_area, get_area_by_code
from tickets.categories import CATEGORIES, SUBCATEGORIES
from tickets.duplicates import similar_to_ticket
from tickets.lifecycle import TRIAGE_STATES, Action
from tickets.people import assignable_workers, create_invite
from tickets.permissions import sees_contact
from tickets.queries import find_ticket, triage_queue
from tickets.recipients import department_names, person
from tickets.report import Report, build_report, percents
from tickets.stats import Period, overdue_tickets
from tickets.timeline import ticket_timeline

PERIODS = ("today", "week", "month")


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
    similar = await similar_to_ticket(turn.session, ticket)
    text = f"{card}\n{similar_text(turn.locale, similar)}" if similar else card
    buttons = staff_buttons(turn.locale, ticket) + merge_rows(turn.locale, ticket, similar)
    turn.say(f"{text}\n\n{history}", buttons, **evidence.for_handlers(ticket))


async def lookup(turn: Turn) -> None:
    number = turn.event.text.strip()
    if not number:
        turn.say_key("ticket_usage")
        return
    await show_ticket(turn, await find_ticket(turn.session, turn.person, number))


async def triage(turn: Turn) -> None:
    queue = await triage_queue(turn.session, turn.person, limit=20)
    if not queue:
        turn.say_key("triage_none")
        return
    await say_ticket_list(turn, queue, "triage_list")


async def overdue(turn: Turn) -> None:
    area = await get_area(turn.session, turn.person.area_id) if turn.person.area_id else None
    late = await overdue_tickets(turn.session, turn.policy.clock.now(), area=area, limit=20)
    if not late:
        turn.say_key("overdue_none")
        return
    await say_ticket_list(turn, late, "overdue_list")


async def choose_worker(turn: Turn, press: ChooseWorker) -> None:
    ticket = await turn.session.get(Ticket, press.ticket_id)
    waiting = ticket is not None and ticket.state in TRIAGE_STATES
    await check_press(turn, press, Action.ASSIGN if waiting else Action.REASSIGN)
    ticket_id, version = press.ticket_id, press.version
    workers = await assignable_workers(turn.session, turn.person)
    if not workers:
        turn.say_key("no_workers")
        return
    rows = []
    for worker in workers[:30]:
        area = await get_area(turn.session, worker.area_id)
        name = turn.t("worker_in_area", name=worker.display_name or worker.id, area=area.name)
        rows.append([Button(name, AssignTo(ticket_id, version, worker.id).pack())])
    turn.say_key("choose_worker", rows)


async def assign(turn: Turn, press: AssignTo) -> None:
    moved = await handling.assign_ticket(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        worker_id=press.worker_id,
        expected_version=press.version,
    )
    worker = await turn.session.get(Person, press.worker_id)
    name = worker.display_name or press.worker_id
    turn.say_key("assigned_to", number=moved.ticket.number, worker=name)
    await notify.announce(turn, moved)


async def choose_category(turn: Turn, press: ChooseCategory) -> None:
    await check_press(turn, press, Action.RECATEGORISE)
    rows = [
        [Button(name, Recategorise(press.ticket_id, press.version, index).pack())]
        for index, name in enumerate(CATEGORIES)
    ]
    turn.say_key("choose_category", rows)


async def recategorise(turn: Turn, press: Recategorise) -> None:
    """The first level chosen: now the second (二级), or the first alone."""
    await check_press(turn, press, Action.RECATEGORISE)
    index = press.index % len(CATEGORIES)
    category = CATEGORIES[index]

    def choice(text: str, sub: int) -> Button:
        return Button(text, RecategoriseSub(press.ticket_id, press.version, index, sub).pack())

    subs = [choice(name, sub) for sub, name in enumerate(SUBCATEGORIES[category], 1)]
    rows = [subs[start : start + 2] for start in range(0, len(subs), 2)]
    rows.append([choice(turn.t("btn_first_level_only", category=category), 0)])
    turn.say_key("choose_subcategory", rows, category=category)


async def recategorise_sub(turn: Turn, press: RecategoriseSub) -> None:
    category = CATEGORIES[press.index % len(CATEGORIES)]
    subs = SUBCATEGORIES[category]
    subcategory = subs[(press.sub - 1) % len(subs)] if press.sub else None
    moved = await handling.recategorise_ticket(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        category=category,
        subcategory=subcategory,
        expected_version=press.version,
    )
    ticket = moved.ticket
    turn.say_key("recategorised", number=ticket.number, category=category_text(turn.locale, ticket))
    await notify.announce(turn, moved)


async def supervised(turn: Turn, said: Incoming) -> None:
    """督办: the note typed after the button goes to the worker (or the lead department)."""
    moved = await complete_pending(turn, handling.supervise_ticket, note=said.text)
    worker = await person(turn.session, moved.ticket.assignee_id)
    name = (worker.display_name if worker else None) or turn.t("none")
    if worker is None and moved.ticket.department_id is not None:
        lead = moved.ticket.department_id
        name = (await department_names(turn.session, [lead])).get(lead) or name
    turn.say_key("supervised", number=moved.ticket.number, worker=name)
    await notify.announce(turn, moved)


async def decide_extension(turn: Turn, press: ApproveExtension | RefuseExtension) -> None:
    approve = isinstance(press, ApproveExtension)
    moved = await handling.decide_extension(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        approve=approve,
        expected_version=press.version,
    )
    key = "extension_approved" if approve else "extension_refused"
    days = (moved.event.data or {}).get("days")
    turn.say_key(key, number=moved.ticket.number, days=days)
    await notify.announce(turn, moved)


async def closed(turn: Turn, said: Incoming) -> None:
    moved = await complete_pending(turn, handling.close_ticket, note=said.text)
    turn.say_key("closed", number=moved.ticket.number)
    await notify.announce(turn, moved)


async def reopened(turn: Turn, said: Incoming) -> None:
    moved = await complete_pending(turn, handling.reopen_ticket, reason=said.text)
    turn.say_key("reopened", number=moved.ticket.number)
    await notify.announce(turn, moved)


async def merged(turn: Turn, said: Incoming) -> None:
    original = await find_ticket(turn.session, turn.person, said.text)
    moved = await complete_pending(turn, handling.merge_ticket, original_id=original.id)
    turn.say_key("merged", number=moved.ticket.number, original=original.number)
    await notify.announce(turn, moved)


async def merge_into(turn: Turn, press: MergeInto) -> None:
    """合并 with one press, into the original the duplicate rule suggested."""
    moved = await handling.merge_ticket(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        original_id=press.original_id,
        expected_version=press.version,
    )
    original = (moved.event.data or {}).get("original_number", "")
    turn.say_key("merged", number=moved.ticket.number, original=original)
    await notify.announce(turn, moved)


def period_of(name: str, turn: Turn) -> Period:
    """today / this week (from Monday) / this month, in local time."""
    calendar = turn.policy.calendar
    local_now = turn.policy.clock.now().astimezone(calendar.timezone)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "week":
        start = midnight - timedelta(days=midnight.weekday())
    elif name == "month":
        start = midnight.replace(day=1)
    else:
        start = midnight
    return Period(since=start.astimezone(UTC))


async def stats(turn: Turn) -> None:
    name = (turn.event.text.strip().lower() or "today").split()[0]
    if name not in PERIODS:
        turn.say_key("stats_usage")
        return
    area = await get_area(turn.session, turn.person.area_id)
    now = turn.policy.clock.now()
    report = await build_report(
        turn.session,
        area=area,
        period=period_of(name, turn),
        now=now,
        by_source=True,
        by_department=True,
        by_tier=True,
    )
    shown, none = percents(report.rates), turn.t("none")
    separator = turn.t("list_separator")
    figures = turn.t(
        "stats",
        area=area.name,
        period=turn.t(f"period_{name}"),
        response=shown.response,
        solve=shown.solve,
        satisfaction=shown.satisfaction,
        assigned=report.rates.assigned,
        in_time=report.rates.accepted_in_time,
        callbacks=report.rates.callbacks,
        backlog=separator.join(
            f"{turn.label('state', state)} {n}" for state, n in report.backlog if n
        )
        or none,
        overdue=report.overdue,
        top=separator.join(f"{c or none} {n}" for c, n in report.categories[:5]) or none,
        sources=separator.join(f"{turn.label('source', s)} {n}" for s, n in report.sources) or none,
    )
    turn.say(f"{figures}\n{tier_figures(turn, report)}")
    # The dashboard's category chart, as a picture under the figures.
    chart = charts.bar_chart_bytes(
        turn.t("stats_chart", area=area.name, period=turn.t(f"period_{name}")),
        tuple((category or none, count) for category, count in report.categories),
        "png",
    )
    turn.replies[-1] = replace(turn.replies[-1], image=chart)
    if report.departments:
        turn.say_key(
            "stats_departments",
            lines="\n".join(department_line(turn.locale, row) for row in report.departments),
        )


def tier_figures(turn: Turn, report: Report) -> str:
    """三率 per tier (分级), and the 未回访 count (句号管理: closed by the clock, nobody called)."""
    rows = []
    for tier, rates in report.tiers:
        shown = percents(rates)
        rows.append(
            turn.t(
                "stats_tier_row",
                tier=turn.label("tier", tier) if tier else turn.t("tier_none"),
                response=shown.response,
                solve=shown.solve,
                satisfaction=shown.satisfaction,
            )
        )
    return turn.t(
        "stats_tiers",
        tiers="\n".join(rows) or turn.t("none"),
        unvisited=report.rates.unvisited,
    )


async def invite(turn: Turn) -> None:
    code = turn.event.text.strip()
    own = await get_area(turn.session, turn.person.area_id)
    if not code:
        turn.say_key("invite_usage", example=own.code)
        return
    area = await get_area_by_code(turn.session, code)
    invitation = await create_invite(turn.session, turn.policy, staff=turn.person, area=area)
    turn.say_key(
        "invite_created",
        code=invitation.code,
        area=area.name,
        expires=local_time(invitation.expires_at, turn.policy),
    )


async def undelivered(turn: Turn) -> None:
    """Messages the delivery loop gave up on (bot blocked, chat gone, failing for too long), to
    people in the staff member's area, so someone can reach them another way."""
    area = await get_area(turn.session, turn.person.area_id) if turn.person.area_id else None
    parked = await parked_messages(turn.session, area_path=area.path if area else None, limit=20)
    if not parked:
        turn.say_key("undelivered_none")
        return
    lines = [turn.t("undelivered_list", count=len(parked))]
    for message in parked:
        person = await turn.session.get(Person, message.person_id) if message.person_id else None
        lines.append(
            turn.t(
                "undelivered_item",
                id=message.id,
                person=(person.display_name if person else None) or f"#{message.person_id}",
                created=local_time(message.created_at, turn.policy),
                parked=local_time(message.parked_at, turn.policy),
                error=preview(message.last_error or "—", 80),
            )
        )
    turn.say("\n".join(lines))
