"""重复诉求: which open ticket a complaint duplicates, following it, and honest counting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.models import Ticket
from tests.factories import cast_in
from tickets import handling
from tickets.duplicates import (
    find_similar,
    follow_ticket,
    metres_apart,
    shared_keywords,
    similar_to_ticket,
)
from tickets.errors import NotFound, RuleViolation
from tickets.intake import submit_complaint
from tickets.recipients import residents_of
from tickets.report import build_report
from tickets.stats import Period

LAMP = "小区路灯坏了一个月，晚上很黑"
LAMP_WORDS = ["路灯", "坏了", "很黑"]


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def open_ticket(sessions, policy, resident, *, keywords=LAMP_WORDS, **options) -> Ticket:
    options.setdefault("category", "城乡建设")
    async with sessions() as session:
        ticket = await submit_complaint(
            session, policy, resident=resident, text=LAMP, keywords=keywords, **options
        )
        await session.commit()
        return ticket


async def similar(sessions, policy, area, **options):
    options.setdefault("category", "城乡建设")
    options.setdefault("keywords", ["路灯", "很黑", "门口"])
    async with sessions() as session:
        return await find_similar(session, area_id=area.id, at=policy.clock.now(), **options)


def test_keywords_shared_are_two_or_all_of_the_fewer():
    assert shared_keywords(["路灯", "很黑", "门口"], ["很黑", "路灯"]) == ("路灯", "很黑")
    assert shared_keywords(["路灯", "门口"], ["路灯", "很黑"]) == ()  # one of two each
    assert shared_keywords(["噪音"], ["噪音", "广场舞"]) == ("噪音",)  # all of the one
    assert shared_keywords([], ["噪音"]) == ()
    assert shared_keywords(["噪音", "噪音", "晚上"], ["噪音"]) == ("噪音",)


def test_metres_apart_is_the_great_circle():
    assert metres_apart(30.0, 120.0, 30.0, 120.0) == 0
    # 0.01° of latitude is about 1,112 m anywhere.
    assert metres_apart(30.0, 120.0, 30.01, 120.0) == pytest.approx(1112, rel=0.01)


async def test_an_open_ticket_of_the_same_community_and_category_is_found(sessions, policy, cast):
    original = await open_ticket(sessions, policy, cast["resident"])  # grid g1
    found = await similar(sessions, policy, cast.areas["g2"])  # the other grid of c1
    assert found is not None and found.id == original.id and found.number == original.number
    assert found.shared == ("路灯", "很黑")
    assert await similar(sessions, policy, cast.areas["c1"]) == found  # the community itself


async def test_other_words_another_category_or_none_match_nothing(sessions, policy, cast):
    await open_ticket(sessions, policy, cast["resident"])
    g1 = cast.areas["g1"]
    assert await similar(sessions, policy, g1, keywords=["噪音", "晚上"]) is None
    assert await similar(sessions, policy, g1, category="环境保护") is None
    assert await similar(sessions, policy, g1, category=None) is None
    assert await similar(sessions, policy, g1, keywords=[]) is None


async def test_a_ticket_without_keywords_shares_none(sessions, policy, cast):
    await open_ticket(sessions, policy, cast["resident"], keywords=[])
    assert await similar(sessions, policy, cast.areas["g1"]) is None


async def test_another_community_is_not_matched(sessions, policy, cast):
    await open_ticket(sessions, policy, cast["resident3"])  # g3, 阳光社区
    assert await similar(sessions, policy, cast.areas["g1"]) is None
    assert await similar(sessions, policy, cast.areas["g3"]) is not None


async def test_only_the_last_30_days_count(sessions, policy, clock, cast):
    await open_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(days=29, hours=23))
    assert await similar(sessions, policy, cast.areas["g1"]) is not None
    clock.advance(timedelta(hours=2))
    assert await similar(sessions, policy, cast.areas["g1"]) is None


@pytest.mark.parametrize(
    ("move", "actor", "arguments"),
    [
        (handling.cancel_ticket, "resident", {}),
        (handling.resolve_ticket, "worker-g1", {"reply": "已修好"}),
    ],
)
async def test_closed_cancelled_and_resolved_tickets_are_not_matched(
    sessions, policy, cast, move, actor, arguments
):
    ticket = await open_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        if move is handling.resolve_ticket:
            await handling.accept_ticket(
                session, policy, ticket_id=ticket.id, actor=cast["worker-g1"]
            )
        await move(session, policy, ticket_id=ticket.id, actor=cast[actor], **arguments)
        await session.commit()
    assert await similar(sessions, policy, cast.areas["g1"]) is None


async def test_a_merged_ticket_is_not_matched(sessions, policy, cast):
    original = await open_ticket(sessions, policy, cast["resident"])
    duplicate = await open_ticket(sessions, policy, cast["resident2"])
    async with sessions() as session:
        await handling.merge_ticket(
            session, policy, ticket_id=original.id, actor=cast["staff-c1"], original_id=duplicate.id
        )
        await session.commit()
    assert (await similar(sessions, policy, cast.areas["g1"])).id == duplicate.id


async def test_locations_far_apart_are_different_problems(sessions, policy, cast):
    await open_ticket(sessions, policy, cast["resident"], latitude=30.0, longitude=120.0)
    g1 = cast.areas["g1"]
    assert await similar(sessions, policy, g1, latitude=30.02, longitude=120.0) is None
    near = await similar(sessions, policy, g1, latitude=30.001, longitude=120.0)
    assert near is not None and near.metres == pytest.approx(111, rel=0.02)
    assert await similar(sessions, policy, g1) is not None  # no location of its own: it may be


async def test_the_best_shares_most_then_is_newest(sessions, policy, clock, cast):
    two = await open_ticket(sessions, policy, cast["resident"], keywords=["路灯", "很黑"])
    clock.advance(timedelta(hours=1))
    await open_ticket(sessions, policy, cast["resident2"], keywords=["路灯", "门口"])
    three = await open_ticket(sessions, policy, cast["resident2"], keywords=LAMP_WORDS)
    options = {"keywords": ["路灯", "很黑", "坏了", "门口"]}
    assert (await similar(sessions, policy, cast.areas["g1"], **options)).id == three.id
    options = {"keywords": ["很黑", "路灯"]}
    assert (await similar(sessions, policy, cast.areas["g1"], **options)).id == three.id  # newer
    assert two.id != three.id


async def test_staff_see_the_older_ticket_a_new_one_duplicates(sessions, policy, clock, cast):
    original = await open_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(minutes=5))
    duplicate = await open_ticket(sessions, policy, cast["resident2"])
    async with sessions() as session:
        assert (await similar_to_ticket(session, duplicate)).id == original.id
        assert await similar_to_ticket(session, original) is None  # nothing older


async def test_following_opens_no_second_ticket_and_counts_once(sessions, policy, cast):
    original = await open_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        followed = await follow_ticket(
            session,
            policy,
            resident=cast["resident2"],
            original_id=original.id,
            text="路灯不亮了",
            category="城乡建设",
            keywords=["路灯"],
        )
        await session.commit()
    async with sessions() as session:
        mine = await session.get(Ticket, followed.id)
        assert (mine.state, mine.merged_into_id) == ("closed", original.id)
        assert mine.assigned_at is None and mine.assignee_id is None and mine.next_due_at is None
        who = await residents_of(session, await session.get(Ticket, original.id))
        assert [p.id for p in who] == [cast["resident"].id, cast["resident2"].id]
        report = await build_report(
            session, area=None, period=Period(), now=policy.clock.now(), top=0
        )
    assert report.rates.assigned == 1  # the original alone is work to respond to
    assert dict(report.backlog)["assigned"] == 1


async def test_a_merged_duplicate_leaves_the_response_rate(sessions, policy, cast):
    original = await open_ticket(sessions, policy, cast["resident"])
    duplicate = await open_ticket(sessions, policy, cast["resident2"])
    async with sessions() as session:
        await handling.merge_ticket(
            session, policy, ticket_id=duplicate.id, actor=cast["staff-c1"], original_id=original.id
        )
        await session.commit()
    async with sessions() as session:
        report = await build_report(
            session, area=None, period=Period(), now=policy.clock.now(), top=0
        )
    assert report.rates.assigned == 1


@pytest.mark.parametrize("whose", ["resident3", "resident"])
async def test_only_a_ticket_the_rule_could_offer_can_be_followed(sessions, policy, cast, whose):
    """Another community's ticket, or one's own, is unknown to the follower."""
    original = await open_ticket(sessions, policy, cast[whose])
    async with sessions() as session:
        with pytest.raises(NotFound):
            await follow_ticket(
                session, policy, resident=cast["resident"], original_id=original.id, text="路灯坏"
            )


async def test_a_closed_ticket_can_no_longer_be_followed(sessions, policy, cast):
    original = await open_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        await handling.cancel_ticket(session, policy, ticket_id=original.id, actor=cast["resident"])
        await session.commit()
    async with sessions() as session:
        with pytest.raises(RuleViolation, match="no longer be followed"):
            await follow_ticket(
                session, policy, resident=cast["resident2"], original_id=original.id, text="路灯"
            )
