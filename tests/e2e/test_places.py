"""A shared location over real HTTP, through aiogram and python-telegram-bot: it picks the grid
whose boundary holds it, and that grid's worker gets the ticket through the outbox."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Area, Ticket
from tests.e2e.emulator import Emulator
from tests.e2e.harness import IDS, RESIDENT
from tests.factories import INSIDE

NEWCOMER = 5201


async def _grid_id(bot, code: str) -> int:
    async with bot.services.sessions() as session:
        return (await session.exec(select(Area).where(Area.code == code))).one().id


async def test_a_location_sends_the_ticket_to_the_grid_it_falls_in(
    bot, emulator: Emulator, token: str
):
    # The resident lives in g1; the problem is in g3, and so is the location they share.
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g3"], "网格员丙")
    await resident.say("公交站旁边的路灯不亮了，晚上很黑")
    await resident.expect("您反映的问题")
    await resident.location(*INSIDE["g3"])
    await resident.expect("位置已附上，问题所在网格：阳光社区第一网格")
    await resident.press("提交")
    receipt = await resident.expect("已受理，工单号")
    assert "阳光社区第一网格" in receipt.text
    # The shared location travels to the worker too (as a map pin, before or after the ping).
    ping = await worker.next()
    while not ping.text.startswith("【新派单】工单"):
        ping = await worker.next()
    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert ticket.number in ping.text
    assert ticket.area_id == await _grid_id(bot, "g3")
    assert (ticket.latitude, ticket.longitude) == INSIDE["g3"]


async def test_a_newcomers_location_chooses_their_grid(bot, emulator: Emulator, token: str):
    newcomer = emulator.person(token, NEWCOMER, "新居民")
    await newcomer.say("/start")
    await newcomer.expect("您好")
    await newcomer.expect("请先选择")
    await newcomer.location(*INSIDE["g2"])
    await newcomer.expect("已记录您的所在区域：幸福社区第二网格")
