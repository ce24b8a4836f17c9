"""The web chat fits its speaker: a burst's one answer comes when the burst is over."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from sqlmodel import select

from storage.models import Area, Person


async def _resident(console) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    """A browser speaking as a demo resident who has chosen a grid, and its CSRF header."""
    async with console.services.sessions() as session:
        grid = (await session.exec(select(Area).where(Area.level == "grid"))).first()
        person = (
            await session.exec(select(Person).where(Person.channel_user_id == "resident-001"))
        ).one()
        person.area_id = grid.id
        session.add(person)
        await session.commit()
    client = aiohttp.ClientSession(console.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    client.cookie_jar.update_cookies({"minhu_resident": "resident-001"})
    async with client.get("/chat"):
        pass
    token = client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value
    return client, {"X-CSRF-Token": token}


async def _say(client, headers, text: str) -> list[str]:
    async with client.post("/chat/send", json={"text": text}, headers=headers) as answer:
        return [reply["text"] for reply in (await answer.json())["replies"]]


async def _inbox(client) -> list[str]:
    async with client.get("/chat/inbox") as answer:
        return [message["text"] for message in (await answer.json())["messages"]]


async def test_the_answer_to_a_burst_waits_until_it_is_over(console):
    client, headers = await _resident(console)
    async with client:
        assert "小区路灯坏了" in (await _say(client, headers, "小区路灯坏了"))[0]
        assert await _say(client, headers, "在3号楼门口") == []  # joins quietly
        assert await _inbox(client) == []  # held back, not handed out early
        console.clock.advance(timedelta(seconds=10))
        (whole,) = await _inbox(client)
        assert "小区路灯坏了\n在3号楼门口" in whole
        assert await _inbox(client) == []
