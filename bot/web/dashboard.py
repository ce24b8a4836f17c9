"""The staff dashboard (数据看板): 三率, backlog, overdue tickets, tickets by category and area,
the 30-day trend, the ticket list with filters and CSV export, and one ticket's page.

Only signed-in staff (and admins) of an area see it, and only their subtree. Residents' names and
phones appear on a ticket's page alone, never in lists or charts.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.media import map_link, media_url
from bot.web.pages import console, locale_of, message_page, render, viewer
from bot.web.texts import web_text
from handlers import charts
from handlers.buttons import MergeInto
from handlers.dispatch import handle
from handlers.events import Incoming, Kind
from handlers.render import local_time, tier_text
from handlers.texts import label
from storage.models import Area, Person
from tickets.areas import get_area
from tickets.categories import CATEGORIES
from tickets.contact import shown_phone
from tickets.dashboard import (
    MAX_PAGE,
    TicketFilter,
    created_per_day,
    export_tickets,
    find_tickets,
    overdue_list,
)
from tickets.duplicates import similar_to_ticket
from tickets.errors import DomainError
from tickets.lifecycle import State
from tickets.permissions import in_scope
from tickets.queries import find_ticket
from tickets.report import (
    build_report,
    level_below,
    percents,
    tickets_per_area,
    top_categories,
)
from tickets.stats import Period
from tickets.timeline import ticket_timeline

DAYS = 30
DAY_CHOICES = (7, 30, 90)  # the dashboard's periods; the 30 days are the default
CSV_LIMIT = 100_000
URGENCIES = ("emergency", "urgent", "normal")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/dashboard", dashboard_page)
    router.add_get("/charts/{name}.{kind}", chart)
    router.add_get("/tickets", tickets_page)
    router.add_get("/tickets.csv", tickets_csv)
    router.add_get("/tickets/{number}", ticket_page)
    router.add_post("/tickets/{number}/merge", merge_ticket)


def _staff(request: web.Request) -> Person:
    """The signed-in staff member, or the answer that sends everyone else away."""
    person = viewer(request)
    if person is None:
        raise web.HTTPFound("/login")
    if person.role not in ("staff", "admin"):
        raise web.HTTPForbidden(
            text=web_text(locale_of(request), "forbidden"), content_type="text/plain"
        )
    return person


async def _scope(session: AsyncSession, person: Person) -> Area | None:
    """The subtree a staff member sees; an admin sees everything."""
    if person.role == "admin" or person.area_id is None:
        return None
    return await get_area(session, person.area_id)


def _days(request: web.Request) -> int:
    """The period asked for (?days=7|30|90); anything else is a 400 naming the choices."""
    value = request.query.get("days", str(DAYS))
    if value not in {str(days) for days in DAY_CHOICES}:
        raise web.HTTPBadRequest(
            text=web_text(
                locale_of(request), "bad_filter", what="days: " + "/".join(map(str, DAY_CHOICES))
            ),
            content_type="text/plain",
        )
    return int(value)


def _period(request: web.Request) -> Period:
    return Period(since=_now(request) - timedelta(days=_days(request)))


def _now(request: web.Request) -> datetime:
    return console(request).services.policy.clock.now()


async def dashboard_page(request: web.Request) -> web.Response:
    person = _staff(request)
    period, now = _period(request), _now(request)
    sessions = console(request).services.sessions
    async with sessions() as session:
        scope = await _scope(session, person)

    async def read(query: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with sessions() as session:
            return await query(session)

    # Side by side, one connection each: the page waits for the slowest part, not their sum.
    report, late, names = await asyncio.gather(
        read(
            lambda s: build_report(
                s,
                area=scope,
                period=period,
                now=now,
                top=0,
                by_source=True,
                by_department=True,
                by_tier=True,
            )
        ),
        read(lambda s: overdue_list(s, now, area=scope, limit=20)),
        read(_area_names),
    )
    policy = console(request).services.policy
    return render(
        request,
        "dashboard.html",
        area=report.area_name,
        days=_days(request),
        day_choices=DAY_CHOICES,
        rates=report.rates,
        shown=percents(report.rates),
        backlog=report.backlog,
        sources=report.sources,
        departments=[
            {
                "department_id": row.department_id,
                "name": row.name,
                "shown": percents(row.rates),
                "summoned": row.summoned,
                "reported_in_time": row.reported_in_time,
            }
            for row in report.departments
        ],
        tiers=[
            {"tier": tier, "rates": rates, "shown": percents(rates)} for tier, rates in report.tiers
        ],
        late_count=report.overdue,
        late=[
            {
                "number": t.number,
                "state": t.state,
                "category": t.category,
                "area": names.get(t.area_id, "—"),
                "due": local_time(
                    t.due_accept_at if t.state == State.ASSIGNED else t.due_resolve_at, policy
                ),
            }
            for t in late
        ],
    )


async def _area_names(session: AsyncSession) -> dict[Any, str]:
    areas = (await session.exec(select(Area))).all()
    names: dict[Any, str] = {area.id: area.name for area in areas}
    roots = [area.name for area in areas if area.parent_id is None]
    names[None] = roots[0] if len(roots) == 1 else ""
    return names


# --- charts: the same drawings /stats sends in chat ---------------------------------------------


async def chart(request: web.Request) -> web.Response:
    person = _staff(request)
    name, kind = request.match_info["name"], request.match_info["kind"]
    if name not in ("category", "area", "trend") or kind not in ("svg", "png"):
        raise web.HTTPNotFound()
    locale = locale_of(request)
    async with console(request).services.sessions() as session:
        scope = await _scope(session, person)
        if name == "category":
            title = web_text(locale, "chart_category")
            data: tuple = tuple(await category_counts(session, scope, _period(request), locale))
        elif name == "area":
            title = web_text(locale, "chart_area")
            # Tickets per area one level below the scope (streets for a district).
            data = tuple(
                await tickets_per_area(
                    session, area=scope, period=_period(request), level=level_below(scope)
                )
            )
        else:
            title = web_text(locale, "trend", days=_days(request))
            data = tuple(
                await created_per_day(
                    session,
                    area=scope,
                    days=_days(request),
                    now=_now(request),
                    zone=console(request).services.settings.timezone,
                )
            )
    draw = charts.trend_chart_bytes if name == "trend" else charts.bar_chart_bytes
    # Drawing is CPU work of tens of milliseconds: a thread keeps other requests moving.
    body = await asyncio.to_thread(draw, title, data, kind)
    return web.Response(
        body=body,
        content_type="image/svg+xml" if kind == "svg" else "image/png",
        headers={"Cache-Control": "private, max-age=60"},
    )


async def category_counts(
    session: AsyncSession, scope: Area | None, period: Period, locale: str
) -> list[tuple[str, int]]:
    """The report's top 10 categories, as the chart shows them."""
    rows = await top_categories(session, area=scope, period=period, top=10)
    return [(category or web_text(locale, "none"), count) for category, count in rows]


# --- ticket list, export, one ticket -------------------------------------------------------------


class BadFilter(ValueError):
    pass


MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL: a larger one is a 500 there


def _number_within(value: str, largest: int) -> bool:
    """ASCII digits (str.isdigit also takes "²", which int() refuses) up to `largest`."""
    return value.isascii() and value.isdigit() and len(value) <= 12 and int(value) <= largest


def parse_filter(query: Any) -> tuple[TicketFilter, int]:
    """The list's filters from the query string; anything unknown is a BadFilter naming it."""

    def choice(name: str, allowed: Any) -> str | None:
        value = query.get(name, "").strip()
        if value and value not in allowed:
            raise BadFilter(name)
        return value or None

    def day(name: str) -> date | None:
        value = query.get(name, "").strip()
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            raise BadFilter(name) from None

    area = query.get("area", "").strip()
    page = query.get("page", "1").strip() or "1"
    if area and not _number_within(area, MAX_ID):
        raise BadFilter("area")
    if not _number_within(page, MAX_PAGE) or int(page) < 1:
        raise BadFilter("page")
    filters = TicketFilter(
        state=choice("state", [s.value for s in State]),
        category=choice("category", CATEGORIES),
        urgency=choice("urgency", URGENCIES),
        area_id=int(area) if area else None,
        since=day("since"),
        until=day("until"),
        overdue=query.get("overdue") == "1",
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise BadFilter("since > until")
    return filters, int(page)


async def tickets_page(request: web.Request) -> web.Response:
    person = _staff(request)
    try:
        filters, page = parse_filter(request.query)
    except BadFilter as error:
        return await _list(request, person, TicketFilter(), 1, error=str(error), status=400)
    return await _list(request, person, filters, page)


async def _list(
    request: web.Request,
    person: Person,
    filters: TicketFilter,
    page: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    settings = console(request).services.settings
    async with console(request).services.sessions() as session:
        scope = await _scope(session, person)
        rows, more = await find_tickets(
            session,
            scope=scope,
            filters=filters,
            now=_now(request),
            zone=settings.timezone,
            page=page,
        )
        names = await _area_names(session)
        areas = [
            (area_id, name)
            for area_id, name in sorted(names.items(), key=lambda item: str(item[1]))
            if area_id is not None
        ]
    policy = console(request).services.policy
    query = {k: v for k, v in request.query.items() if k != "page"}
    return render(
        request,
        "tickets.html",
        status=status,
        error=error,
        filters=filters,
        rows=[
            {
                "number": t.number,
                "created": local_time(t.created_at, policy),
                "state": t.state,
                "category": t.category or "",
                "urgency": t.urgency,
                "area": names.get(t.area_id, "—"),
            }
            for t in rows
        ],
        page=page,
        more=more,
        query=query,
        prev_query={**query, "page": str(page - 1)},
        next_query={**query, "page": str(page + 1)},
        states=[s.value for s in State],
        categories=list(CATEGORIES),
        urgencies=URGENCIES,
        areas=areas,
    )


async def tickets_csv(request: web.Request) -> web.StreamResponse:
    person = _staff(request)
    try:
        filters, _ = parse_filter(request.query)
    except BadFilter as error:
        text = web_text(locale_of(request), "bad_filter", what=str(error))
        return web.Response(status=400, text=text, content_type="text/plain")
    settings = console(request).services.settings
    policy = console(request).services.policy
    locale = locale_of(request)
    async with console(request).services.sessions() as session:
        scope = await _scope(session, person)
        rows = await export_tickets(
            session,
            scope=scope,
            filters=filters,
            now=_now(request),
            zone=settings.timezone,
            limit=CSV_LIMIT,
        )
        names = await _area_names(session)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a BOM, so spreadsheet programs read the Chinese as UTF-8
    writer = csv.writer(buffer)
    columns = ("number", "created", "state", "category", "urgency", "area", "text", "callback")
    writer.writerow([web_text(locale, f"col_{c}") for c in columns])
    for t in rows:
        writer.writerow(
            [
                t.number,
                local_time(t.created_at, policy),
                # Codes in the reader's language, as the pages show them: a spreadsheet is read
                # by people, not parsed back.
                label(locale, "state", t.state),
                f"{t.category or ''}/{t.subcategory or ''}".strip("/"),
                label(locale, "urgency", t.urgency),
                names.get(t.area_id, ""),
                _no_formula(t.text),
                label(locale, "satisfaction", t.callback_satisfaction)
                if t.callback_satisfaction
                else "",
            ]
        )
    return web.Response(
        body=buffer.getvalue().encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="tickets.csv"'},
    )


def _no_formula(text: str) -> str:
    """A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def ticket_page(request: web.Request) -> web.Response:
    person = _staff(request)
    policy = console(request).services.policy
    async with console(request).services.sessions() as session:
        try:
            ticket = await find_ticket(session, person, request.match_info["number"][:32])
        except DomainError:
            return message_page(request, "not_found", 404)
        if not await in_scope(session, person, ticket):
            return message_page(request, "not_found", 404)
        events = await ticket_timeline(session, ticket.id)
        resident = await session.get(Person, ticket.resident_id)
        assignee = await session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
        leader = await session.get(Person, ticket.leader_id) if ticket.leader_id else None
        names = await _area_names(session)
        similar = await similar_to_ticket(session, ticket)
    return render(
        request,
        "ticket.html",
        ticket=ticket,
        similar=similar,
        area=names.get(ticket.area_id, "—"),
        resident=resident,
        assignee=assignee,
        leader=leader,
        tier=tier_text(locale_of(request), ticket.tier) if ticket.tier else None,
        created=local_time(ticket.created_at, policy),
        events=[(local_time(e.at, policy), e.action, e.note) for e in events],
        # Every photo, the resident's and the worker's, wherever it was sent (bot/media.py).
        photos=[
            media_url(str(a["ref"]))
            for a in ticket.attachments
            if a.get("kind") == "photo" and a.get("ref")
        ],
        place=map_link(ticket),
        call_back=shown_phone(ticket.contact_phone) if ticket.contact_phone else None,
    )


async def merge_ticket(request: web.Request) -> web.Response:
    """合并 from the ticket page: the same move as the chat's button, made through the
    conversations as this staff member (scope, stale version and notices included), its answer
    shown as the page."""
    person = _staff(request)
    form = await request.post()
    try:
        original, version = int(str(form["original"])), int(str(form["version"]))
    except (KeyError, ValueError):
        return message_page(request, "not_found", 404)
    async with console(request).services.sessions() as session:
        try:
            ticket = await find_ticket(session, person, request.match_info["number"][:32])
        except DomainError:
            return message_page(request, "not_found", 404)
    try:
        press = MergeInto(ticket.id, version, original).pack()
    except ValueError:
        return message_page(request, "not_found", 404)
    event = Incoming(
        person.channel, person.channel_user_id, person.chat_id, Kind.BUTTON, button=press
    )
    outcome = await handle(console(request).deps, event)
    return render(request, "message.html", message=" ".join(r.text for r in outcome.replies))
