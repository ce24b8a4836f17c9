"""Departments in the figures staff read: /stats and the monthly ranking."""

from __future__ import annotations

from datetime import timedelta

from handlers.digests import monthly_ranking
from tests.handlers.test_digests import _run
from tests.tickets.test_departments import _at_street, _by, _dispatch, _move
from tickets import departments, handling


async def _a_joint_ticket_closed(chat, cast, tier: str | None = None) -> None:
    """城管 leads and 住建 assists; both accept at once; the resident finds it 基本满意."""
    sessions, policy = chat.deps.sessions, chat.deps.policy
    ticket_id = await _at_street(sessions, policy, cast)
    if tier is not None:
        staff = {"ticket_id": ticket_id, "actor": cast["staff-s1"]}
        await _move(sessions, policy, handling.set_tier, **staff, tier=tier)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")
    for code in ("cg", "zj"):
        await _move(sessions, policy, departments.accept_part, **_by(cast, code, ticket_id))
    await _move(sessions, policy, departments.finish_part, **_by(cast, "zj", ticket_id), note="好")
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


async def test_stats_show_each_department_the_street_worked_with(chat, cast):
    await _a_joint_ticket_closed(chat, cast)
    await chat.command("staff-s1", "stats", "week")
    assert chat.last("staff-s1") == (
        "职能部门（签收以部门计，解决与满意以主办工单的回访计）：\n"
        "住建局　响应率 100.0%　解决率 —　满意率 —　按时报到 0/0\n"
        "城管执法局　响应率 100.0%　解决率 100.0%　满意率 100.0%　按时报到 0/0"
    )
    # Another street's staff: their figures have no department in them.
    await chat.command("staff-s2", "stats", "week")
    assert "职能部门" not in chat.all_text("staff-s2")


async def test_the_monthly_ranking_ranks_departments_and_tiers_too(chat, cast, clock):
    clock.set(clock.now() - timedelta(days=30))  # October
    await _a_joint_ticket_closed(chat, cast, tier="complex")
    clock.advance(timedelta(days=30))  # November
    await _run(chat, monthly_ranking)
    text = chat.last("staff-s1")
    assert text.endswith(
        "职能部门：\n"
        "1. 住建局　响应率 100.0%　解决率 —　满意率 —\n"  # a tie: by name
        "2. 城管执法局　响应率 100.0%　解决率 100.0%　满意率 100.0%\n"
        "分级：\n"
        "1. 复杂　响应率 100.0%　解决率 100.0%　满意率 100.0%"
    )
    # Another street's staff rank nothing of it.
    assert "分级" not in chat.all_text("staff-s2")
