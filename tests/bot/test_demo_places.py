"""The demo district has grid boundaries: a location in any of its grids finds that grid."""

from __future__ import annotations

from sqlmodel import select

from bot.demo import seed_demo
from storage.models import Area
from tickets.places import GridFinder, parse_boundary


async def test_every_demo_grid_has_a_boundary_that_finds_it(sessions, policy):
    await seed_demo(sessions, policy, tickets=1)
    finder = GridFinder()
    async with sessions() as session:
        grids = (await session.exec(select(Area).where(Area.level == "grid"))).all()
        assert len(grids) == 8
        for grid in grids:
            inside = parse_boundary(grid.boundary).representative_point()
            found = await finder.grid_at(session, inside.y, inside.x, within_m=0)
            assert found is not None and found.code == grid.code
        # A block east of the district is no demo grid's.
        assert await finder.grid_at(session, 38.035, 114.55, within_m=500) is None
