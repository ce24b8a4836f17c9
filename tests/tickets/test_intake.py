"""Bad input at the domain edge: each a clear domain error, nothing half-written."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import func, select

from storage.models import Ticket, TicketCounter, TicketEvent
from tests.factories import cast_in
from tickets.errors import InvalidInput, NotFound, PermissionDenied, PlaceNeeded, RuleViolation
from tickets.intake import submit_complaint
from tickets.sources import parse_contact


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def _rows(sessions) -> tuple[int, int, int]:
    async with sessions() as session:
        counts = []
        for table in (Ticket, TicketEvent, TicketCounter):
            counts.append((await session.exec(select(func.count()).select_from(table))).one())
        return tuple(counts)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("\x00\x07\x1b\u200b\ufeff", "empty"),
        ("投诉" * 5000, "too_long"),  # 10,000 characters
        ("👍🙏😡", "no_words"),
        ("？？？！！…", "no_words"),
        ("🏚️ ‼️ ➡️ 🚧", "no_words"),  # with variation selectors
    ],
)
async def test_unusable_text_is_refused_and_nothing_is_written(
    sessions, policy, cast, text, reason
):
    async with sessions() as session:
        with pytest.raises(InvalidInput) as refusal:
            await submit_complaint(session, policy, resident=cast["resident"], text=text)
        await session.rollback()
    assert refusal.value.params["reason"] == reason
    assert await _rows(sessions) == (0, 0, 0)


async def test_control_characters_are_dropped_but_the_words_kept(sessions, policy, cast):
    async with sessions() as session:
        ticket = await submit_complaint(
            session, policy, resident=cast["resident"], text="\x1b[31m路灯坏了\x00\n请修理 🙏"
        )
    assert ticket.text == "[31m路灯坏了\n请修理 🙏"


@pytest.mark.parametrize(
    ("person", "arguments", "error", "words"),
    [
        ("resident", {"area_id": 999_999}, NotFound, "no area"),
        ("resident", {"urgency": "whenever"}, InvalidInput, "unknown urgency"),
        ("resident", {"latitude": 91.0, "longitude": 0.0}, InvalidInput, "not on Earth"),
        ("worker-g1", {}, PermissionDenied, "may not open resident_chat"),
        ("resident", {"source": "patrol"}, PermissionDenied, "may not open patrol"),
        ("resident", {"source": "rumour"}, InvalidInput, "unknown ticket source"),
    ],
)
async def test_bad_arguments_are_refused_with_a_reason(
    sessions, policy, cast, person, arguments, error, words
):
    async with sessions() as session:
        with pytest.raises(error, match=words):
            await submit_complaint(
                session, policy, resident=cast[person], text="路灯坏了", **arguments
            )
        await session.rollback()
    assert await _rows(sessions) == (0, 0, 0)


async def test_ticket_numbers_follow_the_local_day(sessions, policy, clock, cast):
    numbers = []
    for _ in range(3):
        async with sessions() as session:
            ticket = await submit_complaint(
                session, policy, resident=cast["resident"], text="路灯坏了"
            )
            numbers.append(ticket.number)
            await session.commit()
    assert numbers == ["20261123-000001", "20261123-000002", "20261123-000003"]


async def test_a_flood_of_complaints_is_held_back_for_an_hour(sessions, policy, clock, cast):
    policy = replace(policy, max_new_tickets_per_hour=5)

    async def submit() -> None:
        async with sessions() as session:
            await submit_complaint(session, policy, resident=cast["resident"], text="路灯坏了")
            await session.commit()

    for _ in range(policy.max_new_tickets_per_hour):
        await submit()
    with pytest.raises(RuleViolation, match="an hour") as refusal:
        await submit()
    assert refusal.value.params["reason"] == "flood"
    clock.advance(timedelta(minutes=61))
    await submit()


async def test_a_worker_records_for_a_resident_and_on_patrol(sessions, policy, cast):
    """代办 keeps the resident's contact and the worker as follower; patrol keeps no contact;
    the flood guard is for residents, not for a worker recording a round of hazards."""
    policy = replace(policy, max_new_tickets_per_hour=1)
    kinds = [
        ("on_behalf", {"on_behalf_name": "张阿姨", "on_behalf_phone": "+8613800000000"}),
        ("patrol", {"on_behalf_name": "ignored", "on_behalf_phone": "1"}),
        ("patrol", {}),
    ]
    made = []
    for source, contact in kinds:
        async with sessions() as session:
            ticket = await submit_complaint(
                session,
                policy,
                resident=cast["worker-g1"],
                text="3号楼门口井盖丢了",
                category="城乡建设",
                source=source,
                **contact,
            )
            await session.commit()
            made.append(ticket)
    behalf, patrol, _ = made
    assert (behalf.source, behalf.on_behalf_name, behalf.on_behalf_phone) == (
        "on_behalf",
        "张阿姨",
        "+8613800000000",
    )
    assert (patrol.source, patrol.on_behalf_name, patrol.on_behalf_phone) == ("patrol", None, None)
    assert behalf.resident_id == cast["worker-g1"].id
    assert behalf.area_id == cast.areas["g1"].id and behalf.state == "assigned"
    assert "13800000000" not in repr(behalf)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("张三 13800000000", ("张三", "+8613800000000")),
        ("李阿姨，138-0000-0000", ("李阿姨", "+8613800000000")),
        ("+86 139 1234 5678 王先生", ("王先生", "+8613912345678")),
        ("0571-87654321", (None, "+8657187654321")),
        ("赵大爷", ("赵大爷", None)),
    ],
)
def test_a_residents_contact_is_read_as_typed(typed, expected):
    assert parse_contact(typed) == expected


@pytest.mark.parametrize("typed", ["张三 12345", "张三 1380000000000000", "王 23800000000"])
def test_a_number_that_is_no_phone_is_refused(typed):
    with pytest.raises(InvalidInput) as refusal:
        parse_contact(typed)
    assert refusal.value.params["reason"] == "bad_contact"


async def test_a_ticket_nothing_places_is_refused_when_asked_to_say_where(sessions, policy, cast):
    community = cast.areas["c1"].id
    async with sessions() as session:
        with pytest.raises(PlaceNeeded):
            await submit_complaint(
                session,
                policy,
                resident=cast["resident"],
                text="楼道的灯坏了",
                area_id=community,
                ask_where=True,
            )
    assert await _rows(sessions) == (0, 0, 0)
    async with sessions() as session:
        for where in ({"address": "幸福小区3号楼"}, {"latitude": 38.0, "longitude": 114.5}):
            await submit_complaint(
                session,
                policy,
                resident=cast["resident"],
                text="楼道的灯坏了",
                area_id=community,
                ask_where=True,
                **where,
            )
        # A grid is where enough.
        await submit_complaint(
            session, policy, resident=cast["resident"], text="楼道的灯坏了", ask_where=True
        )
        await session.commit()
    assert (await _rows(sessions))[0] == 3


@pytest.mark.parametrize(("address", "reason"), [("  \u200b ", "empty"), ("幸" * 201, "too_long")])
async def test_an_unusable_address_is_refused(sessions, policy, cast, address, reason):
    async with sessions() as session:
        with pytest.raises(InvalidInput) as refused:
            await submit_complaint(
                session, policy, resident=cast["resident"], text="路灯坏了", address=address
            )
    assert refused.value.params["reason"] == reason
    assert await _rows(sessions) == (0, 0, 0)
