"""The morning digest and the monthly ranking staff receive."""

from __future__ import annotations

from datetime import timedelta

from handlers.digests import monthly_ranking, morning_digest


async def _run(chat, report) -> int:
    async with chat.deps.sessions() as session:
        queued = await report(session, chat.deps.policy)
        await session.commit()
    await chat.deliver()
    return queued


async def test_the_morning_digest_counts_new_overdue_and_due_today(chat, clock):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")  # accept by tomorrow 10:00
    await chat.text("resident3", "楼道煤气味很重")  # emergency in 阳光社区: 15 minutes
    clock.advance(timedelta(hours=1))
    assert await _run(chat, morning_digest) == 4  # one per staff member and admin
    assert (
        chat.last("staff-c1")
        == "【早报】幸福社区·11-23\n昨日以来新增 1 件，超时 0 件，今日到期 0 件。"
    )
    assert chat.last("staff-s2").endswith("新增 1 件，超时 1 件，今日到期 0 件。")
    assert chat.last("admin").endswith("新增 2 件，超时 1 件，今日到期 0 件。")
    assert await _run(chat, morning_digest) == 4
    assert chat.all_text("staff-c1").count("【早报】") == 1  # queued again, sent once


async def test_the_monthly_ranking_lists_grids_and_workers(chat, clock):
    clock.set(clock.now() - timedelta(days=30))  # October
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "已修好")
    await chat.press("resident", "已解决")
    await chat.press("resident", "满意")
    await chat.press("resident", "跳过")
    clock.advance(timedelta(days=30))  # November
    await _run(chat, monthly_ranking)
    text = chat.last("staff-s1")
    assert text.startswith("【2026-10 三率排名·东城街道】")
    assert "1. 幸福社区第一网格　响应率 100.0%　解决率 100.0%　满意率 100.0%" in text
    assert "1. 网格员甲　响应率 100.0%" in text
    assert "阳光社区" not in text  # another street's grid


async def test_no_ranking_for_a_month_without_tickets(chat, clock):
    assert await _run(chat, monthly_ranking) == 0
    assert chat.inbox == {}


async def test_the_ranking_goes_only_where_something_happened(chat, clock):
    clock.set(clock.now() - timedelta(days=30))  # October: one ticket in 东城街道's grid
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "接单")
    clock.advance(timedelta(days=30))
    chat.clear()
    await _run(chat, monthly_ranking)
    assert chat.last("staff-s1").startswith("【2026-10 三率排名·东城街道】")
    assert "staff-s2" not in chat.inbox  # 西湖街道: no grid, no worker to rank
