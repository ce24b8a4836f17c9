"""Many messages at once: a burst of follow-ups joins the draft quietly and one proposal of the
whole draft answers it; text that says nothing (emoji, punctuation) is not a complaint."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import OutboxMessage, Ticket

PIECES = [f"{n}号楼灯坏" for n in range(1, 31)]  # all 30 fit in a proposal's preview


async def _tickets(sessions) -> list[Ticket]:
    async with sessions() as session:
        return list((await session.exec(select(Ticket).order_by(Ticket.id))).all())


async def test_thirty_messages_in_ten_seconds_get_one_answer_for_the_burst(
    chat, clock, sessions, deps
):
    first = await chat.text("resident", PIECES[0])
    assert len(first) == 1 and PIECES[0] in first[0].text  # the first is answered at once
    for piece in PIECES[1:]:
        clock.advance(timedelta(seconds=10 / 30))
        assert await chat.text("resident", piece) == []  # joins quietly
    clock.advance(timedelta(seconds=deps.quiet_seconds - 0.1))
    await chat.deliver()
    assert len(chat.inbox["resident"]) == 1  # not yet: the burst may go on
    clock.advance(timedelta(seconds=0.2))
    await chat.deliver()
    answers = chat.inbox["resident"]
    assert len(answers) == 2, [a.text for a in answers]
    assert all(piece in answers[1].text for piece in PIECES)  # the whole draft, once
    await chat.press("resident", "提交")
    (ticket,) = await _tickets(sessions)
    assert ticket.text == "\n".join(PIECES)
    async with sessions() as session:
        held = (await session.exec(select(OutboxMessage))).all()
    assert len([m for m in held if m.dedupe_key.startswith("later:")]) == 1  # rewritten in place


async def test_a_draft_submitted_mid_burst_gets_no_stale_proposal(chat, clock, sessions, deps):
    await chat.text("resident", "小区路灯坏了")
    await chat.text("resident", "在3号楼门口")  # held back
    await chat.press("resident", "提交")
    assert chat.last("resident").startswith("已受理，工单号")
    clock.advance(timedelta(seconds=deps.quiet_seconds * 2))
    await chat.deliver()
    assert chat.last("resident").startswith("已受理，工单号")  # nothing came after it
    (ticket,) = await _tickets(sessions)
    assert ticket.text == "小区路灯坏了\n在3号楼门口"


async def test_a_follow_up_after_a_pause_is_answered_at_once(chat, clock, deps):
    await chat.text("resident", "小区路灯坏了")
    clock.advance(timedelta(seconds=deps.quiet_seconds + 1))
    replies = await chat.text("resident", "在3号楼门口")
    assert len(replies) == 1 and "小区路灯坏了\n在3号楼门口" in replies[0].text


async def test_an_emergency_in_a_burst_goes_out_at_once(chat, sessions):
    await chat.text("resident", "楼道里有味道")
    replies = await chat.text("resident", "好像燃气泄漏了，煤气味很重")
    assert replies, "an emergency is never held back"
    (ticket,) = await _tickets(sessions)
    assert ticket.urgency == "emergency"


async def test_emoji_or_punctuation_alone_is_not_a_complaint(chat, sessions):
    for text in ("👍👍👍", "？？？！！", "🏚️‼️"):
        await chat.text("resident", text)
        assert chat.last("resident").startswith("请用文字描述您遇到的问题"), text
    assert await _tickets(sessions) == []
    await chat.photo("resident", "photo-1", caption="😡😡")
    assert chat.last("resident") == "收到照片。请再用文字说明一下是什么问题。"
    await chat.text("resident", "垃圾堆在楼下没人清理")  # the photo waited for its words
    await chat.press("resident", "提交")
    (ticket,) = await _tickets(sessions)
    assert ticket.attachments == [{"kind": "photo", "ref": "photo-1"}]
