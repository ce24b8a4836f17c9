"""Grid worker and staff scenarios: joining, returning, escalating, triage, assigning,
correcting categories, closing, merging, statistics and invite codes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import CategoryCorrection, Person, Ticket


async def _submit(chat, resident: str, text: str = "小区路灯坏了") -> None:
    await chat.text(resident, text)
    await chat.press(resident, "提交")


async def _ticket(sessions, index: int = 0) -> Ticket:
    async with sessions() as session:
        return (await session.exec(select(Ticket).order_by(Ticket.id))).all()[index]


async def test_a_worker_joins_with_an_invite_code(chat, sessions):
    await chat.command("staff-c1", "invite", "g2")
    code = chat.last("staff-c1").split("\n")[0].split("：")[1]
    await chat.command("newbie", "join", code)
    assert chat.last("newbie").startswith("欢迎加入！您现在是幸福社区第二网格的网格员。")
    await chat.command("other", "join", code)
    assert chat.last("other") == "该邀请码已被使用。"
    await chat.command("other", "join", "WRONG123")
    assert chat.last("other").startswith("邀请码不正确")
    await chat.command("staff-c1", "invite", "g3")  # another street's grid
    assert chat.last("staff-c1") == "您没有权限进行此操作。"
    async with sessions() as session:
        newbie = (
            await session.exec(select(Person).where(Person.channel_user_id == "newbie"))
        ).one()
    assert newbie.role == "worker"


async def test_a_return_needs_a_reason_and_goes_to_triage(chat, sessions):
    await _submit(chat, "resident")
    await chat.press("worker-g1", "退单")
    assert chat.last("worker-g1") == "请说明退单理由："
    await chat.text("worker-g1", "   ")
    assert chat.last("worker-g1") == "请输入内容后再发送。"  # the question stays open
    await chat.text("worker-g1", "这是隔壁小区的路灯")
    ticket = await _ticket(sessions)
    assert ticket.state == "returned"
    assert chat.last("staff-c1").startswith(f"【待派单】工单 {ticket.number}（一般）：网格员退单")
    assert chat.last("resident") == f"工单 {ticket.number} 正在重新分派，请耐心等待。"

    # Staff route it from the alert: to the other grid's worker.
    await chat.press("staff-c1", "派单")
    await chat.press("staff-c1", "网格员乙（幸福社区第二网格）")
    assert chat.last("staff-c1") == f"工单 {ticket.number} 已派给 网格员乙。"
    assert chat.last("worker-g2").startswith(f"【新派单】工单 {ticket.number}")
    assert chat.last("resident").startswith(f"工单 {ticket.number} 已派给幸福社区第二网格网格员")


async def test_the_return_window_closes_after_a_working_day(chat, clock, sessions):
    await _submit(chat, "resident")
    clock.advance(timedelta(days=1, hours=1))
    await chat.press("worker-g1", "退单")
    # The window in words, not as configured ("1wd").
    assert chat.last("worker-g1").startswith("已超过退单时限（派单后 1 个工作日内）")
    assert (await _ticket(sessions)).state == "assigned"
    await chat.command("worker-g1", "lang")
    await chat.press("worker-g1", "English")
    await chat.press("worker-g1", "退单")  # the button on the older message
    assert "(within 1 working day of assignment)" in chat.last("worker-g1")


async def test_a_worker_escalates_to_the_community(chat, sessions):
    await _submit(chat, "resident")
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "上报")
    await chat.text("worker-g1", "涉及多个小区，需要社区协调")
    ticket = await _ticket(sessions)
    assert chat.last("worker-g1") == f"工单 {ticket.number} 已上报至幸福社区。"
    assert "下级上报（涉及多个小区" in chat.last("staff-c1")
    assert chat.last("resident") == f"工单 {ticket.number} 已上报至幸福社区协调办理。"


async def test_tasks_show_time_left_overdue_first(chat, clock):
    await _submit(chat, "resident", "小区路灯坏了")
    clock.advance(timedelta(days=2))
    await _submit(chat, "resident", "楼道煤气味很重")  # an emergency: 15 minutes to accept
    await chat.command("worker-g1", "tasks")
    lines = [b.text for row in chat.inbox["worker-g1"][-1].buttons for b in row]
    assert "已超时" in lines[0] and "剩余 15分钟" in lines[1]


async def test_staff_triage_recategorise_and_close(chat, sessions):
    await _submit(chat, "resident", "有没有人管管这个事情呀")  # not classifiable
    ticket = await _ticket(sessions)
    assert ticket.state == "submitted"
    await chat.command("staff-c1", "triage")
    # Two working hours to dispatch it, Monday 10:00 to 12:00.
    await chat.press("staff-c1", f"{ticket.number}｜待派单｜剩余 2小时0分")
    await chat.press("staff-c1", "改类别")
    await chat.press("staff-c1", "民政")
    assert chat.last("staff-c1") == "「民政」下的二级分类："
    await chat.press("staff-c1", "社会救助")
    assert chat.last("staff-c1").startswith(f"工单 {ticket.number} 类别已改为 民政/社会救助")
    async with sessions() as session:
        correction = (await session.exec(select(CategoryCorrection))).one()
    assert (correction.old_category, correction.new_category, correction.new_subcategory) == (
        None,
        "民政",
        "社会救助",
    )
    await chat.command("staff-c1", "ticket", ticket.number)
    await chat.press("staff-c1", "关闭")
    await chat.text("staff-c1", "居民已自行解决")
    assert chat.last("resident") == f"工单 {ticket.number} 已关闭。居民已自行解决"
    await chat.command("staff-s2", "ticket", ticket.number)
    assert chat.last("staff-s2") == "您没有权限进行此操作。"


async def test_a_duplicate_is_merged_and_its_resident_follows_the_original(chat, sessions):
    await _submit(chat, "resident", "小区路灯坏了")
    await chat.text("resident2", "小区门口路灯不亮")
    await chat.press("resident2", "仍然提交")  # offered to follow the first (test_duplicates)
    original, duplicate = await _ticket(sessions, 0), await _ticket(sessions, 1)
    await chat.command("staff-c1", "ticket", duplicate.number)
    await chat.press("staff-c1", "合并")
    await chat.text("staff-c1", original.number)
    assert chat.last("staff-c1") == f"工单 {duplicate.number} 已合并到 {original.number}。"
    assert original.number in chat.last("resident2")
    # When the original moves on, the duplicate's resident hears about it too.
    await chat.press("worker-g1", "接单", on=original.number)
    assert chat.last("resident2").startswith(f"工单 {original.number} 网格员已接单")


async def test_stats_overdue_and_usage(chat, clock):
    await _submit(chat, "resident")
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "已修复")
    await chat.press("resident", "已解决")
    await chat.press("resident", "基本满意")
    await chat.press("resident", "跳过")
    await _submit(chat, "resident2", "另一盏路灯也坏了")
    clock.advance(timedelta(days=2))
    replies = await chat.command("staff-s1", "stats", "week")
    # The dashboard's category chart comes along as a PNG picture.
    assert replies[-1].image is not None and replies[-1].image.startswith(b"\x89PNG")
    text = chat.last("staff-s1")
    assert text.startswith("【东城街道·本周】")
    assert "响应率 50.0%　解决率 100.0%　满意率 100.0%" in text
    assert "超时：1 件" in text
    await chat.command("staff-s1", "overdue")
    assert chat.last("staff-s1") == "超时工单（1 件）："
    await chat.command("staff-s1", "stats", "year")
    assert chat.last("staff-s1") == "用法：/stats today|week|month"
    await chat.command("worker-g1", "stats")
    assert chat.last("worker-g1").startswith("没有这个命令。")
