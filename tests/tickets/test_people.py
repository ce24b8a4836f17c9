"""Invite codes, roles, and the work lists each role sees."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.models import Ticket
from tests.factories import cast_in, new_ticket
from tickets.errors import NotFound, PermissionDenied, RuleViolation
from tickets.lifecycle import Role
from tickets.people import create_invite, redeem_invite, register_person
from tickets.queries import find_ticket, open_tasks, tickets_of_resident, triage_queue


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def _newcomer(session, policy, name: str = "newcomer"):
    return await register_person(
        session, policy, channel="telegram", channel_user_id=name, chat_id=name
    )


async def test_an_invite_makes_a_worker_of_the_grid_once(sessions, policy, cast):
    async with sessions() as session:
        invite = await create_invite(session, policy, staff=cast["staff-c1"], area=cast.areas["g2"])
        person = await _newcomer(session, policy)
        joined = await redeem_invite(session, policy, person=person, code=invite.code.lower())
        assert (joined.role, joined.area_id) == (Role.WORKER, cast.areas["g2"].id)
        other = await _newcomer(session, policy, "second")
        with pytest.raises(RuleViolation, match="already been used"):
            await redeem_invite(session, policy, person=other, code=invite.code)
        with pytest.raises(NotFound, match="unknown invite code"):
            await redeem_invite(session, policy, person=other, code="NOPE1234")


async def test_an_invite_expires(sessions, policy, clock, cast):
    async with sessions() as session:
        invite = await create_invite(session, policy, staff=cast["staff-c1"], area=cast.areas["g1"])
        clock.advance(timedelta(days=policy.invite_valid_days, seconds=1))
        with pytest.raises(RuleViolation, match="expired"):
            await redeem_invite(
                session, policy, person=await _newcomer(session, policy), code=invite.code
            )


@pytest.mark.parametrize(
    ("inviter", "area", "error"),
    [("staff-c1", "g3", PermissionDenied), ("worker-g1", "g1", PermissionDenied)],
)
async def test_invites_stay_inside_ones_own_area(sessions, policy, cast, inviter, area, error):
    async with sessions() as session:
        with pytest.raises(error):
            await create_invite(session, policy, staff=cast[inviter], area=cast.areas[area])


async def test_each_role_sees_its_own_lists(sessions, policy, cast):
    mine = await new_ticket(sessions, policy, cast["resident"])
    unclassified = await new_ticket(sessions, policy, cast["resident2"], category=None)
    elsewhere = await new_ticket(sessions, policy, cast["resident3"])
    async with sessions() as session:
        assert [t.id for t in await tickets_of_resident(session, cast["resident"])] == [mine]
        assert [t.id for t in await open_tasks(session, cast["worker-g1"])] == [mine]
        assert [t.id for t in await triage_queue(session, cast["staff-c1"])] == [unclassified]
        assert [t.id for t in await triage_queue(session, cast["staff-s2"])] == []
        with pytest.raises(PermissionDenied):
            await triage_queue(session, cast["worker-g1"])
        number = (await session.get(Ticket, elsewhere)).number
        assert (await find_ticket(session, cast["admin"], number)).id == elsewhere
        # To a resident someone else's ticket does not exist; staff are told it is not theirs.
        with pytest.raises(NotFound):
            await find_ticket(session, cast["resident"], number)
        with pytest.raises(PermissionDenied):
            await find_ticket(session, cast["staff-c1"], number)
        assert (await find_ticket(session, cast["staff-s2"], number)).id == elsewhere


async def test_overdue_tasks_come_first(sessions, policy, clock, cast):
    normal = await new_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(minutes=1))
    emergency = await new_ticket(sessions, policy, cast["resident"], urgency="emergency")
    async with sessions() as session:
        order = [t.id for t in await open_tasks(session, cast["worker-g1"])]
        assert order == [emergency, normal]  # 15 minutes left beats a working day
