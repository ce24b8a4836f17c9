"""Bad input gets a clear, polite answer and changes nothing it should not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import func, select

from handlers.dispatch import handle
from handlers.events import Incoming, Kind
from storage.models import Person, Ticket, TicketEvent
from tests.handlers.channel import Chat


async def _count(sessions) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(Ticket))).one()


@pytest.mark.parametrize(
    ("user", "command", "answer"),
    [
        ("resident", "fly", "没有这个命令。直接发送文字描述问题即可"),
        ("resident", "triage", "没有这个命令。直接发送文字描述问题即可"),
        ("worker-g1", "my", "没有这个命令。/tasks 我的待办"),
        ("staff-c1", "invite", "用法：/invite 区域代码（如 /invite c1）"),
        ("staff-c1", "ticket", "用法：/ticket 工单号"),
        ("worker-g1", "join", "请发送 /join 邀请码"),
    ],
)
async def test_unknown_or_incomplete_commands_get_help(chat, user, command, answer):
    await chat.command(user, command)
    assert chat.last(user).startswith(answer)


async def test_an_over_long_message_is_refused_and_nothing_is_drafted(chat, sessions):
    await chat.text("resident", "很" * 4097)
    # The limit a complaint really has, not the channel's.
    assert chat.last("resident") == "消息太长（4097 字），请精简到 4000 字以内再发送。"
    assert chat.inbox["resident"][-1].buttons == ()
    assert await _count(sessions) == 0


async def test_an_over_long_reason_names_the_notes_limit(chat):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "退单")
    await chat.text("worker-g1", "理" * 4097)
    assert chat.last("worker-g1") == "消息太长（4097 字），请精简到 2000 字以内再发送。"
    await chat.text("worker-g1", "不是本网格的")  # the question is still open
    assert chat.last("worker-g1").endswith("已退回待重新派单。")


async def test_a_complaint_over_the_domain_limit_is_explained(chat, sessions):
    await chat.text("resident", "路" * 4050)
    assert chat.last("resident") == "内容太长（4050 字），请精简到 4000 字以内。"
    assert await _count(sessions) == 0


async def test_follow_ups_never_grow_a_draft_past_the_limit(chat, sessions):
    await chat.text("resident", "路灯坏了" + "很" * 2500)
    await chat.text("resident", "一直不亮" + "很" * 1600)  # 2504 + 1 + 1604 > 4000
    assert chat.last("resident") == (
        "补充后内容将超过 4000 字，这条没有加入。可以先提交现有内容，或取消后重新简要描述。"
    )
    assert [button.text for row in chat.inbox["resident"][-1].buttons for button in row] == [
        "提交",
        "更改类别",
        "取消",
        "需要回电",
        "匿名反映",
    ]
    exactly_full = "晚上很黑" + "很" * 1491  # 2504 + 1 + 1495 = 4000: still fits
    await chat.text("resident", exactly_full)
    await chat.press("resident", "提交")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert ticket.text == "路灯坏了" + "很" * 2500 + "\n" + exactly_full


async def test_a_photo_caption_that_would_overflow_the_draft_leaves_the_text_alone(chat, sessions):
    await chat.text("resident", "路灯坏了" + "很" * 3990)
    await chat.photo("resident", "photo-1", caption="补充说明一下情况")
    assert chat.inbox["resident"][-2].text == "照片已附上（共 1 张）。"
    assert chat.last("resident").startswith("补充后内容将超过 4000 字")
    await chat.press("resident", "提交", on="补充后内容")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert ticket.text == "路灯坏了" + "很" * 3990 and len(ticket.attachments) == 1


async def test_stickers_and_files_where_text_is_expected(chat):
    await chat.sticker("resident")
    assert chat.last("resident") == "暂时只能处理文字、照片和位置。请用文字描述您的问题。"


@pytest.mark.parametrize(
    "data", ["", "acc", "acc:1", "acc:x:1", "nope:1", "v:-1", "v:1:2", "a" * 70, "cb:1:1:1:1"]
)
async def test_garbled_or_forged_button_data_is_refused(chat, data):
    await chat.data("worker-g1", data)
    assert chat.last("worker-g1") in ("这个按钮已失效，请重新操作。", "没有找到相关工单或信息。")


async def test_a_button_pressed_twice_acts_once(chat, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "接单", on="【新派单】")
    assert chat.last("worker-g1").startswith("工单 20261123-000001 已有新进展，这个按钮已过期。")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert ticket.state == "accepted" and ticket.version == 2
    await chat.press("resident", "提交")  # the proposal's button, once more
    assert await _count(sessions) == 1


async def test_a_flood_of_complaints_is_held_back(deps, cast, sessions):  # cast: the people
    chat = Chat(replace(deps, policy=replace(deps.policy, max_new_tickets_per_hour=2)))
    for _ in range(3):
        await chat.text("resident", "小区路灯坏了")
        await chat.press("resident", "提交")
    assert chat.last("resident").startswith("您一小时内已提交 2 件诉求")
    assert await _count(sessions) == 2


async def test_a_fault_of_ours_gets_a_polite_answer_and_a_log_line(chat, deps, caplog):
    class Broken:
        def classify(self, text):
            raise RuntimeError("classifier crashed")

    broken = Chat(replace(deps, classifier=Broken()))
    broken.next_update = 1000
    replies = await broken.text("resident", "我家电话13800138000，路灯坏了")
    assert [reply.text for reply in replies] == ["操作未完成，请稍后再试。"]
    assert "handling a text (update 1000) failed" in caplog.text
    assert "13800138000" not in caplog.text


async def test_an_over_long_reason_is_explained_and_the_question_stays_open(chat, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "退单")
    await chat.text("worker-g1", "理" * 2001)
    assert chat.last("worker-g1") == "内容太长（2001 字），请精简到 2000 字以内。"
    await chat.text("worker-g1", "不是本网格的")
    assert chat.last("worker-g1").endswith("已退回待重新派单。")


# An emoji cut in half (a lone UTF-16 surrogate, which browsers send), a NUL byte and other
# control characters: PostgreSQL refuses them where SQLite stores them, so they are cleaned at
# the edge and both databases keep the same text.
BROKEN = "路灯坏了\ud83d，\x00晚上\x07很黑\u202e"


async def test_broken_characters_are_cleaned_before_anything_is_stored(chat, sessions):
    await chat.text("resident", BROKEN)
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "备注")
    await chat.text("worker-g1", "备注\x00\ud800里有断开的字")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
        notes = (
            await session.exec(select(TicketEvent.note).where(TicketEvent.note.is_not(None)))
        ).all()
    assert ticket.text == "路灯坏了，晚上很黑"
    assert notes == ["备注里有断开的字"]
    assert "操作未完成" not in chat.all_text("resident") + chat.all_text("worker-g1")


async def test_a_broken_name_on_first_contact_is_cleaned(chat, sessions):
    event = Incoming(
        channel="telegram",
        user_id="newcomer",
        chat_id="newcomer",
        kind=Kind.COMMAND,
        command="start",
        display_name="王\ud83d小\x00明",
        update_id=999,
    )
    outcome = await handle(chat.deps, event)
    assert outcome.replies and "操作未完成" not in outcome.replies[0].text
    async with sessions() as session:
        person = (
            await session.exec(select(Person).where(Person.channel_user_id == "newcomer"))
        ).one()
    assert person.display_name == "王小明"
