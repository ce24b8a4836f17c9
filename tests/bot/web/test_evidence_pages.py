"""In headless chromium: a web resident's photo and place reach the grid worker's web chat, the
worker's 办结 photo reaches the resident, and the ticket's page shows every photo — the web
chat's from disk, a Telegram user's through the Bot API (getFile) — with the place."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlmodel import select

from handlers.charts import bar_chart_bytes
from storage.models import Person, Ticket
from tests.bot.web.conftest import ARTIFACTS, DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COMPLAINT = "小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便"
WAIT = 15_000  # ms; the chat page polls its inbox every 2 s
TELEGRAM_PHOTO = "AgACAgUAAxkBAAIBtelegram"
HERE = {"latitude": 38.0431, "longitude": 114.5148}


@pytest.fixture
async def bot_api() -> AsyncIterator[str]:
    """A Bot API that knows one file (getFile, then its download address)."""
    picture = bar_chart_bytes("电报", (("a", 2),), "png")

    async def get_file(request: web.Request) -> web.Response:
        file_id = request.query.get("file_id")
        if file_id != TELEGRAM_PHOTO:
            return web.json_response({"ok": False, "error_code": 400, "description": "bad"})
        result = {"file_id": file_id, "file_unique_id": "u1", "file_path": "photos/file_1.png"}
        return web.json_response({"ok": True, "result": result})

    async def download(_request: web.Request) -> web.Response:
        return web.Response(body=picture, content_type="image/png")

    app = web.Application()
    app.router.add_get("/bot{token}/getFile", get_file)
    app.router.add_get("/file/bot{token}/photos/file_1.png", download)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def _sign_in(page, url: str, name: str) -> None:
    await page.goto(f"{url}/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("#sign-in")


async def _shown(image) -> bool:
    """The image loaded (a refused or broken one has no natural width)."""
    await image.scroll_into_view_if_needed()
    return await image.evaluate("img => img.complete && img.naturalWidth > 0")


async def test_photos_and_place_on_the_web(console_with, browser, bot_api, database_url):
    from playwright.async_api import expect

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    lamp = bar_chart_bytes("路灯", (("a", 1),), "png")
    fixed = bar_chart_bytes("修好", (("b", 3),), "png")
    async with console_with(telegram_token="1:stub", telegram_api_base=bot_api) as console:
        url = console.url
        context = await browser.new_context(
            locale="zh-CN", geolocation=HERE, permissions=["geolocation"]
        )
        resident = await context.new_page()
        await resident.goto(f"{url}/chat")
        await resident.select_option("#persona", "resident-001")
        await resident.click("#pick")
        await expect(resident.locator("#speaker")).to_contain_text("居民001")
        # A photo with the complaint as its caption, then the place, then 提交.
        await resident.fill("#text", COMPLAINT)
        await resident.set_input_files(
            "#photo", files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": lamp}]
        )
        proposal = resident.locator(".msg.bot", has_text="城乡建设")
        await expect(proposal).to_be_visible(timeout=WAIT)
        await resident.click("#location")
        await expect(resident.locator(".msg.bot", has_text="位置")).to_be_visible(timeout=WAIT)
        # A call back: the page offers to skip; a typed number is taken instead.
        await proposal.get_by_role("button", name="需要回电").click()
        await expect(resident.locator("button.skip-phone")).to_be_visible(timeout=WAIT)
        await resident.fill("#text", "13800138000")
        await resident.click("#send")
        proposal = resident.locator(".msg.bot", has_text="回电号码：138 0013 8000")
        await expect(proposal).to_be_visible(timeout=WAIT)
        await proposal.get_by_role("button", name="提交").click()
        receipt = resident.locator(".msg.bot", has_text="已受理，工单号")
        await expect(receipt).to_be_visible(timeout=WAIT)
        number = re.search(r"工单号 ([0-9-]+)", await receipt.inner_text()).group(1)
        async with console.services.sessions() as session:
            ticket = (await session.exec(select(Ticket).where(Ticket.number == number))).one()
            worker_name = (await session.get(Person, ticket.assignee_id)).display_name

        # The worker's web chat: the assignment shows the photo and the place.
        worker = await (await browser.new_context(locale="zh-CN")).new_page()
        await _sign_in(worker, url, worker_name)
        ping = worker.locator(".msg.push", has_text=f"【新派单】工单 {number}")
        await expect(ping).to_be_visible(timeout=WAIT)
        assert await _shown(ping.locator("img.evidence"))
        await expect(ping.locator(".place")).to_contain_text("38.04310, 114.51480")
        await worker.screenshot(path=ARTIFACTS / f"{backend}-evidence-1-worker.png")

        # 办结 with a photo whose caption is the reply: the resident sees that photo.
        await ping.get_by_role("button", name="接单").click()
        accepted = worker.locator(".msg.bot", has_text=f"已接单：工单 {number}")
        await accepted.get_by_role("button", name="办结").click(timeout=WAIT)
        asked = worker.locator(".msg.bot", has_text="请输入给居民的办理结果答复")
        await expect(asked).to_be_visible()
        await worker.fill("#text", "已更换灯泡")
        await worker.set_input_files(
            "#photo", files=[{"name": "fixed.png", "mimeType": "image/png", "buffer": fixed}]
        )
        done = worker.locator(".msg.bot", has_text=f"工单 {number} 已办结")
        await expect(done).to_be_visible(timeout=WAIT)
        told = resident.locator(".msg.push", has_text=f"工单 {number} 已办结")
        await expect(told).to_be_visible(timeout=WAIT)
        assert await _shown(told.locator("img.evidence"))
        await resident.screenshot(path=ARTIFACTS / f"{backend}-evidence-2-resident.png")

        # A photo that came from Telegram sits on the ticket too; staff see all of them.
        async with console.services.sessions() as session:
            ticket = await session.get(Ticket, ticket.id)
            extra = {"kind": "photo", "ref": TELEGRAM_PHOTO}
            ticket.attachments = [*ticket.attachments, extra]
            session.add(ticket)
            await session.commit()
        staff = await (await browser.new_context(locale="zh-CN")).new_page()
        await _sign_in(staff, url, "赵主任")
        await staff.goto(f"{url}/tickets/{number}")
        images = staff.locator(".photos img")
        await expect(images).to_have_count(3)
        for index in range(3):
            assert await _shown(images.nth(index)), index
        await expect(staff.locator("#ticket-place")).to_contain_text("38.04310, 114.51480")
        await expect(staff.locator("#call-back")).to_have_text("138 0013 8000")
        await staff.screenshot(path=ARTIFACTS / f"{backend}-evidence-3-ticket.png", full_page=True)

        # Someone else's browser gets none of them.
        stranger = await (await browser.new_context(locale="zh-CN")).new_page()
        await stranger.goto(f"{url}/chat")
        for index in range(3):
            source = await images.nth(index).get_attribute("src")
            answer = await stranger.request.get(f"{url}{source}")
            assert answer.status == 403, source
