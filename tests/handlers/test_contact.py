"""回电 and 匿名: a resident may leave a number for a call back (shared with the contact button
or typed, checked, skippable) and may ask to stay anonymous; the number reaches only those
handling the ticket, and an anonymous resident's name and number reach staff but not the
grid worker. Neither ever reaches the logs."""

from __future__ import annotations

import logging

from sqlmodel import select

from handlers.events import ContactRequest
from storage.models import Person, Ticket

RESIDENT, WORKER, STAFF = "resident", "worker-g1", "staff-c1"
LAMP = "小区3号楼门口的路灯坏了一个星期，晚上很黑"
OUTSIDERS = ("worker-g3", "staff-s2", "resident2")


async def _ticket(sessions) -> Ticket:
    async with sessions() as session:
        return (await session.exec(select(Ticket))).one()


async def _resident(sessions) -> Person:
    async with sessions() as session:
        query = select(Person).where(Person.channel_user_id == RESIDENT)
        return (await session.exec(query)).one()


async def _name_resident(sessions, name: str) -> None:
    async with sessions() as session:
        person = (
            await session.exec(select(Person).where(Person.channel_user_id == RESIDENT))
        ).one()
        person.display_name = name
        session.add(person)
        await session.commit()


async def test_a_typed_number_is_checked_and_reaches_only_the_handlers(chat, sessions, caplog):
    with caplog.at_level(logging.DEBUG):
        await chat.text(RESIDENT, LAMP)
        asked = (await chat.press(RESIDENT, "需要回电"))[-1]
        assert asked.contact == ContactRequest("📱 发送我的手机号", "跳过")
        refused = await chat.text(RESIDENT, "12345")
        assert refused[-1].text.startswith("这不像是电话号码")
        kept = await chat.text(RESIDENT, "138 0013 8000")  # the question stayed open
        assert kept[0].text == "已记下回电号码。" and kept[0].remove_keyboard
        assert "回电号码：138 0013 8000" in kept[-1].text
        await chat.press(RESIDENT, "提交")
    ticket = await _ticket(sessions)
    assert ticket.contact_phone == "+8613800138000"
    assert (await _resident(sessions)).phone == "+8613800138000"  # remembered
    assert "回电：138 0013 8000" in chat.last(WORKER)
    await chat.data(STAFF, f"v:{ticket.id}")
    assert "回电：138 0013 8000" in chat.last(STAFF)
    for outsider in OUTSIDERS:
        await chat.data(outsider, f"v:{ticket.id}")
        assert "0013" not in chat.all_text(outsider), outsider
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "0013" not in logged and "138001" not in logged


async def test_the_contact_button_gives_the_number(chat, sessions):
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "需要回电")
    await chat.contact(RESIDENT, "+86 139 0013 9000")
    await chat.press(RESIDENT, "提交")
    assert (await _ticket(sessions)).contact_phone == "+8613900139000"


async def test_the_question_can_be_skipped(chat, sessions):
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "需要回电")
    replies = await chat.text(RESIDENT, "跳过")
    assert replies[0].text == "好的，不留电话。" and replies[0].remove_keyboard
    assert replies[-1].text.startswith("您反映的问题")
    await chat.press(RESIDENT, "提交")
    assert (await _ticket(sessions)).contact_phone is None


async def test_an_anonymous_report_hides_name_and_number_from_the_worker(chat, sessions):
    await _name_resident(sessions, "王小明")
    await chat.text(RESIDENT, LAMP)
    shown = (await chat.press(RESIDENT, "匿名反映"))[-1]
    assert "匿名反映：网格员看不到您的姓名和电话" in shown.text
    assert "取消匿名" in [b.text for row in shown.buttons for b in row]
    await chat.press(RESIDENT, "需要回电")
    await chat.text(RESIDENT, "13800138000")
    await chat.press(RESIDENT, "提交")
    ticket = await _ticket(sessions)
    assert ticket.anonymous and ticket.contact_phone == "+8613800138000"

    ping = chat.last(WORKER)
    assert "诉求人：匿名" in ping and "0013" not in ping and "王小明" not in ping
    await chat.data(WORKER, f"v:{ticket.id}")
    card = chat.last(WORKER)
    assert "诉求人：匿名" in card and "0013" not in card and "王小明" not in card

    # The community's staff on duty keep both, and see that the resident asked for anonymity.
    await chat.data(STAFF, f"v:{ticket.id}")
    card = chat.last(STAFF)
    assert "诉求人：王小明" in card and "回电：138 0013 8000" in card
    assert "居民要求匿名" in card


async def test_anonymity_can_be_taken_back_before_submitting(chat, sessions):
    await _name_resident(sessions, "王小明")
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "匿名反映")
    await chat.press(RESIDENT, "取消匿名")
    await chat.press(RESIDENT, "提交")
    assert not (await _ticket(sessions)).anonymous
    await chat.data(WORKER, f"v:{(await _ticket(sessions)).id}")
    assert "诉求人：王小明" in chat.last(WORKER)
