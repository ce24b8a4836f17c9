"""The area tree (区 → 街道 → 社区 → 网格): loading it, walking up it, and asking what lies below.

"小事不出网格、大事不出村、难事不出镇、矛盾不上交": escalation climbs one level at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area
from tickets.errors import InvalidInput, NotFound, RuleViolation


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


async def ancestors(session: AsyncSession, area: Area) -> list[Area]:
    """`area` and every area above it, nearest first."""
    ids = ancestor_ids(area)
    rows = (await session.exec(select(Area).where(col(Area.id).in_(ids)))).all()
    by_id = {row.id: row for row in rows}
    return [by_id[area_id] for area_id in reversed(ids) if area_id in by_id]


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


async def nearest_area(
    session: AsyncSession, latitude: float, longitude: float, *, level: Level = Level.GRID
) -> Area | None:
    """The area of `level` whose centre is closest to a shared location, if any has one.

    Area trees hold a few thousand grids at most, so measuring to each is cheaper than a spatial
    index would be to maintain.
    """
    query = select(Area).where(
        Area.level == level,
        col(Area.centre_latitude).is_not(None),
        col(Area.centre_longitude).is_not(None),
    )
    candidates = (await session.exec(query)).all()
    if not candidates:
        return None
    return min(candidates, key=lambda area: _distance_km(latitude, longitude, area))


def _distance_km(latitude: float, longitude: float, area: Area) -> float:
    """Great-circle distance (haversine) from a point to the area's centre."""
    lat1, lat2 = math.radians(latitude), math.radians(area.centre_latitude or 0.0)
    dlat = lat2 - lat1
    dlon = math.radians((area.centre_longitude or 0.0) - longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


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
    return area


def _level(level: Level | str, code: str) -> Level:
    try:
        return Level(level)
    except ValueError:
        names = ", ".join(item.value for item in Level)
        raise InvalidInput(f"area {code!r}: unknown level {level!r} (one of {names})") from None
