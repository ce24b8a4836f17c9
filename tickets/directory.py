"""The directory an admin bootstraps from a file: the area tree, staff and workers.

The same shape is accepted from YAML (`minhu areas load FILE.yaml`) and from code (the demo).
Loading is idempotent: areas are matched by code, people by channel identity.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area
from tickets.areas import add_area, get_area_by_code
from tickets.errors import InvalidInput
from tickets.lifecycle import Role
from tickets.people import SUPPORTED_LOCALES, find_person, register_person
from tickets.policy import Policy


class AreaSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    level: str
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    children: list[AreaSpec] = Field(default_factory=list)


class PersonSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role
    area: str
    channel: str = Field(default="telegram", pattern=r"^[a-z]+$", max_length=16)
    user_id: str = Field(min_length=1, max_length=64)
    chat_id: str | None = Field(default=None, max_length=64)
    locale: str = "zh-CN"

    @field_validator("user_id", "chat_id", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("role")
    @classmethod
    def _not_resident(cls, value: Role) -> Role:
        if value in (Role.RESIDENT, Role.SYSTEM):
            raise ValueError("residents register themselves; list staff, workers and admins")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"locale must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value


class DirectorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    areas: list[AreaSpec] = Field(min_length=1)
    people: list[PersonSpec] = Field(default_factory=list)


def parse_directory(data: Any) -> DirectorySpec:
    """Validate a loaded YAML document; every problem is listed with where it is."""
    try:
        return DirectorySpec.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise InvalidInput(f"the directory file is not valid: {problems}") from None


async def load_directory(
    session: AsyncSession, policy: Policy, spec: DirectorySpec
) -> dict[str, int]:
    """Create or update the areas and people of `spec`; returns how many of each were loaded."""
    codes = [code for area in spec.areas for code in _codes(area)]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise InvalidInput(f"area codes used twice: {', '.join(duplicates)}")
    for area in spec.areas:
        await _load_area(session, area, parent=None)
    for person_spec in spec.people:
        await _load_person(session, policy, person_spec)
    return {"areas": len(codes), "people": len(spec.people)}


def _codes(area: AreaSpec) -> list[str]:
    return [area.code, *(code for child in area.children for code in _codes(child))]


async def _load_area(session: AsyncSession, spec: AreaSpec, parent: Area | None) -> None:
    area = await add_area(session, code=spec.code, name=spec.name, level=spec.level, parent=parent)
    for child in spec.children:
        await _load_area(session, child, parent=area)


async def _load_person(session: AsyncSession, policy: Policy, spec: PersonSpec) -> None:
    area = await get_area_by_code(session, spec.area)
    person = await find_person(session, spec.channel, spec.user_id)
    if person is None:
        person = await register_person(
            session,
            policy,
            channel=spec.channel,
            channel_user_id=spec.user_id,
            chat_id=spec.chat_id or spec.user_id,
        )
    person.role, person.area_id, person.display_name = spec.role, area.id, spec.name
    person.chat_id, person.locale, person.on_duty = spec.chat_id or spec.user_id, spec.locale, True
    session.add(person)
