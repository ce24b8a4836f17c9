"""Scheduled reports for staff: the morning digest (new, overdue, due today in their area) and
the monthly 三率 ranking of grids, grid workers, departments and tiers. Queued in the outbox
with one key per person and day (or month), so a catch-up run after downtime never sends one
twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from handlers.events import Reply
from handlers.texts import label, locale_or_default, tr
from storage import Session
from storage.models import Person
from storage.outbox import enqueue_many, outbox_row
from tickets.areas import Level, contains
from tickets.policy import Policy
from tickets.report import Report, build_report, percents, report_readers
from tickets.stats import Period, ThreeRates, three_rates_by

RANKED = 5  # lines per list in the monthly ranking


async def morning_digest(session: Session, policy: Policy) -> int:
    """Each staff member's morning digest for their own area; returns messages queued."""
    now = policy.clock.now()
    local_now = now.astimezone(policy.calendar.timezone)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    last_day = Period(since=now - timedelta(days=1), until=now)
    reports: dict[int, Report] = {}  # staff of one area share its report
    messages = []
    for staff, area in await report_readers(session):
        if area.id not in reports:
            reports[area.id] = await build_report(
                session,
                area=area,
                period=last_day,
                now=now,
                top=0,
                due_by=midnight + timedelta(days=1),
            )
        report = reports[area.id]
        text = tr(
            locale_or_default(staff.locale),
            "digest",
            area=area.name,
            date=f"{local_now:%m-%d}",
            new=report.created,
            overdue=report.overdue,
            due_today=report.due,
        )
        messages.append(_message(staff, f"digest:{local_now:%Y-%m-%d}", text, now))
    await enqueue_many(session, messages)
    return len(messages)


async def monthly_ranking(session: Session, policy: Policy) -> int:
    """Last month's 三率 ranking of the grids, workers, departments and tiers in each staff
    member's area: one report of the whole tree, each staff member's share of its rows, and the
    tiers' figures once per staff area."""
    now = policy.clock.now()
    local_now = now.astimezone(policy.calendar.timezone)
    this_month = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    period = Period(since=last_month, until=this_month)
    report = await build_report(
        session,
        area=None,
        period=period,
        now=now,
        top=0,
        rows_at=Level.GRID,
        workers=True,
        by_department=True,
    )
    if report.created == 0:
        return 0  # a month without tickets has nothing to rank
    messages = []
    tiers: dict[int, dict[Any, ThreeRates]] = {}  # staff of one area share its figures
    for staff, own in await report_readers(session):
        locale = locale_or_default(staff.locale)
        if own.id not in tiers:
            tiers[own.id] = await three_rates_by(session, "tier", area=own, period=period)
        by_tier = {
            label(locale, "tier", tier): rates for tier, rates in tiers[own.id].items() if tier
        }
        grids = {
            row.name: row.rates
            for row in report.areas
            if row.level == Level.GRID and contains(own, row.path)
        }
        workers = {
            row.name or str(row.person_id): row.rates
            for row in report.workers
            if row.home_path is not None and contains(own, row.home_path)
        }
        # The departments this area works with: serving it, or serving a part of it.
        departments = {
            row.name: row.rates
            for row in report.departments
            if contains(own, row.serves_path) or own.path.startswith(row.serves_path)
        }
        if not any(map(_rankable, (grids, workers, departments, by_tier))):
            continue  # nothing happened in this staff member's area: no list of 无
        text = tr(
            locale,
            "ranking",
            month=f"{last_month:%Y-%m}",
            area=own.name,
            grids=_ranked(locale, grids),
            workers=_ranked(locale, workers),
        )
        if _rankable(departments):
            text += "\n" + tr(locale, "ranking_departments", lines=_ranked(locale, departments))
        if _rankable(by_tier):
            text += "\n" + tr(locale, "ranking_tiers", lines=_ranked(locale, by_tier))
        messages.append(_message(staff, f"ranking:{last_month:%Y-%m}", text, now))
    await enqueue_many(session, messages)
    return len(messages)


def _rankable(rows: dict[str, ThreeRates]) -> bool:
    return any(_known(rates) for rates in rows.values())


def _known(rates: ThreeRates) -> list[float]:
    """The rates that have data (a rate with nothing to divide by is None)."""
    return [
        r for r in (rates.response_rate, rates.solve_rate, rates.satisfaction_rate) if r is not None
    ]


def _ranked(locale: str, rows: dict[str, ThreeRates]) -> str:
    """Best first by the mean of the rates that have data; those with no data are left out."""
    scored = []
    for name, rates in rows.items():
        known = _known(rates)
        if known:
            scored.append((sum(known) / len(known), name, rates))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if not scored:
        return tr(locale, "none")
    lines = []
    for place, (_score, name, rates) in enumerate(scored[:RANKED], start=1):
        shown = percents(rates)
        lines.append(
            tr(
                locale,
                "ranking_line",
                place=place,
                name=name,
                response=shown.response,
                solve=shown.solve,
                satisfaction=shown.satisfaction,
            )
        )
    return "\n".join(lines)


def _message(person: Person, key: str, text: str, now: datetime) -> dict[str, Any]:
    return outbox_row(
        dedupe_key=f"{key}:p{person.id}",
        person_id=person.id,
        channel=person.channel,
        chat_id=person.chat_id,
        body=Reply(text).to_body(),
        now=now,
    )
