"""Chat that fits each person, through both frameworks over HTTP: each role's command menu is
set for their chat (Telegram's per-chat command scopes), and a burst of messages gets one
answer for the whole draft."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlmodel import col, func, select

from storage.models import OutboxMessage, Ticket
from tests.e2e.emulator import Emulator
from tests.e2e.harness import IDS, fresh_database, load_cast, running_bot, settings_for

PIECES = [f"{n}号楼灯坏" for n in range(1, 31)]


@pytest.fixture(params=["aiogram", "ptb"])
async def bot(request, emulator: Emulator, token: str, tmp_path):
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=request.param,
        # Long enough that the 30 messages of the test are one burst on a busy machine.
        draft_quiet_seconds=2.0,
    )
    await fresh_database(settings.database_url)
    async with running_bot(settings) as running:
        await load_cast(running.services.sessions, settings)
        yield running


async def test_a_burst_of_thirty_messages_gets_one_answer(bot, emulator: Emulator, token: str):
    resident = emulator.person(token, 5001, "张阿姨")
    for piece in PIECES:
        await resident.say(piece)
    first = await resident.expect("您反映的问题")
    assert PIECES[0] in first.text
    whole = await resident.expect("您反映的问题")  # once the burst is over
    assert all(piece in whole.text for piece in PIECES), whole.text
    assert await resident.quiet(1.0) == []  # and nothing else
    await resident.press("提交")
    await resident.expect("已受理，工单号")
    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert ticket.text == "\n".join(PIECES)


async def _menu(emulator: Emulator, token: str, chat_id: int | None = None) -> list[str]:
    """The commands Telegram would show in a chat (getMyCommands of its scope)."""
    scope = {"type": "chat", "chat_id": chat_id} if chat_id else {"type": "default"}
    url = f"{emulator.url}/bot{token}/getMyCommands"
    async with emulator.http.post(url, json={"scope": scope}) as answer:
        return [command["command"] for command in (await answer.json())["result"]]


async def _chat_menu_calls(emulator: Emulator, token: str) -> int:
    calls = (await emulator.state())["menuCalls"]
    return len([c for c in calls if c["token"] == token and c["scope"].startswith("chat:")])


async def _until(check: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Wait for the delivery loop to have done something the test can see."""
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[misc]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def _menu_rows(running) -> int:
    async with running.services.sessions() as session:
        query = select(func.count()).where(col(OutboxMessage.dedupe_key).startswith("menu:"))
        return (await session.exec(query)).one()


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_each_role_gets_its_own_menu(framework, emulator: Emulator, token: str, tmp_path):
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=framework,
    )
    await fresh_database(settings.database_url)
    staff_id, worker_id, newbie_id = IDS["staff-c1"], IDS["worker-g1"], 5101
    async with running_bot(settings) as running:  # started before the directory was loaded
        await load_cast(running.services.sessions, settings)
        staff = emulator.person(token, staff_id, "社区主任")
        newbie = emulator.person(token, newbie_id, "新网格员")
        await staff.say("/invite g2")
        code = (await staff.expect("邀请码")).text.split("\n")[0].split("：")[1]
        await newbie.say(f"/join {code}")
        await newbie.expect("欢迎加入")

        async def newbie_has_tasks() -> bool:
            return "tasks" in await _menu(emulator, token, newbie_id)

        await _until(newbie_has_tasks, "the new worker's menu is set when they join")
        assert "triage" not in await _menu(emulator, token, newbie_id)
        assert await _menu(emulator, token, staff_id) == []  # not yet: they came after the start
        default = await _menu(emulator, token)
        assert "my" in default and "tasks" not in default  # the residents' menu for everyone

    async with running_bot(settings) as running:  # a start sets the menus never set

        async def both_set() -> bool:
            return "triage" in await _menu(emulator, token, staff_id) and bool(
                await _menu(emulator, token, worker_id)
            )

        await _until(both_set, "staff and workers get their menus at start")
        staff_menu = await _menu(emulator, token, staff_id)
        assert {"triage", "overdue", "stats", "tasks"} <= set(staff_menu)
        assert "my" not in staff_menu
        worker_menu = await _menu(emulator, token, worker_id)
        assert "tasks" in worker_menu and "triage" not in worker_menu
        rows = await _menu_rows(running)

    calls = await _chat_menu_calls(emulator, token)
    async with running_bot(settings) as running:  # nothing changed: no call at all
        assert await _menu_rows(running) == rows  # none queued, so none to send
        assert await _chat_menu_calls(emulator, token) == calls
