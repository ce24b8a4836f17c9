"""接诉即办: the 12345 hotline's cases become tickets, thousands in one transaction.

Each case is classified (unless the hotline named a class of the taxonomy), placed by its
address (the deepest area whose name the address holds, else the area the import is for),
routed as a chat complaint is — a grid's least-loaded worker, else the triage queue of the
nearest staffed area — and its clocks set, none ending after the hotline's own deadline. The
caller is a person of channel `hotline`, known by their number; they have no chat, so only those
handling the ticket hear of it. A case number already imported is left alone: importing a file
again changes nothing.

The chat path (tickets.intake) writes one ticket a transaction with several round trips each;
here the reads are made once for the whole file and the rows written in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Person, Ticket
from storage.tickets import insert_tickets
from tickets.areas import LEVEL_DEPTH, Level
from tickets.clocks import arm, start_dispatch_clock
from tickets.errors import InvalidInput
from tickets.handling import assign_to
from tickets.hotline import HotlineCase
from tickets.lifecycle import Action, Role, State
from tickets.numbering import next_ticket_numbers
from tickets.policy import Policy
from tickets.routing import dispatchable, triage_area, triage_reason
from tickets.sources import HOTLINE_CHANNEL, Source
from tickets.timeline import event_row

NO_NUMBER = "unknown"  # the one caller standing for every call without a number
_CHUNK = 5000  # values per IN list, well below SQLite's and asyncpg's parameter limits


class Classifies(Protocol):
    def classify(self, text: str) -> Any: ...


@dataclass(frozen=True)
class HotlineImport:
    """What an import made: the new tickets (with ids, as their columns), and how many cases
    were there before."""

    tickets: list[SimpleNamespace]
    already_imported: int


async def import_cases(
    session: AsyncSession,
    policy: Policy,
    classifier: Classifies,
    cases: Sequence[HotlineCase],
    *,
    default_area: Area | None = None,
) -> HotlineImport:
    """Open a ticket for each case not imported before, in the caller's transaction.
    `default_area` places a case whose address names no area (the only district if None)."""
    known = await _imported(session, [case.case_number for case in cases])
    new = [case for case in cases if case.case_number not in known]
    if not new:
        return HotlineImport([], len(cases))
    now = policy.clock.now()
    callers = await _callers(session, new, now)
    areas = await AreaNames.load(session)
    fallback = default_area or await _only_district(session)
    places = [areas.place(case.address) or fallback for case in new]
    router = await _Router.load(session, {area.id for area in places})
    numbers = await next_ticket_numbers(session, policy.calendar.local_date(now), len(new))
    tickets, events = [], []
    for case, area, number in zip(new, places, numbers, strict=True):
        ticket = _ticket(case, classifier, number, callers, area, now)
        events.append(await _route(session, policy, router, ticket, area, case, now))
        tickets.append(ticket)
    ids = await insert_tickets(session, tickets, events)
    for ticket, ticket_id in zip(tickets, ids, strict=True):
        ticket.id = ticket_id
    return HotlineImport(tickets, len(cases) - len(new))


def _ticket(
    case: HotlineCase,
    classifier: Classifies,
    number: str,
    callers: dict[str, int],
    area: Area,
    now: datetime,
) -> SimpleNamespace:
    found = classifier.classify(case.text)
    category, subcategory = case.category, case.subcategory
    if category is None:
        category, subcategory = found.category, found.subcategory
    given = dict(
        number=number,
        external_number=case.case_number,
        external_due_at=case.deadline,
        resident_id=callers[case.caller_phone or NO_NUMBER],
        text=case.text,
        attachments=[],
        # The caller as the hotline gave them, shown to those handling it as a 代办's resident
        # is; their number is also the one to call back (回电).
        on_behalf_name=case.caller_name,
        on_behalf_phone=case.caller_phone,
        contact_phone=case.caller_phone,
        anonymous=False,
        address=case.address,
        category=category,
        subcategory=subcategory,
        category_confidence=1.0 if case.category else found.confidence,
        category_keywords=[] if case.category else list(found.keywords),
        urgency=found.urgency,
        source=Source.HOTLINE,
        state=State.SUBMITTED,
        area_id=area.id,
        handling_area_id=area.id,
        handling_level=area.level,
        created_at=now,
    )
    return SimpleNamespace(**(_BLANK | given))


# A new ticket as its columns, not as a Ticket: SQLModel's instrumented constructor took 0.4 ms
# a ticket, a third of the whole import. The clocks and routing read and set the same names; the
# columns an import does not set take the model's own defaults, read once.
_DEFAULTS = Ticket()
_BLANK = {column.key: getattr(_DEFAULTS, column.key) for column in Ticket.__table__.columns}


async def _route(
    session: AsyncSession,
    policy: Policy,
    router: _Router,
    ticket: Any,
    area: Area,
    case: HotlineCase,
    now: datetime,
) -> list[dict[str, Any]]:
    """Send the ticket to a worker of its grid or to triage, set its clocks; its first events."""
    submitted = _event(Action.SUBMIT, None, State.SUBMITTED, now)
    submitted["data"] = {"received_at": case.received_at.isoformat()}
    classified = dispatchable(ticket.category, ticket.urgency)
    worker_id = router.take_worker(area) if classified else None
    if worker_id is not None:
        assign_to(ticket, worker_id, area, policy, now)
        ticket.state = State.ASSIGNED
        assigned = _event(Action.ASSIGN, State.SUBMITTED, State.ASSIGNED, now)
        assigned["data"] = {"assignee_id": worker_id}
        events = [submitted, assigned]
    else:
        handling = await router.triage(session, area)
        ticket.handling_area_id, ticket.handling_level = handling.id, handling.level
        reason = triage_reason(area, classified=classified)
        submitted["data"]["triage"] = str(reason)
        start_dispatch_clock(ticket, policy, now)
        events = [submitted]
    arm(ticket, policy, now)
    return events


def _event(action: str, from_state: str | None, to_state: str, at: datetime) -> dict[str, Any]:
    return event_row(
        ticket_id=None, actor=None, action=action, from_state=from_state, to_state=to_state, at=at
    )


async def _imported(session: AsyncSession, case_numbers: list[str]) -> set[str]:
    """The case numbers among these that already have a ticket."""
    found: set[str] = set()
    for start in range(0, len(case_numbers), _CHUNK):
        chunk = case_numbers[start : start + _CHUNK]
        query = select(Ticket.external_number).where(col(Ticket.external_number).in_(chunk))
        found.update((await session.exec(query)).all())
    return found


_PEOPLE = Person.__table__


async def _callers(
    session: AsyncSession, cases: Sequence[HotlineCase], now: datetime
) -> dict[str, int]:
    """Each caller's person id by number (NO_NUMBER for calls without one), made on first call.
    A caller's name is kept as first given: a later call under another name changes nothing."""
    names: dict[str, str | None] = {}
    for case in cases:
        names.setdefault(case.caller_phone or NO_NUMBER, case.caller_name)
    if NO_NUMBER in names:
        names[NO_NUMBER] = None  # not anyone's name: it stands for many callers
    rows = [
        {
            "channel": HOTLINE_CHANNEL,
            "channel_user_id": identity,
            "chat_id": "",
            "role": Role.RESIDENT,
            "locale": "zh-CN",
            "on_duty": True,
            "display_name": name,
            "phone": None if identity == NO_NUMBER else identity,
            "created_at": now,
        }
        for identity, name in names.items()
    ]
    connection = await session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(_PEOPLE).on_conflict_do_nothing(
        index_elements=["channel", "channel_user_id"]
    )
    await connection.execute(upsert, rows)
    ids: dict[str, int] = {}
    identities = list(names)
    for start in range(0, len(identities), _CHUNK):
        query = select(_PEOPLE.c.channel_user_id, _PEOPLE.c.id).where(
            _PEOPLE.c.channel == HOTLINE_CHANNEL,
            _PEOPLE.c.channel_user_id.in_(identities[start : start + _CHUNK]),
        )
        ids.update((await connection.execute(query)).tuples().all())
    return ids


async def _only_district(session: AsyncSession) -> Area:
    roots = (await session.exec(select(Area).where(col(Area.parent_id).is_(None)))).all()
    if len(roots) != 1:
        raise InvalidInput(
            "the area tree has several top areas: name the area the cases are for",
            reason="no_area",
        )
    return roots[0]


class AreaNames:
    """Finds the area an address names: the deepest level first, then the longest name. A name
    several areas share places nothing (which one is meant cannot be told)."""

    def __init__(self, areas: Sequence[Area]) -> None:
        by_name: dict[str, list[Area]] = defaultdict(list)
        for area in areas:
            if len(area.name) >= 2:
                by_name[area.name].append(area)
        # Names by their first character: an address is scanned once, position by position.
        self._starting: dict[str, list[tuple[str, Area]]] = defaultdict(list)
        for name, named in by_name.items():
            if len(named) == 1:
                self._starting[name[0]].append((name, named[0]))

    @classmethod
    async def load(cls, session: AsyncSession) -> AreaNames:
        return cls((await session.exec(select(Area))).all())

    def place(self, address: str | None) -> Area | None:
        if not address:
            return None
        best: tuple[int, int] | None = None
        found = None
        for at, char in enumerate(address):
            for name, area in self._starting.get(char, ()):
                if address.startswith(name, at):
                    rank = (LEVEL_DEPTH[Level(area.level)], len(name))
                    if best is None or rank > best:
                        best, found = rank, area
        return found


class _Router:
    """Routing for a whole import: each grid's on-duty workers with their open tickets, read
    once and counted on as tickets are given out; triage areas looked up once per area."""

    def __init__(self, loads: dict[int, dict[int, int]]) -> None:
        self._loads = loads  # grid id -> worker id -> open tickets
        self._triage: dict[int, Area] = {}

    @classmethod
    async def load(cls, session: AsyncSession, area_ids: set[int]) -> _Router:
        open_work = (Ticket.assignee_id == Person.id) & col(Ticket.state).in_(
            [State.ASSIGNED, State.ACCEPTED]
        )
        query = (
            select(Person.area_id, Person.id, func.count(col(Ticket.assignee_id)))
            .outerjoin(Ticket, open_work)
            .where(
                col(Person.area_id).in_(area_ids),
                Person.role == Role.WORKER,
                col(Person.on_duty),
            )
            .group_by(col(Person.area_id), col(Person.id))
        )
        loads: dict[int, dict[int, int]] = defaultdict(dict)
        for grid_id, worker_id, count in (await session.exec(query)).all():
            loads[grid_id][worker_id] = count
        return cls(loads)

    def take_worker(self, area: Area) -> int | None:
        """The least-loaded worker of a grid (the longest-serving on a tie), now one busier."""
        if area.level != Level.GRID or not self._loads.get(area.id):
            return None
        workers = self._loads[area.id]
        worker_id = min(workers, key=lambda worker: (workers[worker], worker))
        workers[worker_id] += 1
        return worker_id

    async def triage(self, session: AsyncSession, area: Area) -> Area:
        if area.id not in self._triage:
            self._triage[area.id] = await triage_area(session, area)
        return self._triage[area.id]
