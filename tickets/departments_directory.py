"""The directory file's departments (职能部门): who they are, the area each serves, and the
category → department table behind 党委派单's suggestions.

A department serves its area and everything below it. Its categories are level-1 or level-2
names of the taxonomy; a load that lists departments makes the table exactly the file's, so
editing the file and loading it again changes the suggestions in place.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Department, DepartmentCategory
from tickets.categories import CATEGORIES, SUBCATEGORIES
from tickets.errors import NotFound

# "其他" sits under every level-1 class, so alone it names none of them.
_AMBIGUOUS = frozenset({"其他"})
KNOWN_CATEGORIES = frozenset(CATEGORIES) | {
    name for names in SUBCATEGORIES.values() for name in names if name not in _AMBIGUOUS
}


class DepartmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    serves: str = Field(min_length=1, max_length=64)
    categories: list[str] = Field(default_factory=list)


def check_departments(departments: list[DepartmentSpec]) -> None:
    """Codes used once, categories the taxonomy knows (raised as ValueError for the file)."""
    counts = Counter(department.code for department in departments)
    twice = sorted(code for code, count in counts.items() if count > 1)
    if twice:
        raise ValueError(f"department codes used twice: {', '.join(twice)}")
    for department in departments:
        unknown = [name for name in department.categories if name not in KNOWN_CATEGORIES]
        if unknown:
            raise ValueError(
                f"department {department.code!r}: unknown category {unknown[0]!r} "
                "(a level-1 or level-2 name of the taxonomy)"
            )


async def put_departments(
    session: AsyncSession, specs: list[DepartmentSpec] | None, area_ids: dict[str, int]
) -> dict[str, tuple[int, int]]:
    """Create or update the departments of `specs` and replace the category table with theirs.
    Returns every department's (id, area id) by code, those the file leaves out included."""
    known = {
        department.code: department for department in (await session.exec(select(Department))).all()
    }
    if specs is not None:
        for spec in specs:
            area_id = area_ids.get(spec.serves)
            if area_id is None:
                raise NotFound(
                    f"department {spec.code!r} serves no known area: {spec.serves!r}",
                    code=spec.serves,
                )
            department = known.get(spec.code) or Department(
                code=spec.code, name=spec.name, area_id=area_id
            )
            department.name, department.area_id = spec.name, area_id
            session.add(department)
            known[spec.code] = department
        await session.flush()
        await _replace_categories(session, specs, known)
    return {
        code: (department.id, department.area_id)
        for code, department in known.items()
        if department.id is not None
    }


async def _replace_categories(
    session: AsyncSession, specs: list[DepartmentSpec], known: dict[str, Department]
) -> None:
    """Only the rows that differ are written: loading the same file again writes nothing."""
    wanted = {(category, known[spec.code].id) for spec in specs for category in spec.categories}
    connection = await session.connection()
    table = DepartmentCategory.__table__
    rows = await connection.execute(select(table.c.category, table.c.department_id))
    held = {(category, department_id) for category, department_id in rows.all()}
    for category, department_id in held - wanted:
        await connection.execute(
            delete(table).where(
                table.c.category == category, table.c.department_id == department_id
            )
        )
    added = wanted - held
    if added:
        await connection.execute(
            insert(table),
            [{"category": category, "department_id": number} for category, number in added],
        )
