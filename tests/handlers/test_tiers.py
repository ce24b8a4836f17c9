"""分级 and 句号管理 in chat: staff set a tier from the proposal, name a 包案 leader who then hears
the ticket's alerts, record a 回访 and read the per-tier 三率 and 未回访 in /stats."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from handlers.clock_notices import announce
from storage.models import Ticket, TicketCallback
from tickets.sweeps import sweep


async def _ticket(sessions) -> Ticket:
    async with sessions() as session:
        return (await session.exec(select(Ticket).order_by(Ticket.id))).first()


async def _sweep(chat) -> None:
    async with chat.deps.sessions() as session:
        await announce(session, chat.deps.policy, await sweep(session, chat.deps.policy))
        await session.commit()
    await chat.deliver()


async def _resolved(chat, sessions, text: str = "小区路灯坏了") -> Ticket:
    await chat.text("resident", text)
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "已更换灯泡")
    return await _ticket(sessions)


async def test_staff_set_a_tier_with_a_leader_who_then_hears_the_alerts(
    chat, clock, sessions, cast
):
    await chat.text("resident", "小区违建问题反映多次，多年没有解决，城管和住建互相推诿")
    await chat.press("resident", "提交")
    ticket = await _ticket(sessions)
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "分级")
    offer = chat.inbox["staff-c1"][-1]
    assert offer.text.startswith(f"工单 {ticket.number} 分级。\n建议：历史遗留（联动办）——")
    labels = [button.text for row in offer.buttons for button in row]
    assert labels == [
        "简单（立即办）",
        "一般（协调办）",
        "复杂（现场办）",
        "★ 历史遗留（联动办）·建议",
        "重大疑难（联动办）",
    ]
    await chat.press("staff-c1", "★ 历史遗留（联动办）·建议")
    assert chat.last("staff-c1") == "历史遗留（联动办）：请选择包案领导："
    await chat.press("staff-c1", "街道员")
    ticket = await _ticket(sessions)
    assert (ticket.tier, ticket.leader_id) == ("legacy", cast["staff-s1"].id)
    assert chat.last("staff-c1").startswith(f"工单 {ticket.number} 已定为 历史遗留（联动办），")
    assert chat.last("staff-c1").endswith("包案领导：街道员")
    told = chat.last("staff-s1")
    assert told.startswith(f"【包案】您是工单 {ticket.number}（历史遗留（联动办））的包案领导。")

    clock.set(ticket.remind_at)  # the worker's accept reminder reaches the leader too
    await _sweep(chat)
    assert chat.last("staff-s1").startswith(f"【包案提醒】您包案的工单 {ticket.number} 签收时限")
    clock.set(ticket.due_accept_at)
    await _sweep(chat)
    assert chat.last("staff-s1").startswith(f"【超时督办】工单 {ticket.number} 已超过签收时限")


async def test_the_tier_in_english(chat, sessions):
    await chat.command("staff-c1", "lang")
    await chat.press("staff-c1", "English")
    await chat.text("resident", "小区门口路灯坏了")
    await chat.press("resident", "提交")
    ticket = await _ticket(sessions)
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "Tier")
    assert "Proposed: Simple (handled at once) — a single repair (坏了)" in chat.last("staff-c1")
    await chat.press("staff-c1", "Complex (on site)")
    assert chat.last("staff-c1").startswith(f"Ticket {ticket.number} is now Complex (on site)")
    await chat.command("staff-c1", "ticket", ticket.number)
    assert "Tier: Complex (on site)" in chat.last("staff-c1")
    # The worker holding it, in Chinese, learns the tier and the longer resolve clock.
    assert chat.last("worker-g1").startswith(
        f"工单 {ticket.number} 已定为 复杂（现场办），办结时限"
    )


async def test_a_resolved_ticket_closes_only_after_a_recorded_callback(chat, sessions):
    ticket = await _resolved(chat, sessions)
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "关闭")
    assert chat.last("staff-c1").startswith(f"工单 {ticket.number} 还没有回访")
    await chat.press("staff-c1", "记录回访")
    assert chat.last("staff-c1") == f"工单 {ticket.number} 回访居民的结果："
    await chat.press("staff-c1", "未接通")
    assert chat.last("staff-c1").startswith("已记录：未接通。")
    assert (await _ticket(sessions)).state == "resolved"
    await chat.press("staff-c1", "关闭")  # the buttons came with the answer
    await chat.text("staff-c1", "三次电话无人接听")
    assert (await _ticket(sessions)).state == "closed"
    assert chat.last("resident") == f"工单 {ticket.number} 已关闭。三次电话无人接听"


async def test_a_reached_callback_closes_and_tells_the_worker(chat, sessions):
    ticket = await _resolved(chat, sessions)
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "记录回访")
    await chat.press("staff-c1", "已解决·基本满意")
    assert chat.last("staff-c1") == f"已记录回访，工单 {ticket.number} 已办结归档。"
    assert ticket.number in chat.last("worker-g1") and "基本满意" in chat.last("worker-g1")
    async with sessions() as session:
        callback = (await session.exec(select(TicketCallback))).one()
    assert (callback.kind, callback.reached, callback.satisfaction) == ("staff", True, "basic")


async def test_stats_show_three_rates_per_tier_and_unvisited(chat, clock, sessions):
    await _resolved(chat, sessions)
    clock.advance(timedelta(days=7, minutes=1))  # still November, the ticket's month
    await _sweep(chat)  # auto-closed without a 回访
    await chat.command("staff-c1", "stats", "month")
    stats = chat.last("staff-c1")
    assert "分级三率（响应/解决/满意）：\n未分级 100.0% / — / —" in stats
    assert stats.endswith("未回访（到期自动归档）：1 件")


async def test_the_triage_alert_carries_the_proposal_and_the_tier_button(chat, sessions):
    await chat.text("resident", "有没有人管管这个事情呀")  # not classifiable: waits in triage
    await chat.press("resident", "提交")
    alert = chat.inbox["staff-c1"][-1]
    assert "\n建议：一般（协调办）——未见特别情形" in alert.text
    await chat.press("staff-c1", "分级")
    await chat.press("staff-c1", "★ 一般（协调办）·建议")
    assert (await _ticket(sessions)).tier == "general"
    await chat.command("staff-c1", "ticket", (await _ticket(sessions)).number)
    assert "建议：" not in chat.last("staff-c1") and "分级：一般（协调办）" in chat.last("staff-c1")


async def test_a_recorded_tickets_callback_is_asked_of_staff_and_closes_it(chat, sessions):
    """代办: the resident is not in the chat, so the community's staff are asked for the 回访
    when the worker resolves it, and their record closes it."""
    await chat.text("worker-g1", "张阿姨来电：小区楼道的灯坏了一个月，晚上很黑")
    await chat.press("worker-g1", "代办（群众来电/走访）")
    await chat.text("worker-g1", "张阿姨 138-0000-1234")
    ticket = await _ticket(sessions)
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "已换灯")
    asked = chat.inbox["staff-c1"][-1]
    assert asked.text.startswith(f"【待回访】工单 {ticket.number} 已办结：已换灯\n群众不在聊天中")
    await chat.press("staff-c1", "记录回访")
    await chat.press("staff-c1", "已解决·满意")
    assert (await _ticket(sessions)).state == "closed"
