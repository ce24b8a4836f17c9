"""People and roles: residents register themselves; workers and staff join with an invite code."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, InviteCode, Person
from tickets.areas import contains, get_area
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
        raise NotFound("unknown invite code", code=code)
    if invite.used_at is not None:
        raise RuleViolation("this invite code has already been used", code=code)
    if invite.expires_at <= policy.clock.now():
        raise RuleViolation("this invite code has expired", code=code)
    invite.used_at, invite.used_by_id = policy.clock.now(), person.id
    person.role, person.area_id, person.on_duty = invite.role, invite.area_id, True
    session.add_all([invite, person])
    return person
