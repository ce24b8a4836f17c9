"""Routing to grid workers or triage, and escalation up the area tree."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.models import Person, Ticket
from tests.factories import cast_in, new_ticket
from tickets import handling
from tickets.areas import escalation_target
from tickets.errors import RuleViolation
from tickets.lifecycle import State
from tickets.people import register_person
from tickets.sweeps import sweep


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def _ticket(sessions, ticket_id: int) -> Ticket:
    async with sessions() as session:
        return await session.get(Ticket, ticket_id)


async def _set_on_duty(sessions, person: Person, on_duty: bool) -> None:
    async with sessions() as session:
        row = await session.get(Person, person.id)
        row.on_duty = on_duty
        await session.commit()


async def test_a_classified_complaint_goes_to_the_grid_worker(sessions, policy, clock, cast):
    ticket = await _ticket(sessions, await new_ticket(sessions, policy, cast["resident"]))
    assert ticket.state == State.ASSIGNED
    assert ticket.assignee_id == cast["worker-g1"].id
    assert ticket.handling_area_id == cast.areas["g1"].id and ticket.handling_level == "grid"
    assert ticket.assigned_at == clock.now() and ticket.escalate_at == ticket.due_accept_at


async def test_the_least_loaded_worker_of_the_grid_gets_the_ticket(sessions, policy, cast):
    async with sessions() as session:
        second = await register_person(
            session, policy, channel="telegram", channel_user_id="w2", chat_id="w2"
        )
        second.role, second.area_id = "worker", cast.areas["g1"].id
        await session.commit()
    first = await _ticket(sessions, await new_ticket(sessions, policy, cast["resident"]))
    then = await _ticket(sessions, await new_ticket(sessions, policy, cast["resident"]))
    assert {first.assignee_id, then.assignee_id} == {cast["worker-g1"].id, second.id}


async def test_nobody_on_duty_sends_the_ticket_to_the_nearest_staffed_area(sessions, policy, cast):
    await _set_on_duty(sessions, cast["worker-g1"], False)
    ticket = await _ticket(sessions, await new_ticket(sessions, policy, cast["resident"]))
    assert ticket.state == State.SUBMITTED and ticket.assignee_id is None
    assert ticket.handling_area_id == cast.areas["c1"].id  # the community has staff

    # 阳光社区 has no staff of its own: its street's triage takes the ticket.
    await _set_on_duty(sessions, cast["worker-g3"], False)
    ticket = await _ticket(sessions, await new_ticket(sessions, policy, cast["resident3"]))
    assert ticket.handling_area_id == cast.areas["s2"].id


async def test_an_unclassified_complaint_waits_in_triage(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"], category=None)
    ticket = await _ticket(sessions, ticket_id)
    assert ticket.state == State.SUBMITTED and ticket.handling_area_id == cast.areas["c1"].id


async def test_a_complaint_about_a_community_goes_to_its_triage(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"], area_id=cast.areas["c2"].id)
    assert (await _ticket(sessions, ticket_id)).handling_area_id == cast.areas["s2"].id


async def test_escalation_climbs_one_level_at_a_time_and_stops_at_the_top(sessions, cast):
    async with sessions() as session:
        chain = [cast.areas["g1"]]
        while True:
            try:
                chain.append(await escalation_target(session, chain[-1]))
            except RuleViolation as refusal:
                assert "top" in refusal.message
                break
    assert [area.code for area in chain] == ["g1", "c1", "s1", "d"]


async def test_a_worker_escalates_to_the_triage_above(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        moved = await handling.escalate_ticket(
            session, policy, ticket_id=ticket_id, actor=cast["worker-g1"], reason="需要社区协调"
        )
        ticket = moved.ticket
        await session.commit()
    assert ticket.state == State.SUBMITTED and ticket.assignee_id is None
    assert ticket.handling_area_id == cast.areas["c1"].id and ticket.escalated_at is not None


async def test_an_overdue_clock_raises_supervision_one_level(sessions, policy, clock, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(days=3))
    async with sessions() as session:
        fired = await sweep(session, policy)
        await session.commit()
        ticket = await session.get(Ticket, ticket_id)
    assert [event.kind for event in fired] == ["escalate_accept"]
    assert ticket.state == State.ASSIGNED and ticket.assignee_id == cast["worker-g1"].id
    assert ticket.handling_area_id == cast.areas["c1"].id and ticket.handling_level == "community"
    assert ticket.accepted_in_time is False


async def test_an_unclassified_emergency_still_goes_to_the_grid_at_once(sessions, policy, cast):
    ticket_id = await new_ticket(
        sessions, policy, cast["resident"], category=None, urgency="emergency"
    )
    ticket = await _ticket(sessions, ticket_id)
    assert ticket.state == State.ASSIGNED and ticket.assignee_id == cast["worker-g1"].id
