"""吹哨报到 in the domain: a worker summons departments on site, each reports (报到) on its
report clock; a late one is reminded, escalated to the street and counted late."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import Department, Ticket, TicketEvent, TicketPart
from tests.factories import cast_in, new_ticket, reloaded
from tickets import handling, whistle
from tickets.errors import InvalidInput, PermissionDenied, RuleViolation
from tickets.part_sweeps import sweep_parts
from tickets.permissions import in_scope, works_on
from tickets.sla import Duration, SlaPolicy
from tickets.summons_sweeps import sweep_summonses


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def _move(sessions, policy, function, **arguments):
    async with sessions() as session:
        try:
            moved = await function(session, policy, **arguments)
            await session.commit()
            return moved
        except BaseException:
            await session.rollback()
            raise


async def _accepted(sessions, policy, cast, **ticket) -> int:
    """A ticket in 幸福社区第一网格 that 网格员甲 accepted."""
    ticket_id = await new_ticket(sessions, policy, cast["resident"], **ticket)
    await _move(
        sessions, policy, handling.accept_ticket, ticket_id=ticket_id, actor=cast["worker-g1"]
    )
    return ticket_id


async def _whistle(sessions, policy, cast, ticket_id, *codes, actor="worker-g1", note=None):
    return await _move(
        sessions,
        policy,
        whistle.whistle,
        ticket_id=ticket_id,
        actor=cast[actor],
        department_ids=[cast.departments[code].id for code in codes],
        note=note,
    )


async def _summonses(sessions, ticket_id) -> dict[str, TicketPart]:
    async with sessions() as session:
        query = select(TicketPart, Department.code).join(
            Department, Department.id == TicketPart.department_id
        )
        rows = (await session.exec(query.where(TicketPart.ticket_id == ticket_id))).all()
    return {code: part for part, code in sorted(rows, key=lambda row: row[0].id)}


async def _sweep(sessions, policy):
    async with sessions() as session:
        fired = await sweep_summonses(session, policy)
        await session.commit()
    return [(event.kind, event.department_id) for event in fired], fired


async def test_a_whistle_summons_each_department_on_its_report_clock(sessions, policy, clock, cast):
    ticket_id = await _accepted(sessions, policy, cast)
    before = await reloaded(sessions, ticket_id)
    moved = await _whistle(
        sessions, policy, cast, ticket_id, "cg", "zj", note="占道施工，需现场协调"
    )
    assert moved.event.action == "whistle" and moved.event.note == "占道施工，需现场协调"
    # The ticket stays with the worker as it was: state and version (its buttons stay good).
    after = await reloaded(sessions, ticket_id)
    assert (after.state, after.version, after.assignee_id) == (
        "accepted",
        before.version,
        cast["worker-g1"].id,
    )
    parts = await _summonses(sessions, ticket_id)
    assert set(parts) == {"cg", "zj"}
    due = policy.sla.due_report(clock.now(), "normal", "城乡建设", policy.calendar)
    assert due == policy.calendar.add_working_days(clock.now(), 1)
    for part in parts.values():
        assert (part.role, part.state, part.due_report_at) == ("summoned", "summoned", due)
        assert part.created_by_id == cast["worker-g1"].id and part.note == "占道施工，需现场协调"
        assert part.remind_at < due and part.next_due_at == part.remind_at
    # The summoned departments now see the ticket; one not summoned does not.
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert await in_scope(session, cast["dept-zj"], ticket)
        assert not await in_scope(session, cast["dept-sw"], ticket)


async def test_an_emergency_summons_must_report_within_30_minutes(sessions, policy, clock, cast):
    ticket_id = await _accepted(sessions, policy, cast, urgency="emergency")
    await _whistle(sessions, policy, cast, ticket_id, "cg")
    part = (await _summonses(sessions, ticket_id))["cg"]
    assert part.due_report_at == clock.now() + timedelta(minutes=30)
    configured = SlaPolicy(
        report={"emergency": "1h", "urgent": "2h", "normal": "2wd"},
        categories={"城乡建设": {"report": {"normal": "4h"}}},
    )
    assert configured.limit("report", "emergency", None) == Duration.parse("1h")
    assert configured.limit("report", "normal", "城乡建设") == Duration.parse("4h")
    with pytest.raises(ValueError):
        SlaPolicy(report={"emergency": "soon", "urgent": "1wd", "normal": "1wd"})


async def test_one_reports_in_time_the_other_is_reminded_escalated_and_counted_late(
    sessions, policy, clock, cast
):
    ticket_id = await _accepted(sessions, policy, cast)
    await _whistle(sessions, policy, cast, ticket_id, "cg", "zj")
    parts = await _summonses(sessions, ticket_id)
    clock.advance(timedelta(hours=1))
    moved = await _move(
        sessions, policy, whistle.report_arrival, part_id=parts["cg"].id, actor=cast["dept-cg"]
    )
    assert moved.event.action == "report_arrival" and moved.event.data["in_time"] is True
    cg = (await _summonses(sessions, ticket_id))["cg"]
    assert (cg.state, cg.reported_at, cg.reported_in_time) == ("reported", clock.now(), True)
    assert cg.next_due_at is None

    clock.set(parts["zj"].remind_at)
    fired, _ = await _sweep(sessions, policy)
    assert fired == [("remind_report", cast.departments["zj"].id)]
    assert (await _sweep(sessions, policy))[0] == []  # once
    clock.set(parts["zj"].due_report_at + timedelta(minutes=1))
    fired, events = await _sweep(sessions, policy)
    assert fired == [("escalate_report", cast.departments["zj"].id)]
    assert events[0].street_area_id == cast.areas["s1"].id
    assert events[0].whistled_by_id == cast["worker-g1"].id
    assert (await _sweep(sessions, policy))[0] == []
    zj = (await _summonses(sessions, ticket_id))["zj"]
    assert (zj.state, zj.reported_in_time, zj.next_due_at) == ("summoned", False, None)
    async with sessions() as session:
        escalation = (
            await session.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == ticket_id, TicketEvent.action == "escalate_overdue"
                )
            )
        ).one()
    assert escalation.data["clock"] == "report"
    assert escalation.data["to_area_id"] == cast.areas["s1"].id

    # Arriving after all: recorded, and still late.
    await _move(
        sessions, policy, whistle.report_arrival, part_id=parts["zj"].id, actor=cast["dept-zj"]
    )
    zj = (await _summonses(sessions, ticket_id))["zj"]
    assert (zj.state, zj.reported_in_time) == ("reported", False)
    async with sessions() as session:
        counts = {c.name: c for c in await whistle.summons_counts(session)}
    assert (counts["城管执法局"].summoned, counts["城管执法局"].in_time) == (1, 1)
    assert (counts["住建局"].summoned, counts["住建局"].late, counts["住建局"].in_time) == (1, 1, 0)
    assert "水务公司" not in counts


async def test_who_may_whistle_and_report(sessions, policy, cast):
    ticket_id = await _accepted(sessions, policy, cast)
    for outsider in ("worker-g2", "dept-cg", "staff-s2", "resident"):
        with pytest.raises(PermissionDenied):
            await _whistle(sessions, policy, cast, ticket_id, "cg", actor=outsider)
    with pytest.raises(InvalidInput) as refused:
        await _whistle(sessions, policy, cast, ticket_id)
    assert refused.value.params["reason"] == "no_departments"
    # Community staff may whistle too.
    moved = await _whistle(sessions, policy, cast, ticket_id, "cg", actor="staff-c1")
    part = moved.parts[0]
    with pytest.raises(RuleViolation) as refused:
        await _whistle(sessions, policy, cast, ticket_id, "cg", "zj")
    assert refused.value.params["reason"] == "already_summoned"
    for other in ("dept-zj", "worker-g1"):
        with pytest.raises(PermissionDenied):
            await _move(
                sessions, policy, whistle.report_arrival, part_id=part.id, actor=cast[other]
            )
    await _move(sessions, policy, whistle.report_arrival, part_id=part.id, actor=cast["dept-cg"])
    with pytest.raises(RuleViolation) as refused:
        await _move(
            sessions, policy, whistle.report_arrival, part_id=part.id, actor=cast["dept-cg"]
        )
    assert refused.value.params["reason"] == "already_reported"
    # Reported, it may be summoned again.
    await _whistle(sessions, policy, cast, ticket_id, "cg")
    # 水务公司 serves 东城街道 only: a ticket in 西湖街道 is not for it.
    far = await new_ticket(sessions, policy, cast["resident3"])
    with pytest.raises(InvalidInput) as refused:
        await _whistle(sessions, policy, cast, far, "sw", actor="worker-g3")
    assert refused.value.params["reason"] == "not_serving"


async def test_the_choices_put_the_category_tables_suggestions_first(sessions, policy, cast):
    ticket_id = await _accepted(sessions, policy, cast)  # 城乡建设 → 住建局
    async with sessions() as session:
        choices = await whistle.whistle_choices(session, await session.get(Ticket, ticket_id))
    assert [(d.code, suggested) for d, suggested in choices] == [
        ("zj", True),
        ("cg", False),
        ("sw", False),
    ]


async def test_the_summons_clock_is_its_own_and_stops_with_the_ticket(
    sessions, policy, clock, cast
):
    ticket_id = await _accepted(sessions, policy, cast)
    await _whistle(sessions, policy, cast, ticket_id, "cg")
    part = (await _summonses(sessions, ticket_id))["cg"]
    clock.set(part.due_report_at + timedelta(minutes=1))
    # The departments' dispatch sweep leaves summonses alone.
    async with sessions() as session:
        assert await sweep_parts(session, policy) == []
        await session.commit()
    assert (await _summonses(sessions, ticket_id))["cg"].next_due_at == part.remind_at
    await _move(
        sessions,
        policy,
        handling.resolve_ticket,
        ticket_id=ticket_id,
        actor=cast["worker-g1"],
        reply="已处理",
    )
    assert (await _sweep(sessions, policy))[0] == []
    stopped = (await _summonses(sessions, ticket_id))["cg"]
    assert (stopped.next_due_at, stopped.reported_in_time) == (None, None)
    async with sessions() as session:
        (count,) = await whistle.summons_counts(session)
    # Summoned, but neither in time, late nor waiting: the ticket was done before it was due.
    assert (count.summoned, count.in_time, count.late, count.waiting) == (1, 0, 0, 0)


async def test_a_summoned_department_works_on_the_ticket_until_it_is_done(sessions, policy, cast):
    ticket_id = await _accepted(sessions, policy, cast)
    await _whistle(sessions, policy, cast, ticket_id, "cg")

    async def works(code: str) -> bool:
        async with sessions() as session:
            return await works_on(session, cast[code], await session.get(Ticket, ticket_id))

    assert await works("dept-cg") and not await works("dept-zj")
    part = (await _summonses(sessions, ticket_id))["cg"]
    await _move(sessions, policy, whistle.report_arrival, part_id=part.id, actor=cast["dept-cg"])
    assert await works("dept-cg")  # on site
    await _move(
        sessions,
        policy,
        handling.resolve_ticket,
        ticket_id=ticket_id,
        actor=cast["worker-g1"],
        reply="已处理",
    )
    assert not await works("dept-cg")  # its history only, not the resident's data
