"""三率, backlog and overdue figures computed in SQL, checked against a history we write by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import cast_in, new_ticket
from tickets import handling
from tickets.stats import (
    Period,
    backlog_by_state,
    overdue_count,
    rollup_by_level,
    three_rates,
    three_rates_by,
    ticket_counts_by,
)


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
        per_street = await rollup_by_level(session, per_grid, "street")
    assert (g3.assigned, g3.accepted_in_time, g3.callbacks) == (1, 1, 0)
    assert (street.assigned, street.callbacks) == (4, 3)
    assert worker.callbacks == 3 and worker.assigned == 4
    assert future == type(future)()
    assert per_grid[history.areas["g1"].id].assigned == 4
    assert per_street[history.areas["s1"].id] == street
    assert per_street[history.areas["s2"].id] == g3


async def test_backlog_overdue_and_counts(sessions, clock, history):
    async with sessions() as session:
        backlog = await backlog_by_state(session)
        overdue = await overdue_count(session, clock.now())
        by_category = await ticket_counts_by(session, "category")
    # B reopened (assigned), D assigned, E accepted; A and C closed.
    assert backlog == {"assigned": 2, "accepted": 1}
    assert overdue == 1  # D: its accept clock ran out two days ago
    assert by_category == [("城乡建设", 5)]
