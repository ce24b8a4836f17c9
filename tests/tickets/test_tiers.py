"""Tiers (分级): the classifier's proposal, staff setting a tier and its 包案 leader, and the
clocks the tier sets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import TicketEvent
from tests.factories import cast_in, new_ticket, reloaded, run_sweep
from tickets import departments, handling
from tickets.errors import IllegalTransition, InvalidInput, RuleViolation
from tickets.lifecycle import Action
from tickets.report import build_report
from tickets.sla import SlaPolicy
from tickets.stats import Period, three_rates_by
from tickets.sweeps import sweep
from tickets.tiers import Tier, propose_tier


@pytest.mark.parametrize(
    ("text", "urgency", "tier", "reason"),
    [
        ("楼下着火了，浓烟很大", "emergency", Tier.SIMPLE, "emergency"),
        ("整栋楼停水一天了", "urgent", Tier.SIMPLE, "urgent"),
        ("小区门口的路灯坏了，晚上很黑", "normal", Tier.SIMPLE, "repair"),
        ("路边违建，城管说归住建管，住建说归城管", "normal", Tier.COMPLEX, "agencies"),
        ("排水问题找过城管、水务和住建，都说不归自己", "normal", Tier.MAJOR, "agencies"),
        ("小区没有产权证的问题多年没有解决", "normal", Tier.LEGACY, "history"),
        ("希望社区多组织一些老年人活动", "normal", Tier.GENERAL, "plain"),
    ],
)
def test_the_proposal_says_which_rule_and_words(text, urgency, tier, reason):
    proposal = propose_tier(text, urgency)
    assert (proposal.tier, proposal.reason) == (tier, reason)
    if reason in ("agencies", "history", "repair"):
        assert proposal.words and all(isinstance(word, str) for word in proposal.words)


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def _move(sessions, policy, move, **arguments):
    async with sessions() as session:
        moved = await move(session, policy, **arguments)
        await session.commit()
        return moved


async def test_a_complex_tier_gives_the_running_resolve_clock_its_limit(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])  # routed to worker-g1
    await _move(
        sessions, policy, handling.accept_ticket, ticket_id=ticket_id, actor=cast["worker-g1"]
    )
    before = await reloaded(sessions, ticket_id)
    clock.advance(timedelta(hours=1))
    moved = await _move(
        sessions,
        policy,
        handling.set_tier,
        ticket_id=ticket_id,
        actor=cast["staff-c1"],
        tier="complex",
    )
    after = await reloaded(sessions, ticket_id)
    # 5 working days from assignment became 10 (SlaPolicy's default for 复杂), still from then.
    expected = policy.calendar.add_working_days(before.assigned_at, 10)
    assert before.due_resolve_at == policy.calendar.add_working_days(before.assigned_at, 5)
    assert (after.tier, after.due_resolve_at, after.escalate_at) == ("complex", expected, expected)
    assert after.state == "accepted" and after.leader_id is None
    assert moved.event.action == Action.SET_TIER
    assert moved.event.data["tier"] == "complex" and moved.event.data["previous_tier"] is None


async def test_a_legacy_ticket_needs_an_eligible_leader(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    staff = cast["staff-c1"]
    with pytest.raises(RuleViolation) as refused:
        await _move(
            sessions, policy, handling.set_tier, ticket_id=ticket_id, actor=staff, tier="legacy"
        )
    assert refused.value.params["reason"] == "leader_required"
    with pytest.raises(InvalidInput):  # staff of another street answer for nothing here
        await _move(
            sessions,
            policy,
            handling.set_tier,
            ticket_id=ticket_id,
            actor=staff,
            tier="legacy",
            leader_id=cast["staff-s2"].id,
        )
    assert (await reloaded(sessions, ticket_id)).tier is None
    await _move(
        sessions,
        policy,
        handling.set_tier,
        ticket_id=ticket_id,
        actor=staff,
        tier="legacy",
        leader_id=cast["staff-s1"].id,
    )
    ticket = await reloaded(sessions, ticket_id)
    assert (ticket.tier, ticket.leader_id) == ("legacy", cast["staff-s1"].id)
    # A simpler tier later: nobody answers for it any more.
    await _move(
        sessions, policy, handling.set_tier, ticket_id=ticket_id, actor=staff, tier="general"
    )
    assert (await reloaded(sessions, ticket_id)).leader_id is None


async def test_only_staff_set_tiers_and_only_on_open_tickets(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    with pytest.raises(Exception) as refused:
        await _move(
            sessions,
            policy,
            handling.set_tier,
            ticket_id=ticket_id,
            actor=cast["worker-g1"],
            tier="simple",
        )
    assert "may not" in str(refused.value)
    with pytest.raises(InvalidInput):
        await _move(
            sessions,
            policy,
            handling.set_tier,
            ticket_id=ticket_id,
            actor=cast["staff-c1"],
            tier="huge",
        )
    await _move(
        sessions, policy, handling.cancel_ticket, ticket_id=ticket_id, actor=cast["resident"]
    )
    with pytest.raises(IllegalTransition):
        await _move(
            sessions,
            policy,
            handling.set_tier,
            ticket_id=ticket_id,
            actor=cast["staff-c1"],
            tier="simple",
        )


def test_tier_limits_are_configuration_and_win_over_the_category():
    sla = SlaPolicy(
        categories={"城乡建设": {"resolve": {"normal": "7wd"}}},
        tiers={"complex": {"resolve": {"normal": "12wd"}}},
    )
    assert str(sla.limit("resolve", "normal", "城乡建设")) == "7wd"
    assert str(sla.limit("resolve", "normal", "城乡建设", "complex")) == "12wd"
    assert str(sla.limit("resolve", "normal", "城乡建设", "simple")) == "7wd"  # no 简单 override
    assert str(sla.limit("resolve", "emergency", None, "legacy")) == "24h"
    with pytest.raises(ValueError, match="unknown tiers"):
        SlaPolicy(tiers={"huge": {"resolve": {"normal": "1wd"}}})


async def test_the_leader_rides_on_the_clock_events(sessions, policy, clock, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    leader = cast["staff-s1"]
    await _move(
        sessions,
        policy,
        handling.set_tier,
        ticket_id=ticket_id,
        actor=cast["staff-c1"],
        tier="major",
        leader_id=leader.id,
    )
    clock.advance(timedelta(days=3))  # the accept clock has run out
    async with sessions() as session:
        fired = await sweep(session, policy)
        await session.commit()
    assert [(event.kind, event.leader_id) for event in fired] == [("escalate_accept", leader.id)]


async def test_three_rates_per_tier_and_unvisited(sessions, policy, clock, cast):
    """A 简单 ticket rated by its resident, a 复杂 one auto-closed without a 回访, one untiered."""
    worker, staff = cast["worker-g1"], cast["staff-c1"]
    rated, unvisited, _untiered = [
        await new_ticket(sessions, policy, cast["resident"]) for _ in range(3)
    ]
    for ticket_id, tier in ((rated, "simple"), (unvisited, "complex")):
        await _move(
            sessions, policy, handling.set_tier, ticket_id=ticket_id, actor=staff, tier=tier
        )
        await _move(sessions, policy, handling.accept_ticket, ticket_id=ticket_id, actor=worker)
        await _move(
            sessions,
            policy,
            handling.resolve_ticket,
            ticket_id=ticket_id,
            actor=worker,
            reply="好了",
        )
    await _move(
        sessions,
        policy,
        handling.answer_callback,
        ticket_id=rated,
        actor=cast["resident"],
        solved=True,
        satisfaction="satisfied",
    )
    clock.advance(timedelta(days=8))
    assert ("auto_close", unvisited) in await run_sweep(sessions, policy)
    assert (await reloaded(sessions, unvisited)).unvisited is True
    async with sessions() as session:
        by_tier = await three_rates_by(session, "tier")
        report = await build_report(
            session, area=None, period=Period(), now=clock.now(), by_tier=True
        )
    assert (by_tier["simple"].callbacks, by_tier["simple"].satisfied) == (1, 1)
    assert (by_tier["complex"].callbacks, by_tier["complex"].unvisited) == (0, 1)
    assert [tier for tier, _rates in report.tiers] == ["simple", "complex", None]
    assert report.rates.unvisited == 1 and report.rates.callbacks == 1


async def test_setting_a_tier_is_on_the_timeline(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    await _move(
        sessions,
        policy,
        handling.set_tier,
        ticket_id=ticket_id,
        actor=cast["staff-c1"],
        tier="simple",
    )
    with pytest.raises(RuleViolation):  # the same again is a mistake, said so
        await _move(
            sessions,
            policy,
            handling.set_tier,
            ticket_id=ticket_id,
            actor=cast["staff-c1"],
            tier="simple",
        )
    async with sessions() as session:
        actions = (
            await session.exec(select(TicketEvent.action).where(TicketEvent.ticket_id == ticket_id))
        ).all()
    assert actions.count(Action.SET_TIER) == 1


async def test_a_tier_on_a_ticket_departments_hold_leaves_its_own_clocks_quiet(
    sessions, policy, cast
):
    """党委派单: the parts' clocks remind and escalate; a tier moves the ticket's deadline only."""
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    worker = cast["worker-g1"]
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
    before = await reloaded(sessions, ticket_id)
    await _move(
        sessions,
        policy,
        handling.set_tier,
        ticket_id=ticket_id,
        actor=cast["staff-s1"],
        tier="complex",
    )
    after = await reloaded(sessions, ticket_id)
    assert before.next_due_at is None and after.next_due_at is None
    assert (after.remind_at, after.escalate_at) == (None, None)
    assert after.due_resolve_at > before.due_resolve_at


async def test_a_tier_repeats_neither_a_reminder_nor_an_escalation(sessions, policy, clock, cast):
    """复杂 moves the resolve limit only: the running accept clock's deadline stays, and so do
    its reminder (already sent) and its escalation (already made)."""
    ticket_id = await new_ticket(sessions, policy, cast["resident"])  # the accept clock runs
    ticket = await reloaded(sessions, ticket_id)
    staff = {"ticket_id": ticket_id, "actor": cast["staff-c1"]}
    clock.set(ticket.remind_at)
    assert await run_sweep(sessions, policy) == [("remind_accept", ticket_id)]
    await _move(sessions, policy, handling.set_tier, **staff, tier="complex")
    assert (await reloaded(sessions, ticket_id)).due_accept_at == ticket.due_accept_at
    assert await run_sweep(sessions, policy) == []  # reminded once
    clock.set(ticket.due_accept_at)
    assert await run_sweep(sessions, policy) == [("escalate_accept", ticket_id)]
    escalated = await reloaded(sessions, ticket_id)
    await _move(sessions, policy, handling.set_tier, **staff, tier="general")
    after = await reloaded(sessions, ticket_id)
    assert (after.escalate_at, after.handling_area_id) == (
        escalated.escalate_at,
        escalated.handling_area_id,
    )
    assert await run_sweep(sessions, policy) == []  # the next rung is a window away, as it was


async def test_a_tier_that_brings_a_deadline_into_the_past_escalates_once(
    sessions, policy, clock, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    worker = cast["worker-g1"]
    await _move(sessions, policy, handling.accept_ticket, ticket_id=ticket_id, actor=worker)
    clock.advance(timedelta(days=3))  # Thursday: 简单's 2 working days have passed, 5 have not
    await _move(
        sessions,
        policy,
        handling.set_tier,
        ticket_id=ticket_id,
        actor=cast["staff-c1"],
        tier="simple",
    )
    ticket = await reloaded(sessions, ticket_id)
    assert ticket.due_resolve_at == policy.calendar.add_working_days(ticket.assigned_at, 2)
    assert await run_sweep(sessions, policy) == [("escalate_resolve", ticket_id)]
    assert await run_sweep(sessions, policy) == []
