"""Triage has its own clock: a ticket waiting for a person to dispatch it is reminded about and
escalated like any other, counts as overdue and against the 响应率; an unaccepted emergency
goes straight to the nearest level with staff on duty."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import Person, TicketEvent
from tests.factories import cast_in, new_ticket, run_sweep
from tests.factories import reloaded as _ticket
from tickets import handling
from tickets.dashboard import overdue_list
from tickets.errors import StaleTicket
from tickets.routing import TriageReason, route
from tickets.stats import overdue_count, three_rates

UNCLASSIFIABLE = {"text": "有没有人管管这个事情呀", "category": None}


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def test_an_unclassified_ticket_is_reminded_then_escalated_from_triage(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"], **UNCLASSIFIABLE)
    ticket = await _ticket(sessions, ticket_id)
    # Monday 10:00: two working hours to dispatch it, a reminder at 80% of them.
    assert ticket.state == "submitted" and ticket.handling_level == "community"
    assert ticket.due_dispatch_at == clock.now() + timedelta(hours=2)
    assert ticket.remind_at == clock.now() + timedelta(minutes=96)
    clock.set(ticket.remind_at)
    assert await run_sweep(sessions, policy) == [("remind_dispatch", ticket_id)]
    clock.set(ticket.due_dispatch_at)
    assert await run_sweep(sessions, policy) == [("escalate_dispatch", ticket_id)]
    escalated = await _ticket(sessions, ticket_id)
    assert escalated.handling_level == "street" and escalated.accepted_in_time is False
    assert escalated.due_dispatch_at == ticket.due_dispatch_at  # the promise does not move
    clock.advance(timedelta(minutes=1))
    async with sessions() as session:
        assert await overdue_count(session, clock.now()) == 1
        assert [t.id for t in await overdue_list(session, clock.now(), area=None)] == [ticket_id]
        rates = await three_rates(session)
    # Never sent on, yet counted: a ticket left in triage is a late response, not no response.
    assert (rates.assigned, rates.accepted_in_time) == (1, 0)


async def test_no_ticket_sits_a_day_in_triage_without_alerts(sessions, policy, clock, cast):
    staffless = await new_ticket(
        sessions, policy, cast["resident"], urgency="emergency", area_id=cast.areas["c1"].id
    )
    fired = []
    for _ in range(24 * 60):  # every minute for a day
        clock.advance(timedelta(minutes=1))
        fired += [kind for kind, found in await run_sweep(sessions, policy) if found == staffless]
    # 4 minutes in, a reminder; at 5 the street; 5 more, the district at the top.
    assert fired == ["remind_dispatch", "escalate_dispatch", "escalate_dispatch"]


async def test_a_returned_or_escalated_ticket_starts_a_new_dispatch_clock(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"], urgency="urgent")
    clock.advance(timedelta(minutes=10))
    async with sessions() as session:
        moved = await handling.return_ticket(
            session, policy, ticket_id=ticket_id, actor=cast["worker-g1"], reason="不归本网格"
        )
        await session.commit()
    assert moved.ticket.due_dispatch_at == clock.now() + timedelta(minutes=30)
    assert moved.ticket.escalate_at == moved.ticket.due_dispatch_at
    clock.set(moved.ticket.due_dispatch_at)
    assert await run_sweep(sessions, policy) == [("escalate_dispatch", ticket_id)]
    # Dispatched late: however quickly the worker accepts now, the response was late.
    async with sessions() as session:
        await handling.assign_ticket(
            session,
            policy,
            ticket_id=ticket_id,
            actor=cast["staff-s1"],
            worker_id=cast["worker-g2"].id,
        )
        accepted = await handling.accept_ticket(
            session, policy, ticket_id=ticket_id, actor=cast["worker-g2"]
        )
        await session.commit()
    assert accepted.ticket.accepted_in_time is False


async def test_an_unaccepted_emergency_goes_straight_to_the_nearest_staffed_level(
    sessions, policy, clock, cast
):
    """阳光社区 has no staff: the first escalation must reach 西湖街道 at once, not a window
    later."""
    ticket_id = await new_ticket(sessions, policy, cast["resident3"], urgency="emergency")
    clock.advance(timedelta(minutes=15))
    assert await run_sweep(sessions, policy) == [("escalate_accept", ticket_id)]
    escalated = await _ticket(sessions, ticket_id)
    assert escalated.handling_area_id == cast.areas["s2"].id
    # Staff off duty are no one to escalate to either: the street's only one goes off duty.
    async with sessions() as session:
        staff = await session.get(Person, cast["staff-s1"].id)
        staff.on_duty = False
        session.add(staff)
        await session.commit()
    other = await new_ticket(sessions, policy, cast["resident"], urgency="emergency")
    clock.advance(timedelta(minutes=15))
    assert ("escalate_accept", other) in await run_sweep(sessions, policy)
    assert (await _ticket(sessions, other)).handling_area_id == cast.areas["c1"].id
    clock.advance(timedelta(minutes=15))
    assert ("escalate_accept", other) in await run_sweep(sessions, policy)
    assert (await _ticket(sessions, other)).handling_area_id == cast.areas["d"].id


async def test_the_accept_button_survives_the_clocks_but_not_a_reassignment(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"], urgency="emergency")
    shown = (await _ticket(sessions, ticket_id)).version
    clock.advance(timedelta(minutes=15))
    await run_sweep(sessions, policy)  # reminded, then escalated: the version moved on
    assert (await _ticket(sessions, ticket_id)).version != shown
    async with sessions() as session:
        moved = await handling.accept_ticket(
            session, policy, ticket_id=ticket_id, actor=cast["worker-g1"], expected_version=shown
        )
        await session.commit()
    assert moved.ticket.state == "accepted" and moved.ticket.accepted_in_time is False

    second = await new_ticket(sessions, policy, cast["resident"])
    shown = (await _ticket(sessions, second)).version
    async with sessions() as session:
        await handling.assign_ticket(
            session,
            policy,
            ticket_id=second,
            actor=cast["staff-c1"],
            worker_id=cast["worker-g2"].id,
        )
        await session.commit()
    async with sessions() as session:
        with pytest.raises(StaleTicket):
            await handling.accept_ticket(
                session, policy, ticket_id=second, actor=cast["worker-g1"], expected_version=shown
            )


async def test_routing_says_why_a_ticket_waits_in_triage(sessions, policy, cast):
    async with sessions() as session:
        grid, community = cast.areas["g1"], cast.areas["c1"]
        assert (await route(session, grid, classified=False, grid_worker_id=1)).reason == (
            TriageReason.UNCLASSIFIED
        )
        assert (await route(session, community, classified=True, grid_worker_id=None)).reason == (
            TriageReason.NOT_GRID
        )
        assert (await route(session, grid, classified=True, grid_worker_id=None)).reason == (
            TriageReason.NO_WORKER
        )
        assert (await route(session, grid, classified=True, grid_worker_id=1)).reason is None
    ticket_id = await new_ticket(sessions, policy, cast["resident"], area_id=community.id)
    async with sessions() as session:
        submitted = (
            await session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))
        ).one()
    assert submitted.data == {"triage": "not_grid"}  # the timeline keeps why
