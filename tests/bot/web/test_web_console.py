"""In headless chromium, through the real web console over a real database: a resident submits a
complaint, the grid worker accepts and resolves it, the resident answers the callback, and the
staff dashboard's numbers move. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from storage.models import Person, Ticket
from tests.bot.web.conftest import ARTIFACTS, DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COMPLAINT = "小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便"
WAIT = 15_000  # ms; the chat page polls its inbox every 2 s


async def _sign_in(page, url: str, name: str) -> None:
    await page.goto(f"{url}/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("#sign-in")


async def _figures(page, url: str) -> dict[str, str]:
    await page.goto(f"{url}/dashboard")
    return {
        "assigned": await page.inner_text("#backlog-assigned"),
        "accepted": await page.inner_text("#backlog-accepted"),
        "solve": await page.inner_text("#rate-solve small"),
    }


def _whole(detail: str) -> int:
    return int(detail.split("/")[1])


async def test_a_complaint_through_the_console_moves_the_dashboard(console, browser, database_url):
    from playwright.async_api import expect

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    url = console.url
    staff = await (await browser.new_context(locale="zh-CN")).new_page()
    await _sign_in(staff, url, "赵主任")
    await expect(staff).to_have_url(f"{url}/dashboard")
    before = await _figures(staff, url)
    await staff.screenshot(path=ARTIFACTS / f"{backend}-1-dashboard-before.png", full_page=True)

    # The resident: a demo persona, then a complaint, confirmed with the 提交 button.
    resident = await (await browser.new_context(locale="zh-CN")).new_page()
    await resident.goto(f"{url}/chat")
    await resident.select_option("#persona", "resident-001")
    await resident.click("#pick")
    await expect(resident.locator("#speaker")).to_contain_text("居民001")
    await resident.fill("#text", COMPLAINT)
    await resident.click("#send")
    proposal = resident.locator(".msg.bot", has_text="城乡建设")
    await proposal.get_by_role("button", name="提交").click()
    receipt = resident.locator(".msg.bot", has_text="已受理，工单号")
    await expect(receipt).to_be_visible(timeout=WAIT)
    number = re.search(r"工单号 ([0-9-]+)", await receipt.inner_text()).group(1)
    await resident.screenshot(path=ARTIFACTS / f"{backend}-2-resident-submitted.png")

    async with console.services.sessions() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.number == number))).one()
        worker_name = (await session.get(Person, ticket.assignee_id)).display_name
    assert ticket.state == "assigned" and ticket.text == COMPLAINT

    middle = await _figures(staff, url)
    assert int(middle["assigned"]) == int(before["assigned"]) + 1

    # The grid worker signs in, sees the assignment ping, accepts it and resolves it.
    worker = await (await browser.new_context(locale="zh-CN")).new_page()
    await _sign_in(worker, url, worker_name)
    await expect(worker).to_have_url(f"{url}/chat")
    ping = worker.locator(".msg.push", has_text=f"【新派单】工单 {number}")
    await ping.get_by_role("button", name="接单").click(timeout=WAIT)
    accepted = worker.locator(".msg.bot", has_text=f"已接单：工单 {number}")
    await expect(accepted).to_be_visible(timeout=WAIT)
    await accepted.get_by_role("button", name="办结").click()
    await expect(worker.locator(".msg.bot", has_text="请输入给居民的办理结果答复")).to_be_visible()
    await worker.fill("#text", "已联系物业更换路灯，现已恢复照明")
    await worker.click("#send")
    await expect(
        worker.locator(".msg.bot", has_text=f"工单 {number} 已办结，等待居民评价")
    ).to_be_visible(timeout=WAIT)
    await worker.screenshot(path=ARTIFACTS / f"{backend}-3-worker-resolved.png")

    # The resident hears of it and answers the callback: solved, satisfied, no comment.
    await expect(resident.locator(".msg.push", has_text="网格员已接单")).to_be_visible(timeout=WAIT)
    done = resident.locator(".msg.push", has_text=f"工单 {number} 已办结")
    await done.get_by_role("button", name="已解决").click(timeout=WAIT)
    await (
        resident.locator(".msg.bot", has_text="您对办理结果满意吗")
        .get_by_role("button", name="满意", exact=True)
        .click()
    )
    await (
        resident.locator(".msg.bot", has_text="还有什么想说的吗")
        .get_by_role("button", name="跳过")
        .click()
    )
    await expect(
        resident.locator(".msg.bot", has_text=f"感谢您的评价！工单 {number} 已办结归档")
    ).to_be_visible(timeout=WAIT)
    await resident.screenshot(path=ARTIFACTS / f"{backend}-4-resident-rated.png")

    # The dashboard counts the callback, and the ticket's page shows its whole timeline.
    after = await _figures(staff, url)
    assert _whole(after["solve"]) == _whole(before["solve"]) + 1
    assert after["assigned"] == before["assigned"]
    await staff.screenshot(path=ARTIFACTS / f"{backend}-5-dashboard-after.png", full_page=True)
    await staff.goto(f"{url}/tickets/{number}")
    timeline = await staff.inner_text("#timeline")
    assert "已联系物业更换路灯" in timeline
    assert await staff.inner_text("#ticket-state") == "已关闭"  # closed
    await staff.screenshot(path=ARTIFACTS / f"{backend}-6-ticket-page.png", full_page=True)
