"""句号管理: a resolved ticket closes only after a 回访 — the resident's answer or a staff
member's record of calling them; a reached record counts in the 三率 like the resident's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import TicketCallback, TicketPart
from tests.factories import cast_in, new_ticket, reloaded, run_sweep
from tickets import departments, handling
from tickets.errors import IllegalTransition, InvalidInput, RuleViolation
from tickets.intake import submit_complaint
from tickets.stats import three_rates


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def _move(sessions, policy, move, **arguments):
    async with sessions() as session:
        moved = await move(session, policy, **arguments)
        await session.commit()
        return moved


async def _resolved(sessions, policy, cast) -> int:
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    worker = cast["worker-g1"]
    await _move(sessions, policy, handling.accept_ticket, ticket_id=ticket_id, actor=worker)
    await _move(
        sessions, policy, handling.resolve_ticket, ticket_id=ticket_id, actor=worker, reply="已修好"
    )
    return ticket_id


async def test_staff_cannot_close_a_resolved_ticket_before_any_callback(sessions, policy, cast):
    ticket_id = await _resolved(sessions, policy, cast)
    with pytest.raises(RuleViolation) as refused:
        await _move(
            sessions, policy, handling.close_ticket, ticket_id=ticket_id, actor=cast["staff-c1"]
        )
    assert refused.value.params["reason"] == "no_callback"
    assert (await reloaded(sessions, ticket_id)).state == "resolved"


async def test_a_call_nobody_answered_is_recorded_and_lets_staff_close(sessions, policy, cast):
    ticket_id = await _resolved(sessions, policy, cast)
    staff = cast["staff-c1"]
    moved = await _move(
        sessions,
        policy,
        handling.record_callback,
        ticket_id=ticket_id,
        actor=staff,
        reached=False,
        note="打了两次电话无人接听",
    )
    assert moved.ticket.state == "resolved" and moved.event.data["reached"] is False
    await _move(sessions, policy, handling.close_ticket, ticket_id=ticket_id, actor=staff)
    ticket = await reloaded(sessions, ticket_id)
    assert (ticket.state, ticket.unvisited, ticket.callback_solved) == ("closed", False, None)
    async with sessions() as session:
        row = (await session.exec(select(TicketCallback))).one()
        rates = await three_rates(session)
    assert (row.kind, row.reached, row.recorded_by_id, row.solved) == (
        "staff",
        False,
        staff.id,
        None,
    )
    assert rates.callbacks == 0  # nobody answered: it counts in no rate


async def test_a_reached_staff_callback_closes_and_counts_like_the_residents(
    sessions, policy, cast
):
    ticket_id = await _resolved(sessions, policy, cast)
    await _move(
        sessions,
        policy,
        handling.record_callback,
        ticket_id=ticket_id,
        actor=cast["staff-c1"],
        reached=True,
        solved=True,
        satisfaction="basic",
    )
    ticket = await reloaded(sessions, ticket_id)
    assert (ticket.state, ticket.callback_solved, ticket.callback_satisfaction) == (
        "closed",
        True,
        "basic",
    )
    async with sessions() as session:
        rates = await three_rates(session, worker_id=cast["worker-g1"].id)
    assert (rates.callbacks, rates.solved, rates.satisfied) == (1, 1, 1)


async def test_a_reached_unsolved_callback_reopens_for_the_worker(sessions, policy, cast):
    ticket_id = await _resolved(sessions, policy, cast)
    moved = await _move(
        sessions,
        policy,
        handling.record_callback,
        ticket_id=ticket_id,
        actor=cast["staff-c1"],
        reached=True,
        solved=False,
        satisfaction="unsatisfied",
    )
    assert (moved.ticket.state, moved.ticket.assignee_id) == ("assigned", cast["worker-g1"].id)
    assert moved.ticket.reopen_count == 1


async def test_a_callback_record_needs_an_answer_and_a_resolved_ticket(sessions, policy, cast):
    staff = cast["staff-c1"]
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    with pytest.raises(IllegalTransition):
        await _move(
            sessions,
            policy,
            handling.record_callback,
            ticket_id=ticket_id,
            actor=staff,
            reached=False,
        )
    resolved = await _resolved(sessions, policy, cast)
    with pytest.raises(InvalidInput):
        await _move(
            sessions,
            policy,
            handling.record_callback,
            ticket_id=resolved,
            actor=staff,
            reached=True,
        )
    with pytest.raises(Exception, match="may not"):
        await _move(
            sessions,
            policy,
            handling.record_callback,
            ticket_id=resolved,
            actor=cast["worker-g1"],
            reached=False,
        )


async def test_an_unsolved_staff_callback_sends_a_department_ticket_back_to_its_lead(
    sessions, policy, cast
):
    """党委派单: 城管 resolved it; the staff member's call finds it unsolved (重办), so the
    lead department's part waits for its 接单 again, and the callback counts for 城管."""
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    worker, lead = cast["worker-g1"], cast["dept-cg"]
    await _move(sessions, policy, handling.accept_ticket, ticket_id=ticket_id, actor=worker)
    await _move(
        sessions,
        policy,
        departments.needs_department,
        ticket_id=ticket_id,
        actor=worker,
        reason="网格修不了",
    )
    await _move(
        sessions,
        policy,
        departments.dispatch_to_departments,
        ticket_id=ticket_id,
        actor=cast["staff-s1"],
        lead_id=cast.departments["cg"].id,
    )
    await _move(sessions, policy, departments.accept_part, ticket_id=ticket_id, actor=lead)
    await _move(
        sessions,
        policy,
        departments.resolve_by_lead,
        ticket_id=ticket_id,
        actor=lead,
        reply="已拆除",
    )
    moved = await _move(
        sessions,
        policy,
        handling.record_callback,
        ticket_id=ticket_id,
        actor=cast["staff-s1"],
        reached=True,
        solved=False,
        satisfaction="unsatisfied",
    )
    assert (moved.ticket.state, moved.ticket.department_id) == (
        "assigned",
        cast.departments["cg"].id,
    )
    async with sessions() as session:
        part = (await session.exec(select(TicketPart).where(TicketPart.role == "lead"))).one()
        callback = (await session.exec(select(TicketCallback))).one()
    assert part.state == "assigned" and part.accepted_at is None
    assert callback.department_id == cast.departments["cg"].id


async def _patrol_resolved(sessions, policy, cast) -> int:
    """A hazard worker 甲 found on patrol, mended and resolved."""
    worker = cast["worker-g1"]
    async with sessions() as session:
        ticket = await submit_complaint(
            session,
            policy,
            resident=worker,
            text="巡查发现幸福路井盖丢了",
            category="城乡建设",
            area_id=cast.areas["g1"].id,
            source="patrol",
        )
        await session.commit()
    await _move(sessions, policy, handling.accept_ticket, ticket_id=ticket.id, actor=worker)
    await _move(
        sessions, policy, handling.resolve_ticket, ticket_id=ticket.id, actor=worker, reply="已补装"
    )
    return ticket.id


async def test_a_patrol_hazard_has_no_resident_to_call_back_and_closes(sessions, policy, cast):
    ticket_id = await _patrol_resolved(sessions, policy, cast)
    await _move(
        sessions, policy, handling.close_ticket, ticket_id=ticket_id, actor=cast["staff-c1"]
    )
    assert (await reloaded(sessions, ticket_id)).state == "closed"


async def test_a_patrol_hazard_closed_by_the_clock_is_not_unvisited(sessions, policy, clock, cast):
    ticket_id = await _patrol_resolved(sessions, policy, cast)
    clock.advance(timedelta(days=8))
    assert ("auto_close", ticket_id) in await run_sweep(sessions, policy)
    ticket = await reloaded(sessions, ticket_id)
    assert (ticket.state, ticket.unvisited) == ("closed", False)
