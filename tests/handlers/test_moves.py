"""Everyone moves a ticket from chat: a worker's 代办 and 隐患上报, a resident's 催办, staff's 督办,
上报 from triage and the second level of a category — with forged and stale presses refused."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from handlers.buttons import RecategoriseSub, Supervise, Urge
from handlers.texts import label, tr
from storage.models import Person, Ticket, TicketEvent


async def _tickets(sessions) -> list[Ticket]:
    async with sessions() as session:
        return list((await session.exec(select(Ticket).order_by(Ticket.id))).all())


async def _submit(chat, resident: str = "resident", text: str = "小区路灯坏了") -> None:
    await chat.text(resident, text)
    await chat.press(resident, "提交")


async def _set_locale(sessions, user: str, locale: str) -> None:
    async with sessions() as session:
        person = (await session.exec(select(Person).where(Person.channel_user_id == user))).one()
        person.locale = locale
        session.add(person)
        await session.commit()


# --- 代办 and 隐患上报 ----------------------------------------------------------------------


async def test_a_worker_records_a_phoned_complaint_for_a_resident(chat, sessions):
    await chat.text("worker-g1", "张阿姨来电：小区楼道的灯坏了一个月，晚上很黑")
    assert chat.last("worker-g1").startswith("要把这条记为工单吗？")
    await chat.press("worker-g1", "代办（群众来电/走访）")
    assert chat.last("worker-g1").startswith("请发送群众的姓名和电话")
    await chat.text("worker-g1", "张阿姨 12345")  # no phone number: asked again, nothing lost
    assert chat.last("worker-g1").startswith("这个电话号码不对")
    assert await _tickets(sessions) == []
    await chat.text("worker-g1", "张阿姨 138-0000-1234")
    (ticket,) = await _tickets(sessions)
    assert (ticket.source, ticket.on_behalf_name, ticket.on_behalf_phone) == (
        "on_behalf",
        "张阿姨",
        "+8613800001234",
    )
    assert ticket.state == "assigned" and ticket.assignee_id == ticket.resident_id
    assert chat.last("worker-g1").startswith(f"已登记工单 {ticket.number}（网格员代办，")
    await chat.press("worker-g1", "接单")  # the reply carries the worker's own buttons
    assert chat.last("worker-g1").startswith(f"已接单：工单 {ticket.number}")

    # Staff of the area see where it came from and whom to call back; outsiders see nothing.
    await chat.command("staff-c1", "ticket", ticket.number)
    view = chat.last("staff-c1")
    assert "来源：网格员代办" in view and "登记人：网格员甲" in view
    assert "群众：张阿姨　电话：138 0000 1234" in view
    await chat.data("staff-s2", f"v:{ticket.id}")
    assert "0000 1234" not in chat.all_text("staff-s2")

    # Resolved: the worker who recorded it is told to call the resident back, with no 回访
    # buttons they could not press.
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "已换灯")
    async with sessions() as session:
        events = (await session.exec(select(TicketEvent.action))).all()
    assert events == ["submit", "assign", "accept", "resolve"]


async def test_a_patrol_hazard_goes_to_triage_when_staff_record_it(chat, sessions):
    await chat.text("worker-g1", "巡查发现幸福路井盖丢了")
    await chat.press("worker-g1", "隐患上报（巡查发现）")
    (ticket,) = await _tickets(sessions)
    assert (ticket.source, ticket.on_behalf_name) == ("patrol", None)
    assert ticket.area_id == ticket.handling_area_id  # the worker's own grid

    # A community's staff member records one: nobody's grid, so it waits in their triage.
    await chat.text("staff-c1", "社区门口护栏倒了")
    await chat.text("staff-c1", "有行人差点被绊倒")  # more of the same joins it
    assert "护栏倒了\n有行人" in chat.last("staff-c1")
    await chat.press("staff-c1", "隐患上报（巡查发现）")
    second = (await _tickets(sessions))[1]
    assert second.state == "submitted" and second.source == "patrol"
    assert chat.last("staff-c1").startswith(f"已登记工单 {second.number}（巡查发现，")
    assert "等待幸福社区派单" in chat.last("staff-c1")

    # Sent to a worker and resolved: the staff member who recorded it reads the reply and is
    # asked to call back, without the resident's 回访 buttons.
    await chat.command("staff-c1", "ticket", second.number)
    await chat.press("staff-c1", "派单")
    await chat.press("staff-c1", "网格员甲（幸福社区第一网格）")
    await chat.press("worker-g1", "接单", on=second.number)
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "护栏已扶正加固")
    told = chat.inbox["staff-c1"][-1]
    assert told.text.startswith(f"您登记的工单 {second.number} 已办结：护栏已扶正加固")
    assert told.buttons == ()


async def test_recording_can_be_cancelled_and_a_stray_press_is_refused(chat, sessions):
    await chat.text("worker-g1", "测试一下")
    await chat.press("worker-g1", "取消")
    await chat.press("worker-g1", "隐患上报（巡查发现）")  # the old question's button
    assert chat.last("worker-g1") == "没有待提交的内容，请直接描述您的问题。"
    assert await _tickets(sessions) == []


async def test_recording_in_english(chat, sessions):
    await _set_locale(sessions, "worker-g1", "en")
    await chat.text("worker-g1", "Resident called: the stairway light is broken")
    assert chat.last("worker-g1").startswith("Record this as a ticket?")
    await chat.press("worker-g1", "On behalf (call or visit)")
    await chat.press("worker-g1", "No contact given")
    (ticket,) = await _tickets(sessions)
    assert (ticket.source, ticket.on_behalf_phone) == ("on_behalf", None)
    assert chat.last("worker-g1").startswith(f"Ticket {ticket.number} recorded (on behalf, ")


# --- 催办 ------------------------------------------------------------------------------------


async def test_a_residents_urge_reaches_the_worker_once_per_working_day(chat, clock, sessions):
    await _submit(chat)
    (ticket,) = await _tickets(sessions)
    await chat.data("resident", f"v:{ticket.id}")
    await chat.press("resident", "催办")
    assert chat.last("resident") == f"已为您催办工单 {ticket.number}，网格员会尽快办理。"
    assert chat.last("worker-g1").startswith(f"【催办】群众第 1 次催办工单 {ticket.number}")
    # The urge left the ticket's version alone: the 接单 button under it, and the one on the
    # first assignment, still work.
    await chat.press("worker-g1", "接单")
    assert chat.last("worker-g1").startswith(f"已接单：工单 {ticket.number}")

    await chat.text("resident", f"催办 {ticket.number}")
    assert chat.last("resident").startswith(f"工单 {ticket.number} 今天已经催办过了")
    clock.advance(timedelta(days=4))  # Friday: the next working day
    await chat.text("resident", "催办")  # the only open ticket
    assert chat.last("resident") == f"已为您催办工单 {ticket.number}，网格员会尽快办理。"
    assert chat.last("worker-g1").startswith(f"【催办】群众第 2 次催办工单 {ticket.number}")
    clock.advance(timedelta(days=1))  # Saturday counts for Monday …
    await chat.text("resident", "催办")
    clock.advance(timedelta(days=2))  # … so on Monday it is refused
    await chat.text("resident", "催办")
    assert "今天已经催办过了" in chat.last("resident")
    async with sessions() as session:
        urges = (await session.exec(select(TicketEvent).where(TicketEvent.action == "urge"))).all()
    assert [urge.data["count"] for urge in urges] == [1, 2, 3]
    await chat.data("resident", f"v:{ticket.id}")
    assert chat.last("resident").count("群众催办") == 3  # on the resident's timeline


async def test_an_urge_in_triage_reaches_the_staff(chat, sessions):
    await _submit(chat, text="有没有人管管这个事情呀")  # unclassified: triage
    (ticket,) = await _tickets(sessions)
    await chat.text("resident", f"催办：{ticket.number}")
    assert chat.last("resident") == f"已为您催办工单 {ticket.number}，已提醒工作人员尽快派单。"
    assert chat.last("staff-c1").startswith(f"【催办】工单 {ticket.number} 仍待派单")


async def test_typed_urges_choose_and_refuse(chat, sessions):
    await chat.text("resident", "催办")
    assert chat.last("resident").startswith("您没有在办的工单")
    await _submit(chat)
    await _submit(chat, text="楼下垃圾三天没人收")
    first, second = await _tickets(sessions)
    await chat.text("resident", "催办")
    assert chat.last("resident") == "请选择要催办的工单："
    state = label("zh-CN", "state", second.state)
    await chat.press("resident", f"{second.number}｜{state}｜{second.category}")
    assert chat.last("worker-g1").startswith(f"【催办】群众第 1 次催办工单 {second.number}")
    # Someone else's number is no ticket of theirs; a sentence starting with 催办 is a complaint.
    await chat.text("resident2", "小区门口的路灯不亮")
    await chat.press("resident2", "仍然提交")  # offered to follow the first (test_duplicates)
    other = (await _tickets(sessions))[2]
    await chat.text("resident", f"催办 {other.number}")
    assert chat.last("resident") == "没有找到相关工单或信息。"
    await chat.text("resident", "催办了三次还没人管，楼道灯还是坏的")
    assert chat.last("resident").startswith("您反映的问题：\n「催办了三次")
    assert first.number not in chat.last("worker-g1")


async def test_forged_urges_and_urges_on_closed_tickets_are_refused(chat, sessions):
    await _submit(chat, "resident2")
    (ticket,) = await _tickets(sessions)
    await chat.data("resident", Urge(ticket.id).pack())
    assert chat.last("resident") == "您没有权限进行此操作。"
    await chat.data("worker-g1", Urge(ticket.id).pack())
    assert chat.last("worker-g1") == "您没有权限进行此操作。"
    assert "催办" not in chat.all_text("worker-g1").split("【新派单】")[-1]
    await chat.data("resident2", f"v:{ticket.id}")
    await chat.press("resident2", "撤回")
    await chat.data("resident2", Urge(ticket.id).pack())
    assert chat.last("resident2") == "工单当前状态为「已撤回」，不能执行此操作。"


# --- staff: 督办, 上报, 二级分类 -----------------------------------------------------------------


async def test_staff_supervise_a_worker_with_a_note(chat, sessions):
    await _submit(chat)
    (ticket,) = await _tickets(sessions)
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "督办")
    assert chat.last("staff-c1") == "请写督办意见（会发给办理的网格员）："
    await chat.text("staff-c1", "居民已多次反映，今天务必处理")
    assert chat.last("staff-c1") == f"已督办工单 {ticket.number}，意见已发给 网格员甲。"
    assert chat.last("worker-g1").startswith(
        f"【督办】社区书记督办工单 {ticket.number}：居民已多次反映，今天务必处理"
    )
    await chat.press("worker-g1", "接单")  # still the current version
    assert chat.last("worker-g1").startswith("已接单")
    # The resident's timeline shows the 督办, not the note.
    await chat.data("resident", f"v:{ticket.id}")
    assert "督办" in chat.last("resident") and "务必" not in chat.last("resident")
    # Out of the area, or stale: refused.
    await chat.data("staff-s2", Supervise(ticket.id, ticket.version).pack())
    assert chat.last("staff-s2") == "您没有权限进行此操作。"
    await chat.data("staff-c1", Supervise(ticket.id, ticket.version).pack())
    assert chat.last("staff-c1").startswith(f"工单 {ticket.number} 已有新进展")


async def test_staff_escalate_from_triage_to_the_street(chat, sessions):
    await _submit(chat, text="有没有人管管这个事情呀")
    (ticket,) = await _tickets(sessions)
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "上报")
    await chat.text("staff-c1", "涉及多个社区")
    assert chat.last("staff-c1") == f"工单 {ticket.number} 已上报至东城街道。"
    assert "涉及多个社区" in chat.last("staff-s1")
    (ticket,) = await _tickets(sessions)
    assert ticket.state == "submitted" and ticket.handling_level == "street"
    assert chat.last("resident") == f"工单 {ticket.number} 已上报至东城街道协调办理。"


async def test_staff_correct_the_second_level_alone_or_the_first_only(chat, sessions):
    await _submit(chat)
    (ticket,) = await _tickets(sessions)
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "改类别")
    await chat.press("staff-c1", ticket.category)
    await chat.press("staff-c1", "其他")
    (ticket,) = await _tickets(sessions)
    assert ticket.subcategory == "其他"
    assert f"{ticket.category}/其他" in chat.last("resident")
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "改类别")
    await chat.press("staff-c1", "民政")
    await chat.press("staff-c1", "仅「民政」（不选二级）")
    (ticket,) = await _tickets(sessions)
    assert (ticket.category, ticket.subcategory) == ("民政", None)
    # An outsider's forged press is refused before anything is said about the ticket.
    await chat.data("staff-s2", RecategoriseSub(ticket.id, ticket.version, 7, 3).pack())
    assert chat.last("staff-s2") == "您没有权限进行此操作。"


async def test_stats_count_tickets_per_source(chat, sessions):
    await _submit(chat)
    await chat.text("worker-g1", "巡查发现井盖丢了")
    await chat.press("worker-g1", "隐患上报（巡查发现）")
    await chat.text("worker-g2", "李大爷来电：楼下漏水")
    await chat.press("worker-g2", "代办（群众来电/走访）")
    await chat.text("worker-g2", "李大爷")
    await chat.text("worker-g1", "巡查发现电线老化")
    await chat.press("worker-g1", "隐患上报（巡查发现）")
    await chat.command("staff-c1", "stats", "today")
    assert "来源：巡查发现 2、网格员代办 1、群众自报 1" in chat.last("staff-c1")
    await _set_locale(sessions, "staff-c1", "en")
    await chat.command("staff-c1", "stats", "today")
    separator = tr("en", "list_separator")
    wanted = separator.join(("patrol 2", "on behalf 1", "resident 1"))
    assert f"Sources: {wanted}" in chat.last("staff-c1")
