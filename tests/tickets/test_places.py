"""Where a problem is: a location inside a grid's boundary picks that grid, else the nearest
centre within the set distance; the index follows the directory's loads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from storage.models import Area, Ticket
from tickets.directory import load_directory, parse_directory
from tickets.places import (
    GridFinder,
    GridIndex,
    GridPlace,
    directory_revision,
    distance_m,
    parse_boundary,
    ticket_distance_m,
)


def square(west: float, south: float, size: float) -> dict[str, Any]:
    """A GeoJSON square: points are [longitude, latitude]."""
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_a_point_inside_a_boundary_picks_its_grid_before_a_nearer_centre():
    index = GridIndex(
        [
            GridPlace(1, parse_boundary(square(120.0, 30.0, 0.01))),
            # A centre 100 m from the point, but the point lies inside grid 1.
            GridPlace(2, latitude=30.0059, longitude=120.005),
        ]
    )
    assert index.locate(30.005, 120.005, within_m=500) == 1


def test_the_edge_of_a_boundary_belongs_to_it():
    index = GridIndex([GridPlace(1, parse_boundary(square(120.0, 30.0, 0.01)))])
    assert index.locate(30.0, 120.005, within_m=0) == 1


def test_where_boundaries_overlap_the_smaller_grid_wins():
    index = GridIndex(
        [
            GridPlace(1, parse_boundary(square(120.0, 30.0, 0.1))),
            GridPlace(2, parse_boundary(square(120.01, 30.01, 0.01))),
        ]
    )
    assert index.locate(30.015, 120.015, within_m=500) == 2
    assert index.locate(30.05, 120.05, within_m=500) == 1


def test_a_multipolygon_holds_points_in_each_part():
    parts = [square(120.0, 30.0, 0.01)["coordinates"], square(121.0, 30.0, 0.01)["coordinates"]]
    index = GridIndex(
        [GridPlace(7, parse_boundary({"type": "MultiPolygon", "coordinates": parts}))]
    )
    assert index.locate(30.005, 121.005, within_m=0) == 7
    assert index.locate(30.005, 120.5, within_m=0) is None


def test_outside_every_boundary_the_nearest_centre_within_the_distance_wins():
    index = GridIndex(
        [
            GridPlace(1, parse_boundary(square(120.0, 30.0, 0.01))),
            GridPlace(2, latitude=30.1, longitude=120.1),
            GridPlace(3, latitude=30.1, longitude=120.104),  # 385 m east of 2
        ]
    )
    assert index.locate(30.1, 120.1012, within_m=500) == 2  # 116 m from 2, 270 m from 3
    assert index.locate(30.1, 120.1035, within_m=500) == 3
    # 600 m north of grid 2's centre: too far for 500 m, near enough for 1 km.
    assert index.locate(30.1054, 120.1, within_m=500) is None
    assert index.locate(30.1054, 120.1, within_m=1000) == 2


def test_an_empty_index_finds_nothing():
    assert GridIndex([]).locate(30.0, 120.0, within_m=500) is None


def test_distances_are_great_circle_metres():
    # One degree of latitude is about 111.2 km anywhere; one of longitude shrinks with latitude.
    assert distance_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(60.0, 120.0, 60.0, 121.0) == pytest.approx(55_597, rel=1e-3)
    ticket = Ticket(latitude=30.0, longitude=120.0)
    assert ticket_distance_m(ticket, 30.001, 120.0) == pytest.approx(111.2, rel=1e-2)
    assert ticket_distance_m(Ticket(), 30.0, 120.0) is None


def _directory(g1_boundary: dict[str, Any]) -> dict[str, Any]:
    return {
        "areas": [
            {
                "code": "c",
                "name": "社区",
                "level": "community",
                "children": [
                    {"code": "g1", "name": "一", "level": "grid", "boundary": g1_boundary},
                    {
                        "code": "g2",
                        "name": "二",
                        "level": "grid",
                        "boundary": square(120.1, 30, 0.01),
                    },
                ],
            }
        ]
    }


async def _load(sessions, policy, directory: dict[str, Any]) -> None:
    async with sessions() as session:
        await load_directory(session, policy, parse_directory(directory))
        await session.commit()


async def test_boundaries_are_stored_and_the_index_follows_each_load(sessions, policy):
    await _load(sessions, policy, _directory(square(120.0, 30.0, 0.01)))
    finder = GridFinder()
    async with sessions() as session:
        stored = (await session.exec(select(Area).where(Area.code == "g1"))).one()
        assert parse_boundary(stored.boundary).equals(parse_boundary(square(120.0, 30.0, 0.01)))
        assert (await finder.grid_at(session, 30.005, 120.005, within_m=0)).code == "g1"
        assert (await finder.grid_at(session, 30.005, 120.105, within_m=0)).code == "g2"
        assert await finder.grid_at(session, 30.005, 120.055, within_m=0) is None
        first = await directory_revision(session)
    # The same file again changes nothing, so the index stays as it is.
    await _load(sessions, policy, _directory(square(120.0, 30.0, 0.01)))
    async with sessions() as session:
        assert await directory_revision(session) == first
    # g1 moves east: the next location after the load is placed by the new boundary.
    await _load(sessions, policy, _directory(square(120.05, 30.0, 0.01)))
    async with sessions() as session:
        assert await directory_revision(session) == first + 1
        assert (await finder.grid_at(session, 30.005, 120.055, within_m=0)).code == "g1"
        assert await finder.grid_at(session, 30.005, 120.005, within_m=0) is None


async def test_the_index_is_built_once_per_load_not_per_location(sessions, policy, monkeypatch):
    await _load(sessions, policy, _directory(square(120.0, 30.0, 0.01)))
    builds = []
    original = GridIndex.__init__

    def counting(self, places):
        builds.append(len(places))
        original(self, places)

    monkeypatch.setattr(GridIndex, "__init__", counting)
    finder = GridFinder()
    async with sessions() as session:
        for _ in range(5):
            await finder.grid_at(session, 30.005, 120.005, within_m=500)
    assert builds == [2]
