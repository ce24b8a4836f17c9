"""The whole life of a ticket over real HTTP: the real aiogram or python-telegram-bot stack talks to
the Bot API emulator, the resident, the grid worker and the community's staff use their own chats,
and messages for other people travel through the outbox (tests/handlers/test_ticket_life.py is the
same story through the handlers alone)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import Ticket, TicketCallback
from tests.e2e.emulator import Emulator
from tests.e2e.harness import (
    IDS,
    RESIDENT,
    SECRET,
    accept,
    free_port,
    fresh_database,
    load_cast,
    running_bot,
    settings_for,
)

MODES = {
    "aiogram-polling": {"telegram_framework": "aiogram"},
    "aiogram-webhook": {"telegram_framework": "aiogram", "webhook": True},
    "ptb-polling": {"telegram_framework": "ptb"},
    "ptb-webhook": {"telegram_framework": "ptb", "webhook": True},
}


@pytest.fixture(params=list(MODES))
async def bot(request, emulator: Emulator, token: str, tmp_path):
    mode = dict(MODES[request.param])
    port = free_port() if mode.pop("webhook", False) else None
    if port is not None:
        mode |= {"webhook_url": f"http://127.0.0.1:{port}/tg/hook", "webhook_secret": SECRET}
    settings = settings_for(
        emulator.url, token, f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}", **mode
    )
    await fresh_database(settings.database_url)
    async with running_bot(settings, webhook_port=port) as running:
        await load_cast(running.services.sessions, settings)
        yield running


async def test_the_whole_life_of_a_ticket(bot, emulator: Emulator, token: str):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")
    staff = emulator.person(token, IDS["staff-c1"], "社区书记")

    # The resident writes; the classifier proposes a category with its reasons.
    await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便")
    proposal = await resident.expect("您反映的问题")
    assert "城乡建设" in proposal.text
    assert [b["text"] for row in proposal.buttons for b in row] == [
        "提交",
        "更改类别",
        "取消",
        "需要回电",
        "匿名反映",
    ]
    await resident.press("提交")
    accepted = await resident.next()
    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    number = ticket.number
    assert accepted.text.startswith(f"已受理，工单号 {number}")
    assert ticket.state == "assigned"

    # The grid worker gets the assignment in their own chat and accepts it.
    ping = await worker.expect(f"【新派单】工单 {number}")
    assert "路灯坏了" in ping.text
    await accept(worker, resident, number)

    # Three more working days, approved by the community's staff.
    await worker.press("申请延期")
    await worker.expect("需要延期几个工作日")
    await worker.press("3")
    await worker.expect("请说明延期理由")
    await worker.say("需要等物业采购灯具")
    await worker.expect("延期申请已提交")
    await staff.expect(f"【延期申请】工单 {number} 申请延期 3 个工作日")
    await staff.press("同意延期")
    await staff.expect(f"已同意工单 {number} 延期 3 个工作日。")
    await worker.expect(f"工单 {number} 延期 3 个工作日已批准")
    assert "需要等物业采购灯具" in (await resident.next()).text

    # Resolved; not solved, not satisfied: 重办.
    await worker.press("办结")
    await worker.expect("请输入给居民的办理结果答复")
    await worker.say("已更换灯泡")
    await worker.expect(f"工单 {number} 已办结，等待居民评价。")
    await resident.expect(f"工单 {number} 已办结：\n已更换灯泡")
    await resident.press("未解决")
    await resident.expect("您对办理结果满意吗")
    await resident.press("不满意")
    await resident.expect("还有什么想说的吗")
    await resident.say("灯还是不亮")
    await resident.expect(f"很抱歉没有让您满意。工单 {number} 已重新交办")
    await worker.expect(f"工单 {number} 居民评价：未解决，不满意。")
    await worker.expect(f"【重办】工单 {number}")

    # Accepted again, resolved again, and this time the resident is satisfied.
    await worker.press("接单")
    await worker.expect("已接单")
    await resident.expect(f"工单 {number} 网格员已接单")
    await worker.press("办结")
    await worker.expect("请输入给居民的办理结果答复")
    await worker.say("已更换整套灯具并测试")
    await worker.expect(f"工单 {number} 已办结，等待居民评价")
    await resident.expect(f"工单 {number} 已办结")
    await resident.press("已解决")
    await resident.expect("您对办理结果满意吗")
    await resident.press("满意")
    await resident.expect("还有什么想说的吗")
    await resident.press("跳过")
    await resident.expect(f"感谢您的评价！工单 {number} 已办结归档。")
    await worker.expect(f"工单 {number} 居民评价：已解决，满意。")

    async with bot.services.sessions() as session:
        ticket = await session.get(Ticket, ticket.id)
        callbacks = (await session.exec(select(TicketCallback))).all()
    assert ticket.state == "closed" and ticket.reopen_count == 1 and ticket.extension_days == 3
    assert [(c.solved, c.satisfaction) for c in callbacks] == [
        (False, "unsatisfied"),
        (True, "satisfied"),
    ]
    # Nobody got anything more than the story above.
    assert await resident.quiet(0.3) == []
    assert await worker.quiet(0.3) == []
    assert await staff.quiet(0.3) == []
