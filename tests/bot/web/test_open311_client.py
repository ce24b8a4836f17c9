"""An Open311 client library, unmodified, against the running console: georeport (PyPI), in
both of its formats. It has no POST, so the request it reads back is posted over plain HTTP
as the spec shows (a form with api_key)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from georeport import GeoReport

from tests.bot.web.test_open311 import INSIDE, new_key


async def _posted(console) -> str:
    key = await new_key(console)
    form = {"api_key": key, "service_code": "0102", "description": "路灯不亮", **INSIDE}
    async with (
        aiohttp.ClientSession(console.url) as client,
        client.post("/open311/v2/requests.json", data=form) as response,
    ):
        assert response.status == 200
        return (await response.json())[0]["service_request_id"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_georeport_reads_services_definitions_and_requests(console, fmt):
    number = await _posted(console)
    client = GeoReport(f"{console.url}/open311/v2", jurisdiction="demo", output_format=fmt)

    def read() -> tuple:
        # requests is synchronous: the library runs in a thread while the server serves.
        return (
            client.get_service_list(),
            client.get_service_definition("0102"),
            client.get_service_requests(service_code="0102", status="open"),
            client.get_service_requests(service_request_id=number),
            client.get_service_request(number),
        )

    services, definition, listed, by_id, one = await asyncio.to_thread(read)
    lights = next(service for service in services if service["service_code"] == "0102")
    assert lights["service_name"] == "城市建设和市政管理" and lights["group"] == "城乡建设"
    assert definition["service_code"] == "0102"
    # xmltodict gives a lone <request> as a mapping, several as a list.
    listed = listed if isinstance(listed, list) else [listed]
    assert number in [request["service_request_id"] for request in listed]
    by_id = by_id[0] if isinstance(by_id, list) else by_id
    for request in (by_id, one):
        assert request["service_request_id"] == number
        assert request["status"] == "open" and request["service_code"] == "0102"
        assert request["description"] == "路灯不亮"
        assert request["agency_responsible"] == "幸福社区第1网格"
