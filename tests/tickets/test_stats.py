"""三率, backlog and overdue figures computed in SQL, and the one report every channel renders,
checked against a history we write by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.factories import cast_in, new_ticket
from tickets import handling
from tickets.report import (
    Report,
    build_report,
    percent,
    percents,
    tickets_per_area,
    top_categories,
)
from tickets.stats import Period, ThreeRates, overdue_count, three_rates, three_rates_by


@pytest.fixture
async def history(sessions, policy, clock):
    """Four tickets in g1 and one in g3:
    A accepted in time, resolved, 已解决 满意     B accepted late, resolved, 未解决 不满意
    C accepted in time, resolved, 已解决 基本满意  D never accepted (overdue)
    E (g3) accepted in time, still open
    """
    cast = await cast_in(sessions, policy)
    worker, resident = cast["worker-g1"], cast["resident"]

    async def run(move, **arguments):
        async with sessions() as session:
            await move(session, policy, **arguments)
            await session.commit()

    a, b, c, _d = [await new_ticket(sessions, policy, resident) for _ in range(4)]
    e = await new_ticket(sessions, policy, cast["resident3"])
    for ticket_id in (a, c):
        await run(handling.accept_ticket, ticket_id=ticket_id, actor=worker)
    await run(handling.accept_ticket, ticket_id=e, actor=cast["worker-g3"])
    clock.advance(timedelta(days=2))
    await run(handling.accept_ticket, ticket_id=b, actor=worker)
    for ticket_id in (a, b, c):
        await run(handling.resolve_ticket, ticket_id=ticket_id, actor=worker, reply="已处理")
    answers = {a: (True, "satisfied"), b: (False, "unsatisfied"), c: (True, "basic")}
    for ticket_id, (solved, satisfaction) in answers.items():
        await run(
            handling.answer_callback,
            ticket_id=ticket_id,
            actor=resident,
            solved=solved,
            satisfaction=satisfaction,
        )
    return cast


async def test_three_rates_over_everything(sessions, history):
    async with sessions() as session:
        rates = await three_rates(session)
    # 5 assigned; A, C, E accepted in time (B's reopen restarted its clock: not yet accepted).
    assert (rates.assigned, rates.accepted_in_time) == (5, 3)
    assert (rates.callbacks, rates.solved, rates.satisfied) == (3, 2, 2)
    assert rates.response_rate == pytest.approx(0.6)
    assert rates.solve_rate == pytest.approx(2 / 3)
    assert rates.satisfaction_rate == pytest.approx(2 / 3)


async def test_three_rates_per_area_worker_and_period(sessions, clock, history):
    async with sessions() as session:
        g3 = await three_rates(session, area=history.areas["g3"])
        street = await three_rates(session, area=history.areas["s1"])
        worker = await three_rates(session, worker_id=history["worker-g1"].id)
        future = await three_rates(session, period=Period(since=clock.now() + timedelta(days=1)))
        per_grid = await three_rates_by(session, "area")
    assert (g3.assigned, g3.accepted_in_time, g3.callbacks) == (1, 1, 0)
    assert (street.assigned, street.callbacks) == (4, 3)
    assert worker.callbacks == 3 and worker.assigned == 4
    assert future == type(future)()
    assert per_grid[history.areas["g1"].id].assigned == 4


async def test_overdue_count(sessions, clock, history):
    async with sessions() as session:
        assert await overdue_count(session, clock.now()) == 1  # D: accept clock ran out
        assert await overdue_count(session, clock.now(), area=history.areas["s2"]) == 0


async def _report(sessions, clock, area=None, **options) -> Report:
    async with sessions() as session:
        return await build_report(session, area=area, period=Period(), now=clock.now(), **options)


async def test_a_report_of_the_whole_tree(sessions, clock, history):
    report = await _report(sessions, clock, due_by=clock.now() + timedelta(days=2))
    assert (report.area_id, report.area_name, report.created) == (None, "示范区", 5)
    assert report.rates == ThreeRates(5, 3, 3, 2, 2)
    # B reopened (assigned), D assigned, E accepted; A and C closed. Every open state is listed.
    assert report.backlog == (
        ("submitted", 0),
        ("returned", 0),
        ("assigned", 2),
        ("accepted", 1),
        ("resolved", 0),
    )
    assert (report.open, report.overdue) == (3, 1)  # D: its accept clock ran out two days ago
    assert report.due == 1  # B's new accept clock (one working day); D's has passed already
    assert report.categories == (("城乡建设", 5),)
    assert (report.areas, report.workers) == ((), ())
    later = await _report(sessions, clock, due_by=clock.now() + timedelta(days=30), top=0)
    assert (later.due, later.categories) == (2, ())  # and E's resolve clock
    assert (await _report(sessions, clock)).due is None


async def test_a_report_of_a_subtree_and_a_period(sessions, clock, history):
    west = await _report(sessions, clock, area=history.areas["s2"])
    assert (west.area_name, west.created, west.rates) == ("西湖街道", 1, ThreeRates(1, 1))
    assert (west.open, west.overdue) == (1, 0)
    async with sessions() as session:
        empty = await build_report(
            session,
            area=history.areas["s1"],
            period=Period(since=clock.now() + timedelta(days=1)),
            now=clock.now(),
        )
    assert (empty.created, empty.rates, empty.categories) == (0, ThreeRates(), ())
    assert empty.open == 2  # the backlog is now, whatever the period


async def test_rows_per_street_and_per_grid_match_their_own_reports(sessions, clock, history):
    areas = history.areas
    district = await _report(sessions, clock, rows_at="street")
    east = await _report(sessions, clock, area=areas["s1"])
    west = await _report(sessions, clock, area=areas["s2"])
    assert [(row.name, row.level, row.path, row.created) for row in district.areas] == [
        ("东城街道", "street", areas["s1"].path, 4),
        ("西湖街道", "street", areas["s2"].path, 1),
    ]
    assert [row.rates for row in district.areas] == [east.rates, west.rates]
    grids = await _report(sessions, clock, area=areas["s1"], rows_at="grid")
    assert [(row.area_id, row.created, row.rates) for row in grids.areas] == [
        (areas["g1"].id, 4, east.rates)
    ]
    # Never above the report's own area: "street" rows of a community are the community.
    community = await _report(sessions, clock, area=areas["c1"], rows_at="street")
    assert [row.area_id for row in community.areas] == [areas["c1"].id]


async def test_the_charts_read_what_the_report_says(sessions, clock, history):
    """The dashboard's charts ask for one part of the report alone; the parts agree."""
    s1 = history.areas["s1"]
    streets = await _report(sessions, clock, rows_at="street")
    grids = await _report(sessions, clock, area=s1, rows_at="grid")
    async with sessions() as session:
        categories = await top_categories(session, area=s1, period=Period(), top=10)
        per_street = await tickets_per_area(session, area=None, period=Period(), level="street")
        per_grid = await tickets_per_area(session, area=s1, period=Period(), level="grid")
    assert categories == grids.categories
    assert per_street == tuple((row.name, row.created) for row in streets.areas)
    assert per_grid == (("幸福社区第一网格", 4),)


async def test_rows_per_worker_are_named_and_kept_to_the_subtree(sessions, clock, history):
    everything = await _report(sessions, clock, workers=True)
    assert [(row.name, row.home_path, row.rates) for row in everything.workers] == [
        ("网格员甲", history.areas["g1"].path, ThreeRates(4, 2, 3, 2, 2)),
        ("网格员丙", history.areas["g3"].path, ThreeRates(1, 1)),
    ]
    west = await _report(sessions, clock, area=history.areas["s2"], workers=True)
    assert [row.person_id for row in west.workers] == [history["worker-g3"].id]


async def test_a_report_takes_a_handful_of_queries(sessions, clock, history):
    async with sessions() as session:
        statements: list[str] = []
        engine = session.bind.sync_engine

        def count(_conn, _cursor, statement, *_args) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            await build_report(
                session, area=history.areas["s1"], period=Period(), now=clock.now(), rows_at="grid"
            )
            plain = len(statements)
            await build_report(
                session, area=history.areas["s1"], period=Period(), now=clock.now(), workers=True
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
    # subtree, areas, tickets, callbacks, open tickets, categories; workers: two more and names.
    assert plain <= 6, statements
    assert len(statements) - plain <= 8


def test_one_rounding_rule_for_every_percentage():
    assert percent(2, 3) == "66.7%"
    assert percent(1, 16) == "6.3%"  # halves round up (the float format said 6.2%)
    assert percent(289, 2000) == "14.5%"  # 0.1445 as a float is just below the half
    assert (percent(3, 3), percent(0, 3), percent(0, 0)) == ("100.0%", "0.0%", "—")
    assert percents(ThreeRates(3, 2, 0, 0, 0)) == ("66.7%", "—", "—")
