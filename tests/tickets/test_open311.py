"""Open311 in the domain: services from the taxonomy, a posted request as a ticket of source api,
keys, and what GET requests may show (tickets/open311.py, tickets/apikeys.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import func, select

from nlp.classifier import Classifier
from storage.models import ApiKey, Department, OutboxMessage, Person, Ticket
from storage.outbox import enqueue_rows, outbox_row
from tests.factories import INSIDE, cast_in, new_ticket
from tickets import handling
from tickets.apikeys import api_keys, create_api_key, revoke_api_key, valid_api_key
from tickets.categories import SUBCATEGORIES
from tickets.errors import InvalidInput, NotFound, PermissionDenied
from tickets.intake import submit_complaint
from tickets.open311 import (
    SERVICES,
    RequestForm,
    find_service,
    find_service_request,
    find_service_requests,
    open_service_request,
    request_query,
)
from tickets.places import GridFinder
from tickets.sources import Source


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.default()


async def _key(sessions, policy, name: str = "app") -> ApiKey:
    async with sessions() as session:
        row, _ = await create_api_key(session, name, policy.clock.now())
        await session.commit()
    return row


async def _post(sessions, policy, classifier, key, **fields) -> Ticket:
    async with sessions() as session:
        ticket = await open_service_request(
            session,
            policy,
            classifier=classifier,
            places=GridFinder(),
            key=key,
            form=RequestForm(**fields),
        )
        await session.commit()
    return ticket


def _at(grid: str) -> dict[str, str]:
    lat, long = INSIDE[grid]
    return {"lat": str(lat), "long": str(long)}


def test_services_are_the_second_level_classes_with_stable_codes():
    assert len(SERVICES) == sum(len(names) for names in SUBCATEGORIES.values())
    assert len({service.code for service in SERVICES}) == len(SERVICES)
    street_lights = find_service("0102")
    assert (street_lights.group, street_lights.name) == ("城乡建设", "城市建设和市政管理")
    with pytest.raises(NotFound):
        find_service("9999")


async def test_a_posted_request_is_an_api_ticket_routed_by_its_location(
    sessions, policy, classifier
):
    cast = await cast_in(sessions, policy)
    key = await _key(sessions, policy)
    ticket = await _post(
        sessions,
        policy,
        classifier,
        key,
        service_code="0102",
        description="路口的路灯不亮了",
        first_name="Li",
        last_name="Lei",
        email="li@example.org",
        phone="13800138000",
        media_url="https://example.org/lamp.jpg",
        address_string="幸福路口",
        **_at("g2"),
    )
    assert ticket.source == Source.API
    assert ticket.area_id == cast.areas["g2"].id
    assert ticket.assignee_id == cast["worker-g2"].id  # routed like a chat complaint
    assert (ticket.category, ticket.subcategory) == ("城乡建设", "城市建设和市政管理")
    assert ticket.address == "幸福路口"
    assert ticket.attachments == [{"kind": "media_url", "url": "https://example.org/lamp.jpg"}]
    async with sessions() as session:
        person = await session.get(Person, ticket.resident_id)
    assert (person.channel, person.role) == ("open311", "resident")
    assert (person.display_name, person.phone) == ("Li Lei", "+8613800138000")
    assert "li@example.org" not in person.channel_user_id  # a digest, not the address


async def test_without_a_service_code_the_description_is_classified(sessions, policy, classifier):
    await cast_in(sessions, policy)
    key = await _key(sessions, policy)
    ticket = await _post(
        sessions,
        policy,
        classifier,
        key,
        description="小区垃圾堆了一周没人清运，臭气熏天",
        **_at("g1"),
    )
    assert ticket.category is not None
    assert ticket.category == classifier.classify("小区垃圾堆了一周没人清运，臭气熏天").category


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"service_code": "0102", "lat": "39.9", "long": "116.4"}, "outside the district"),
        ({"service_code": "0102"}, "a location is required"),
        ({"service_code": "0102", "lat": "38.045"}, "lat and long go together"),
        ({"service_code": "0102", "lat": "north", "long": "east"}, "decimal degrees"),
        ({"lat": "38.045", "long": "114.505"}, "service_code or description"),
        ({"service_code": "0102", "media_url": "file:///etc/passwd", **_at("g1")}, "media_url"),
        ({"service_code": "0102", "phone": "12", **_at("g1")}, "not a phone number"),
        ({"service_code": "0102", "email": "nobody", **_at("g1")}, "email"),
    ],
)
async def test_a_bad_request_is_refused_and_writes_nothing(
    sessions, policy, classifier, fields, words
):
    await cast_in(sessions, policy)
    key = await _key(sessions, policy)
    with pytest.raises(InvalidInput) as refused:
        await _post(sessions, policy, classifier, key, **fields)
    assert words in refused.value.message
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Ticket))).one() == 0
        people = select(func.count()).select_from(Person).where(Person.channel == "open311")
        assert (await session.exec(people)).one() == 0


async def test_one_person_per_email_and_one_per_key_without_one(sessions, policy, classifier):
    await cast_in(sessions, policy)
    key, other = await _key(sessions, policy), await _key(sessions, policy, "other app")
    base = {"service_code": "0102", **_at("g1")}
    first = await _post(sessions, policy, classifier, key, email="A@example.org", **base)
    again = await _post(sessions, policy, classifier, other, email="a@example.org", **base)
    anonymous = await _post(sessions, policy, classifier, key, **base)
    elsewhere = await _post(sessions, policy, classifier, other, **base)
    assert first.resident_id == again.resident_id
    assert len({first.resident_id, anonymous.resident_id, elsewhere.resident_id}) == 3


async def test_api_tickets_come_only_from_the_api_and_the_api_opens_no_other(
    sessions, policy, classifier
):
    cast = await cast_in(sessions, policy)
    key = await _key(sessions, policy)
    ticket = await _post(sessions, policy, classifier, key, service_code="0102", **_at("g1"))
    async with sessions() as session:
        api_person = await session.get(Person, ticket.resident_id)
        for resident, source in ((cast["resident"], Source.API), (cast["admin"], Source.API)):
            with pytest.raises(PermissionDenied):
                await submit_complaint(
                    session, policy, resident=resident, text="路灯坏了", source=source
                )
        with pytest.raises(PermissionDenied):
            await submit_complaint(session, policy, resident=api_person, text="路灯坏了")


async def test_messages_to_the_api_people_are_never_queued(sessions, policy):
    now = policy.clock.now()
    rows = [
        outbox_row(
            dedupe_key=f"k{channel}", person_id=None, channel=channel, chat_id="1", body={}, now=now
        )
        for channel in ("open311", "telegram")
    ]
    async with sessions() as session:
        await enqueue_rows(session, rows)
        await session.commit()
        channels = (await session.exec(select(OutboxMessage.channel))).all()
    assert channels == ["telegram"]


async def test_keys_are_stored_hashed_checked_and_revoked(sessions, policy):
    async with sessions() as session:
        row, key = await create_api_key(session, "partner app", policy.clock.now())
        await session.commit()
        assert key not in (row.key_hash, row.prefix) and key.startswith(row.prefix)
        assert (await valid_api_key(session, key)).id == row.id
        assert await valid_api_key(session, key + "x") is None
        assert await valid_api_key(session, None) is None
        with pytest.raises(InvalidInput):
            await create_api_key(session, "partner app", policy.clock.now())
        await revoke_api_key(session, "partner app", policy.clock.now())
        await session.commit()
        assert await valid_api_key(session, key) is None
        assert [listed.name for listed in await api_keys(session)] == ["partner app"]
        with pytest.raises(NotFound):
            await revoke_api_key(session, "nobody", policy.clock.now())


async def test_get_requests_filters_and_hides_what_chat_residents_wrote(
    sessions, policy, classifier, clock
):
    cast = await cast_in(sessions, policy)
    key = await _key(sessions, policy)
    old = await new_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(days=91))
    chat = await new_ticket(sessions, policy, cast["resident"], text="楼道灯坏了，张三家门口")
    api = await _post(
        sessions, policy, classifier, key, service_code="0102", description="路灯不亮", **_at("g1")
    )
    clock.advance(timedelta(minutes=5))

    async def numbers(**filters) -> list[str]:
        async with sessions() as session:
            views = await find_service_requests(session, policy, request_query(policy, **filters))
        return [view.number for view in views]

    async with sessions() as session:
        old_number = (await session.get(Ticket, old)).number
        chat_number = (await session.get(Ticket, chat)).number
    assert await numbers() == [api.number, chat_number]  # newest first, the last 90 days
    assert await numbers(service_code="0102") == [api.number]
    assert await numbers(status="closed") == []
    assert await numbers(status="open,closed") == [api.number, chat_number]
    assert await numbers(service_request_id=f"{old_number},{api.number}") == [
        api.number,
        old_number,
    ]
    start = (clock.now() - timedelta(days=200)).isoformat()
    assert await numbers(start_date=start) == [api.number, chat_number, old_number]
    assert await numbers(end_date=(clock.now() - timedelta(days=30)).isoformat()) == [old_number]
    for bad in ({"status": "pending"}, {"start_date": "yesterday"}, {"service_code": "9"}):
        with pytest.raises((InvalidInput, NotFound)):
            request_query(policy, **bad)

    async with sessions() as session:
        shown_chat = await find_service_request(session, chat_number)
        shown_api = await find_service_request(session, api.number)
        with pytest.raises(NotFound):
            await find_service_request(session, "20000101-000000")
    assert shown_chat.description is None and shown_chat.latitude is None
    assert shown_chat.agency == "幸福社区第一网格" and shown_chat.status == "open"
    assert shown_chat.expected is not None
    assert shown_api.description == "路灯不亮" and shown_api.latitude == INSIDE["g1"][0]


async def test_get_requests_answers_at_most_the_limit(sessions, policy, monkeypatch):
    cast = await cast_in(sessions, policy)
    for _ in range(3):
        await new_ticket(sessions, policy, cast["resident"])
    monkeypatch.setattr("tickets.open311.MAX_REQUESTS", 2)
    async with sessions() as session:
        views = await find_service_requests(session, policy, request_query(policy))
    assert len(views) == 2


async def test_the_agency_is_the_lead_department_once_dispatched(sessions, policy):
    cast = await cast_in(sessions, policy)
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        department = (await session.exec(select(Department).where(Department.code == "cg"))).one()
        ticket = await session.get(Ticket, ticket_id)
        number = ticket.number
        assert (await find_service_request(session, number)).agency == "幸福社区第一网格"
        ticket.department_id = department.id
        session.add(ticket)
        await session.commit()
        assert (await find_service_request(session, number)).agency == "城管执法局"


async def test_the_first_requests_of_one_person_at_once_make_one_person(
    sessions, policy, classifier
):
    await cast_in(sessions, policy)
    key = await _key(sessions, policy)
    posts = [
        _post(sessions, policy, classifier, key, service_code="0102", **_at("g1")) for _ in range(4)
    ]
    tickets = await asyncio.gather(*posts)
    assert len({ticket.resident_id for ticket in tickets}) == 1


async def test_status_notes_show_only_what_was_written_for_the_resident(
    sessions, policy, classifier
):
    cast = await cast_in(sessions, policy)
    key = await _key(sessions, policy)
    posted = await _post(sessions, policy, classifier, key, description="路灯不亮", **_at("g1"))
    worker = {"ticket_id": posted.id, "actor": cast["worker-g1"]}

    async def notes() -> str | None:
        async with sessions() as session:
            return (await find_service_request(session, posted.number)).notes

    async def move(function, **arguments) -> None:
        async with sessions() as session:
            await function(session, policy, **arguments)
            await session.commit()

    await move(handling.accept_ticket, **worker)
    # The office's own words (a worker's note may name people): never in a public answer.
    await move(handling.add_note, **worker, note="联系了业主李四 13800001234")
    assert await notes() is None
    await move(handling.resolve_ticket, **worker, reply="路灯已更换")
    assert await notes() == "路灯已更换"


@pytest.mark.parametrize(
    "filters",
    [
        {"start_date": "0001-01-01T00:00:00"},
        {"end_date": "0001-01-01T00:00:00Z"},
        {"end_date": "9999-12-31T23:59:59+00:00"},
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_refused_not_a_crash(policy, filters):
    with pytest.raises(InvalidInput):
        request_query(policy, **filters)
