"""分级 and 句号管理 on the web chat, over HTTP: a staff member signed in to the console sets a
ticket's tier from the chooser and records a 回访 on a resolved ticket, with the same buttons
as in Telegram."""

from __future__ import annotations

from sqlmodel import col, select

from handlers.buttons import ChooseTier, RecordCallback
from storage.models import Area, Person, Ticket
from tests.bot.web.test_console_http import _signed_in
from tests.bot.web.test_whistle_web import _button, _say
from tickets.areas import contains, get_area

STAFF = "赵主任"


async def _staff_ticket(console, states: list[str]) -> Ticket:
    """The demo's first ticket in one of `states` within the staff member's area."""
    async with console.services.sessions() as session:
        staff = (await session.exec(select(Person).where(Person.display_name == STAFF))).one()
        own = await get_area(session, staff.area_id)
        query = (
            select(Ticket, Area.path)
            .join(Area, col(Area.id) == Ticket.area_id)
            .where(col(Ticket.state).in_(states))
            .order_by(col(Ticket.id))
        )
        for ticket, path in (await session.exec(query)).all():
            if contains(own, path):
                return ticket
    raise AssertionError(f"no {states} ticket for {STAFF}")


async def _reloaded(console, ticket_id: int) -> Ticket:
    async with console.services.sessions() as session:
        return await session.get(Ticket, ticket_id)


async def test_staff_set_a_tier_on_the_web_chat(console):
    ticket = await _staff_ticket(console, ["submitted", "assigned", "accepted", "returned"])
    client = await _signed_in(console, STAFF)
    async with client:
        shown = await _say(client, {"button": ChooseTier(ticket.id, ticket.version).pack()})
        assert shown[-1]["text"].startswith(f"工单 {ticket.number} 分级。\n建议：")
        told = await _say(client, {"button": _button(shown[-1], "复杂（现场办）")})
    assert told[-1]["text"].startswith(f"工单 {ticket.number} 已定为 复杂（现场办）")
    assert (await _reloaded(console, ticket.id)).tier == "complex"


async def test_staff_record_a_callback_on_the_web_chat(console):
    ticket = await _staff_ticket(console, ["resolved"])
    client = await _signed_in(console, STAFF)
    async with client:
        shown = await _say(client, {"button": RecordCallback(ticket.id, ticket.version).pack()})
        assert shown[-1]["text"] == f"工单 {ticket.number} 回访居民的结果："
        told = await _say(client, {"button": _button(shown[-1], "未接通")})
    assert told[-1]["text"].startswith("已记录：未接通。")
    assert (await _reloaded(console, ticket.id)).state == "resolved"
