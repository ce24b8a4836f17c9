"""The emulator's shim repairs each defect DESIGN.md lists for telegram-test-api 4.2.1, so the
end-to-end tests exercise the frameworks, not the emulator's quirks."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from tests.e2e.emulator import Emulator
from tests.e2e.harness import free_port


async def call(emulator: Emulator, token: str, method: str, **params) -> tuple[int, dict]:
    url = f"{emulator.url}/bot{token}/{method}"
    async with emulator.http.post(url, json=params) as answer:
        return answer.status, await answer.json()


async def test_get_me_says_it_is_a_bot(emulator: Emulator, token: str):
    status, body = await call(emulator, token, "getMe")
    assert status == 200 and body["result"]["is_bot"] is True


async def test_dates_are_in_seconds_and_answers_are_true(emulator: Emulator, token: str):
    _, sent = await call(emulator, token, "sendMessage", chat_id=1, text="x")
    assert abs(sent["result"]["date"] - time.time()) < 60
    _, answered = await call(emulator, token, "answerCallbackQuery", callback_query_id="1")
    assert answered == {"ok": True, "result": True}
    message_id = sent["result"]["message_id"]
    _, edited = await call(
        emulator, token, "editMessageText", chat_id=1, message_id=message_id, text="y"
    )
    assert edited["ok"] and edited["result"]["text"] == "y"


async def test_unknown_methods_answer_like_the_bot_api(emulator: Emulator, token: str):
    status, body = await call(emulator, token, "sendDice", chat_id=1)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_get_updates_waits_for_its_timeout(emulator: Emulator, token: str):
    started = time.monotonic()
    _, body = await call(emulator, token, "getUpdates", timeout=1)
    assert body["result"] == [] and time.monotonic() - started >= 0.9
    # An update that arrives meanwhile ends the wait at once.
    person = emulator.person(token, 7002, "居民")
    waiting = asyncio.create_task(call(emulator, token, "getUpdates", timeout=20))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await person.say("你好")
    _, body = await waiting
    assert time.monotonic() - started < 5
    update = body["result"][0]
    assert update["message"]["text"] == "你好"
    # Confirmed by the next offset, it is not delivered again.
    _, body = await call(emulator, token, "getUpdates", offset=update["update_id"] + 1)
    assert body["result"] == []


async def test_callback_queries_carry_chat_instance(emulator: Emulator, token: str):
    await emulator.person(token, 7003, "居民").press_data("v:1")
    _, body = await call(emulator, token, "getUpdates")
    assert body["result"][0]["callback_query"]["chat_instance"] == "7003"


async def test_a_failed_webhook_delivery_is_retried_not_fatal(emulator: Emulator, token: str):
    port = free_port()
    await call(emulator, token, "setWebhook", url=f"http://127.0.0.1:{port}/", secret_token="s3")
    errors_before = (await emulator.state())["webhookErrors"]
    await emulator.person(token, 7004, "居民").say("先到的消息")  # nobody listens yet
    deadline = time.monotonic() + 30
    while (await emulator.state())["webhookErrors"] == errors_before:
        assert time.monotonic() < deadline, "the delivery was never attempted"
        await asyncio.sleep(0.05)
    received: list[tuple[str, dict]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers["X-Telegram-Bot-Api-Secret-Token"], await request.json()))
        arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.wait_for(arrived.wait(), timeout=30)
    finally:
        await runner.cleanup()
    assert received[0][0] == "s3"
    assert received[0][1]["message"]["text"] == "先到的消息"
    await call(emulator, token, "deleteWebhook")
