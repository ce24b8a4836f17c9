"""The whole life of a ticket across three people, through the real handlers:
complaint → classified → routed → accepted → extended → resolved → callback unsatisfied →
reopened → resolved → satisfied → closed, checking every message each person receives."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import Ticket, TicketCallback

RESIDENT, WORKER, STAFF = "resident", "worker-g1", "staff-c1"


async def test_the_whole_life_of_a_ticket(chat, clock, sessions):
    # The resident writes; the classifier proposes a category with its reasons.
    replies = await chat.text(RESIDENT, "小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便")
    assert len(replies) == 1
    proposal = replies[0]
    assert "城乡建设" in proposal.text and "判断依据" in proposal.text
    assert [button.text for row in proposal.buttons for button in row] == [
        "提交",
        "更改类别",
        "取消",
        "需要回电",
        "匿名反映",
    ]

    replies = await chat.press(RESIDENT, "提交")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    number = ticket.number
    assert replies[0].text.startswith(f"已受理，工单号 {number}")
    assert "幸福社区第一网格" in replies[0].text
    assert ticket.state == "assigned" and ticket.category == "城乡建设"

    # The grid worker gets the assignment with 接单 / 退单 and accepts.
    ping = chat.inbox[WORKER][-1]
    assert ping.text.startswith(f"【新派单】工单 {number}")
    assert "路灯坏了" in ping.text
    await chat.press(WORKER, "接单")
    assert chat.last(WORKER).startswith(f"已接单：工单 {number}")
    assert chat.last(RESIDENT).startswith(f"工单 {number} 网格员已接单")

    # The worker needs three more working days; the community approves.
    await chat.press(WORKER, "申请延期")
    await chat.press(WORKER, "3")
    assert chat.last(WORKER) == "请说明延期理由："
    await chat.text(WORKER, "需要等物业采购灯具")
    assert chat.last(WORKER) == "延期申请已提交，等待审批。"
    assert chat.last(STAFF).startswith(f"【延期申请】工单 {number} 申请延期 3 个工作日")
    await chat.press(STAFF, "同意延期")
    assert chat.last(STAFF) == f"已同意工单 {number} 延期 3 个工作日。"
    assert chat.last(WORKER).startswith(f"工单 {number} 延期 3 个工作日已批准")
    assert "需要等物业采购灯具" in chat.last(RESIDENT)

    # Resolved; the resident says it is not solved and not satisfied: 重办.
    clock.advance(timedelta(hours=4))
    await chat.press(WORKER, "办结")
    await chat.text(WORKER, "已更换灯泡")
    assert chat.last(WORKER) == f"工单 {number} 已办结，等待居民评价。"
    assert chat.last(RESIDENT).startswith(f"工单 {number} 已办结：\n已更换灯泡")
    await chat.press(RESIDENT, "未解决")
    await chat.press(RESIDENT, "不满意")
    assert chat.last(RESIDENT).startswith("还有什么想说的吗")
    await chat.text(RESIDENT, "灯还是不亮")
    assert chat.last(RESIDENT) == f"很抱歉没有让您满意。工单 {number} 已重新交办，我们会继续跟进。"
    assert chat.inbox[WORKER][-2].text == f"工单 {number} 居民评价：未解决，不满意。"
    assert chat.last(WORKER).startswith(f"【重办】工单 {number}")

    # Accepted again, resolved again, and this time the resident is satisfied.
    await chat.press(WORKER, "接单")
    await chat.press(WORKER, "办结")
    await chat.text(WORKER, "已更换整套灯具并测试")
    await chat.press(RESIDENT, "已解决")
    await chat.press(RESIDENT, "满意")
    await chat.press(RESIDENT, "跳过")
    assert chat.last(RESIDENT) == f"感谢您的评价！工单 {number} 已办结归档。"
    assert chat.last(WORKER) == f"工单 {number} 居民评价：已解决，满意。"

    async with sessions() as session:
        ticket = await session.get(Ticket, ticket.id)
        callbacks = (await session.exec(select(TicketCallback))).all()
    assert ticket.state == "closed" and ticket.reopen_count == 1 and ticket.extension_days == 3
    assert [(c.solved, c.satisfaction, c.comment) for c in callbacks] == [
        (False, "unsatisfied", "灯还是不亮"),
        (True, "satisfied", None),
    ]

    # Every message each person received, in order.
    expected = {}
    expected[RESIDENT] = [
        "您反映的问题",
        f"已受理，工单号 {number}",
        f"工单 {number} 网格员已接单",
        f"工单 {number} 因「需要等物业采购灯具」延期办理",
        f"工单 {number} 已办结",
        "您对办理结果满意吗",
        "还有什么想说的吗",
        "很抱歉没有让您满意",
        f"工单 {number} 网格员已接单",
        f"工单 {number} 已办结",
        "您对办理结果满意吗",
        "还有什么想说的吗",
        "感谢您的评价",
    ]
    expected[WORKER] = [
        f"【新派单】工单 {number}",
        "已接单",
        "需要延期几个工作日",
        "请说明延期理由",
        "延期申请已提交",
        f"工单 {number} 延期 3 个工作日已批准",
        "请输入给居民的办理结果答复",
        f"工单 {number} 已办结，等待居民评价",
        f"工单 {number} 居民评价：未解决",
        f"【重办】工单 {number}",
        "已接单",
        "请输入给居民的办理结果答复",
        f"工单 {number} 已办结，等待居民评价",
        f"工单 {number} 居民评价：已解决",
    ]
    expected[STAFF] = [f"【延期申请】工单 {number}", f"已同意工单 {number}"]
    for person, beginnings in expected.items():
        assert _beginnings(chat, person, beginnings) == beginnings, person


def _beginnings(chat, user: str, expected: list[str]) -> list[str]:
    """Each message `user` received, shortened to the expected beginning where it matches, so a
    difference shows the whole unexpected message."""
    actual = [reply.text for reply in chat.inbox[user]]
    return [
        expected[index] if index < len(expected) and text.startswith(expected[index]) else text
        for index, text in enumerate(actual)
    ]
