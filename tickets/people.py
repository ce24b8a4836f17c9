"""People and roles: residents register themselves; workers and staff join with an invite code."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, InviteCode, Person, Ticket
from tickets.areas import ancestor_ids, contains, get_area
from tickets.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from tickets.lifecycle import Role
from tickets.policy import Policy

# Unambiguous characters only: codes are read aloud and typed on phones.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SUPPORTED_LOCALES = ("zh-CN", "en")


async def find_person(session: AsyncSession, channel: str, channel_user_id: str) -> Person | None:
    query = select(Person).where(
        Person.channel == channel, Person.channel_user_id == channel_user_id
    )
    return (await session.exec(query)).first()


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}", person_id=person_id)
    return person


async def register_person(
    session: AsyncSession,
    policy: Policy,
    *,
    channel: str,
    channel_user_id: str,
    chat_id: str,
    role: Role = Role.RESIDENT,
    area_id: int | None = None,
    display_name: str | None = None,
    locale: str = "zh-CN",
) -> Person:
    """The person behind a chat identity, created on first contact (as a resident by default)."""
    person = await find_person(session, channel, channel_user_id)
    if person is not None:
        return person
    if locale not in SUPPORTED_LOCALES:
        locale = "zh-CN"
    if area_id is not None:
        await get_area(session, area_id)
    person = Person(
        channel=channel,
        channel_user_id=channel_user_id,
        chat_id=chat_id,
        role=role,
        area_id=area_id,
        display_name=display_name,
        locale=locale,
        created_at=policy.clock.now(),
    )
    session.add(person)
    await session.flush()
    return person


async def set_home_area(session: AsyncSession, person: Person, area_id: int) -> Person:
    """A resident picks their grid (or community) once; later complaints are routed from it."""
    await get_area(session, area_id)
    person.area_id = area_id
    session.add(person)
    return person


async def set_locale(session: AsyncSession, person: Person, locale: str) -> Person:
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInput(f"unsupported language {locale!r}", locale=locale)
    person.locale = locale
    session.add(person)
    return person


async def set_phone(session: AsyncSession, person: Person, phone: str) -> Person:
    """Remember the person's number (checked, E.164: tickets.contact) for their next call back."""
    person.phone = phone
    session.add(person)
    return person


async def staff_of_area(session: AsyncSession, area_id: int) -> Sequence[Person]:
    """Staff (and admins) seated at exactly this area: who to tell about its triage queue."""
    query = select(Person).where(
        Person.area_id == area_id, col(Person.role).in_([Role.STAFF, Role.ADMIN])
    )
    return (await session.exec(query.order_by(col(Person.id)))).all()


async def people_with_duties(session: AsyncSession, *, channel: str) -> Sequence[Person]:
    """Workers, staff, department handlers and admins who use `channel`: everyone whose menu
    is not the residents'."""
    query = select(Person).where(
        Person.channel == channel,
        col(Person.role).in_([Role.WORKER, Role.STAFF, Role.DEPARTMENT, Role.ADMIN]),
    )
    return (await session.exec(query.order_by(col(Person.id)))).all()


async def assignable_workers(session: AsyncSession, staff: Person) -> Sequence[Person]:
    """On-duty workers in `staff`'s subtree, by area then name: the choices of 派单."""
    if Role(staff.role) not in (Role.STAFF, Role.ADMIN) or staff.area_id is None:
        raise PermissionDenied("only staff assign tickets", role=staff.role)
    area = await get_area(session, staff.area_id)
    query = (
        select(Person)
        .join(Area, col(Area.id) == Person.area_id)
        .where(
            Person.role == Role.WORKER,
            col(Person.on_duty),
            col(Area.path).startswith(area.path),
        )
        .order_by(col(Area.path), col(Person.id))
    )
    return (await session.exec(query)).all()


async def create_invite(
    session: AsyncSession, policy: Policy, *, staff: Person, area: Area, role: Role = Role.WORKER
) -> InviteCode:
    """An invite code for a worker (or staff member) of `area`, which must lie in staff's area."""
    if Role(staff.role) not in (Role.STAFF, Role.ADMIN):
        raise PermissionDenied("only staff can invite", role=staff.role)
    if role not in (Role.WORKER, Role.STAFF):
        raise InvalidInput(f"cannot invite a {role}", role=str(role))
    if Role(staff.role) is Role.STAFF:
        staff_area = await get_area(session, staff.area_id) if staff.area_id else None
        if staff_area is None or not contains(staff_area, area.path):
            raise PermissionDenied(f"{area.name} is outside your area", area=area.name)
    now = policy.clock.now()
    invite = InviteCode(
        code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)),
        area_id=area.id,
        role=role,
        created_by_id=staff.id,
        created_at=now,
        expires_at=now + timedelta(days=policy.invite_valid_days),
    )
    session.add(invite)
    await session.flush()
    return invite


async def redeem_invite(
    session: AsyncSession, policy: Policy, *, person: Person, code: str
) -> Person:
    """/join CODE: the person becomes a worker (or staff) of the invite's area. Codes work once."""
    invite = await session.get(InviteCode, code.strip().upper())
    if invite is None:
        raise NotFound("unknown invite code", reason="invite_unknown")
    if invite.used_at is not None:
        raise RuleViolation("this invite code has already been used", reason="invite_used")
    if invite.expires_at <= policy.clock.now():
        raise RuleViolation("this invite code has expired", reason="invite_expired")
    invite.used_at, invite.used_by_id = policy.clock.now(), person.id
    person.role, person.area_id, person.on_duty = invite.role, invite.area_id, True
    session.add_all([invite, person])
    return person


async def possible_leaders(session: AsyncSession, ticket: Ticket) -> Sequence[Person]:
    """Staff and admins seated at the ticket's area or above it, nearest first: who may answer
    for it as 包案领导 (a leader sees the tickets below their seat)."""
    area = await get_area(session, ticket.area_id)
    query = (
        select(Person)
        .join(Area, col(Area.id) == Person.area_id)
        .where(
            col(Person.area_id).in_(ancestor_ids(area)),
            col(Person.role).in_([Role.STAFF, Role.ADMIN]),
        )
        .order_by(col(Area.path).desc(), col(Person.id))
    )
    return (await session.exec(query)).all()
