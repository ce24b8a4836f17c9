"""Each person's command menu follows their role: set for their chat when they join or change
language, and at start only where it was never set."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.telegram.commands import queue_chat_menus
from storage.models import OutboxMessage, Person
from storage.retention import purge_expired


def _commands(menu: dict) -> list[str]:
    return [name for name, _text in menu["commands"]]


async def _menu_rows(sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith("menu:"))
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


async def _join(chat) -> None:
    await chat.command("staff-c1", "invite", "g2")
    code = chat.last("staff-c1").split("\n")[0].split("：")[1]
    await chat.command("newbie", "join", code)


async def test_a_worker_who_joins_gets_the_workers_menu(chat):
    await chat.command("newbie", "start")
    assert "newbie" not in chat.menus  # a resident keeps the bot's default menu
    await _join(chat)
    menu = chat.menus["newbie"]
    assert menu["role"] == "worker"
    assert "tasks" in _commands(menu) and "ticket" in _commands(menu)
    assert not {"triage", "my", "area"} & set(_commands(menu))
    assert ["tasks", "我的待办"] in menu["commands"]


async def test_the_menu_follows_a_workers_language_but_not_a_residents(chat, sessions):
    await _join(chat)
    await chat.command("newbie", "lang")
    await chat.press("newbie", "English")
    assert ["tasks", "my tasks"] in chat.menus["newbie"]["commands"]
    before = len(await _menu_rows(sessions))
    await chat.command("resident", "lang")
    await chat.press("resident", "English")
    assert len(await _menu_rows(sessions)) == before and "resident" not in chat.menus


async def test_at_start_only_chats_without_this_menu_get_one(chat, deps, sessions, clock):
    await _join(chat)  # newbie's menu is set from the chat
    await queue_chat_menus(deps)
    await chat.deliver()
    async with sessions() as session:
        duties = (
            await session.exec(
                select(Person).where(
                    col(Person.role).in_(["worker", "staff", "department", "admin"])
                )
            )
        ).all()
    assert {p.chat_id for p in duties} <= set(chat.menus)
    assert "triage" in _commands(chat.menus["staff-c1"])
    assert {"overdue", "stats"} <= set(_commands(chat.menus["staff-c1"]))
    worker = _commands(chat.menus["worker-g1"])
    assert "tasks" in worker and "triage" not in worker
    department = _commands(chat.menus["dept-cg"])
    assert "tasks" in department and "triage" not in department
    rows = await _menu_rows(sessions)
    assert len(rows) == len(duties)  # newbie's was not queued twice
    # A later start, a week on (past the retention of sent messages): nothing new to send.
    clock.advance(timedelta(days=8))
    async with sessions() as session:
        await purge_expired(session, clock.now())
        await session.commit()
    await queue_chat_menus(deps)
    assert len(await _menu_rows(sessions)) == len(rows)
