"""Told as it is: the resident learns where the ticket really went and by when; staff learn why a
ticket waits in triage and by when to dispatch it; an emergency reaches the staff on duty at
once; the clocks' notices carry the button for the move they wait for."""

from __future__ import annotations

from sqlmodel import select

from handlers.clock_notices import announce
from storage.models import Person, Ticket
from tickets.sweeps import sweep

GAS = "楼道里煤气味很重，好像燃气泄漏了"


async def _sweep(chat) -> None:
    deps = chat.deps
    async with deps.sessions() as session:
        await announce(session, deps.policy, await sweep(session, deps.policy))
        await session.commit()
    await chat.deliver()


async def _ticket(sessions) -> Ticket:
    async with sessions() as session:
        return (await session.exec(select(Ticket).order_by(Ticket.id.desc()))).first()


async def _change(sessions, person: Person, **values) -> None:
    async with sessions() as session:
        row = await session.get(Person, person.id)
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        await session.commit()


async def test_the_resident_hears_the_named_worker_and_the_promised_times(chat):
    await chat.text("resident", "小区路灯坏了")
    (reply,) = await chat.press("resident", "提交")
    assert "已派给幸福社区第一网格网格员网格员甲，承诺 11-24 10:00 前签收" in reply.text


async def test_a_ticket_in_triage_is_promised_a_dispatch_time_and_staff_know_why(chat, sessions):
    await chat.text("resident", "有没有人管管这个事情呀")
    (reply,) = await chat.press("resident", "提交")
    assert "正等待幸福社区工作人员派单，承诺 11-23 12:00 前派出" in reply.text
    alert = chat.last("staff-c1")
    assert alert.startswith(
        f"【待派单】工单 {(await _ticket(sessions)).number}（一般）：无法自动分类"
    )
    assert "请于 11-23 12:00 前派单" in alert


async def test_a_community_level_ticket_says_no_grid_was_chosen(chat, cast, sessions):
    await _change(sessions, cast["resident2"], area_id=cast.areas["c1"].id)
    await chat.text("resident2", "小区路灯坏了")
    await chat.press("resident2", "提交")
    await chat.press("resident2", "跳过")  # asked where (an address is optional)
    assert "：群众只选到幸福社区，未选网格" in chat.last("staff-c1")
    assert "网格无人在岗" not in chat.all_text("staff-c1")


async def test_a_grid_without_a_worker_on_duty_is_named(chat, cast, sessions):
    await _change(sessions, cast["worker-g1"], on_duty=False)
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    assert "：幸福社区第一网格无网格员在岗" in chat.last("staff-c1")


async def test_an_emergency_reaches_the_staff_on_duty_at_once(chat, cast, sessions):
    await _change(sessions, cast["resident"], display_name="李大妈", phone="13800001111")
    replies = await chat.text("resident", GAS)
    assert "立即派出" not in replies[0].text  # the warning no longer claims what is not so
    assert "已派给幸福社区第一网格网格员网格员甲" in replies[1].text
    assert replies[1].text.endswith("已同时通知社区、街道值班人员。")
    number = (await _ticket(sessions)).number
    for staff in ("staff-c1", "staff-s1"):
        alert = chat.last(staff)
        assert alert.startswith(f"【紧急工单】{number}\n已派给网格员网格员甲，11-23 10:15 前签收。")
        assert "联系人：李大妈 13800001111" in alert and "区域：幸福社区第一网格" in alert
    # Not the other street's staff, nor anyone's personal data in the worker's ping.
    assert "紧急工单" not in chat.all_text("staff-s2")
    assert "13800001111" not in chat.all_text("worker-g1")


async def test_an_emergency_in_triage_is_one_alert_per_staff_member(chat, cast, sessions):
    await _change(sessions, cast["resident2"], area_id=cast.areas["c1"].id)
    await chat.text("resident2", GAS)
    alerts = [reply.text for reply in chat.inbox["staff-c1"]]
    assert len(alerts) == 1 and alerts[0].startswith("【紧急工单】")
    assert "待派单：群众只选到幸福社区，未选网格，请于 11-23 10:05 前派单。" in alerts[0]
    assert "派单" in str(chat.inbox["staff-c1"][-1].buttons)


async def test_triage_staff_are_reminded_then_the_street_can_dispatch_from_the_alert(
    chat, clock, sessions
):
    await chat.text("resident", "有没有人管管这个事情呀")
    await chat.press("resident", "提交")
    ticket = await _ticket(sessions)
    clock.set(ticket.remind_at)
    await _sweep(chat)
    assert chat.last("staff-c1") == (
        f"【派单提醒】工单 {ticket.number} 仍在待派单，请于 11-23 12:00 前派单。"
    )
    clock.set(ticket.due_dispatch_at)
    await _sweep(chat)
    assert chat.last("staff-s1") == (
        f"【超时督办】工单 {ticket.number} 已超过派单时限（11-23 12:00），请督办。"
    )
    await chat.press("staff-s1", "派单")
    await chat.press("staff-s1", "网格员乙（幸福社区第二网格）")
    assert (await _ticket(sessions)).state == "assigned"


async def test_the_accept_button_works_after_the_overdue_notice(chat, clock, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    first_ping = chat.inbox["worker-g1"][-1]
    clock.set((await _ticket(sessions)).due_accept_at)
    await _sweep(chat)
    assert "接单" in str(chat.inbox["worker-g1"][-1].buttons)  # the overdue notice offers it
    chat.inbox["worker-g1"].append(first_ping)  # the old ping's button, pressed after all
    (reply,) = await chat.press("worker-g1", "接单")
    assert "已过期" not in reply.text
    assert (await _ticket(sessions)).state == "accepted"
