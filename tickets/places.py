"""Where a problem is: a shared location picks the grid (网格) whose boundary holds it, or else the
grid whose centre is nearest within a set distance.

The directory file gives a grid a boundary (a GeoJSON Polygon or MultiPolygon) or a centre point.
Each process keeps one `GridIndex` (shapely's STRtree over the boundaries and the centres), built
when it first needs it and again only after a directory load has bumped `DirectoryRevision`: a
location costs one primary-key read and a tree query, not a scan of the areas.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import STRtree, box
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, DirectoryRevision, Ticket

EARTH_RADIUS_M = 6_371_000.0
# Metres in one degree of latitude (and of longitude at the equator), to turn a distance into
# a box of degrees that surely holds every centre within it.
_METRES_PER_DEGREE = 111_320.0
BOUNDARY_TYPES = ("Polygon", "MultiPolygon")


# --- boundaries as the directory file gives them -----------------------------------------------


def parse_boundary(data: Any) -> BaseGeometry:
    """A grid's boundary from GeoJSON (a mapping, or its text), checked: a Polygon or
    MultiPolygon, every point [longitude, latitude] on Earth, rings that do not cross themselves.
    Any mistake is a ValueError of one line that says what is wrong and where."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise ValueError("boundary is neither a GeoJSON mapping nor GeoJSON text") from None
    if not isinstance(data, dict) or data.get("type") not in BOUNDARY_TYPES:
        raise ValueError("boundary must be a GeoJSON Polygon or MultiPolygon")
    try:
        geometry = shape(data)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        # shapely's own words ("A linearring requires at least 4 coordinates") when it has them.
        why = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"boundary has malformed coordinates ({why[:120]})") from None
    except shapely.errors.ShapelyError as error:
        raise ValueError(f"boundary has malformed coordinates ({str(error)[:120]})") from None
    _check_on_earth(geometry)
    if geometry.is_empty:
        raise ValueError("boundary is empty")
    if not geometry.is_valid:
        raise ValueError(f"boundary is not a valid polygon: {shapely.is_valid_reason(geometry)}")
    return geometry


def _check_on_earth(geometry: BaseGeometry) -> None:
    points = shapely.get_coordinates(geometry)
    # Written as "within" so that NaN and infinity (never within anything) fail it too.
    if (abs(points[:, 0]) <= 180).all() and (abs(points[:, 1]) <= 90).all():
        return
    lon, lat = next((lon, lat) for lon, lat in points if not (abs(lon) <= 180 and abs(lat) <= 90))
    raise ValueError(
        f"boundary point [{lon:g}, {lat:g}] is not on Earth: GeoJSON gives [longitude, "
        "latitude], longitude within ±180 and latitude within ±90"
    )


def boundary_text(geometry: BaseGeometry) -> str:
    """The boundary as it is stored: GeoJSON text."""
    return shapely.to_geojson(geometry)


# --- distances ---------------------------------------------------------------------------------


def distance_m(latitude: float, longitude: float, to_latitude: float, to_longitude: float) -> float:
    """Great-circle distance (haversine) in metres between two WGS-84 points."""
    lat1, lat2 = math.radians(latitude), math.radians(to_latitude)
    dlat = lat2 - lat1
    dlon = math.radians(to_longitude - longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def ticket_distance_m(ticket: Ticket, latitude: float, longitude: float) -> float | None:
    """How far a ticket's shared location lies from a point (metres); None without one. For
    "the same problem nearby"."""
    if ticket.latitude is None or ticket.longitude is None:
        return None
    return distance_m(ticket.latitude, ticket.longitude, latitude, longitude)


# --- the index ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GridPlace:
    """One grid's place as the index needs it."""

    area_id: int
    boundary: BaseGeometry | None = None
    latitude: float | None = None
    longitude: float | None = None


class GridIndex:
    """The grids' boundaries and centres in two STRtrees; `locate` needs no database."""

    def __init__(self, places: Sequence[GridPlace]) -> None:
        bounded = [place for place in places if place.boundary is not None]
        centred = [place for place in places if place.latitude is not None]
        self._boundary_ids = [place.area_id for place in bounded]
        shapes = [place.boundary for place in bounded]
        # Where boundaries overlap, the smaller grid is the more precise answer.
        self._sizes = [geometry.area for geometry in shapes]
        self._boundaries = STRtree(shapes)
        self._centres_at = [(place.latitude, place.longitude, place.area_id) for place in centred]
        self._centres = STRtree([Point(lon, lat) for lat, lon, _ in self._centres_at])

    def __len__(self) -> int:
        return len(self._boundary_ids) + len(self._centres_at)

    def locate(self, latitude: float, longitude: float, *, within_m: float) -> int | None:
        """The id of the grid whose boundary holds the point (edges included), else of the grid
        whose centre is nearest and at most `within_m` metres away, else None."""
        point = Point(longitude, latitude)
        inside = self._boundaries.query(point, predicate="intersects")
        if len(inside):
            best = min(inside, key=lambda index: (self._sizes[index], self._boundary_ids[index]))
            return self._boundary_ids[best]
        return self._nearest_centre(latitude, longitude, within_m)

    def _nearest_centre(self, latitude: float, longitude: float, within_m: float) -> int | None:
        if not self._centres_at or within_m <= 0:
            return None
        dlat = within_m / _METRES_PER_DEGREE
        # A degree of longitude shrinks towards the poles; near them the box spans every longitude.
        shrink = math.cos(math.radians(min(abs(latitude), 89.9)))
        dlon = min(360.0, within_m / (_METRES_PER_DEGREE * shrink))
        near = self._centres.query(
            box(longitude - dlon, latitude - dlat, longitude + dlon, latitude + dlat)
        )
        best: tuple[float, int] | None = None
        for index in near:
            lat, lon, area_id = self._centres_at[index]
            metres = distance_m(latitude, longitude, lat, lon)
            if metres <= within_m and (best is None or (metres, area_id) < best):
                best = (metres, area_id)
        return best[1] if best is not None else None


async def grid_places(session: AsyncSession) -> list[GridPlace]:
    """Every grid with a boundary or a centre, boundaries parsed in one vectorised call."""
    query = select(Area.id, Area.boundary, Area.centre_latitude, Area.centre_longitude).where(
        Area.level == "grid",
        col(Area.boundary).is_not(None) | col(Area.centre_latitude).is_not(None),
    )
    rows = (await session.exec(query)).all()
    shapes = shapely.from_geojson([row[1] for row in rows], on_invalid="ignore")
    return [
        GridPlace(area_id, geometry, latitude, longitude)
        for (area_id, _, latitude, longitude), geometry in zip(rows, shapes, strict=True)
    ]


async def directory_revision(session: AsyncSession) -> int:
    """How many loads have changed the area tree (0 before the first)."""
    row = await session.get(DirectoryRevision, 1)
    return row.value if row is not None else 0


async def bump_directory_revision(session: AsyncSession) -> None:
    """Tell every process its index of grids is out of date."""
    connection = await session.connection()
    table = DirectoryRevision.__table__
    result = await connection.execute(
        update(table).where(table.c.id == 1).values(value=table.c.value + 1)
    )
    if result.rowcount == 0:
        await connection.execute(table.insert().values(id=1, value=1))


class GridFinder:
    """A process's index of grids, rebuilt only after the directory changed."""

    def __init__(self) -> None:
        self._revision: int | None = None
        self._index: GridIndex | None = None

    async def index(self, session: AsyncSession) -> GridIndex:
        revision = await directory_revision(session)
        if self._index is None or revision != self._revision:
            self._index = GridIndex(await grid_places(session))
            self._revision = revision
        return self._index

    async def grid_at(
        self, session: AsyncSession, latitude: float, longitude: float, *, within_m: float
    ) -> Area | None:
        """The grid a shared location picks (see GridIndex.locate), as a row of the session."""
        index = await self.index(session)
        area_id = index.locate(latitude, longitude, within_m=within_m)
        return await session.get(Area, area_id) if area_id is not None else None
