"""重复诉求 in chat: the resident is offered the open ticket first and may follow it; staff see
the merge suggestion and merge with one press."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Person, Ticket
from tickets.people import set_home_area

FIRST = "小区路灯坏了"
SECOND = "小区门口路灯不亮"


async def _tickets(sessions) -> list[Ticket]:
    async with sessions() as session:
        return list((await session.exec(select(Ticket).order_by(Ticket.id))).all())


async def _first(chat, sessions) -> Ticket:
    await chat.text("resident", FIRST)
    await chat.press("resident", "提交")
    return (await _tickets(sessions))[0]


async def test_a_second_resident_follows_and_hears_the_resolution(chat, sessions):
    original = await _first(chat, sessions)
    (proposal,) = await chat.text("resident2", SECOND)
    assert (
        f"已有相同问题：工单号 {original.number}（待签收，11-23 10:00 提交，"
        "相同的词：路灯、小区），关注它？" in proposal.text
    )
    assert FIRST not in proposal.text  # another resident's words stay theirs
    labels = [[button.text for button in row] for row in proposal.buttons]
    assert labels == [["关注它", "仍然提交"], ["更改类别", "取消"], ["需要回电", "匿名反映"]]
    await chat.press("resident2", "关注它")
    tickets = await _tickets(sessions)
    followed = tickets[1]
    assert chat.last("resident2") == (
        f"已关注工单 {original.number}，它的每一步进展都会通知您。"
        f"您的反映已记为工单 {followed.number}，并入其中一并办理。"
    )
    assert (followed.state, followed.merged_into_id, followed.text) == (
        "closed",
        original.id,
        SECOND,
    )
    assert [t.state for t in tickets] == ["assigned", "closed"]  # one ticket at work
    # The worker got one assignment, for the original.
    assert sum("【新派单】" in reply.text for reply in chat.inbox["worker-g1"]) == 1
    await chat.press("worker-g1", "接单", on=original.number)
    assert chat.last("resident2").startswith(f"工单 {original.number} 网格员已接单")
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "路灯已更换")
    # Both hear the reply; the callback stays with the original's own resident.
    heard = chat.inbox["resident2"][-1]
    assert heard.text == f"您关注的工单 {original.number} 已办结：\n路灯已更换"
    assert heard.buttons == ()
    asked = chat.inbox["resident"][-1]
    assert asked.text.startswith(f"工单 {original.number} 已办结") and asked.buttons


async def test_submit_anyway_opens_a_ticket_and_staff_merge_it_with_one_press(chat, sessions):
    original = await _first(chat, sessions)
    await chat.text("resident2", SECOND)
    await chat.press("resident2", "仍然提交")
    duplicate = (await _tickets(sessions))[1]
    assert duplicate.state == "assigned" and duplicate.merged_into_id is None
    (view,) = await chat.command("staff-c1", "ticket", duplicate.number)
    assert f"可能与工单 {original.number} 重复（同类、同社区，相同的词：路灯" in view.text
    await chat.press("staff-c1", f"合并到 {original.number}")
    assert chat.last("staff-c1") == f"工单 {duplicate.number} 已合并到 {original.number}。"
    assert original.number in chat.last("resident2")
    merged = (await _tickets(sessions))[1]
    assert (merged.state, merged.merged_into_id) == ("closed", original.id)
    # The original itself suggests nothing: it is the older one.
    (view,) = await chat.command("staff-c1", "ticket", original.number)
    assert "可能与工单" not in view.text and "合并到" not in str(view.buttons)


async def test_the_triage_alert_carries_the_merge_suggestion(chat, sessions, cast):
    """Residents who chose only the community: their tickets wait in staff's triage."""
    async with sessions() as session:
        for name in ("resident", "resident2"):
            person = await session.get(Person, cast[name].id)
            await set_home_area(session, person, cast.areas["c1"].id)
        await session.commit()
    await chat.text("resident", FIRST)
    await chat.press("resident", "提交")
    await chat.press("resident", "跳过")  # asked where (an address is optional)
    original = (await _tickets(sessions))[0]
    assert original.state == "submitted"
    await chat.text("resident2", SECOND)
    await chat.press("resident2", "仍然提交")
    await chat.press("resident2", "跳过")
    duplicate = (await _tickets(sessions))[1]
    alert = chat.inbox["staff-c1"][-1]
    assert alert.text.startswith(f"【待派单】工单 {duplicate.number}")
    assert alert.text.endswith(
        f"可能与工单 {original.number} 重复（同类、同社区，相同的词：路灯、小区）。"
    )
    await chat.press("staff-c1", f"合并到 {original.number}", on=duplicate.number)
    assert chat.last("staff-c1") == f"工单 {duplicate.number} 已合并到 {original.number}。"


async def test_in_english(chat, sessions):
    original = await _first(chat, sessions)
    await chat.command("resident2", "lang")
    await chat.press("resident2", "English")
    (proposal,) = await chat.text("resident2", SECOND)
    assert (
        f"Someone has already reported this: ticket {original.number} (waiting to be accepted"
        in proposal.text
    )
    await chat.press("resident2", "Follow it")
    assert chat.last("resident2").startswith(f"You now follow ticket {original.number}")


async def test_a_ticket_closed_meanwhile_cannot_be_followed_and_the_draft_waits(chat, sessions):
    original = await _first(chat, sessions)
    await chat.text("resident2", SECOND)
    await chat.data("resident", f"v:{original.id}")
    await chat.press("resident", "撤回")
    await chat.press("resident2", "关注它")
    assert chat.last("resident2") == (
        f"工单 {original.number} 已不在办理中，无法关注。如问题仍在，请点「仍然提交」。"
    )
    await chat.press("resident2", "仍然提交")
    assert chat.last("resident2").startswith("已受理")
    assert [t.state for t in await _tickets(sessions)] == ["cancelled", "assigned"]


async def test_a_follow_press_without_an_offer_follows_nothing(chat, sessions):
    await chat.data("resident2", "fol")  # no draft at all
    assert chat.last("resident2") == "没有待提交的内容，请直接描述您的问题。"
    await chat.text("resident2", "我家水管漏水了")  # nothing like it is open
    await chat.data("resident2", "fol")  # a forged or old button
    assert chat.last("resident2") == "这个按钮已失效，请重新操作。"
    assert await _tickets(sessions) == []
