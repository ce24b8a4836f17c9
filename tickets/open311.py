"""Open311 GeoReport v2 in the domain's words: services are the taxonomy's 二级 classes, a
service request is a ticket, its status is open or closed (issue #18).

What the HTTP layer (bot/web/open311.py) may show of a ticket is decided here. GET requests is
public in the spec, so a ticket from a chat, a worker or the hotline shows only what the office
did with it (service, status, who holds it, dates); what a person wrote or where they were (the
text, notes, address, location, photos) is shown only for tickets an Open311 client posted
itself. The API's own people (first_name, last_name, email, phone) are never shown.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nlp.classifier import Classifier
from storage.engine import write_first
from storage.models import ApiKey, Area, Department, Person, Ticket, TicketEvent
from tickets.categories import CATEGORIES, SUBCATEGORIES
from tickets.clocks import deadline
from tickets.contact import check_phone
from tickets.errors import InvalidInput, NotFound
from tickets.intake import check_address, submit_complaint
from tickets.lifecycle import Action, State
from tickets.people import find_person, register_person
from tickets.places import GridFinder
from tickets.policy import Policy
from tickets.sources import API_CHANNEL, Source

# GET requests: the default window and the most requests one answer holds (the spec's figures).
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
MAX_IDS = 1000
MAX_NAME_CHARS = 50
MAX_EMAIL_CHARS = 254
MAX_URL_CHARS = 2000

# Open311 has two statuses. 办结 counts as closed: the work is done and the resident is asked;
# a reopened ticket (重办) is open again.
CLOSED_STATES = (State.RESOLVED, State.CLOSED, State.CANCELLED)
OPEN_STATES = tuple(state for state in State if state not in CLOSED_STATES)


@dataclass(frozen=True)
class Service:
    """One 二级 class as an Open311 service; `group` is its 一级 class."""

    code: str
    name: str
    group: str

    @property
    def description(self) -> str:
        return f"{self.group} / {self.name}"


# Codes from the classes' places in the official taxonomy ("0102": 一级 1, 二级 2), so they stay
# the same from one start to the next and mean the same in every district.
SERVICES: tuple[Service, ...] = tuple(
    Service(f"{group_number:02d}{number:02d}", name, group)
    for group_number, group in enumerate(CATEGORIES, start=1)
    for number, name in enumerate(SUBCATEGORIES[group], start=1)
)
_BY_CODE = {service.code: service for service in SERVICES}
_BY_CLASS = {(service.group, service.name): service for service in SERVICES}


def find_service(code: str) -> Service:
    service = _BY_CODE.get(code.strip())
    if service is None:
        raise NotFound(f"service_code {code!r} was not found", field="service_code")
    return service


def service_of(category: str | None, subcategory: str | None) -> Service | None:
    """The service a ticket's classes make, if its 二级 class is known."""
    return _BY_CLASS.get((category or "", subcategory or ""))


async def check_jurisdiction(session: AsyncSession, jurisdiction_id: str | None) -> None:
    """One MinHu serves one jurisdiction: the code of a top area of its tree (the district).
    Leaving it out is fine, as the spec allows for servers of a single jurisdiction."""
    if jurisdiction_id is None or not jurisdiction_id.strip():
        return
    top = select(Area.id).where(col(Area.parent_id).is_(None), Area.code == jurisdiction_id.strip())
    if (await session.exec(top)).first() is None:
        raise NotFound(
            f"jurisdiction_id {jurisdiction_id!r} was not found", field="jurisdiction_id"
        )


# --- POST requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestForm:
    """What a client posts, as text (form fields); checked by `open_service_request`."""

    service_code: str | None = None
    description: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    media_url: str | None = None


def _given(text: str | None) -> str | None:
    return text.strip() if text is not None and text.strip() else None


def _coordinates(form: RequestForm) -> tuple[float, float] | None:
    lat, long = _given(form.lat), _given(form.long)
    if lat is None and long is None:
        return None
    if lat is None or long is None:
        raise InvalidInput("lat and long go together", field="lat")
    try:
        latitude, longitude = float(lat), float(long)
    except ValueError:
        raise InvalidInput("lat and long must be decimal degrees (WGS-84)", field="lat") from None
    if not (abs(latitude) <= 90 and abs(longitude) <= 180):
        raise InvalidInput("lat and long are not on Earth", field="lat")
    return latitude, longitude


def _media_url(text: str | None) -> str | None:
    url = _given(text)
    if url is None:
        return None
    if len(url) > MAX_URL_CHARS or not re.match(r"https?://[^\s/]+", url):
        raise InvalidInput("media_url must be an http or https URL", field="media_url")
    return url


async def open_service_request(
    session: AsyncSession,
    policy: Policy,
    *,
    classifier: Classifier,
    places: GridFinder,
    key: ApiKey,
    form: RequestForm,
) -> Ticket:
    """A posted service request becomes a ticket of source `api`, routed like any other: its
    lat/long choose the grid as a chat location does. Without a service_code the description is
    classified by the rules (an extension of the spec). Everything is checked before anything
    is written."""
    # Posts come at once (a client's retries, a person's first requests): on SQLite each takes
    # its turn rather than failing to upgrade its read to a write.
    await write_first(session)
    code, text = _given(form.service_code), _given(form.description)
    service = find_service(code) if code is not None else None
    if service is None and text is None:
        raise InvalidInput("service_code or description is required", field="service_code")
    body = text or service.description  # type: ignore[union-attr]
    where = _coordinates(form)
    address = _given(form.address_string)
    address = check_address(address) if address is not None else None
    if where is None and address is None:
        raise InvalidInput("a location is required: lat and long, or address_string", field="lat")
    area_id = None
    if where is not None:
        grid = await places.grid_at(session, *where, within_m=policy.nearest_grid_m)
        if grid is None:
            raise InvalidInput("lat and long lie outside the district's grids", field="lat")
        area_id = grid.id
    media = _media_url(form.media_url)
    found = classifier.classify(body)
    if service is not None:
        category, subcategory, confidence, keywords = service.group, service.name, 1.0, ()
    else:
        category, subcategory = found.category, found.subcategory
        confidence, keywords = found.confidence, tuple(found.keywords)
    resident = await api_resident(session, policy, key, form, area_id)
    return await submit_complaint(
        session,
        policy,
        resident=resident,
        text=body,
        area_id=area_id,
        category=category,
        subcategory=subcategory,
        confidence=confidence,
        keywords=keywords,
        urgency=found.urgency,
        attachments=[{"kind": "media_url", "url": media}] if media else [],
        latitude=where[0] if where else None,
        longitude=where[1] if where else None,
        address=address,
        source=Source.API,
    )


async def api_resident(
    session: AsyncSession, policy: Policy, key: ApiKey, form: RequestForm, area_id: int | None
) -> Person:
    """The person an Open311 client posts for, on the `open311` channel: one per email (or
    phone), so their requests stay together; one per key for those who give neither. The email
    is kept only as part of that digest; name and phone as a chat resident's are."""
    name = " ".join(part for part in (_given(form.first_name), _given(form.last_name)) if part)
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"first_name and last_name: at most {MAX_NAME_CHARS} characters")
    email = _given(form.email)
    if email is not None and (len(email) > MAX_EMAIL_CHARS or "@" not in email[1:-1]):
        raise InvalidInput("email is not an email address", field="email")
    phone = _given(form.phone)
    phone = check_phone(phone) if phone is not None else None
    if email is not None:
        identity = "email:" + email.lower()
    elif phone is not None:
        identity = "phone:" + phone
    else:
        identity = f"key:{key.id}"
    user_id = hashlib.sha256(identity.encode()).hexdigest()[:40]
    person = await find_person(session, API_CHANNEL, user_id)
    if person is None:
        try:
            async with session.begin_nested():
                person = await register_person(
                    session,
                    policy,
                    channel=API_CHANNEL,
                    channel_user_id=user_id,
                    chat_id=user_id,
                    area_id=area_id,
                    display_name=name or None,
                )
        except IntegrityError:
            # A request for the same person, at the same moment, made them first.
            person = await find_person(session, API_CHANNEL, user_id)
            if person is None:
                raise
    if name:
        person.display_name = name
    if phone is not None:
        person.phone = phone
    session.add(person)
    await session.flush()
    return person


# --- GET requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    """GET requests' filters, checked: `ids` (service_request_id) override all the others."""

    ids: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()


def _listed(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def parse_datetime(text: str, name: str, policy: Policy) -> datetime:
    """A w3 datetime (2010-01-01T00:00:00Z, or with an offset); one without a zone is the
    district's local time. Dates at the calendar's very ends (year 1, year 9999) are refused:
    no ticket is that old or that new, and the 90-day window around them cannot be counted."""
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=policy.calendar.timezone)
        moment = moment.astimezone(UTC)
        if not 2 <= moment.year <= 9998:  # the 90-day window around it must exist
            raise OverflowError(moment.year)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name} is not a w3 datetime (2010-01-01T00:00:00Z) within the calendar", field=name
        ) from None
    return moment


def request_query(
    policy: Policy,
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> RequestQuery:
    """GET requests' parameters as the spec spells them, checked."""
    ids = _listed(service_request_id)
    if len(ids) > MAX_IDS:
        raise InvalidInput(
            f"at most {MAX_IDS} service_request_id at once", field="service_request_id"
        )
    services = tuple(find_service(code) for code in _listed(service_code))
    statuses = tuple(word.lower() for word in _listed(status))
    wrong = [word for word in statuses if word not in ("open", "closed")]
    if wrong:
        raise InvalidInput("status is open or closed", field="status")
    start = parse_datetime(start_date, "start_date", policy) if _given(start_date) else None
    end = parse_datetime(end_date, "end_date", policy) if _given(end_date) else None
    if start is not None and end is not None and start > end:
        raise InvalidInput("start_date is after end_date", field="start_date")
    return RequestQuery(ids, services, start, end, statuses)


@dataclass(frozen=True)
class RequestView:
    """What Open311 shows of one ticket. `state` is the ticket's own, for the HTTP layer's label
    when there is no note to show."""

    number: str
    state: str
    service: Service | None
    category: str | None
    agency: str | None
    requested: datetime
    updated: datetime
    expected: datetime | None
    notes: str | None = None
    description: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    media_url: str | None = None

    @property
    def status(self) -> str:
        return "closed" if self.state in CLOSED_STATES else "open"


async def find_service_requests(
    session: AsyncSession, policy: Policy, query: RequestQuery
) -> list[RequestView]:
    """The requests the filters select, newest first, at most MAX_REQUESTS. Without ids or
    dates, the last DEFAULT_DAYS days."""
    page = select(*_COLUMNS)
    if query.ids:
        page = page.where(col(Ticket.number).in_(query.ids))
    else:
        end = query.end
        start = query.start
        if start is None:
            start = (end or policy.clock.now()) - timedelta(days=DEFAULT_DAYS)
        page = page.where(col(Ticket.created_at) >= start)
        if end is not None:
            page = page.where(col(Ticket.created_at) <= end)
        if query.services:
            pairs = [(service.group, service.name) for service in query.services]
            page = page.where(tuple_(Ticket.category, Ticket.subcategory).in_(pairs))
        if query.statuses and len(set(query.statuses)) == 1:
            states = OPEN_STATES if query.statuses[0] == "open" else CLOSED_STATES
            page = page.where(col(Ticket.state).in_(states))
    newest = (col(Ticket.created_at).desc(), col(Ticket.id).desc())
    rows = await session.exec(_with_facts(page.order_by(*newest).limit(MAX_REQUESTS)))
    return [_view(row) for row in rows.all()]


async def find_service_request(session: AsyncSession, number: str) -> RequestView:
    page = select(*_COLUMNS).where(Ticket.number == number.strip())
    row = (await session.exec(_with_facts(page))).first()
    if row is None:
        raise NotFound(f"service_request_id {number!r} was not found", field="service_request_id")
    return _view(row)


# The moves whose note is written for the resident (the 办结 reply, why it was closed, withdrawn
# or sent back for 重办). Other notes (督办, a worker's note, a department's return reason, 吹哨)
# are the office's own and may name people: GET is public, so they never show.
PUBLIC_NOTES = frozenset(
    {
        Action.RESOLVE,
        Action.DEPARTMENT_RESOLVE,
        Action.CLOSE,
        Action.CANCEL,
        Action.REJECT,
        Action.REOPEN,
    }
)

# What a view reads of a ticket: columns, not ORM objects (a thousand of them at a time).
_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.state,
    Ticket.category,
    Ticket.subcategory,
    Ticket.source,
    Ticket.text,
    Ticket.address,
    Ticket.latitude,
    Ticket.longitude,
    Ticket.attachments,
    Ticket.handling_area_id,
    Ticket.department_id,
    Ticket.created_at,
    Ticket.due_dispatch_at,
    Ticket.due_accept_at,
    Ticket.due_resolve_at,
)
_LATEST = aliased(TicketEvent, name="latest")


def _with_facts(page: Any) -> Any:
    """The page of tickets with, in the same statement, each one's latest timeline entry (by
    the (ticket_id, id) index) and the names of the area and department holding it."""
    tickets = page.subquery("page")
    latest_id = (
        select(func.max(_LATEST.id)).where(_LATEST.ticket_id == tickets.c.id).scalar_subquery()
    )
    return (
        select(
            tickets,
            col(TicketEvent.at).label("updated"),
            col(TicketEvent.note).label("note"),
            col(TicketEvent.action).label("action"),
            col(Area.name).label("area_name"),
            col(Department.name).label("department_name"),
        )
        .select_from(tickets)
        .outerjoin(TicketEvent, col(TicketEvent.id) == latest_id)
        .outerjoin(Area, col(Area.id) == tickets.c.handling_area_id)
        .outerjoin(Department, col(Department.id) == tickets.c.department_id)
        .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
    )


def _view(row: Any) -> RequestView:
    """One row of `_with_facts` as Open311 may show it. The agency is the lead department once
    the street dispatched it (党委派单), else the grid, community or street handling it."""
    view = RequestView(
        number=row.number,
        state=row.state,
        service=service_of(row.category, row.subcategory),
        category=row.category,
        agency=row.department_name or row.area_name,
        requested=row.created_at,
        updated=row.updated or row.created_at,
        expected=deadline(row),
    )
    if row.source != Source.API:
        return view
    media = next(
        (a.get("url") for a in row.attachments or () if a.get("kind") == "media_url"), None
    )
    return replace(
        view,
        notes=row.note if row.action in PUBLIC_NOTES else None,
        description=row.text,
        address=row.address,
        latitude=row.latitude,
        longitude=row.longitude,
        media_url=media,
    )
