"""Loading the directory into the database: in place, in one transaction, in bulk, on both
databases."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import func, select

from bot.cli import main
from storage.engine import make_engine, make_session_factory
from storage.models import Area, Person
from storage.schema import drop_all
from tests.factories import directory_yaml
from tickets.directory import load_directory, parse_directory
from tickets.errors import InvalidInput
from tickets.places import GridFinder


def grid(code: str, **more: Any) -> dict[str, Any]:
    return {"code": code, "name": f"网格{code}", "level": "grid", **more}


def tree(*streets: dict[str, Any]) -> dict[str, Any]:
    return {"areas": [{"code": "d", "name": "区", "level": "district", "children": list(streets)}]}


async def load(sessions, policy, directory: dict[str, Any]) -> dict[str, int]:
    async with sessions() as session:
        counts = await load_directory(session, policy, parse_directory(directory))
        await session.commit()
    return counts


async def areas_by_code(sessions) -> dict[str, Area]:
    async with sessions() as session:
        return {area.code: area for area in (await session.exec(select(Area))).all()}


def assert_paths_follow_parents(areas: dict[str, Area]) -> None:
    by_id = {area.id: area for area in areas.values()}
    for area in areas.values():
        above = by_id[area.parent_id].path if area.parent_id else "/"
        assert area.path == f"{above}{area.id}/", area.code


async def test_centres_in_the_file_are_stored_and_find_the_grid(sessions, policy):
    street = {
        "code": "s",
        "name": "街道",
        "level": "street",
        "children": [
            grid("g1", latitude=30.0, longitude=120.0),
            grid("g2", latitude=30.5, longitude=120.5),
            grid("g3"),
        ],
    }
    await load(sessions, policy, tree(street))
    areas = await areas_by_code(sessions)
    centres = {code: (a.centre_latitude, a.centre_longitude) for code, a in areas.items()}
    assert centres["g1"] == (30.0, 120.0) and centres["g2"] == (30.5, 120.5)
    assert centres["g3"] == (None, None)
    async with sessions() as session:
        # About 300 m from g2's centre; g1's is 65 km away.
        assert (await GridFinder().grid_at(session, 30.498, 120.498, within_m=500)).code == "g2"


def _first_tree() -> dict[str, Any]:
    community = {"code": "c1", "name": "幸福社区", "level": "community"}
    return tree(
        {
            "code": "s1",
            "name": "东城街道",
            "level": "street",
            "children": [{**community, "children": [grid("g1"), grid("g2")]}],
        },
        {
            "code": "s2",
            "name": "西湖街道",
            "level": "street",
            "children": [{"code": "x", "name": "桃园村", "level": "community"}],
        },
    )


async def test_loading_again_updates_names_levels_and_parents_in_place(sessions, policy):
    await load(sessions, policy, _first_tree())
    before = await areas_by_code(sessions)
    # c1 moves to s2 with a new name and only g1 named; x turns from a village into a grid.
    moved = {"code": "c1", "name": "新幸福社区", "level": "community", "children": [grid("g1")]}
    second = tree(
        {"code": "s1", "name": "东城街道", "level": "street"},
        {
            "code": "s2",
            "name": "西湖街道",
            "level": "street",
            "children": [moved, {"code": "x", "name": "桃园网格", "level": "grid"}],
        },
    )
    assert await load(sessions, policy, second) == {"areas": 6, "people": 0}
    after = await areas_by_code(sessions)
    assert {code: area.id for code, area in after.items()} == {
        code: area.id for code, area in before.items()
    }
    assert after["c1"].parent_id == after["s2"].id and after["c1"].name == "新幸福社区"
    assert (after["x"].level, after["x"].name) == ("grid", "桃园网格")
    # g2, left out of the file, stays under c1 and follows it to s2.
    assert after["g2"].parent_id == after["c1"].id
    ids = [after[code].id for code in ("d", "s2", "c1", "g2")]
    assert after["g2"].path == "/" + "".join(f"{area_id}/" for area_id in ids)
    assert_paths_follow_parents(after)


async def test_a_file_for_one_street_leaves_it_in_its_district(sessions, policy):
    await load(sessions, policy, _first_tree())
    community = {"code": "c1", "name": "幸福社区", "level": "community"}
    street = {"code": "s1", "name": "东城街道办", "level": "street"}
    one_street = {"areas": [{**street, "children": [{**community, "children": [grid("g9")]}]}]}
    await load(sessions, policy, one_street)
    after = await areas_by_code(sessions)
    assert after["s1"].parent_id == after["d"].id and after["s1"].name == "东城街道办"
    assert after["g9"].path == f"{after['c1'].path}{after['g9'].id}/"
    assert_paths_follow_parents(after)
    # At the top of the file, it must still fit below the parent it keeps.
    with pytest.raises(InvalidInput, match=re.escape("'s1' (district) cannot sit below 'd'")):
        await load(sessions, policy, {"areas": [{**street, "level": "district"}]})


async def test_loading_the_same_file_twice_writes_nothing(sessions, policy, database_url):
    await load(sessions, policy, _first_tree())
    before = await areas_by_code(sessions)
    statements: list[str] = []
    engine = make_engine(database_url)
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        await load(make_session_factory(engine), policy, _first_tree())
    finally:
        await engine.dispose()
    writes = [sql for sql in statements if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert writes == []
    after = await areas_by_code(sessions)
    assert {c: a.model_dump() for c, a in after.items()} == {
        c: a.model_dump() for c, a in before.items()
    }


async def test_an_area_left_out_must_still_fit_below_its_parent(sessions, policy):
    await load(sessions, policy, _first_tree())
    # c1 becomes a grid, but its grids g1 and g2 (not in this file) would sit below a grid.
    second = tree({"code": "s1", "name": "东城街道", "level": "street", "children": [grid("c1")]})
    async with sessions() as session:
        words = "area 'g1' (grid) cannot sit below 'c1' (grid)"
        with pytest.raises(InvalidInput, match=re.escape(words)):
            await load_directory(session, policy, parse_directory(second))
    assert (await areas_by_code(sessions))["c1"].level == "community"


@pytest.mark.parametrize(
    ("directory", "words"),
    [
        (tree(grid("a"), grid("b"), grid("a"), grid("b")), "area codes used twice: a, b"),
        (tree({**grid("g"), "children": [grid("h")]}), "area 'h' (grid) cannot sit below 'g'"),
        (tree({"code": "s", "name": "S", "level": "district"}), "area 's' (district) cannot sit"),
    ],
)
async def test_a_file_with_a_mistake_is_refused_before_anything_is_written(
    sessions, policy, directory, words
):
    with pytest.raises(InvalidInput, match=re.escape(words)):
        await load(sessions, policy, directory)
    assert await areas_by_code(sessions) == {}


async def test_people_may_name_an_area_from_an_earlier_file(sessions, policy):
    await load(sessions, policy, _first_tree())
    people = {
        "areas": [{"code": "other", "name": "另一区", "level": "district"}],
        "people": [{"name": "王芳", "role": "worker", "area": "g2", "user_id": 7}],
    }
    await load(sessions, policy, people)
    async with sessions() as session:
        person = (await session.exec(select(Person))).one()
        assert person.area_id == (await areas_by_code(sessions))["g2"].id


# The big file: districts × streets × communities × grids = 4 + 80 + 1,600 + 98,316 areas.
AREAS = 100_000
LOAD_SECONDS = 30


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail a CPU-bound step that runs away instead of waiting for it forever."""

    def expire(*_: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
async def empty_database(database_url, tmp_path, monkeypatch) -> str:
    """`database_url` with nothing in it, as `minhu` would first meet it."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("MINHU_"):
            monkeypatch.delenv(name)
    engine = make_engine(database_url)
    await drop_all(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()
    monkeypatch.setenv("MINHU_DATABASE_URL", database_url)
    return database_url


async def _count_areas(url: str) -> int:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            return (await session.exec(select(func.count()).select_from(Area))).one()
    finally:
        await engine.dispose()


@pytest.mark.slow
def test_a_100000_area_file_loads_in_under_30_seconds_and_reloads(empty_database, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(directory_yaml(AREAS), encoding="utf-8")
    assert main(["db", "upgrade"]) == 0  # the schema is not what is being timed
    for _ in ("load", "reload"):
        started = time.perf_counter()
        with deadline(4 * LOAD_SECONDS):
            assert main(["areas", "load", str(path)]) == 0
        assert time.perf_counter() - started < LOAD_SECONDS
    assert asyncio.run(_count_areas(empty_database)) == AREAS
