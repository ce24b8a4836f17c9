"""The directory file's departments: loaded with their handlers and categories, reloaded in
place, and a mistake refused in one line naming it."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from sqlmodel import select

from storage.models import Department, DepartmentCategory, Person
from tests.factories import DIRECTORY
from tickets.directory import load_directory, parse_directory
from tickets.errors import InvalidInput, NotFound


def directory(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(DIRECTORY)
    spec.update(changes)
    return spec


async def load(sessions, policy, spec: dict[str, Any]) -> dict[str, int]:
    async with sessions() as session:
        counts = await load_directory(session, policy, parse_directory(spec))
        await session.commit()
    return counts


async def table(sessions) -> set[tuple[str, str]]:
    """The category → department table as (category, department code)."""
    async with sessions() as session:
        query = select(DepartmentCategory.category, Department.code).join(
            Department, Department.id == DepartmentCategory.department_id
        )
        return set((await session.exec(query)).all())


async def test_departments_handlers_and_categories_are_loaded(sessions, policy):
    counts = await load(sessions, policy, directory())
    assert counts["departments"] == 3
    assert await table(sessions) == {
        ("城市建设和市政管理", "cg"),
        ("城乡建设", "zj"),
        ("工程质量", "zj"),
        ("水利水电", "sw"),
    }
    async with sessions() as session:
        departments = {d.code: d for d in (await session.exec(select(Department))).all()}
        handler = (
            await session.exec(select(Person).where(Person.channel_user_id == "dept-sw"))
        ).one()
    assert handler.role == "department"
    assert handler.department_id == departments["sw"].id
    # A handler's area is the one their department serves.
    assert handler.area_id == departments["sw"].area_id != departments["cg"].area_id


async def test_a_reload_after_editing_the_file_changes_the_table_in_place(sessions, policy):
    await load(sessions, policy, directory())
    async with sessions() as session:
        before = {d.code: d.id for d in (await session.exec(select(Department))).all()}
    edited = directory()
    edited["departments"][0]["categories"] = ["环境污染"]  # 城管 takes pollution instead
    edited["departments"][1]["name"] = "住房和城乡建设局"
    await load(sessions, policy, edited)
    assert await table(sessions) == {
        ("环境污染", "cg"),
        ("城乡建设", "zj"),
        ("工程质量", "zj"),
        ("水利水电", "sw"),
    }
    async with sessions() as session:
        after = {d.code: d for d in (await session.exec(select(Department))).all()}
    assert {code: d.id for code, d in after.items()} == before
    assert after["zj"].name == "住房和城乡建设局"


async def test_a_file_without_departments_leaves_them_as_they_are(sessions, policy):
    await load(sessions, policy, directory())
    without = directory()
    del without["departments"]
    without["people"] = [p for p in without["people"] if p["role"] != "department"]
    await load(sessions, policy, without)
    assert len(await table(sessions)) == 4


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"departments": [{"code": "x", "name": "X", "serves": "d", "categories": ["路灯"]}]},
            "department 'x': unknown category '路灯'",
        ),
        (
            {"departments": [{"code": "x", "name": "X", "serves": "d", "categories": ["其他"]}]},
            "department 'x': unknown category '其他'",
        ),
        (
            {
                "departments": [
                    {"code": "x", "name": "X", "serves": "d"},
                    {"code": "x", "name": "Y", "serves": "d"},
                ]
            },
            "department codes used twice: x",
        ),
        (
            {"people": [{"name": "甲", "role": "department", "user_id": "1"}]},
            "甲: a department handler needs `department: CODE`",
        ),
        (
            {"people": [{"name": "甲", "role": "worker", "department": "cg", "user_id": "1"}]},
            "甲: only role `department` takes a department",
        ),
        (
            {
                "people": [
                    {
                        "name": "甲",
                        "role": "department",
                        "department": "cg",
                        "area": "g1",
                        "user_id": "1",
                    }
                ]
            },
            "甲: a department handler's area is their department's",
        ),
    ],
)
async def test_a_mistake_in_the_file_is_refused_in_one_line(sessions, policy, change, words):
    with pytest.raises(InvalidInput, match=re.escape(words)) as refused:
        await load(sessions, policy, directory(**change))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"departments": [{"code": "x", "name": "X", "serves": "nowhere"}]},
            "department 'x' serves no known area: 'nowhere'",
        ),
        (
            {"people": [{"name": "甲", "role": "department", "department": "qq", "user_id": "1"}]},
            "no department with code 'qq'",
        ),
    ],
)
async def test_an_unknown_area_or_department_is_refused_and_nothing_kept(
    sessions, policy, change, words
):
    with pytest.raises(NotFound, match=re.escape(words)):
        await load(sessions, policy, directory(**change))
    async with sessions() as session:
        assert (await session.exec(select(Department))).all() == []
