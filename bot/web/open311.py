"""Open311 GeoReport v2 on the console's server (https://wiki.open311.org/GeoReport_v2):

    GET  /open311/discovery.{json,xml}
    GET  /open311/v2/services.{json,xml}              the taxonomy's 二级 classes
    GET  /open311/v2/services/{code}.{json,xml}       a service definition (no attributes)
    POST /open311/v2/requests.{json,xml}              api_key required; a ticket of source api
    GET  /open311/v2/requests.{json,xml}              filters as the spec's; the last 90 days
    GET  /open311/v2/requests/{id}.{json,xml}
    GET  /open311/v2/tokens/{token}.{json,xml}

HTTP and the two formats only; what a request means and what may be shown is tickets/open311.py.
Errors are the spec's lists, `[{"code": 400, "description": "..."}]` or
`<errors><error><code>400</code>…`, with the same HTTP status.
"""

from __future__ import annotations

import json
import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.web.pages import console
from handlers.open311 import post_service_request
from handlers.texts import label
from tickets.apikeys import valid_api_key
from tickets.errors import DomainError, NotFound, PermissionDenied
from tickets.open311 import (
    SERVICES,
    RequestForm,
    RequestView,
    check_jurisdiction,
    find_service,
    find_service_request,
    find_service_requests,
    request_query,
)

log = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-30T00:00:00Z"  # when the services or this API last changed
CONTENT_TYPES = {"json": "application/json", "xml": "text/xml"}
FORMAT = "{fmt:(?:json|xml)}"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
BASE = "/open311/v2"
# The POST route answers to its api_key, not to the console's sign-in and CSRF cookies.
POST_PATHS = tuple(f"{BASE}/requests.{fmt}" for fmt in CONTENT_TYPES)

# How lists are spelled in XML: the element of each item under its list.
_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
_STATUS = {PermissionDenied: 403, NotFound: 404}

Handler = Callable[[web.Request], Awaitable[web.Response]]


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"/open311/discovery.{FORMAT}", _open311(discovery))
    router.add_get(f"{BASE}/services.{FORMAT}", _open311(services))
    router.add_get(f"{BASE}/services/{{code:[^/]+?}}.{FORMAT}", _open311(service_definition))
    router.add_get(f"{BASE}/requests.{FORMAT}", _open311(service_requests))
    router.add_post(f"{BASE}/requests.{FORMAT}", _open311(post_request))
    router.add_get(f"{BASE}/requests/{{number:[^/]+?}}.{FORMAT}", _open311(service_request))
    router.add_get(f"{BASE}/tokens/{{token:[^/]+?}}.{FORMAT}", _open311(token))
    # Anything else under /open311/ (a path without a format, a method the spec lacks) is
    # still answered in the spec's error shape.
    router.add_route("*", "/open311/{tail:.*}", _open311(_no_such_method))


# --- the two formats -----------------------------------------------------------------------------


def _format(request: web.Request) -> str:
    fmt = request.match_info.get("fmt", "json")
    return fmt if fmt in CONTENT_TYPES else "json"


def answer(request: web.Request, root: str, data: Any, status: int = 200) -> web.Response:
    """`data` in the format the path asks for; `root` names the XML document element."""
    fmt = _format(request)
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    else:
        # The declaration spelled as the spec asks (ElementTree's own says 'utf-8').
        body = XML_DECLARATION + ET.tostring(_element(root, data), encoding="utf-8")
    response = web.Response(
        body=body, status=status, content_type=CONTENT_TYPES[fmt], charset="utf-8"
    )
    if request.method == "GET":
        # What GET shows is public (the spec's), so a 311 web app on another site may read it;
        # POST stays same-site, its key is for servers and apps, not for a page's script.
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, list):
        for item in value:
            element.append(_element(_ITEMS.get(tag, "item"), item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element


def errors(request: web.Request, status: int, description: str) -> web.Response:
    return answer(request, "errors", [{"code": status, "description": description}], status)


def _open311(handler: Handler) -> Handler:
    """Domain refusals as the spec's error lists: 403 not allowed, 404 not found, 400 the rest."""

    async def handle(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except DomainError as error:
            status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
            return errors(request, status, error.message)

    return handle


async def _no_such_method(request: web.Request) -> web.Response:
    return errors(request, 404, "no such Open311 method; see /open311/discovery.json")


# --- the methods ---------------------------------------------------------------------------------


async def _jurisdiction(request: web.Request, given: str | None = None) -> None:
    wanted = given if given is not None else request.query.get("jurisdiction_id")
    async with console(request).services.sessions() as session:
        await check_jurisdiction(session, wanted)


async def discovery(request: web.Request) -> web.Response:
    settings = console(request).services.settings
    origin = (
        str(settings.public_url).rstrip("/") if settings.public_url else str(request.url.origin())
    )
    endpoint = {
        "specification": SPECIFICATION,
        "url": origin + BASE,
        "changeset": CHANGESET,
        "type": "production",
        "formats": list(CONTENT_TYPES.values()),
    }
    data = {
        "changeset": CHANGESET,
        "contact": origin + "/",
        "key_service": "API keys are issued by this office (minhu apikey create)",
        "endpoints": [endpoint],
    }
    return answer(request, "discovery", data)


async def services(request: web.Request) -> web.Response:
    await _jurisdiction(request)
    data = [
        {
            "service_code": service.code,
            "service_name": service.name,
            "description": service.description,
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": service.group,
        }
        for service in SERVICES
    ]
    return answer(request, "services", data)


async def service_definition(request: web.Request) -> web.Response:
    await _jurisdiction(request)
    service = find_service(request.match_info["code"])
    return answer(request, "service_definition", {"service_code": service.code, "attributes": []})


async def post_request(request: web.Request) -> web.Response:
    """POST requests: the key first (403), then its rate, then the request itself (400)."""
    form = await request.post()
    fields = {name: _text(form.get(name)) for name in RequestForm.__dataclass_fields__}
    key_text = _text(form.get("api_key")) or request.query.get("api_key")
    here = console(request)
    services = here.services
    async with services.sessions() as session:
        key = await valid_api_key(session, key_text)
    if key is None:
        return errors(request, 403, "api_key was not provided or is not valid")
    verdict = await here.limiter.hit(here.limits.open311_post(key.id), services.policy.clock.now())
    if not verdict.allowed:
        refused = errors(request, 429, "too many requests for this api_key; try again later")
        refused.headers["Retry-After"] = str(max(1, math.ceil(verdict.retry_after)))
        return refused
    await _jurisdiction(request, _text(form.get("jurisdiction_id")))
    async with services.sessions() as session:
        ticket = await post_service_request(here.deps, session, key, RequestForm(**fields))
        await session.commit()
    log.info("open311: request %s posted with key %s", ticket.number, key.id)
    data = [{"service_request_id": ticket.number, "service_notice": None, "account_id": None}]
    return answer(request, "service_requests", data)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def service_requests(request: web.Request) -> web.Response:
    await _jurisdiction(request)
    services = console(request).services
    query = request_query(
        services.policy,
        service_request_id=request.query.get("service_request_id"),
        service_code=request.query.get("service_code"),
        start_date=request.query.get("start_date"),
        end_date=request.query.get("end_date"),
        status=request.query.get("status"),
    )
    async with services.sessions() as session:
        views = await find_service_requests(session, services.policy, query)
    locale = services.settings.locale
    data = [_request(view, locale, services.policy.calendar.timezone) for view in views]
    return answer(request, "service_requests", data)


async def service_request(request: web.Request) -> web.Response:
    await _jurisdiction(request)
    services = console(request).services
    async with services.sessions() as session:
        view = await find_service_request(session, request.match_info["number"])
    data = [_request(view, services.settings.locale, services.policy.calendar.timezone)]
    return answer(request, "service_requests", data)


async def token(request: web.Request) -> web.Response:
    """MinHu opens a ticket while the client waits, so POST answers with the
    service_request_id and needs no token; a client that asks anyway with that id gets it."""
    await _jurisdiction(request)
    services = console(request).services
    async with services.sessions() as session:
        try:
            view = await find_service_request(session, request.match_info["token"])
        except NotFound:
            raise NotFound("token was not found") from None
    data = [{"service_request_id": view.number, "token": request.match_info["token"]}]
    return answer(request, "service_requests", data)


def _request(view: RequestView, locale: str, zone: Any) -> dict[str, Any]:
    """One request in the spec's field order."""
    service = view.service
    return {
        "service_request_id": view.number,
        "status": view.status,
        "status_notes": view.notes or label(locale, "state", view.state),
        "service_name": service.name if service else view.category,
        "service_code": service.code if service else None,
        "description": view.description,
        "agency_responsible": view.agency,
        "service_notice": None,
        "requested_datetime": _w3(view.requested, zone),
        "updated_datetime": _w3(view.updated, zone),
        "expected_datetime": _w3(view.expected, zone),
        "address": view.address,
        "address_id": None,
        "zipcode": None,
        "lat": view.latitude,
        "long": view.longitude,
        "media_url": view.media_url,
    }


def _w3(moment: datetime | None, zone: Any) -> str | None:
    """The spec's w3 datetime, in the district's local time with its offset."""
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None
