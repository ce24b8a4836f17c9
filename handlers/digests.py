"""Scheduled reports for staff: the morning digest (new, overdue, due today in their area) and
the monthly 三率 ranking of grids and grid workers. Queued in the outbox with one key per person
and day (or month), so a catch-up run after downtime never sends one twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.events import Reply
from handlers.texts import locale_or_default, tr
from storage.models import Area, Person
from storage.outbox import enqueue_many, outbox_row
from tickets.areas import subtree_ids
from tickets.lifecycle import Role
from tickets.policy import Policy
from tickets.stats import (
    Period,
    ThreeRates,
    created_count,
    deadlines_in,
    overdue_count,
    three_rates_by,
)

RANKED = 5  # lines per list in the monthly ranking


async def staff_members(session: AsyncSession) -> Sequence[Person]:
    query = select(Person).where(
        col(Person.role).in_([Role.STAFF, Role.ADMIN]), col(Person.area_id).is_not(None)
    )
    return (await session.exec(query.order_by(col(Person.id)))).all()


async def morning_digest(session: AsyncSession, policy: Policy) -> int:
    """Each staff member's morning digest for their own area; returns messages queued."""
    now = policy.clock.now()
    local_now = now.astimezone(policy.calendar.timezone)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = Period(since=now, until=midnight + timedelta(days=1))
    last_day = Period(since=now - timedelta(days=1), until=now)
    messages = []
    for staff in await staff_members(session):
        area = await session.get(Area, staff.area_id)
        if area is None:
            continue
        locale = locale_or_default(staff.locale)
        text = tr(
            locale,
            "digest",
            area=area.name,
            date=f"{local_now:%m-%d}",
            new=await created_count(session, area=area, period=last_day),
            overdue=await overdue_count(session, now, area=area),
            due_today=await deadlines_in(session, today, area=area),
        )
        messages.append(_message(staff, f"digest:{local_now:%Y-%m-%d}", text, now))
    await enqueue_many(session, messages)
    return len(messages)


async def monthly_ranking(session: AsyncSession, policy: Policy) -> int:
    """Last month's 三率 ranking of the grids and workers in each staff member's area."""
    now = policy.clock.now()
    local_now = now.astimezone(policy.calendar.timezone)
    this_month = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    period = Period(since=last_month, until=this_month)
    per_area = await three_rates_by(session, "area", period=period)
    per_worker = await three_rates_by(session, "worker", period=period)
    areas = {area.id: area for area in (await session.exec(select(Area))).all()}
    people = {person.id: person for person in (await session.exec(select(Person))).all()}
    messages = []
    for staff in await staff_members(session):
        own = areas.get(staff.area_id)
        if own is None:
            continue
        inside = set(await subtree_ids(session, own))
        locale = locale_or_default(staff.locale)
        grids = {
            areas[area_id].name: rates
            for area_id, rates in per_area.items()
            if area_id in inside and areas[area_id].level == "grid"
        }
        workers = {
            people[worker_id].display_name or str(worker_id): rates
            for worker_id, rates in per_worker.items()
            if worker_id in people and people[worker_id].area_id in inside
        }
        text = tr(
            locale,
            "ranking",
            month=f"{last_month:%Y-%m}",
            area=own.name,
            grids=_ranked(locale, grids),
            workers=_ranked(locale, workers),
        )
        messages.append(_message(staff, f"ranking:{last_month:%Y-%m}", text, now))
    await enqueue_many(session, messages)
    return len(messages)


def _ranked(locale: str, rows: dict[str, ThreeRates]) -> str:
    """Best first by the mean of the rates that have data; those with no data are left out."""
    scored = []
    for name, rates in rows.items():
        known = [
            r
            for r in (rates.response_rate, rates.solve_rate, rates.satisfaction_rate)
            if r is not None
        ]
        if known:
            scored.append((sum(known) / len(known), name, rates))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if not scored:
        return tr(locale, "none")
    return "\n".join(
        tr(
            locale,
            "ranking_line",
            place=place,
            name=name,
            response=_percent(rates.response_rate),
            solve=_percent(rates.solve_rate),
            satisfaction=_percent(rates.satisfaction_rate),
        )
        for place, (_score, name, rates) in enumerate(scored[:RANKED], start=1)
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _message(person: Person, key: str, text: str, now: datetime) -> dict[str, Any]:
    return outbox_row(
        dedupe_key=f"{key}:p{person.id}",
        person_id=person.id,
        channel=person.channel,
        chat_id=person.chat_id,
        body=Reply(text).to_body(),
        now=now,
    )
