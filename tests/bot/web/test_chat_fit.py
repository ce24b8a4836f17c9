"""The web chat fits its speaker: a burst's one answer comes when the burst is over."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
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


async def test_the_chat_page_shows_the_speakers_own_menu(console):
    from tests.bot.web.test_console_http import _signed_in

    client, _headers = await _resident(console)
    async with client, client.get("/chat") as page:
        html = await page.text()
    assert 'data-command="my"' in html and 'data-command="triage"' not in html
    async with await _signed_in(console, "赵主任") as staff, staff.get("/chat") as page:
        html = await page.text()
    assert 'data-command="triage"' in html and 'data-command="stats"' in html
    assert 'data-command="my"' not in html
    assert "输入 /triage 查看待派单" in html  # the hint fits the role too


@pytest.mark.browser
@pytest.mark.slow
async def test_a_menu_command_is_sent_by_a_click(console, browser):
    from playwright.async_api import expect

    from tests.bot.web.test_web_console import _sign_in

    page = await (await browser.new_context(locale="zh-CN")).new_page()
    await _sign_in(page, console.url, "赵主任")
    await page.goto(f"{console.url}/chat")
    await page.click("#menu button[data-command=triage]")
    await expect(page.locator(".msg.me", has_text="/triage")).to_be_visible()
    await expect(page.locator(".msg.bot").last).not_to_contain_text("没有这个命令")
    # A new language comes back as a new menu through the inbox, and the page shows it.
    await page.click("#menu button[data-command=lang]")
    await page.locator(".msg.bot").last.get_by_role("button", name="English").click()
    triage = page.locator("#menu button[data-command=triage]")
    await expect(triage).to_contain_text("triage queue", timeout=15_000)
