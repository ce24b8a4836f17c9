"""Residents' personal data stays with the people handling their ticket and out of the logs."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlmodel import select

from storage.models import Person, Ticket

SECRET_TEXT = "我家住3号楼502，电话13800138000，楼下路灯坏了"


async def _name_resident(sessions, name: str) -> None:
    async with sessions() as session:
        person = (
            await session.exec(select(Person).where(Person.channel_user_id == "resident"))
        ).one()
        person.display_name, person.phone = name, "13800138000"
        session.add(person)
        await session.commit()


async def test_only_handlers_see_who_reported_it(chat, sessions):
    await _name_resident(sessions, "王小明")
    await chat.text("resident", SECRET_TEXT)
    await chat.press("resident", "提交")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    await chat.data("worker-g1", f"v:{ticket.id}")
    assert "诉求人：王小明" in chat.last("worker-g1")
    for outsider in ("worker-g3", "staff-s2", "resident2"):
        await chat.data(outsider, f"v:{ticket.id}")
        assert "王小明" not in chat.all_text(outsider)
        assert "502" not in chat.all_text(outsider)


async def test_nothing_personal_reaches_the_logs(chat, sessions, caplog):
    await _name_resident(sessions, "王小明")
    with caplog.at_level(logging.DEBUG):
        await chat.text("resident", SECRET_TEXT)
        await chat.press("resident", "提交")
        await chat.press("worker-g1", "接单")
        await chat.location("resident", 31.2345, 121.4567)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("13800138000", "王小明", "502", "31.2345"):
        assert secret not in logged
    assert repr_hides_personal_data()


def repr_hides_personal_data() -> bool:
    person = Person(
        channel="telegram", channel_user_id="1", chat_id="1", display_name="王小明", phone="138"
    )
    ticket = Ticket(text=SECRET_TEXT, latitude=31.2, longitude=121.4)
    return "王小明" not in repr(person) and "138" not in repr(person) and "502" not in repr(ticket)


async def test_working_notes_and_return_reasons_stay_internal(chat, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "退单")
    await chat.text("worker-g1", "不是我们网格的，居民说不清楚")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    await chat.data("resident", f"v:{ticket.id}")
    assert "退单" in chat.last("resident")
    assert "居民说不清楚" not in chat.last("resident")
    await chat.data("staff-c1", f"v:{ticket.id}")
    assert "居民说不清楚" in chat.last("staff-c1")


# Every button that names a ticket and a version, with the arguments it takes after them.
VERSIONED_BUTTONS = {
    "acc": (),
    "ret": (),
    "ext": (),
    "extd": (3,),
    "esc": (),
    "res": (),
    "asg": (),
    "asw": (1,),
    "rc": (),
    "rcc": (0,),
    "xa": (),
    "xr": (),
    "cl": (),
    "ro": (),
    "mg": (),
    "wd": (),
    "cb": (1,),
    "cs": (1, 0),
}


async def test_a_forged_stale_button_reveals_nothing_of_another_ticket(chat, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    stale = ticket.version + 7
    for outsider in ("resident2", "worker-g3", "staff-s2"):
        for verb, rest in VERSIONED_BUTTONS.items():
            data = ":".join(str(part) for part in (verb, ticket.id, stale, *rest))
            answer = "\n".join(reply.text for reply in await chat.data(outsider, data))
            assert answer, data
            assert ticket.number not in answer, (outsider, data, answer)
            assert "待签收" not in answer, (outsider, data, answer)


# The database refuses every new ticket, and its error quotes the values it was given.
REFUSE_TICKETS = {
    "postgresql": "ALTER TABLE tickets ADD CONSTRAINT refused CHECK (length(text) < 0)",
    "sqlite": "CREATE TRIGGER refused BEFORE INSERT ON tickets "
    "BEGIN SELECT RAISE(ABORT, 'no'); END",
}


async def test_a_database_error_is_logged_without_the_values_it_quotes(chat, sessions, caplog):
    await chat.text("resident", SECRET_TEXT)
    async with sessions() as session:  # the ticket's insert fails, quoting the row
        await session.exec(text(REFUSE_TICKETS[session.bind.dialect.name]))
        await session.commit()
    with caplog.at_level(logging.DEBUG):
        await chat.press("resident", "提交")
    assert chat.last("resident") == "操作未完成，请稍后再试。"
    assert "handling a button" in caplog.text and "sqlalchemy.exc." in caplog.text
    assert "13800138000" not in caplog.text and "路灯" not in caplog.text
