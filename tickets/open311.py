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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nlp.classifier import Classifier
from storage.models import ApiKey, Area, Department, Person, Ticket, TicketEvent
from tickets.categories import CATEGORIES, SUBCATEGORIES
from tickets.clocks import deadline
from tickets.contact import check_phone
from tickets.errors import InvalidInput, NotFound
from tickets.intake import check_address, submit_complaint
from tickets.lifecycle import State
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
        person = await register_person(
            session,
            policy,
            channel=API_CHANNEL,
            channel_user_id=user_id,
            chat_id=user_id,
            area_id=area_id,
            display_name=name or None,
        )
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
    district's local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{name} is not a w3 datetime (2010-01-01T00:00:00Z)", field=name
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=policy.calendar.timezone)
    return moment.astimezone(UTC)


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
    statement = select(Ticket)
    if query.ids:
        statement = statement.where(col(Ticket.number).in_(query.ids))
    else:
        end = query.end
        start = query.start
        if start is None:
            start = (end or policy.clock.now()) - timedelta(days=DEFAULT_DAYS)
        statement = statement.where(col(Ticket.created_at) >= start)
        if end is not None:
            statement = statement.where(col(Ticket.created_at) <= end)
        if query.services:
            pairs = [(service.group, service.name) for service in query.services]
            statement = statement.where(tuple_(Ticket.category, Ticket.subcategory).in_(pairs))
        if query.statuses and len(set(query.statuses)) == 1:
            states = OPEN_STATES if query.statuses[0] == "open" else CLOSED_STATES
            statement = statement.where(col(Ticket.state).in_(states))
    statement = statement.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
    tickets = (await session.exec(statement.limit(MAX_REQUESTS))).all()
    return await _views(session, tickets)


async def find_service_request(session: AsyncSession, number: str) -> RequestView:
    ticket = (await session.exec(select(Ticket).where(Ticket.number == number.strip()))).first()
    if ticket is None:
        raise NotFound(f"service_request_id {number!r} was not found", field="service_request_id")
    return (await _views(session, [ticket]))[0]


async def _views(session: AsyncSession, tickets: Sequence[Ticket]) -> list[RequestView]:
    if not tickets:
        return []
    ids = [ticket.id for ticket in tickets]
    latest = (
        select(func.max(TicketEvent.id))
        .where(col(TicketEvent.ticket_id).in_(ids))
        .group_by(col(TicketEvent.ticket_id))
    )
    events = await session.exec(
        select(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.note).where(
            col(TicketEvent.id).in_(latest)
        )
    )
    last = {ticket_id: (at, note) for ticket_id, at, note in events.all()}
    area_ids = {ticket.handling_area_id for ticket in tickets}
    areas = await session.exec(select(Area.id, Area.name).where(col(Area.id).in_(area_ids)))
    area_names = dict(areas.all())
    department_ids = {ticket.department_id for ticket in tickets} - {None}
    departments = await session.exec(
        select(Department.id, Department.name).where(col(Department.id).in_(department_ids))
    )
    department_names = dict(departments.all()) if department_ids else {}
    return [
        _view(ticket, _agency(ticket, area_names, department_names), last.get(ticket.id))
        for ticket in tickets
    ]


def _agency(ticket: Ticket, areas: dict[int, str], departments: dict[int, str]) -> str | None:
    """Who holds the ticket: the lead department once the street dispatched it (党委派单),
    else the grid, community or street handling it."""
    if ticket.department_id is not None and ticket.department_id in departments:
        return departments[ticket.department_id]
    return areas.get(ticket.handling_area_id)


def _view(
    ticket: Ticket, agency: str | None, last: tuple[datetime, str | None] | None
) -> RequestView:
    updated, note = last if last is not None else (ticket.created_at, None)
    view = RequestView(
        number=ticket.number,
        state=ticket.state,
        service=service_of(ticket.category, ticket.subcategory),
        category=ticket.category,
        agency=agency,
        requested=ticket.created_at,
        updated=updated,
        expected=deadline(ticket),
    )
    if ticket.source != Source.API:
        return view
    media = next(
        (a.get("url") for a in ticket.attachments or () if a.get("kind") == "media_url"), None
    )
    return replace(
        view,
        notes=note,
        description=ticket.text,
        address=ticket.address,
        latitude=ticket.latitude,
        longitude=ticket.longitude,
        media_url=media,
    )
