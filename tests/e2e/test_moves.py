"""Moves from chat over real HTTP, with the real aiogram and python-telegram-bot stacks against
the Bot API emulator: a grid worker records a resident's phoned complaint (代办) and takes it;
staff see the contact on the ticket; a resident's typed 催办 reaches the worker handling their
ticket, and a second one the same day is refused."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Ticket
from tests.e2e.emulator import Emulator
from tests.e2e.harness import (
    IDS,
    RESIDENT,
)


async def test_a_workers_on_behalf_ticket_and_a_residents_urge(bot, emulator: Emulator, token):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")
    staff = emulator.person(token, IDS["staff-c1"], "社区书记")

    # 代办: the worker writes down what a resident phoned in and gives the resident's contact.
    await worker.say("李大爷来电：小区楼道的灯坏了一个月，晚上很黑")
    offer = await worker.expect("要把这条记为工单吗？")
    assert [b["text"] for row in offer.buttons for b in row] == [
        "代办（群众来电/走访）",
        "隐患上报（巡查发现）",
        "取消",
    ]
    await worker.press("代办（群众来电/走访）")
    await worker.expect("请发送群众的姓名和电话")
    await worker.say("李大爷 139-1234-5678")
    recorded = await worker.expect("已登记工单 ")
    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert (ticket.source, ticket.on_behalf_name, ticket.on_behalf_phone) == (
        "on_behalf",
        "李大爷",
        "+8613912345678",
    )
    assert recorded.text.startswith(f"已登记工单 {ticket.number}（网格员代办，")
    await worker.press("接单")
    await worker.expect(f"已接单：工单 {ticket.number}")
    await staff.say(f"/ticket {ticket.number}")
    card = await staff.expect(f"工单 {ticket.number}")
    assert "来源：网格员代办" in card.text and "群众：李大爷　电话：139 1234 5678" in card.text

    # 催办: the resident's own complaint, urged by words; the worker hears it with buttons.
    await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便")
    await resident.expect("您反映的问题")
    await resident.press("提交")
    receipt = await resident.expect("已受理，工单号 ")
    number = receipt.text.split("工单号 ")[1].split("。")[0]
    await worker.expect(f"【新派单】工单 {number}")
    await resident.say(f"催办 {number}")
    await resident.expect(f"已为您催办工单 {number}，网格员会尽快办理。")
    urged = await worker.expect(f"【催办】群众第 1 次催办工单 {number}")
    assert [b["text"] for row in urged.buttons for b in row] == ["接单", "退单"]
    await worker.press("接单", on=f"【催办】群众第 1 次催办工单 {number}")
    await worker.expect(f"已接单：工单 {number}")
    await resident.expect(f"工单 {number} 网格员已接单")
    await resident.say(f"催办 {number}")
    await resident.expect(f"工单 {number} 今天已经催办过了")
    assert await worker.quiet(0.3) == []
