"""吹哨报到 in chat: the worker ticks the departments (the category's suggestion comes ticked),
says what they are needed for; each department gets a 报到 button; one reports in time, the
other is reminded, escalated to the street and reports late; the resident hears it all in plain
words."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.clocks import sweep_until_done
from handlers.buttons import ViewTicket
from storage.models import Person, Ticket, TicketPart
from tickets.people import set_locale


async def _accepted_ticket(chat, sessions) -> Ticket:
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
        ticket.category, ticket.subcategory = "城乡建设", None  # 住建局's, in the table
        session.add(ticket)
        await session.commit()
    await chat.press("worker-g1", "接单")
    return ticket


async def _sweep(chat) -> int:
    fired = await sweep_until_done(chat.deps.sessions, chat.deps.policy)
    await chat.deliver()
    return fired


async def test_a_whistle_one_department_in_time_the_other_late(chat, sessions, clock):
    ticket = await _accepted_ticket(chat, sessions)
    number = ticket.number
    await chat.press("worker-g1", "吹哨")
    assert chat.last("worker-g1").startswith(f"吹哨：工单 {number} 需要哪些部门到现场？")
    shown = [b.text for row in chat.inbox["worker-g1"][-1].buttons for b in row]
    assert shown == ["✅ 住建局（建议）", "城管执法局", "水务公司", "下一步"]
    await chat.press("worker-g1", "水务公司")
    await chat.press("worker-g1", "✅ 水务公司")  # ticked, and unticked again
    await chat.press("worker-g1", "城管执法局")
    shown = [b.text for row in chat.inbox["worker-g1"][-1].buttons for b in row]
    assert shown == ["✅ 住建局（建议）", "✅ 城管执法局", "水务公司", "下一步"]
    await chat.press("worker-g1", "下一步")
    assert chat.last("worker-g1") == "请简要说明需要部门到现场做什么（会发给各部门）："
    await chat.text("worker-g1", "路面塌陷，需住建、城管到场围挡处置")
    assert chat.last("worker-g1") == (
        f"已吹哨：工单 {number} 已召集住建局、城管执法局到现场，须于 11-24 10:00 前报到。"
    )
    summons = chat.last("dept-cg")
    assert summons.startswith(
        f"【吹哨报到】工单 {number}（一般）\n网格员甲召集城管执法局到现场："
        "路面塌陷，需住建、城管到场围挡处置"
    )
    assert "请于 11-24 10:00 前到场" in summons
    assert chat.last("dept-zj").startswith(f"【吹哨报到】工单 {number}（一般）")
    assert "dept-sw" not in chat.inbox
    assert chat.last("resident") == (
        f"您的工单 {number} 需要有关部门到现场处理，已召集：住建局、城管执法局。"
    )

    clock.advance(timedelta(minutes=40))
    await chat.press("dept-cg", "报到")
    assert chat.last("dept-cg") == f"已报到：工单 {number}，到场时间 11-23 10:40。"
    assert chat.last("worker-g1") == (
        f"【报到】城管执法局已于 11-23 10:40 到场（工单 {number}），按时报到。"
    )
    assert chat.last("resident") == f"城管执法局已到达现场，处理您的工单 {number}。"
    await chat.press("dept-cg", "报到")  # twice: told, nothing more
    assert chat.last("dept-cg") == f"您的部门已就工单 {number} 报到。"

    async with sessions() as session:
        zj = (await session.exec(select(TicketPart).where(TicketPart.state == "summoned"))).one()
    clock.set(zj.remind_at)
    assert await _sweep(chat) == 1
    assert (
        chat.last("dept-zj") == f"【报到提醒】住建局：工单 {number} 请于 11-24 10:00 前到现场报到。"
    )
    await chat.data("resident", ViewTicket(ticket.id).pack())
    assert "吹哨召集 住建局：待报到，须于 11-24 10:00 前" in chat.last("resident")
    clock.set(zj.due_report_at)
    assert await _sweep(chat) == 1
    assert chat.last("staff-s1") == (
        f"【报到超时】住建局未在 11-24 10:00 前到场报到（工单 {number}），请督办。"
    )
    assert chat.last("worker-g1") == f"住建局未按时到场报到（工单 {number}），已上报东城街道督办。"
    assert chat.last("resident") == f"召集的住建局未按时到场，您的工单 {number} 已由东城街道督办。"
    assert chat.last("dept-zj").startswith(f"【已超时】工单 {number} 的报到时限（11-24 10:00）已过")
    await chat.data("staff-s1", ViewTicket(ticket.id).pack())
    assert "吹哨召集 住建局：未按时报到（时限 11-24 10:00），已督办" in chat.last("staff-s1")
    clock.advance(timedelta(minutes=5))
    await chat.press("dept-zj", "报到")
    assert (
        chat.last("dept-zj") == f"已报到（已超过报到时限）：工单 {number}，到场时间 11-24 10:05。"
    )
    assert chat.last("worker-g1") == (
        f"【报到】住建局已于 11-24 10:05 到场（工单 {number}），超过报到时限。"
    )
    # Where each summons stands, on the ticket as the worker and the resident see it.
    await chat.press("worker-g1", "查看", on="【报到】住建局")
    card = chat.last("worker-g1")
    assert "吹哨召集 城管执法局：已于 11-23 10:40 到场报到\n" in card
    assert "吹哨召集 住建局：已于 11-24 10:05 到场报到（超时）" in card
    await chat.data("resident", ViewTicket(ticket.id).pack())
    assert "吹哨召集 城管执法局：已于 11-23 10:40 到场报到" in chat.last("resident")
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket.id)
    assert ticket.state == "accepted"  # the worker still holds it, buttons and all
    await chat.press("worker-g1", "办结", on="已吹哨")
    assert chat.last("worker-g1").startswith("请输入给居民的办理结果答复")


async def test_a_summons_in_english_and_a_stale_choice(chat, sessions):
    async with sessions() as session:
        handler = (
            await session.exec(select(Person).where(Person.channel_user_id == "dept-zj"))
        ).one()
        await set_locale(session, handler, "en")
        await session.commit()
    ticket = await _accepted_ticket(chat, sessions)
    await chat.press("worker-g1", "吹哨")
    await chat.press("worker-g1", "下一步")
    await chat.text("worker-g1", "需要现场查看")
    assert chat.last("dept-zj").startswith(
        f"[Summons] Ticket {ticket.number} (normal)\n网格员甲 summons 住建局 on site: 需要现场查看"
    )
    await chat.press("worker-g1", "城管执法局")  # the old list, after the whistle went out
    assert chat.last("worker-g1") == "这份部门清单已失效，请在工单上重新点「吹哨」。"
    await chat.press("dept-zj", "Report arrival")
    assert chat.last("dept-zj").startswith(f"Arrival reported: ticket {ticket.number}")


async def test_at_least_one_department_and_only_the_holder_whistles(chat, sessions):
    await _accepted_ticket(chat, sessions)
    await chat.press("worker-g1", "吹哨")
    await chat.press("worker-g1", "✅ 住建局（建议）")
    await chat.press("worker-g1", "下一步")
    assert chat.last("worker-g1") == "请至少选择一个部门。"
    # Another grid's worker cannot whistle on it, even with the button's data.
    whistle = next(
        b.data
        for reply in chat.inbox["worker-g1"]
        for row in reply.buttons
        for b in row
        if b.text == "吹哨"
    )
    await chat.data("worker-g2", whistle)
    assert chat.last("worker-g2") == "您没有权限进行此操作。"


async def test_a_summoned_department_finds_it_in_its_tasks_and_reports_from_the_ticket(
    chat, sessions
):
    ticket = await _accepted_ticket(chat, sessions)
    await chat.command("dept-zj", "tasks")
    assert chat.last("dept-zj") == "目前没有待办工单。"
    await chat.press("worker-g1", "吹哨")
    await chat.press("worker-g1", "下一步")
    await chat.text("worker-g1", "需要现场查看")
    await chat.command("dept-zj", "tasks")
    listed = chat.inbox["dept-zj"][-1]
    assert listed.text == "您的待办（1 件，超时在前）："
    assert listed.buttons[0][0].text.startswith(f"{ticket.number}｜")
    await chat.data("dept-zj", listed.buttons[0][0].data)
    assert "您的部门已被吹哨召集到现场，请于 11-24 10:00 前到场报到。" in chat.last("dept-zj")
    await chat.press("dept-zj", "报到", on="吹哨召集")
    assert chat.last("dept-zj").startswith(f"已报到：工单 {ticket.number}")
    await chat.command("dept-zj", "tasks")
    assert chat.last("dept-zj") == "目前没有待办工单。"
    await chat.data("dept-zj", listed.buttons[0][0].data)
    assert "您的部门已被吹哨召集" not in chat.last("dept-zj")  # reported: no 报到 any more
    assert "吹哨召集 住建局：已于 11-23 10:00 到场报到" in chat.last("dept-zj")
