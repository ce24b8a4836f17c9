"""吹哨报到 on the web chat, over HTTP: a grid worker signed in to the console whistles for a
department; its handler signs in too, finds the summons in the chat's inbox and reports (报到)
with its button; the worker and the resident hear of the arrival."""

from __future__ import annotations

from sqlmodel import col, select

from handlers.buttons import Whistle
from storage.models import OutboxMessage, Person, Ticket
from tests.bot.web.test_console_http import _signed_in
from tickets.handling import accept_ticket

HANDLER = "城管执法局办事员"  # the demo's district-wide 城管 (bot/demo.py)


async def _department_and_ticket(console) -> Ticket:
    """The demo's first ticket a web worker holds, accepted."""
    policy = console.services.policy
    async with console.services.sessions() as session:
        query = (
            select(Ticket)
            .join(Person, col(Person.id) == Ticket.assignee_id)
            .where(col(Ticket.state).in_(["assigned", "accepted"]), Person.channel == "web")
            .order_by(col(Ticket.id))
        )
        ticket = (await session.exec(query)).first()
        if ticket.state == "assigned":
            worker = await session.get(Person, ticket.assignee_id)
            ticket = (
                await accept_ticket(session, policy, ticket_id=ticket.id, actor=worker)
            ).ticket
        await session.commit()
        await session.refresh(ticket)
        return ticket


async def _say(client, body: dict) -> list[dict]:
    token = client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value
    async with client.post("/chat/send", json=body, headers={"X-CSRF-Token": token}) as response:
        assert response.status == 200
        return (await response.json())["replies"]


def _button(message: dict, label: str) -> str:
    for row in message["buttons"]:
        for button in row:
            if label in button["text"]:
                return button["data"]
    raise AssertionError((label, message))


async def test_a_department_handler_reports_on_the_web_chat(console):
    ticket = await _department_and_ticket(console)
    async with console.services.sessions() as session:
        worker = await session.get(Person, ticket.assignee_id)
    worker_client = await _signed_in(console, worker.display_name)
    handler_client = await _signed_in(console, HANDLER)
    async with worker_client, handler_client:
        shown = await _say(worker_client, {"button": Whistle(ticket.id, ticket.version).pack()})
        assert shown[-1]["text"].startswith(f"吹哨：工单 {ticket.number} 需要哪些部门到现场？")
        # Only 城管: untick what the category suggested, tick 城管 unless it was.
        ticked = [b["text"] for row in shown[-1]["buttons"] for b in row if "✅" in b["text"]]
        for name in ("住建局", "人社局", "市场监管局"):
            if any(name in text for text in ticked):
                shown = await _say(worker_client, {"button": _button(shown[-1], name)})
        if not any("城管执法局" in text for text in ticked):
            shown = await _say(worker_client, {"button": _button(shown[-1], "城管执法局")})
        await _say(worker_client, {"button": _button(shown[-1], "下一步")})
        said = await _say(worker_client, {"text": "需要城管到场处置"})
        assert said[-1]["text"].startswith(f"已吹哨：工单 {ticket.number} 已召集城管执法局到现场")

        async with handler_client.get("/chat") as page:
            assert page.status == 200  # their own composer hint, no staff pages
            assert "吹哨召集" in await page.text() and "/dashboard" not in await page.text()
        async with handler_client.get("/chat/inbox") as response:
            messages = (await response.json())["messages"]
        summons = next(m for m in messages if m["text"].startswith("【吹哨报到】"))
        assert f"工单 {ticket.number}" in summons["text"]
        said = await _say(handler_client, {"button": _button(summons, "报到")})
        assert said[-1]["text"].startswith(f"已报到：工单 {ticket.number}")

        async with worker_client.get("/chat/inbox") as response:
            told = [m["text"] for m in (await response.json())["messages"]]
        assert any(text.startswith("【报到】城管执法局已于") for text in told)
    async with console.services.sessions() as session:
        resident = await session.get(Person, ticket.resident_id)
        heard = (
            await session.exec(
                select(OutboxMessage.body).where(OutboxMessage.chat_id == resident.chat_id)
            )
        ).all()
    assert f"城管执法局已到达现场，处理您的工单 {ticket.number}。" in [
        body["text"] for body in heard
    ]
