"""The domain's new moves: 催办 once per working day, 督办 with a note, 上报 from triage, the
second level of a category; tickets per source in the report; the working day a moment counts
for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from storage.models import TicketEvent
from tests.factories import cast_in, new_ticket
from tickets import handling
from tickets.calendar import WorkingCalendar
from tickets.categories import CATEGORIES, SUBCATEGORIES
from tickets.errors import IllegalTransition, InvalidInput, PermissionDenied, RuleViolation
from tickets.intake import submit_complaint
from tickets.report import build_report
from tickets.stats import Period


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


def test_a_moment_counts_for_its_working_day():
    calendar = WorkingCalendar.build(holidays=[date(2026, 11, 25)])  # a Wednesday off
    at = lambda day, hour: datetime(2026, 11, day, hour, tzinfo=UTC)  # noqa: E731
    assert calendar.working_day_of(at(23, 2)) == date(2026, 11, 23)  # Monday is Monday
    assert calendar.working_day_of(at(23, 17)) == date(2026, 11, 24)  # 01:00 Tuesday local
    assert calendar.working_day_of(at(25, 2)) == date(2026, 11, 26)  # the holiday: Thursday
    assert calendar.working_day_of(at(28, 2)) == date(2026, 11, 30)  # Saturday: Monday


async def test_an_urge_a_working_day_and_only_the_residents_own(sessions, policy, clock, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    urge = {"ticket_id": ticket_id, "actor": cast["resident"]}
    moved = await _move(sessions, policy, handling.urge_ticket, **urge)
    assert (moved.event.action, moved.event.data, moved.ticket.version) == ("urge", {"count": 1}, 1)
    clock.advance(timedelta(hours=7))  # 17:00, still Monday
    with pytest.raises(RuleViolation) as refused:
        await _move(sessions, policy, handling.urge_ticket, **urge)
    assert refused.value.params["reason"] == "urged_today"
    assert refused.value.params["next_day"] == "2026-11-24"
    clock.advance(timedelta(hours=8))  # 01:00 Tuesday
    assert (await _move(sessions, policy, handling.urge_ticket, **urge)).event.data == {"count": 2}
    for outsider in ("resident2", "worker-g1", "staff-c1"):
        with pytest.raises(PermissionDenied):
            urge_other = urge | {"actor": cast[outsider]}
            clock.advance(timedelta(days=1))
            await _move(sessions, policy, handling.urge_ticket, **urge_other)
    await _move(sessions, policy, handling.cancel_ticket, **urge)
    clock.advance(timedelta(days=1))
    with pytest.raises(IllegalTransition):
        await _move(sessions, policy, handling.urge_ticket, **urge)


async def test_supervision_needs_a_note_and_a_worker(sessions, policy, cast):
    assigned = await new_ticket(sessions, policy, cast["resident"])
    triage = await new_ticket(sessions, policy, cast["resident"], category=None)
    staff = cast["staff-c1"]
    with pytest.raises(InvalidInput):
        await _move(
            sessions, policy, handling.supervise_ticket, ticket_id=assigned, actor=staff, note=" "
        )
    with pytest.raises(IllegalTransition):  # nobody to press yet
        await _move(
            sessions, policy, handling.supervise_ticket, ticket_id=triage, actor=staff, note="快"
        )
    for note, count in (("尽快", 1), ("再催", 2)):
        moved = await _move(
            sessions, policy, handling.supervise_ticket, ticket_id=assigned, actor=staff, note=note
        )
        assert moved.event.note == note and moved.event.data["count"] == count
    with pytest.raises(PermissionDenied):
        await _move(
            sessions,
            policy,
            handling.supervise_ticket,
            ticket_id=assigned,
            actor=cast["worker-g1"],
            note="自己督办自己",
        )


async def test_staff_escalate_a_ticket_waiting_in_their_triage(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"], category=None)
    moved = await _move(
        sessions,
        policy,
        handling.escalate_ticket,
        ticket_id=ticket_id,
        actor=cast["staff-c1"],
        reason="跨社区",
    )
    assert moved.ticket.state == "submitted" and moved.ticket.handling_level == "street"
    assert moved.ticket.handling_area_id == cast.areas["s1"].id


async def test_a_category_is_corrected_at_both_levels(sessions, policy, cast):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    staff = cast["staff-c1"]
    recategorise = {"ticket_id": ticket_id, "actor": staff, "category": "城乡建设"}
    moved = await _move(
        sessions, policy, handling.recategorise_ticket, **recategorise, subcategory="安全生产"
    )
    assert (moved.ticket.category, moved.ticket.subcategory) == ("城乡建设", "安全生产")
    assert moved.event.data["old_subcategory"] is None
    with pytest.raises(RuleViolation):  # the same again
        await _move(
            sessions, policy, handling.recategorise_ticket, **recategorise, subcategory="安全生产"
        )
    with pytest.raises(InvalidInput) as refused:  # a second level of another first level
        await _move(
            sessions, policy, handling.recategorise_ticket, **recategorise, subcategory="社会救助"
        )
    assert refused.value.params["reason"] == "unknown_subcategory"
    async with sessions() as session:
        actions = (await session.exec(select(TicketEvent.action))).all()
    assert actions.count("recategorise") == 1


def test_every_first_level_has_its_second_levels():
    assert set(SUBCATEGORIES) == set(CATEGORIES)
    assert all(subs and subs[-1] == "其他" for subs in SUBCATEGORIES.values())


async def test_the_report_counts_tickets_per_source(sessions, policy, clock, cast):
    await new_ticket(sessions, policy, cast["resident"])
    for source in ("patrol", "patrol", "on_behalf"):
        async with sessions() as session:
            await submit_complaint(
                session, policy, resident=cast["worker-g1"], text="井盖丢了", source=source
            )
            await session.commit()
    await new_ticket(sessions, policy, cast["resident3"])  # another street's
    async with sessions() as session:
        street = build_report(
            session, area=cast.areas["s1"], period=Period(), now=clock.now(), by_source=True
        )
        assert (await street).sources == (("patrol", 2), ("on_behalf", 1), ("resident_chat", 1))
        plain = await build_report(session, area=None, period=Period(), now=clock.now())
        assert plain.sources == ()
