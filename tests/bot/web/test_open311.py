"""Open311 GeoReport v2 over HTTP on a running console (the demo district): every method and
error, in JSON and in XML (read back with xml.etree), shaped as the spec's examples."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from sqlmodel import select

from bot.web.limits import RedisLimiter, WebLimits
from bot.web.pages import CONSOLE
from storage.models import OutboxMessage, Person, Ticket
from tests.conftest import service_url
from tickets.apikeys import create_api_key, revoke_api_key

INSIDE = {"lat": "38.035", "long": "114.485"}  # the demo's first grid
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


async def new_key(console, name: str = "app") -> str:
    async with console.services.sessions() as session:
        _, key = await create_api_key(session, name, console.services.policy.clock.now())
        await session.commit()
    return key


async def call(console, method: str, path: str, **kwargs) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession(console.url) as client,
        client.request(method, path, **kwargs) as response,
    ):
        return response.status, response.headers["Content-Type"], await response.read()


async def get_json(console, path: str, status: int = 200, **kwargs):
    got, content_type, body = await call(console, "GET", path, **kwargs)
    assert (got, content_type) == (status, "application/json; charset=utf-8"), body

    return json.loads(body)


async def get_xml(console, path: str, status: int = 200, method: str = "GET", **kwargs):
    got, content_type, body = await call(console, method, path, **kwargs)
    assert (got, content_type) == (status, "text/xml; charset=utf-8"), body
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<')
    return ET.fromstring(body)


async def post(console, fmt: str = "json", **form):
    got, _, body = await call(console, "POST", f"/open311/v2/requests.{fmt}", data=form)
    return got, body


def error_of(errors, fmt: str) -> tuple[int, str]:
    if fmt == "json":
        assert isinstance(errors, list) and len(errors) == 1
        return errors[0]["code"], errors[0]["description"]
    assert errors.tag == "errors" and [child.tag for child in errors] == ["error"]
    return int(errors.findtext("error/code")), errors.findtext("error/description")


async def error(console, fmt, path, status, method="GET", **kwargs) -> str:
    if fmt == "json":
        got, content_type, body = await call(console, method, path, **kwargs)
        import json

        assert (got, content_type) == (status, "application/json; charset=utf-8"), body
        errors = json.loads(body)
    else:
        errors = await get_xml(console, path, status, method=method, **kwargs)
    code, description = error_of(errors, fmt)
    assert code == status and description
    return description


async def test_discovery_names_the_endpoint_in_both_formats(console):
    found = await get_json(console, "/open311/discovery.json")
    (endpoint,) = found["endpoints"]
    assert endpoint["url"] == f"{console.url}/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert {"changeset", "contact", "key_service"} <= set(found)
    root = await get_xml(console, "/open311/discovery.xml")
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "application/json",
        "text/xml",
    ]


async def test_services_and_their_definitions(console):
    services = await get_json(console, "/open311/v2/services.json")
    lights = next(service for service in services if service["service_code"] == "0102")
    assert lights == {
        "service_code": "0102",
        "service_name": "城市建设和市政管理",
        "description": "城乡建设 / 城市建设和市政管理",
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": "城乡建设",
    }
    root = await get_xml(console, "/open311/v2/services.xml")
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    first = root.find("service")
    assert [child.tag for child in first] == list(services[0])
    assert first.findtext("metadata") == "false"

    definition = await get_json(console, "/open311/v2/services/0102.json")
    assert definition == {"service_code": "0102", "attributes": []}
    root = await get_xml(console, "/open311/v2/services/0102.xml")
    assert root.tag == "service_definition" and root.findtext("service_code") == "0102"


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_unknown_things_are_404_error_lists(console, fmt):
    for path in (
        f"/open311/v2/services/9999.{fmt}",
        f"/open311/v2/requests/20000101-000000.{fmt}",
        f"/open311/v2/tokens/nothing.{fmt}",
        f"/open311/v2/services.{fmt}?jurisdiction_id=elsewhere",
        f"/open311/v2/requests.{fmt}?jurisdiction_id=elsewhere",
    ):
        await error(console, fmt, path, 404)
    assert await get_json(console, "/open311/v2/services.json?jurisdiction_id=demo")
    await error(console, "json", "/open311/v2/services", 404)  # no format


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_posting_needs_a_live_key(console, fmt):
    path = f"/open311/v2/requests.{fmt}"
    form = {"service_code": "0102", **INSIDE}
    assert "api_key" in await error(console, fmt, path, 403, method="POST", data=form)
    bad = {**form, "api_key": "mh_not-a-key"}
    await error(console, fmt, path, 403, method="POST", data=bad)
    key = await new_key(console)
    async with console.services.sessions() as session:
        await revoke_api_key(session, "app", console.services.policy.clock.now())
        await session.commit()
    await error(console, fmt, path, 403, method="POST", data={**form, "api_key": key})


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_bad_requests_are_400_with_a_clear_description(console, fmt):
    key = await new_key(console)
    path = f"/open311/v2/requests.{fmt}"
    outside = {"api_key": key, "service_code": "0102", "lat": "39.9", "long": "116.4"}
    said = await error(console, fmt, path, 400, method="POST", data=outside)
    assert "outside the district" in said
    nowhere = {"api_key": key, "service_code": "0102"}
    assert "location" in await error(console, fmt, path, 400, method="POST", data=nowhere)
    unknown = {"api_key": key, "service_code": "9999", **INSIDE}
    await error(console, fmt, path, 404, method="POST", data=unknown)
    for query in ("status=pending", "start_date=yesterday"):
        await error(console, fmt, f"{path}?{query}", 400)


async def test_a_posted_request_is_told_to_the_worker_and_read_back(console):
    key = await new_key(console)
    got, body = await post(
        console,
        api_key=key,
        service_code="0102",
        description="路口的路灯不亮了，晚上很黑",
        first_name="Li",
        last_name="Lei",
        email="li@example.org",
        phone="13800138000",
        media_url="https://example.org/lamp.jpg",
        address_string="幸福路口",
        **INSIDE,
    )
    assert got == 200

    (made,) = json.loads(body)
    assert set(made) == {"service_request_id", "service_notice", "account_id"}
    assert made["account_id"] is None
    number = made["service_request_id"]

    async with console.services.sessions() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.number == number))).one()
        worker = await session.get(Person, ticket.assignee_id)
        queued = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.created_at >= ticket.created_at)
            )
        ).all()
    assert ticket.source == "api" and worker.role == "worker"
    assert [message.person_id for message in queued] == [worker.id]  # 派单, nothing to open311

    (shown,) = await get_json(console, f"/open311/v2/requests/{number}.json")
    assert list(shown) == REQUEST_FIELDS
    assert shown["status"] == "open" and shown["service_code"] == "0102"
    assert shown["description"] == "路口的路灯不亮了，晚上很黑"
    assert shown["agency_responsible"] == "幸福社区第1网格"
    assert shown["lat"] == 38.035 and shown["media_url"] == "https://example.org/lamp.jpg"
    assert shown["address"] == "幸福路口" and shown["expected_datetime"].endswith("+08:00")
    assert "Li" not in body.decode() and "li@example.org" not in json.dumps(shown)
    root = await get_xml(console, f"/open311/v2/requests/{number}.xml")
    assert root.tag == "service_requests"
    request = root.find("request")
    assert [child.tag for child in request] == REQUEST_FIELDS
    assert request.findtext("service_request_id") == number
    assert request.findtext("status") == "open" and request.find("zipcode").text is None

    listed = await get_json(console, "/open311/v2/requests.json?service_code=0102&status=open")
    assert number in [item["service_request_id"] for item in listed]
    assert all(item["service_code"] == "0102" for item in listed)
    (token,) = await get_json(console, f"/open311/v2/tokens/{number}.json")
    assert token == {"service_request_id": number, "token": number}


async def test_xml_post_answers_in_xml(console):
    key = await new_key(console)
    got, body = await post(console, "xml", api_key=key, description="小区垃圾没人清运", **INSIDE)
    assert got == 200
    root = ET.fromstring(body)
    assert root.tag == "service_requests"
    assert [child.tag for child in root.find("request")] == [
        "service_request_id",
        "service_notice",
        "account_id",
    ]


async def test_chat_tickets_show_no_resident_words(console):
    listed = await get_json(console, "/open311/v2/requests.json")
    assert listed, "the demo's tickets of the last 90 days"
    assert all(item["description"] is None and item["lat"] is None for item in listed)
    assert all(item["status"] in ("open", "closed") and item["status_notes"] for item in listed)


@pytest.mark.parametrize("store", ["database", pytest.param("redis", marks=pytest.mark.redis)])
async def test_posts_per_key_are_rate_limited(console_with, store):
    settings = {"open311_posts_per_minute": 2}
    if store == "redis":
        settings["redis_url"] = service_url("MINHU_TEST_REDIS_URL")
    async with console_with(**settings) as console:
        await _forget_buckets(console)  # a key's id comes again in each test's new database
        key, other = await new_key(console), await new_key(console, "other")
        form = {"service_code": "0102", **INSIDE}
        answers = [
            await call(console, "POST", "/open311/v2/requests.json", data={"api_key": key, **form})
            for _ in range(3)
        ]
        assert [status for status, _, _ in answers] == [200, 200, 429]
        assert "too many requests" in json.loads(answers[2][2])[0]["description"]
        assert (await post(console, api_key=other, **form))[0] == 200  # per key
        await _forget_buckets(console)


async def _forget_buckets(console) -> None:
    limiter = console.app[CONSOLE].limiter
    if isinstance(limiter, RedisLimiter):
        keys = [key for key_id in (1, 2) for key, _ in WebLimits().open311_post(key_id)]
        await limiter.redis.delete(*("{minhu:limit}:" + key for key in keys))


async def test_gets_may_be_read_from_other_sites_posts_may_not(console):
    async with aiohttp.ClientSession(console.url) as client:
        async with client.get("/open311/v2/services.json") as response:
            assert response.headers["Access-Control-Allow-Origin"] == "*"
        async with client.get("/open311/v2/requests/nothing.xml") as response:
            assert response.status == 404
            assert response.headers["Access-Control-Allow-Origin"] == "*"
        async with client.post("/open311/v2/requests.json", data={}) as response:
            assert response.status == 403
            assert "Access-Control-Allow-Origin" not in response.headers
