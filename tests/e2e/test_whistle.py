"""吹哨报到 over real HTTP, through aiogram and python-telegram-bot: the grid worker whistles for
two departments on a ticket; 城管 reports (报到) in time, 住建 does not; its report clock runs
out (the domain's clock is a manual one, moved by the test; the sweep is the scheduler's own
job) and it is escalated to the street's staff and counted late. The resident hears in plain
words that departments were summoned and which arrived."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.clocks import run_due_clocks
from storage.models import Ticket, TicketPart
from tests.conftest import MONDAY_10AM
from tests.e2e.emulator import Emulator
from tests.e2e.harness import IDS, RESIDENT, fresh_database, load_cast, running_bot, settings_for
from tickets.clock import ManualClock
from tickets.whistle import summons_counts


@pytest.fixture(params=("aiogram", "ptb"))
async def bot(request, emulator: Emulator, token: str, tmp_path):
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=request.param,
    )
    await fresh_database(settings.database_url)
    # Monday 10:00 in Beijing, a week ago: notices queued "now" are already due for delivery.
    clock = ManualClock(MONDAY_10AM)
    async with running_bot(settings, clock=clock) as running:
        await load_cast(running.services.sessions, settings)
        running.clock = clock
        yield running


async def _until(person, beginning: str, most: int = 4):
    """The first of the next few messages that starts with `beginning`."""
    for _ in range(most):
        message = await person.next()
        if message.text.startswith(beginning):
            return message
    raise AssertionError((person.name, beginning))


async def test_a_whistle_with_one_department_late(bot, emulator, token):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")
    street = emulator.person(token, IDS["staff-s1"], "街道员")
    cg = emulator.person(token, IDS["dept-cg"], "城管队员")
    zj = emulator.person(token, IDS["dept-zj"], "住建科员")

    await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便")
    await resident.expect("您反映的问题")
    await resident.press("提交")
    receipt = await resident.expect("已受理，工单号 ")
    number = receipt.text.split("工单号 ")[1].split("。")[0]
    await worker.expect(f"【新派单】工单 {number}")
    await worker.press("接单")
    await worker.expect(f"已接单：工单 {number}")
    await _until(resident, f"工单 {number} 网格员已接单")

    # 吹哨: the category table's two departments come ticked; the worker sends them.
    await worker.press("吹哨")
    choices = await worker.expect(f"吹哨：工单 {number} 需要哪些部门到现场？")
    assert [b["text"] for row in choices.buttons for b in row] == [
        "✅ 城管执法局（建议）",
        "✅ 住建局（建议）",
        "水务公司",
        "下一步",
    ]
    await worker.press("下一步")
    await worker.expect("请简要说明需要部门到现场做什么")
    await worker.say("路灯杆倾斜，需城管、住建到场处置")
    await worker.expect(
        f"已吹哨：工单 {number} 已召集城管执法局、住建局到现场，须于 11-24 10:00 前报到。"
    )
    await resident.expect(f"您的工单 {number} 需要有关部门到现场处理，已召集：城管执法局、住建局。")
    summons = await cg.expect(f"【吹哨报到】工单 {number}（一般）\n网格员甲召集城管执法局到现场")
    assert "路灯杆倾斜，需城管、住建到场处置" in summons.text
    await zj.expect(f"【吹哨报到】工单 {number}（一般）\n网格员甲召集住建局到现场")

    # 城管 arrives within its clock.
    bot.clock.advance(timedelta(minutes=30))
    await cg.press("报到")
    await cg.expect(f"已报到：工单 {number}，到场时间 11-23 10:30。")
    await worker.expect(f"【报到】城管执法局已于 11-23 10:30 到场（工单 {number}），按时报到。")
    await resident.expect(f"城管执法局已到达现场，处理您的工单 {number}。")

    # 住建 does not: reminded, then escalated to the street and counted late.
    async with bot.services.sessions() as session:
        late = (await session.exec(select(TicketPart).where(TicketPart.state == "summoned"))).one()
    bot.clock.set(late.remind_at)
    assert await run_due_clocks(bot.services) == 1
    await zj.expect(f"【报到提醒】住建局：工单 {number} 请于 11-24 10:00 前到现场报到。")
    bot.clock.set(late.due_report_at)
    assert await run_due_clocks(bot.services) == 1
    await street.expect(f"【报到超时】住建局未在 11-24 10:00 前到场报到（工单 {number}），请督办。")
    await worker.expect(f"住建局未按时到场报到（工单 {number}），已上报东城街道督办。")
    await resident.expect(f"召集的住建局未按时到场，您的工单 {number} 已由东城街道督办。")
    await zj.expect(f"【已超时】工单 {number} 的报到时限（11-24 10:00）已过，已上报东城街道督办")

    async with bot.services.sessions() as session:
        counts = {count.name: count for count in await summons_counts(session)}
        ticket = (await session.exec(select(Ticket))).one()
    assert (counts["城管执法局"].in_time, counts["城管执法局"].late) == (1, 0)
    assert (counts["住建局"].in_time, counts["住建局"].late) == (0, 1)
    assert (ticket.state, ticket.assignee_id is not None) == ("accepted", True)
