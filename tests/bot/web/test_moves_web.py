"""In headless chromium, through the web chat and console: a grid worker records a resident's
phoned complaint (代办) and the dashboard counts it by source; a resident's typed 催办 reaches the
worker handling their ticket."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from storage.models import Person, Ticket
from tests.bot.web.test_web_console import WAIT, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def _on_behalf_count(page, url: str) -> int:
    await page.goto(f"{url}/dashboard")
    cell = page.locator("#source-on_behalf")
    return int(await cell.inner_text()) if await cell.count() else 0


async def test_a_worker_records_on_behalf_and_a_resident_urges_on_the_web(console, browser):
    from playwright.async_api import expect

    url = console.url
    staff = await (await browser.new_context(locale="zh-CN")).new_page()
    await _sign_in(staff, url, "赵主任")
    before = await _on_behalf_count(staff, url)

    # The resident complains; the worker of their grid signs in to the web chat.
    resident = await (await browser.new_context(locale="zh-CN")).new_page()
    await resident.goto(f"{url}/chat")
    await resident.select_option("#persona", "resident-001")
    await resident.click("#pick")
    await resident.fill("#text", "小区3号楼门口的路灯坏了一个星期，晚上很黑")
    await resident.click("#send")
    await (
        resident.locator(".msg.bot", has_text="城乡建设").get_by_role("button", name="提交").click()
    )
    receipt = resident.locator(".msg.bot", has_text="已受理，工单号")
    await expect(receipt).to_be_visible(timeout=WAIT)
    number = re.search(r"工单号 ([0-9-]+)", await receipt.inner_text()).group(1)
    async with console.services.sessions() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.number == number))).one()
        worker_name = (await session.get(Person, ticket.assignee_id)).display_name
    worker = await (await browser.new_context(locale="zh-CN")).new_page()
    await _sign_in(worker, url, worker_name)
    await expect(worker).to_have_url(f"{url}/chat")

    # 代办: the worker types what a resident phoned in, says so, and gives the contact.
    await worker.fill("#text", "张阿姨来电：小区楼道的灯坏了一个月，晚上很黑")
    await worker.click("#send")
    offer = worker.locator(".msg.bot", has_text="要把这条记为工单吗")
    await offer.get_by_role("button", name="代办（群众来电/走访）").click(timeout=WAIT)
    await expect(worker.locator(".msg.bot", has_text="请发送群众的姓名和电话")).to_be_visible(
        timeout=WAIT
    )
    await worker.fill("#text", "张阿姨 13800001234")
    await worker.click("#send")
    recorded = worker.locator(".msg.bot", has_text="已登记工单")
    await expect(recorded).to_be_visible(timeout=WAIT)
    recorded_number = re.search(r"已登记工单 ([0-9-]+)", await recorded.inner_text()).group(1)

    # 催办 typed by the resident reaches the worker's chat.
    await resident.fill("#text", f"催办 {number}")
    await resident.click("#send")
    await expect(resident.locator(".msg.bot", has_text=f"已为您催办工单 {number}")).to_be_visible(
        timeout=WAIT
    )
    await expect(
        worker.locator(".msg.push", has_text=f"【催办】群众第 1 次催办工单 {number}")
    ).to_be_visible(timeout=WAIT)

    # The console: one more ticket on behalf; its page says where it came from and whom to call.
    assert await _on_behalf_count(staff, url) == before + 1
    await staff.goto(f"{url}/tickets/{recorded_number}")
    assert await staff.inner_text("#ticket-source") == "网格员代办"
    assert await staff.inner_text("#ticket-on-behalf") == "张阿姨"
