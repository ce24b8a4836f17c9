"""分级 and 句号管理 over real HTTP, through aiogram and python-telegram-bot: a community's staff
member sets a long-standing complaint's tier to 历史遗留 from the proposal, names the street's
staff member as its 包案 leader, who is told at once and then reminded by the accept clock; the
ticket is resolved, the resident does not answer the callback, and the staff member's recorded
回访 closes it. The domain's clock is a manual one, moved by the test."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.clocks import run_due_clocks
from storage.models import Ticket, TicketCallback
from tests.conftest import MONDAY_10AM
from tests.e2e.emulator import Emulator
from tests.e2e.harness import IDS, RESIDENT, fresh_database, load_cast, running_bot, settings_for
from tickets.clock import ManualClock

COMPLAINT = "小区违建问题反映多次，多年没有解决，城管和住建互相推诿"


@pytest.fixture(params=("aiogram", "ptb"))
async def bot(request, emulator: Emulator, token: str, tmp_path):
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=request.param,
    )
    await fresh_database(settings.database_url)
    clock = ManualClock(MONDAY_10AM)
    async with running_bot(settings, clock=clock) as running:
        await load_cast(running.services.sessions, settings)
        running.clock = clock
        yield running


async def _ticket(bot) -> Ticket:
    async with bot.services.sessions() as session:
        return (await session.exec(select(Ticket).order_by(Ticket.id.desc()))).first()


async def _until(person, beginning: str, most: int = 5):
    """The first of the next few messages that starts with `beginning`."""
    for _ in range(most):
        message = await person.next()
        if message.text.startswith(beginning):
            return message
    raise AssertionError((person.name, beginning))


async def test_a_legacy_ticket_gets_a_leader_and_closes_after_a_staff_callback(
    bot, emulator, token
):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    community = emulator.person(token, IDS["staff-c1"], "社区书记")
    street = emulator.person(token, IDS["staff-s1"], "街道员")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")

    await resident.say(COMPLAINT)
    await resident.expect("您反映的问题")
    await resident.press("提交")
    await resident.next()  # the ticket's number and who handles it
    ticket = await _ticket(bot)
    await _until(worker, f"【新派单】工单 {ticket.number}")

    await community.say(f"/ticket {ticket.number}")
    await _until(community, f"工单 {ticket.number}")
    await community.press("分级")
    offer = await community.expect(f"工单 {ticket.number} 分级。\n建议：历史遗留（联动办）——")
    assert offer.button("★ 历史遗留（联动办）·建议") is not None
    await community.press("★ 历史遗留（联动办）·建议")
    await community.expect("历史遗留（联动办）：请选择包案领导：")
    await community.press("街道员")
    await community.expect(f"工单 {ticket.number} 已定为 历史遗留（联动办）")
    told = await street.expect(
        f"【包案】您是工单 {ticket.number}（历史遗留（联动办））的包案领导。"
    )
    assert COMPLAINT[:10] in told.text

    ticket = await _ticket(bot)
    bot.clock.set(ticket.remind_at)  # the worker's accept reminder reaches the leader too
    assert await run_due_clocks(bot.services) == 1
    await _until(worker, f"【签收提醒】工单 {ticket.number}")
    await street.expect(f"【包案提醒】您包案的工单 {ticket.number} 签收时限")

    await worker.press("接单", on="【新派单】")
    await worker.expect(f"已接单：工单 {ticket.number}")
    await worker.press("办结")
    await worker.expect("请输入给居民的办理结果答复")
    await worker.say("已协调城管和住建现场处理")
    await worker.expect(f"工单 {ticket.number} 已办结")
    await _until(resident, f"工单 {ticket.number} 已办结")  # the resident does not answer

    await community.say(f"/ticket {ticket.number}")
    await _until(community, f"工单 {ticket.number}")
    await community.press("记录回访")
    await community.expect(f"工单 {ticket.number} 回访居民的结果：")
    await community.press("已解决·满意")
    await community.expect(f"已记录回访，工单 {ticket.number} 已办结归档。")
    assert (await _ticket(bot)).state == "closed"
    await _until(resident, f"工单 {ticket.number} 已关闭。")
    async with bot.services.sessions() as session:
        callback = (await session.exec(select(TicketCallback))).one()
    assert (callback.kind, callback.reached, callback.solved) == ("staff", True, True)
