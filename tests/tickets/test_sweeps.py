"""The clocks: reminders before deadlines, escalation up the tree, auto-close, catch-up after
downtime, a holiday week, and several sweepers on one database."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from storage.models import TicketEvent
from tests.factories import cast_in, new_ticket, run_sweep
from tests.factories import reloaded as _ticket
from tickets import handling
from tickets.calendar import WorkingCalendar
from tickets.stats import overdue_count
from tickets.sweeps import sweep


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def test_a_normal_ticket_is_reminded_then_escalated_level_by_level(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])  # Monday 10:00 local
    ticket = await _ticket(sessions, ticket_id)
    # 1 working day to accept: due Tuesday 10:00, reminder two hours before.
    assert ticket.remind_at == ticket.due_accept_at - timedelta(hours=2)
    assert await run_sweep(sessions, policy) == []

    clock.set(ticket.remind_at)
    assert await run_sweep(sessions, policy) == [("remind_accept", ticket_id)]
    assert await run_sweep(sessions, policy) == []  # reminded once, not again

    clock.set(ticket.due_accept_at)
    assert await run_sweep(sessions, policy) == [("escalate_accept", ticket_id)]
    escalated = await _ticket(sessions, ticket_id)
    assert escalated.handling_level == "community" and escalated.accepted_in_time is False
    assert escalated.due_accept_at == ticket.due_accept_at  # the promise does not move
    # One more working day without acceptance: the street takes over; then the district.
    clock.set(escalated.escalate_at)
    assert await run_sweep(sessions, policy) == [("escalate_accept", ticket_id)]
    clock.set((await _ticket(sessions, ticket_id)).escalate_at)
    assert await run_sweep(sessions, policy) == [("escalate_accept", ticket_id)]
    top = await _ticket(sessions, ticket_id)
    assert top.handling_level == "district" and top.escalate_at is None
    clock.advance(timedelta(days=30))
    assert await run_sweep(sessions, policy) == []
    async with sessions() as session:
        assert await overdue_count(session, clock.now()) == 1


async def test_an_emergency_escalates_within_minutes(sessions, policy, clock, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"], urgency="emergency")
    clock.advance(timedelta(minutes=12))  # 80% of 15 minutes
    assert await run_sweep(sessions, policy) == [("remind_accept", ticket_id)]
    clock.advance(timedelta(minutes=3))
    assert await run_sweep(sessions, policy) == [("escalate_accept", ticket_id)]


async def test_accepting_stops_the_accept_clock_and_arms_the_resolve_clock(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        await handling.accept_ticket(session, policy, ticket_id=ticket_id, actor=cast["worker-g1"])
        await session.commit()
    ticket = await _ticket(sessions, ticket_id)
    assert ticket.escalate_at == ticket.due_resolve_at
    clock.set(ticket.due_resolve_at + timedelta(minutes=1))
    # Long downtime: the reminder is overtaken by the deadline; only the escalation is sent.
    assert await run_sweep(sessions, policy) == [("escalate_resolve", ticket_id)]


async def test_an_approved_extension_moves_the_clock(sessions, policy, clock, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        await handling.accept_ticket(session, policy, ticket_id=ticket_id, actor=cast["worker-g1"])
        await handling.request_extension(
            session, policy, ticket_id=ticket_id, actor=cast["worker-g1"], days=3, reason="等配件"
        )
        await handling.decide_extension(
            session, policy, ticket_id=ticket_id, actor=cast["staff-c1"], approve=True
        )
        await session.commit()
    ticket = await _ticket(sessions, ticket_id)
    assert ticket.escalate_at == ticket.due_resolve_at == datetime(2026, 12, 3, 2, tzinfo=UTC)


async def test_resolved_tickets_close_after_seven_days_without_a_callback(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        await handling.accept_ticket(session, policy, ticket_id=ticket_id, actor=cast["worker-g1"])
        await handling.resolve_ticket(
            session, policy, ticket_id=ticket_id, actor=cast["worker-g1"], reply="已修好"
        )
        await session.commit()
    clock.advance(timedelta(days=6, hours=23))
    assert await run_sweep(sessions, policy) == []
    clock.advance(timedelta(hours=2))
    assert await run_sweep(sessions, policy) == [("auto_close", ticket_id)]
    ticket = await _ticket(sessions, ticket_id)
    assert (
        ticket.state == "closed" and ticket.callback_solved is None and ticket.next_due_at is None
    )
    async with sessions() as session:
        last = (await session.exec(select(TicketEvent).order_by(TicketEvent.id.desc()))).first()
    assert (last.action, last.actor_role, last.to_state) == ("close", "system", "closed")


async def test_a_holiday_week_gives_exactly_the_expected_reminders_and_escalations(
    sessions, policy, clock, cast
):
    """National Day: 1-7 October off, Saturday the 10th worked. A normal ticket assigned on
    Wednesday 30 September at 16:00 must be accepted by Thursday 8 October 16:00."""
    policy = replace(
        policy,
        calendar=WorkingCalendar.build(
            "Asia/Shanghai",
            holidays=[date(2026, 10, day) for day in range(1, 8)],
            makeup_workdays=[date(2026, 10, 10)],
        ),
    )
    clock.set(datetime(2026, 9, 30, 8, 0, tzinfo=UTC))  # 16:00 in Beijing
    await new_ticket(sessions, policy, cast["resident"])
    fired = []
    for _ in range(24 * 12):  # every hour for twelve days
        clock.advance(timedelta(hours=1))
        fired += [(kind, clock.now()) for kind, _ in await run_sweep(sessions, policy)]
    beijing = [(kind, moment.astimezone(policy.calendar.timezone)) for kind, moment in fired]
    assert [(kind, f"{moment:%m-%d %H:%M}") for kind, moment in beijing] == [
        ("remind_accept", "10-08 14:00"),
        ("escalate_accept", "10-08 16:00"),  # to the community
        ("escalate_accept", "10-09 16:00"),  # to the street
        ("escalate_accept", "10-10 16:00"),  # to the district (the make-up Saturday counts)
    ]


@pytest.mark.postgres
async def test_several_sweepers_never_act_twice(sessions, policy, clock, cast, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent sweepers are a PostgreSQL matter; SQLite has one writer")
    ids = [await new_ticket(sessions, policy, cast["resident"]) for _ in range(60)]
    clock.advance(timedelta(days=1, hours=1))

    async def sweeper() -> list[tuple[str, int]]:
        fired = []
        while True:
            async with sessions() as session:
                batch = await sweep(session, policy, limit=7)
                await asyncio.sleep(0)  # let the others claim while this one holds its rows
                await session.commit()
            if not batch:
                return fired
            fired += [(event.kind, event.ticket_id) for event in batch]

    results = await asyncio.gather(*(sweeper() for _ in range(4)))
    everything = [item for result in results for item in result]
    assert sorted(everything) == sorted(("escalate_accept", ticket_id) for ticket_id in ids)
    assert sum(1 for result in results if result) > 1  # the work was really shared
    async with sessions() as session:
        escalations = (
            await session.exec(
                select(func.count())
                .select_from(TicketEvent)
                .where(TicketEvent.action == "escalate_overdue")
            )
        ).one()
    assert escalations == 60
