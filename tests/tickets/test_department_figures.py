"""三率 per department: its parts' 响应率, its led tickets' callbacks, its 报到 (吹哨), by area
and period."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import cast_in, run_sweep
from tests.tickets.test_departments import _at_street, _by, _dispatch, _move
from tickets import departments, handling, whistle
from tickets.department_figures import department_rows
from tickets.stats import Period


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def _rows(sessions, ids=None, period=None) -> dict[str, tuple]:
    async with sessions() as session:
        rows = await department_rows(session, ids, period)
    return {
        row.name: (
            row.rates.assigned,
            row.rates.accepted_in_time,
            row.rates.callbacks,
            row.rates.solved,
            row.rates.satisfied,
            row.summoned,
            row.reported_in_time,
        )
        for row in rows
    }


async def test_each_department_is_judged_by_its_own_part_and_the_lead_by_the_callback(
    sessions, policy, clock, cast
):
    started = clock.now()
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")
    await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    # 住建 lets its accept clock run out: late, whatever it does next.
    clock.advance(timedelta(days=3))
    await run_sweep(sessions, policy)
    await _move(sessions, policy, departments.accept_part, **_by(cast, "zj", ticket_id))
    await _move(
        sessions, policy, departments.finish_part, **_by(cast, "zj", ticket_id), note="已核查"
    )
    await _move(
        sessions, policy, departments.resolve_by_lead, **_by(cast, "cg", ticket_id), reply="已修"
    )
    await _move(
        sessions,
        policy,
        handling.answer_callback,
        ticket_id=ticket_id,
        actor=cast["resident"],
        solved=True,
        satisfaction="basic",
    )

    rows = await _rows(sessions)
    assert rows == {
        "城管执法局": (1, 1, 1, 1, 1, 0, 0),
        "住建局": (1, 0, 0, 0, 0, 0, 0),  # the assist is no judge of the reply
    }
    # Parts count when they were made: a period after the dispatch has none.
    assert await _rows(sessions, period=Period(since=started + timedelta(days=1))) == {
        "城管执法局": (0, 0, 1, 1, 1, 0, 0)  # … but the callback came later
    }


async def test_a_returned_part_leaves_the_rate_and_summonses_count_apart(
    sessions, policy, clock, cast
):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg")
    await _move(
        sessions, policy, departments.return_part, **_by(cast, "cg", ticket_id), reason="不归城管"
    )
    await _move(
        sessions,
        policy,
        whistle.whistle,
        ticket_id=ticket_id,
        actor=cast["staff-s1"],
        department_ids=[cast.departments["cg"].id, cast.departments["zj"].id],
    )
    async with sessions() as session:
        summonses = await whistle.summonses(session, ticket_id)
    cg = next(part for part in summonses if part.department_id == cast.departments["cg"].id)
    await _move(sessions, policy, whistle.report_arrival, part_id=cg.id, actor=cast["dept-cg"])

    assert await _rows(sessions) == {
        "城管执法局": (0, 0, 0, 0, 0, 1, 1),
        "住建局": (0, 0, 0, 0, 0, 1, 0),
    }
    # Only tickets about the areas asked for: none of these lie in the second street.
    assert await _rows(sessions, ids=[cast.areas["s2"].id]) == {}
    assert await _rows(sessions, ids=[cast.areas["g1"].id]) != {}


async def test_a_withdrawn_ticket_leaves_its_waiting_parts_out_of_the_rate(sessions, policy, cast):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")
    await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    await _move(
        sessions, policy, handling.cancel_ticket, ticket_id=ticket_id, actor=cast["resident"]
    )
    # 城管 answered in time; 住建's part ended before its clock ran out: no response either way.
    assert await _rows(sessions) == {
        "城管执法局": (1, 1, 0, 0, 0, 0, 0),
        "住建局": (0, 0, 0, 0, 0, 0, 0),
    }
