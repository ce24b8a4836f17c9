"""Resident scenarios: choosing an area, drafts, emergencies, following and withdrawing tickets."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from handlers.context import Deps
from storage.models import OutboxMessage, Person, Ticket
from tests.handlers.channel import Chat


async def _tickets(sessions) -> list[Ticket]:
    async with sessions() as session:
        return list((await session.exec(select(Ticket).order_by(Ticket.id))).all())


async def test_a_newcomer_chooses_a_grid_and_the_complaint_written_first_is_kept(chat, sessions):
    replies = await chat.command("newcomer", "start")
    assert replies[0].text.startswith("您好，这里是「民呼」")
    assert replies[1].text.startswith("请先选择您所在的社区或网格")
    # Writing the complaint before choosing: it is kept while the area is chosen.
    await chat.text("newcomer", "楼下的路灯坏了好几天")
    await chat.press("newcomer", "示范区")
    await chat.press("newcomer", "东城街道")
    await chat.press("newcomer", "幸福社区")
    await chat.press("newcomer", "幸福社区第二网格")
    replies = chat.inbox["newcomer"][-2:]
    assert replies[0].text == "已记录您的所在区域：幸福社区第二网格。现在可以直接描述您遇到的问题。"
    assert "楼下的路灯坏了好几天" in replies[1].text and "提交" in str(replies[1].buttons)
    await chat.press("newcomer", "提交")
    (ticket,) = await _tickets(sessions)
    assert ticket.text == "楼下的路灯坏了好几天" and ticket.state == "assigned"
    assert chat.last("worker-g2").startswith(f"【新派单】工单 {ticket.number}")


async def test_a_typed_community_name_finds_the_area(chat):
    await chat.command("newcomer", "start")
    await chat.text("newcomer", "阳光")
    assert chat.last("newcomer") == "找到以下区域，请点选："
    await chat.press("newcomer", "阳光社区第一网格")
    assert chat.last("newcomer").startswith("已记录您的所在区域：阳光社区第一网格")
    await chat.command("newcomer", "area")
    await chat.text("newcomer", "火星")
    assert "没有找到名称包含「火星」" in chat.last("newcomer")


async def test_a_shared_location_finds_the_nearest_grid(chat, sessions, cast):
    async with sessions() as session:
        for code, point in {"g1": (30.0, 120.0), "g3": (30.5, 120.5)}.items():
            area = cast.areas[code]
            area.centre_latitude, area.centre_longitude = point
            session.add(area)
        await session.commit()
    await chat.command("newcomer", "start")
    await chat.location("newcomer", 30.498, 120.498)  # about 300 m from g3's centre
    assert chat.last("newcomer").startswith("已记录您的所在区域：阳光社区第一网格")
    # 7 km from the nearest centre is no grid of ours: the resident chooses.
    await chat.command("newcomer", "area")
    await chat.location("newcomer", 30.45, 120.44)
    assert chat.inbox["newcomer"][-2].text.startswith("暂时无法根据位置确定网格")


async def test_an_emergency_goes_out_at_once_with_the_number_to_call(chat, sessions):
    replies = await chat.text("resident", "楼道里煤气味很重，好像燃气泄漏了")
    assert replies[0].text.startswith("⚠️ 如有人被困或有火情、燃气泄漏等危险，请立即拨打 119")
    assert replies[1].text.startswith("已受理，工单号")
    (ticket,) = await _tickets(sessions)
    assert ticket.urgency == "emergency" and ticket.state == "assigned"
    assert "【新派单】" in chat.last("worker-g1") and "紧急" in chat.last("worker-g1")


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("楼下着火了，浓烟很大，快来人", "拨打 119"),
        ("电梯卡在七楼了里面还有一个老人出不来", "拨打 119"),
        ("我妈正在给骗子转账，对方冒充公安说要转到安全账户", "拨打 110"),
        ("邻居老人突然昏迷倒在楼道里不省人事", "拨打 120"),
    ],
)
async def test_the_number_to_call_follows_the_kind_of_danger(chat, text, call):
    replies = await chat.text("resident", text)
    assert call in replies[0].text
    assert sum(number in replies[0].text for number in ("110", "119", "120")) == 1


async def test_the_category_can_be_changed_and_the_draft_cancelled(chat, sessions):
    await chat.text("resident", "小区门口的路灯不亮")
    await chat.press("resident", "更改类别")
    await chat.press("resident", "环境保护")
    assert chat.inbox["resident"][-2].text == "类别已改为：环境保护"
    await chat.press("resident", "提交")
    assert (await _tickets(sessions))[0].category == "环境保护"

    await chat.text("resident", "又一件事")
    await chat.press("resident", "取消")
    assert chat.last("resident") == "已取消，本次内容没有提交。"
    assert len(await _tickets(sessions)) == 1
    await chat.press("resident", "提交")  # the old proposal's button, after cancelling
    assert chat.last("resident") == "没有待提交的内容，请直接描述您的问题。"


async def test_photos_and_a_location_join_the_draft(chat, sessions):
    await chat.photo("resident", "photo-1")
    assert chat.last("resident") == "收到照片。请再用文字说明一下是什么问题。"
    await chat.text("resident", "路边的井盖丢了")
    await chat.photo("resident", "photo-2", "就在公交站旁边")
    await chat.location("resident", 30.1, 120.1)
    await chat.press("resident", "提交")
    (ticket,) = await _tickets(sessions)
    assert [a["ref"] for a in ticket.attachments] == ["photo-1", "photo-2"]
    assert ticket.text == "路边的井盖丢了\n就在公交站旁边"
    assert (ticket.latitude, ticket.longitude) == (30.1, 120.1)


async def test_a_half_written_complaint_survives_a_restart(chat, deps, sessions):
    await chat.text("resident", "小区路灯坏了")
    restarted = Chat(Deps(sessions=sessions, policy=deps.policy, classifier=deps.classifier))
    restarted.inbox, restarted.next_update = chat.inbox, chat.next_update
    await restarted.press("resident", "提交")
    assert len(await _tickets(sessions)) == 1


async def test_residents_follow_add_to_and_withdraw_their_tickets(chat, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    (ticket,) = await _tickets(sessions)
    await chat.command("resident", "my")
    assert chat.last("resident") == "您的工单（最近 1 件）："
    await chat.press("resident", f"{ticket.number}｜待签收｜城乡建设")
    view = chat.last("resident")
    assert f"工单 {ticket.number}" in view and "办理过程：" in view and "派单" in view
    await chat.press("resident", "补充信息")
    await chat.text("resident", "是3号楼东侧那盏")
    assert chat.last("resident") == f"已补充到工单 {ticket.number}。"
    assert chat.last("worker-g1") == f"工单 {ticket.number} 居民补充：是3号楼东侧那盏"
    await chat.press("resident", "撤回")  # the view's button: the ticket moved on since
    assert chat.last("resident").startswith(f"工单 {ticket.number} 已有新进展")
    await chat.command("resident", "my")
    await chat.press("resident", f"{ticket.number}｜待签收｜城乡建设")
    await chat.press("resident", "撤回")
    assert chat.last("resident") == f"工单 {ticket.number} 已撤回。"
    assert chat.last("worker-g1") == f"工单 {ticket.number} 已被居民撤回，无需再办理。"


async def test_a_resident_cannot_see_or_touch_anothers_ticket(chat, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    (ticket,) = await _tickets(sessions)
    await chat.data("resident2", f"v:{ticket.id}")
    assert chat.last("resident2") == "您没有权限进行此操作。"
    await chat.data("resident2", f"wd:{ticket.id}:{ticket.version}")
    assert chat.last("resident2") == "您没有权限进行此操作。"
    await chat.data("resident2", f"cb:{ticket.id}:{ticket.version}:1")
    assert (await _tickets(sessions))[0].state == "assigned"
    assert "工单" not in chat.all_text("resident2")


async def test_english_speakers_get_english(chat):
    await chat.command("resident", "lang")
    await chat.press("resident", "English")
    assert chat.last("resident") == "Language set to English."
    await chat.text("resident", "小区路灯坏了")
    assert chat.last("resident").startswith("Your report:")
    await chat.press("resident", "Submit")
    assert chat.last("resident").startswith("Received: ticket")
    assert chat.last("worker-g1").startswith("【新派单】")  # the worker keeps Chinese


async def test_nothing_is_sent_twice_for_a_redelivered_update(chat, deps, sessions):
    from handlers.dispatch import handle
    from handlers.events import Incoming, Kind

    event = Incoming("telegram", "resident", "resident", Kind.TEXT, text="路灯坏了", update_id=99)
    first = await handle(deps, event)
    again = await handle(deps, event)
    assert first.replies and not again.replies and again.duplicate
    async with sessions() as session:
        people = (await session.exec(select(func.count()).select_from(Person))).one()
        queued = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
    assert people == 13 and queued == 0  # the cast of 10 and three department handlers
