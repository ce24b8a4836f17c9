"""The outbox senders of both adapters over real HTTP: a body becomes a message with its inline
keyboard, and Telegram's refusals (injected by the emulator's shim) become the three errors the
delivery loop knows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from bot.delivery.sending import ChatUnreachable, RetryAfter, Sender, TemporaryFailure
from bot.settings import Settings
from handlers.events import Button, Reply
from tests.e2e.emulator import Emulator
from tests.e2e.harness import free_port

BODY = {"text": "工单 2026-0001 网格员已接单", "buttons": [[{"text": "查看", "data": "v:1"}]]}


@contextlib.asynccontextmanager
async def sender_for(framework: str, api_base: str, token: str) -> AsyncIterator[Sender]:
    settings = Settings(_env_file=None, telegram_token=token, telegram_api_base=api_base)
    if framework == "aiogram":
        from bot.telegram.aiogram_adapter import AiogramSender, make_bot

        bot = make_bot(settings)
        try:
            yield AiogramSender(bot)
        finally:
            await bot.session.close()
    else:
        from telegram import Bot

        from bot.telegram.ptb_adapter import PtbSender

        # Not initialised with getMe: a sender only sends (and the dead-server test has no getMe).
        bot = Bot(token, base_url=f"{api_base}/bot")
        try:
            yield PtbSender(bot)
        finally:
            await bot.shutdown()


@pytest.fixture(params=["aiogram", "ptb"])
async def sender(request, emulator: Emulator, token: str) -> AsyncIterator[Sender]:
    async with sender_for(request.param, emulator.url, token) as sender:
        yield sender


async def test_a_body_arrives_with_its_buttons(sender: Sender, emulator: Emulator, token: str):
    await sender.send("7001", BODY)
    message = await emulator.person(token, 7001, "居民").next()
    assert message.text == BODY["text"]
    assert message.buttons == [[{"text": "查看", "callback_data": "v:1"}]]


async def test_too_many_requests_says_how_long_to_wait(
    sender: Sender, emulator: Emulator, token: str
):
    await emulator.fail("sendMessage", 2, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter) as refused:
            await sender.send("7001", BODY)
        assert refused.value.seconds == 7
    await sender.send("7001", BODY)  # the third call goes through
    assert (await emulator.person(token, 7001, "居民").next()).text == BODY["text"]


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: user is deactivated"),
        (400, "Bad Request: chat not found"),
    ],
)
async def test_a_chat_that_takes_no_messages_is_unreachable(
    sender: Sender, emulator: Emulator, code: int, description: str
):
    await emulator.fail("sendMessage", 1, error_code=code, description=description)
    with pytest.raises(ChatUnreachable):
        await sender.send("7001", BODY)


async def test_server_faults_are_temporary(sender: Sender, emulator: Emulator):
    await emulator.fail("sendMessage", 1, error_code=502, description="Bad Gateway")
    with pytest.raises(TemporaryFailure):
        await sender.send("7001", BODY)


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_an_unreachable_server_is_temporary(framework: str, token: str):
    nobody = f"http://127.0.0.1:{free_port()}"
    async with sender_for(framework, nobody, token) as sender:
        with pytest.raises(TemporaryFailure):
            await sender.send("7001", BODY)


async def test_a_picture_goes_as_a_photo_with_its_caption(
    sender: Sender, emulator: Emulator, token: str
):
    """A /stats chart: the PNG is uploaded, the text becomes its caption, the buttons stay."""
    if type(sender).__name__ == "AiogramSender":
        from bot.telegram.aiogram_adapter import send_reply
    else:
        from bot.telegram.ptb_adapter import send_reply
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    chart = Reply("三率：响应率 90%", ((Button("本周", "v:1"),),), image=png)
    await send_reply(sender.bot, "7005", chart)
    message = await emulator.person(token, 7005, "社区书记").next()
    assert message.photo and message.text == "三率：响应率 90%"
    assert message.buttons == [[{"text": "本周", "callback_data": "v:1"}]]
