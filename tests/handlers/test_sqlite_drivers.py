"""Both SQLite drivers carry a whole complaint: the in-loop default and aiosqlite, which stays
a supported choice (`MINHU_DATABASE_URL=sqlite+aiosqlite:///…`)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import Ticket


@pytest.fixture(params=["inloop", "aiosqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    return f"sqlite+{request.param}:///{tmp_path / 'drivers.db'}"


async def test_a_complaint_goes_from_resident_to_worker(chat, cast, sessions):
    await chat.text("resident", "楼道里的灯坏了一个星期，晚上很黑")
    await chat.press("resident", "提交")
    async with sessions() as session:
        (ticket,) = (await session.exec(select(Ticket))).all()
    assert chat.last("resident").startswith(f"已受理，工单号 {ticket.number}")
    assert ticket.number in chat.last("worker-g1") and ticket.state == "assigned"
