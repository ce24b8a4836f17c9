"""In headless chromium, the web chat's 发送位置 button: the browser's location picks the grid
of the problem, and that grid's worker gets the ticket."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.demo import grid_place
from storage.models import Area, Person, Ticket
from tests.bot.web.conftest import ARTIFACTS, DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 15_000  # ms; the chat page polls its inbox every 2 s
# 阳光社区第2网格 (demo-s2-c1-g2): the third community from the west, the upper grid.
GRID = "demo-s2-c1-g2"


async def test_a_location_from_the_browser_sends_the_ticket_to_its_grid(console, browser):
    from playwright.async_api import expect

    url = console.url
    place = grid_place(column=2, row=1)
    where = {"latitude": place["latitude"], "longitude": place["longitude"]}
    context = await browser.new_context(
        locale="zh-CN", geolocation=where, permissions=["geolocation"]
    )
    resident = await context.new_page()
    await resident.goto(f"{url}/chat")
    await resident.select_option("#persona", "resident-002")
    await resident.click("#pick")
    await expect(resident.locator("#speaker")).to_contain_text("居民002")
    await resident.fill("#text", "公园门口的路灯坏了好几天，晚上很黑")
    await resident.click("#send")
    await expect(resident.locator(".msg.bot", has_text="提交")).to_be_visible(timeout=WAIT)
    await resident.click("#location")
    await expect(
        resident.locator(".msg.bot", has_text="位置已附上，问题所在网格：阳光社区第2网格")
    ).to_be_visible(timeout=WAIT)
    await (
        resident.locator(".msg.bot", has_text="您反映的问题")
        .last.get_by_role("button", name="提交")
        .click()
    )
    receipt = resident.locator(".msg.bot", has_text="已受理，工单号")
    await expect(receipt).to_be_visible(timeout=WAIT)
    number = re.search(r"工单号 ([0-9-]+)", await receipt.inner_text()).group(1)
    await resident.screenshot(path=ARTIFACTS / "places-resident-located.png")

    async with console.services.sessions() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.number == number))).one()
        grid = (await session.exec(select(Area).where(Area.code == GRID))).one()
        resident_row = await session.get(Person, ticket.resident_id)
        worker = await session.get(Person, ticket.assignee_id)
    assert resident_row.area_id != grid.id  # the resident lives elsewhere
    assert ticket.area_id == grid.id and worker.area_id == grid.id

    page = await (await browser.new_context(locale="zh-CN")).new_page()
    await page.goto(f"{url}/login")
    await page.fill("input[name=name]", worker.display_name)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("#sign-in")
    ping = page.locator(".msg.push", has_text=f"【新派单】工单 {number}")
    await expect(ping).to_be_visible(timeout=WAIT)
