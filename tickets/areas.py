"""The area tree (区 → 街道 → 社区 → 网格): loading it, walking up it, and asking what lies below.

"小事不出网格、大事不出村、难事不出镇、矛盾不上交": escalation climbs one level at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import String, bindparam, cast, func, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area
from tickets.errors import InvalidInput, NotFound, RuleViolation
from tickets.places import bump_directory_revision


class Level(StrEnum):
    DISTRICT = "district"  # 区/县
    STREET = "street"  # 街道/乡镇
    COMMUNITY = "community"  # 社区/村
    GRID = "grid"  # 网格


LEVEL_DEPTH = {Level.DISTRICT: 0, Level.STREET: 1, Level.COMMUNITY: 2, Level.GRID: 3}


def ancestor_ids(area: Area) -> list[int]:
    """Ids from the root down to `area` itself, read off its materialised path."""
    return [int(part) for part in area.path.strip("/").split("/") if part]


def contains(outer: Area, inner_path: str) -> bool:
    """Is the area with path `inner_path` `outer` itself or below it?"""
    return inner_path.startswith(outer.path)


async def get_area(session: AsyncSession, area_id: int) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFound(f"no area with id {area_id}", area_id=area_id)
    return area


async def get_area_by_code(session: AsyncSession, code: str) -> Area:
    area = (await session.exec(select(Area).where(Area.code == code))).first()
    if area is None:
        raise NotFound(f"no area with code {code!r}", code=code)
    return area


async def children(session: AsyncSession, area_id: int | None) -> Sequence[Area]:
    """The areas directly below `area_id` (the roots when None), by name: for choosing a grid."""
    query = select(Area).where(Area.parent_id == area_id).order_by(col(Area.name))
    return (await session.exec(query)).all()


async def subtree_ids(session: AsyncSession, area: Area) -> list[int]:
    query = select(Area.id).where(col(Area.path).startswith(area.path))
    return [area_id for area_id in (await session.exec(query)).all() if area_id is not None]


async def escalation_target(session: AsyncSession, area: Area) -> Area:
    """上报: the area one level up. The district at the top has nowhere further to go."""
    if area.parent_id is None:
        raise RuleViolation(
            f"{area.name} is the top of the area tree; there is no level to escalate to",
            area=area.name,
            reason="top_of_tree",
        )
    return await get_area(session, area.parent_id)


async def search_areas(session: AsyncSession, words: str, *, limit: int = 10) -> Sequence[Area]:
    """Areas whose name contains what a resident typed (社区 names are how people say where)."""
    words = words.strip()
    if not words:
        return []
    query = select(Area).where(col(Area.name).contains(words)).order_by(col(Area.path)).limit(limit)
    return (await session.exec(query)).all()


async def add_area(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    level: Level | str,
    parent: Area | None,
    centre_latitude: float | None = None,
    centre_longitude: float | None = None,
) -> Area:
    """Create or update one area under `parent`, keeping the path and level rules."""
    level = _level(level, code)
    if parent is not None and LEVEL_DEPTH[level] <= LEVEL_DEPTH[Level(parent.level)]:
        raise InvalidInput(
            f"area {code!r} ({level}) cannot sit below {parent.code!r} ({parent.level})",
            code=code,
        )
    area = (await session.exec(select(Area).where(Area.code == code))).first()
    if area is None:
        area = Area(code=code, name=name, level=level, parent_id=parent.id if parent else None)
        session.add(area)
        await session.flush()
    elif area.parent_id != (parent.id if parent else None):
        raise InvalidInput(f"area {code!r} already exists under another parent", code=code)
    area.name, area.level = name, level
    area.centre_latitude, area.centre_longitude = centre_latitude, centre_longitude
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    await bump_directory_revision(session)
    return area


def _level(level: Level | str, code: str) -> Level:
    try:
        return Level(level)
    except ValueError:
        names = ", ".join(item.value for item in Level)
        raise InvalidInput(f"area {code!r}: unknown level {level!r} (one of {names})") from None


@dataclass(frozen=True, slots=True)
class AreaRow:
    """One area as a directory gives it, its parent named by code (None at the top of the file).

    The centre is a point (WGS-84) that a shared location is measured to; a grid's boundary is
    GeoJSON text (tickets.places checks and reads it).
    """

    code: str
    name: str
    level: Level
    parent_code: str | None
    centre_latitude: float | None = None
    centre_longitude: float | None = None
    boundary: str | None = None


@dataclass(slots=True)
class _Known:
    """An area as the database holds it, with what this load makes of it."""

    id: int
    code: str
    level: str
    parent_id: int | None
    path: str
    values: tuple[Any, ...]  # name, level, parent_id, centre_latitude, centre_longitude, boundary


_AREAS = Area.__table__  # Core statements: the load moves whole trees, not single objects


async def put_area_tree(session: AsyncSession, rows: Sequence[AreaRow]) -> dict[str, int]:
    """Create or update the areas of `rows` (every parent before its children) in bulk.

    Areas are matched by code; names, levels, parents, centres and boundaries are updated in
    place, and the paths of moved areas and of everything below them follow. A row without a
    parent code is at the top of the file: new, it is a root; already there, it keeps its parent.

    The work is a few statements per level of the tree rather than a round trip per area, so
    100,000 areas load in seconds; the caller's transaction holds it all. Returns the id of every
    area in the database by code.
    """
    connection = await session.connection()
    known = await _known_areas(connection)
    _check_kept_parents(rows, known)
    ids = {code: area.id for code, area in known.items()}
    inserted = await _insert_new(connection, rows, known, ids)
    parents = {area.id: area.parent_id for area in known.values()}
    parents.update({ids[row.code]: _parent_id(row, ids, known) for row in rows})
    paths = _paths(parents)
    if await _update_changed(connection, rows, known, ids, paths) or inserted:
        await bump_directory_revision(session)
    return ids


async def _known_areas(connection: AsyncConnection) -> dict[str, _Known]:
    columns = (Area.id, Area.code, Area.name, Area.level, Area.parent_id, Area.path)
    centre = (Area.centre_latitude, Area.centre_longitude, Area.boundary)
    result = await connection.execute(select(*columns, *centre))
    return {
        code: _Known(area_id, code, level, parent_id, path, (name, level, parent_id, *point))
        for area_id, code, name, level, parent_id, path, *point in result.all()
    }


def _check_kept_parents(rows: Sequence[AreaRow], known: dict[str, _Known]) -> None:
    """Areas whose parent the load keeps (those it does not name, and those at the top of the
    file) must still sit below that parent, whichever of the two the load changes."""
    levels = {row.code: row.level.value for row in rows}
    nested = {row.code for row in rows if row.parent_code is not None}
    by_id = {area.id: area for area in known.values()}
    for area in known.values():
        parent = by_id.get(area.parent_id) if area.parent_id is not None else None
        if parent is None or area.code in nested:
            continue
        if area.code not in levels and parent.code not in levels:
            continue  # neither changes
        level = levels.get(area.code, area.level)
        parent_level = levels.get(parent.code, parent.level)
        if _depth(level) <= _depth(parent_level):
            raise InvalidInput(
                f"area {area.code!r} ({level}) cannot sit below {parent.code!r} "
                f"({parent_level}); name it in the file at a lower level or move it",
                code=area.code,
            )


def _depth(level: str) -> int:
    try:
        return LEVEL_DEPTH[Level(level)]
    except ValueError:  # a row written before levels were checked: treat it as the top
        return 0


def _parent_id(row: AreaRow, ids: dict[str, int], known: dict[str, _Known]) -> int | None:
    """The file's nesting names the parent; an area at the top of the file keeps the one it has
    (a file for one street office moves nothing out of its district)."""
    if row.parent_code is not None:
        return ids[row.parent_code]
    area = known.get(row.code)
    return area.parent_id if area is not None else None


async def _insert_new(
    connection: AsyncConnection,
    rows: Sequence[AreaRow],
    known: dict[str, _Known],
    ids: dict[str, int],
) -> bool:
    """Insert the areas not in the database yet, one level at a time: a level's parent ids and
    paths are there once the level above it is in. Each level's paths are then set by one
    UPDATE in the database rather than one per row; `known` learns what was written. Returns
    whether there were any."""
    waves = _waves(rows, ids)
    for wave in waves:
        params = [_insert_params(row, ids, known) for row in wave]
        result = await connection.execute(_INSERT, params)
        ids.update(dict(result.tuples().all()))
        await connection.execute(_SET_NEW_PATHS)
        for row in wave:
            area_id, parent_id = ids[row.code], _parent_id(row, ids, known)
            above = known[row.parent_code].path if row.parent_code else "/"
            values = (row.name, row.level.value, parent_id, *_place(row))
            known[row.code] = _Known(
                area_id, row.code, row.level.value, parent_id, f"{above}{area_id}/", values
            )
    return bool(waves)


def _waves(rows: Sequence[AreaRow], ids: dict[str, int]) -> list[list[AreaRow]]:
    """The new rows by how far below an existing area (or the top) they sit."""
    wave_of: dict[str, int] = {}
    waves: list[list[AreaRow]] = []
    for row in rows:
        if row.code in ids:
            continue
        wave = wave_of.get(row.parent_code, -1) + 1 if row.parent_code else 0
        wave_of[row.code] = wave
        if wave == len(waves):
            waves.append([])
        waves[wave].append(row)
    return waves


def _place(row: AreaRow) -> tuple[float | None, float | None, str | None]:
    return row.centre_latitude, row.centre_longitude, row.boundary


def _insert_params(row: AreaRow, ids: dict[str, int], known: dict[str, _Known]) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "level": row.level.value,
        "parent_id": _parent_id(row, ids, known),
        "path": _NEW_PATH,
        "centre_latitude": row.centre_latitude,
        "centre_longitude": row.centre_longitude,
        "boundary": row.boundary,
    }


def _paths(parents: dict[int, int | None]) -> dict[int, str]:
    """Every area's materialised path, walking down from the roots (linear in the tree)."""
    below: defaultdict[int | None, list[int]] = defaultdict(list)
    for area_id, parent_id in parents.items():
        below[parent_id].append(area_id)
    paths: dict[int, str] = {}
    stack: list[tuple[int, str]] = [(root, "/") for root in below[None]]
    while stack:
        area_id, above = stack.pop()
        path = paths[area_id] = f"{above}{area_id}/"
        stack.extend((child, path) for child in below.get(area_id, ()))
    return paths


async def _update_changed(
    connection: AsyncConnection,
    rows: Sequence[AreaRow],
    known: dict[str, _Known],
    ids: dict[str, int],
    paths: dict[int, str],
) -> bool:
    """Write only what differs: loading the same file again writes nothing. Returns whether
    anything did."""
    named, moved = [], []
    for row in rows:
        area_id, area = ids[row.code], known[row.code]
        values = (row.name, row.level.value, _parent_id(row, ids, known), *_place(row))
        if area.values != values or area.path != paths[area_id]:
            named.append(dict(zip(_ROW_KEYS, (area_id, *values, paths[area_id]), strict=True)))
    in_file = {row.code for row in rows}
    for area in known.values():
        if area.code not in in_file and paths.get(area.id, area.path) != area.path:
            moved.append({"b_id": area.id, "b_path": paths[area.id]})
    if named:
        await connection.execute(_UPDATE_ROW, named)
    if moved:
        await connection.execute(_UPDATE_PATH, moved)
    return bool(named or moved)


# A new row's path until its level's UPDATE sets it; no stored area has an empty path.
_NEW_PATH = ""
_INSERT = insert(_AREAS).returning(_AREAS.c.code, _AREAS.c.id)
_PARENT = _AREAS.alias("parent")
_SET_NEW_PATHS = (
    update(_AREAS)
    .where(_AREAS.c.path == _NEW_PATH)
    .values(
        path=func.coalesce(
            select(_PARENT.c.path).where(_PARENT.c.id == _AREAS.c.parent_id).scalar_subquery(),
            "/",
        )
        + cast(_AREAS.c.id, String)
        + "/"
    )
)
_ROW_KEYS = ("b_id", "b_name", "b_level", "b_parent_id", "b_lat", "b_lon", "b_boundary", "b_path")
_UPDATE_ROW = (
    update(_AREAS)
    .where(_AREAS.c.id == bindparam("b_id"))
    .values(
        name=bindparam("b_name"),
        level=bindparam("b_level"),
        parent_id=bindparam("b_parent_id"),
        centre_latitude=bindparam("b_lat"),
        centre_longitude=bindparam("b_lon"),
        boundary=bindparam("b_boundary"),
        path=bindparam("b_path"),
    )
)
_UPDATE_PATH = (
    update(_AREAS).where(_AREAS.c.id == bindparam("b_id")).values(path=bindparam("b_path"))
)
