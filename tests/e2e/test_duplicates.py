"""重复诉求 over real HTTP, with aiogram and with python-telegram-bot: a second resident is shown
the first resident's open ticket, follows it, and hears its acceptance and its resolution in
their own chat, while the callback stays with the first resident."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Ticket
from tests.e2e.emulator import Emulator
from tests.e2e.harness import (
    IDS,
    RESIDENT,
    RESIDENT2,
)


async def test_a_second_resident_follows_the_first_ticket(bot, emulator: Emulator, token: str):
    first = emulator.person(token, RESIDENT, "张阿姨")
    second = emulator.person(token, RESIDENT2, "李大爷")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")

    await first.say("小区3号楼门口的路灯坏了，晚上很黑")
    await first.expect("您反映的问题")
    await first.press("提交")
    await first.expect("已受理")
    async with bot.services.sessions() as session:
        original = (await session.exec(select(Ticket))).one()
    number = original.number
    await worker.expect(f"【新派单】工单 {number}")

    await second.say("门口路灯不亮了，晚上很黑")
    offer = await second.expect("您反映的问题")
    assert f"已有相同问题：工单号 {number}" in offer.text
    assert "小区3号楼" not in offer.text  # the first resident's words stay theirs
    assert [b["text"] for row in offer.buttons for b in row] == [
        "关注它",
        "仍然提交",
        "更改类别",
        "取消",
        "需要回电",
        "匿名反映",
    ]
    await second.press("关注它")
    await second.expect(f"已关注工单 {number}")

    await worker.press("接单")
    await worker.expect(f"已接单：工单 {number}")
    await first.expect(f"工单 {number} 网格员已接单")
    await second.expect(f"工单 {number} 网格员已接单")
    await worker.press("办结")
    await worker.expect("请输入给居民的办理结果答复")
    await worker.say("已更换灯泡")
    await worker.expect(f"工单 {number} 已办结")
    asked = await first.expect(f"工单 {number} 已办结：\n已更换灯泡")
    assert asked.buttons  # 已解决 / 未解决: the callback is the first resident's
    heard = await second.expect(f"您关注的工单 {number} 已办结：\n已更换灯泡")
    assert not heard.buttons

    async with bot.services.sessions() as session:
        tickets = (await session.exec(select(Ticket).order_by(Ticket.id))).all()
    assert [(t.state, t.merged_into_id) for t in tickets] == [
        ("resolved", None),
        ("closed", original.id),
    ]
    assert await worker.quiet(0.3) == []  # one assignment, for the original only
