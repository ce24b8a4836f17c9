"""党委派单 / 部门接单 / 联动办 through the real handlers: the worker's 需要部门处理, street
staff choosing a lead and an assist, each department accepting and finishing, the resident
hearing every hand-off, and a department returning what is not its own — in both languages."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Person, Ticket

RESIDENT, WORKER, STAFF = "resident", "worker-g1", "staff-s1"
LAMP = "小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便"


async def _at_street(chat, sessions) -> str:
    """A complaint the grid worker accepts and sends on as needing a department."""
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "提交")
    async with sessions() as session:
        number = (await session.exec(select(Ticket).order_by(Ticket.id.desc()))).first().number
    await chat.press(WORKER, "接单", on=number)
    await chat.press(WORKER, "需要部门处理", on=number)
    assert chat.last(WORKER) == "请说明网格为什么无法解决、需要哪类部门处理："
    await chat.text(WORKER, "灯杆线路老化，需要市政维修")
    assert chat.last(WORKER) == f"工单 {number} 已提交东城街道，由街道派给职能部门处理。"
    assert chat.last(RESIDENT) == (
        f"您的工单 {number} 网格无法就地解决，已提交东城街道，将派给相关职能部门处理。"
    )
    alert = chat.last(STAFF)
    assert alert.startswith(f"【待派单】工单 {number}")
    assert "网格无法解决，需职能部门处理（灯杆线路老化，需要市政维修）" in alert
    return number


async def test_lead_and_assist_handle_it_and_the_resident_hears_every_hand_off(
    chat, sessions, clock
):
    number = await _at_street(chat, sessions)
    await chat.press(STAFF, "派给部门", on=number)
    lead_choice = chat.inbox[STAFF][-1]
    labels = [button.text for row in lead_choice.buttons for button in row]
    assert labels[:2] == ["★ 住建局", "★ 城管执法局"] or labels[:2] == [
        "★ 城管执法局",
        "★ 住建局",
    ]
    assert "水务公司" in labels  # serves the street, not suggested for a lamp
    await chat.press(STAFF, "★ 城管执法局")
    await chat.press(STAFF, "住建局")
    assert "协办：住建局" in chat.last(STAFF)
    await chat.press(STAFF, "确认派单")
    assert chat.last(STAFF) == f"工单 {number} 已派给城管执法局（主办），住建局协办。"
    assert chat.last(RESIDENT).startswith(
        f"您的工单 {number} 已交由城管执法局主办，住建局协办，将于"
    )
    assert chat.last("dept-cg").startswith(f"【部门派单】工单 {number}（本部门主办）")
    assert chat.last("dept-zj").startswith(f"【部门派单】工单 {number}（本部门协办）")
    assert "dept-sw" not in chat.inbox

    await chat.press("dept-cg", "接单")
    assert chat.last("dept-cg").startswith("已接单。请于")
    assert chat.last(RESIDENT).startswith(f"城管执法局已受理您的工单 {number}，将于")
    await chat.press("dept-zj", "接单")
    assert chat.last(RESIDENT) == f"住建局也参与处理您的工单 {number}。"

    # The lead cannot resolve before the assist without saying why; the assist finishes.
    await chat.press("dept-cg", "办结")
    assert chat.last("dept-cg").startswith("还有 1 个协办部门未完成")
    await chat.command("dept-cg", "cancel")
    await chat.press("dept-zj", "完成我的部分")
    await chat.text("dept-zj", "已检查线路产权，属市政")
    assert chat.last("dept-zj") == f"工单 {number} 的协办部分已完成，已告知主办部门。"
    assert chat.last("dept-cg") == (
        f"工单 {number}：协办部门住建局已完成：已检查线路产权，属市政（本部门主办）"
    )
    await chat.press("dept-cg", "办结")
    assert chat.last("dept-cg") == "请输入给居民的办理结果答复（可附照片）："
    await chat.text("dept-cg", "已更换灯杆线路，路灯恢复")
    assert chat.last("dept-cg") == f"工单 {number} 已办结，等待居民评价。"
    assert chat.last(RESIDENT).startswith(f"工单 {number} 已办结：\n已更换灯杆线路，路灯恢复")
    await chat.press(RESIDENT, "已解决")
    await chat.press(RESIDENT, "满意")
    await chat.press(RESIDENT, "跳过")
    assert chat.last(RESIDENT) == f"感谢您的评价！工单 {number} 已办结归档。"

    # A department's /tasks lists only its own open parts: none left.
    await chat.command("dept-cg", "tasks")
    assert chat.last("dept-cg") == "目前没有待办工单。"


async def test_a_department_returns_a_ticket_outside_its_duties_in_english(chat, sessions):
    async with sessions() as session:
        handler = (
            await session.exec(select(Person).where(Person.channel_user_id == "dept-sw"))
        ).one()
        handler.locale = "en"
        session.add(handler)
        await session.commit()
    number = await _at_street(chat, sessions)
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "水务公司")
    await chat.press(STAFF, "确认派单")
    assert chat.last("dept-sw").startswith(f"[New for your department] Ticket {number} (lead)")
    await chat.command("dept-sw", "tasks")
    await chat.press("dept-sw", "Return")
    assert chat.last("dept-sw").startswith("Why are you returning it")
    await chat.text("dept-sw", "Street lights are not water supply")
    assert chat.last("dept-sw") == f"Ticket {number} went back to the street office."
    assert chat.last(RESIDENT) == (
        f"水务公司认为您的工单 {number} 不属其职责，已退回街道重新派单，请耐心等待。"
    )
    assert "职能部门退单（Street lights are not water supply）" in chat.last(STAFF)
    # Back in triage, it can go to a department again.
    await chat.press(STAFF, "派给部门", on=number)
    assert "★ 城管执法局" in str(chat.inbox[STAFF][-1].buttons)


async def test_a_department_handler_sees_only_their_departments_tickets(chat, sessions):
    number = await _at_street(chat, sessions)
    await chat.command("dept-cg", "ticket", number)  # staff's command: not theirs
    await chat.command("dept-cg", "tasks")
    assert chat.last("dept-cg") == "目前没有待办工单。"
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "★ 城管执法局")
    await chat.press(STAFF, "确认派单")
    await chat.command("dept-cg", "tasks")
    assert number in str(chat.inbox["dept-cg"][-1].buttons)
    await chat.command("dept-zj", "tasks")
    assert chat.last("dept-zj") == "目前没有待办工单。"
    # A forged view of a ticket not theirs is refused.
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    await chat.data("dept-zj", f"v:{ticket.id}")
    assert number not in chat.last("dept-zj")


async def test_the_card_shows_the_departments_and_they_hear_督办_and_重办(chat, sessions):
    number = await _at_street(chat, sessions)
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "★ 城管执法局")
    await chat.press(STAFF, "住建局")
    await chat.press(STAFF, "确认派单")
    await chat.command(STAFF, "ticket", number)
    card = chat.last(STAFF)
    assert "主办：城管执法局（待接单，" in card and "协办：住建局（待接单，" in card

    await chat.press(STAFF, "督办", on=number)
    await chat.text(STAFF, "今天务必接单")
    assert chat.last(STAFF) == f"已督办工单 {number}，意见已发给 城管执法局。"
    assert chat.last("dept-cg").startswith(f"【督办】街道员督办工单 {number}：今天务必接单")
    assert "接单" in str(chat.inbox["dept-cg"][-1].buttons)

    await chat.press("dept-zj", "接单")
    await chat.press("dept-cg", "接单")
    await chat.press("dept-cg", "办结")
    await chat.text("dept-cg", "现场无法等待协办，已先行处置")
    await chat.text("dept-cg", "已处理")
    await chat.press(RESIDENT, "未解决")
    await chat.press(RESIDENT, "不满意")
    await chat.text(RESIDENT, "灯还是不亮")
    assert chat.last("dept-cg").startswith(f"【重办】居民对工单 {number} 的办理结果不满意")
    await chat.press("dept-cg", "接单")
    assert chat.last("dept-cg").startswith("已接单。请于")
    await chat.command(STAFF, "ticket", number)
    card = chat.last(STAFF)
    # Resolved without 住建: its part ended then, and 重办 does not bring it back.
    assert "主办：城管执法局（处理中，" in card and "协办：住建局（已退单）" in card


async def test_the_lead_hears_催办_and_补充_and_every_department_a_withdrawal(chat, sessions):
    number = await _at_street(chat, sessions)
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "★ 城管执法局")
    await chat.press(STAFF, "住建局")
    await chat.press(STAFF, "确认派单")
    staff_heard = len(chat.inbox[STAFF])

    await chat.text(RESIDENT, f"催办 {number}")
    assert chat.last("dept-cg").startswith(f"【催办】群众第 1 次催办工单 {number}")
    assert "接单" in str(chat.inbox["dept-cg"][-1].buttons)
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    await chat.data(RESIDENT, f"v:{ticket.id}")
    await chat.press(RESIDENT, "补充信息")
    await chat.text(RESIDENT, "灯杆在3号楼东侧")
    assert "灯杆在3号楼东侧" in chat.last("dept-cg")
    assert len(chat.inbox[STAFF]) == staff_heard  # the department has it, not the triage

    await chat.data(RESIDENT, f"v:{ticket.id}")
    await chat.press(RESIDENT, "撤回")
    withdrawn = f"工单 {number} 已被居民撤回，无需再办理。"
    assert chat.last("dept-cg") == withdrawn and chat.last("dept-zj") == withdrawn


async def test_a_退单_pressed_on_an_old_message_is_told_it_is_stale(chat, sessions):
    number = await _at_street(chat, sessions)
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "★ 城管执法局")
    await chat.press(STAFF, "确认派单")
    assigned = chat.inbox["dept-cg"][-1]
    await chat.press("dept-cg", "接单")
    chat.inbox["dept-cg"].append(assigned)  # the old message, its buttons still there
    await chat.press("dept-cg", "退单")
    assert chat.last("dept-cg") == f"工单 {number} 已有新进展，这个按钮已过期。当前状态：办理中。"
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert (ticket.state, ticket.department_id is not None) == ("accepted", True)


async def test_a_department_whose_part_is_over_no_longer_sees_the_resident(chat, sessions):
    number = await _at_street(chat, sessions)
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
        resident = await session.get(Person, ticket.resident_id)
        resident.display_name = "王小明"
        ticket.contact_phone, ticket.address = "13800138000", "幸福路8号3号楼"
        ticket.attachments = [{"kind": "photo", "ref": "AgACphoto-1"}]
        ticket.latitude, ticket.longitude = 31.2345, 121.4567
        session.add_all([resident, ticket])
        await session.commit()
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "★ 城管执法局")
    await chat.press(STAFF, "住建局")
    await chat.press(STAFF, "确认派单")
    await chat.data("dept-zj", f"v:{ticket.id}")
    card = chat.inbox["dept-zj"][-1]
    assert "王小明" in card.text and "幸福路8号" in card.text
    assert card.photos == ("AgACphoto-1",) and card.location == (31.2345, 121.4567)

    # 住建 returns its part as not its own: it keeps the ticket's history, not the resident.
    await chat.press("dept-zj", "退单", on=number)
    await chat.text("dept-zj", "不属于住建职责")
    await chat.data("dept-zj", f"v:{ticket.id}")
    card = chat.inbox["dept-zj"][-1]
    assert number in card.text and "不属于住建职责" in card.text
    for personal in ("王小明", "13800138000", "8000", "幸福路8号"):
        assert personal not in card.text
    assert card.photos == () and card.location is None
    # The lead, still working on it, sees everything.
    await chat.data("dept-cg", f"v:{ticket.id}")
    assert "王小明" in chat.last("dept-cg") and "幸福路8号" in chat.last("dept-cg")


async def test_departments_hear_when_someone_else_ends_their_part(chat, sessions):
    number = await _at_street(chat, sessions)
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "★ 城管执法局")
    await chat.press(STAFF, "住建局")
    await chat.press(STAFF, "确认派单")
    await chat.press("dept-cg", "退单", on=number)
    await chat.text("dept-cg", "不属于城管职责")
    assert chat.last("dept-zj") == (
        f"工单 {number} 您部门的部分已结束：主办部门已退单（不属于城管职责），"
        "工单退回街道重新派单。无需再办理。"
    )
    assert "已结束" not in chat.last("dept-cg")  # its own 退单 needs no telling

    # Dispatched again to 住建 alone, then 上报 by the street: 住建 hears it.
    await chat.press(STAFF, "派给部门", on=number)
    await chat.press(STAFF, "★ 住建局")
    await chat.press(STAFF, "确认派单")
    await chat.command(STAFF, "ticket", number)
    await chat.press(STAFF, "上报")
    await chat.text(STAFF, "需区级统筹")
    assert (
        chat.last("dept-zj")
        == f"工单 {number} 您部门的部分已结束：工单已上报上级处理。无需再办理。"
    )
