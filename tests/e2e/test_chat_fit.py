"""Chat that fits each person, through both frameworks over HTTP: a burst of messages gets one
answer for the whole draft."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import Ticket
from tests.e2e.emulator import Emulator
from tests.e2e.harness import fresh_database, load_cast, running_bot, settings_for

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
