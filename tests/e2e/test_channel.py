"""What the Telegram channel itself promises, through both frameworks over HTTP: the command menu
is set at start, photos and locations become the ticket's attachments, input MinHu cannot read
gets a clear answer, and the webhook takes only Telegram's updates, each at most once."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from sqlmodel import select

from storage.models import OutboxMessage, ProcessedUpdate, Ticket
from tests.conftest import postgres_url
from tests.e2e.emulator import Emulator
from tests.e2e.harness import (
    SECRET,
    free_port,
    fresh_database,
    load_cast,
    running_bot,
    settings_for,
)

NEWCOMER = 5101


async def start_bot(emulator: Emulator, token: str, tmp_path, framework: str, **extra):
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=framework,
        **extra,
    )
    await fresh_database(settings.database_url)
    return settings


@pytest.fixture(params=["aiogram", "ptb"])
async def bot(request, emulator: Emulator, token: str, tmp_path):
    settings = await start_bot(emulator, token, tmp_path, request.param)
    async with running_bot(settings) as running:
        await load_cast(running.services.sessions, settings)
        yield running


async def test_a_newcomer_is_greeted_and_the_menu_is_set(bot, emulator: Emulator, token: str):
    newcomer = emulator.person(token, NEWCOMER, "新居民")
    await newcomer.say("/start")
    await newcomer.expect("您好，这里是「民呼」")
    areas = await newcomer.expect("请先选择您所在的社区或网格")
    assert areas.buttons, "the area choice comes with buttons"
    # Polling began after the menu was set, so it is there by now.
    commands = (await emulator.state())["commands"]
    assert [c["command"] for c in commands[""]][:2] == ["start", "help"]
    assert {"command": "my", "description": "我的工单"} in commands[""]
    assert {"command": "my", "description": "my tickets"} in commands["en"]
    assert "tasks" not in [c["command"] for c in commands[""]]  # workers' commands stay off


async def test_a_photo_and_a_location_are_kept_with_the_complaint(
    bot, emulator: Emulator, token: str
):
    resident = emulator.person(token, 5001, "张阿姨")
    await resident.photo("photo-large", caption="小区3号楼门口的路灯坏了一个星期，晚上很黑")
    await resident.expect("您反映的问题")
    await resident.location(39.9087, 116.3975)
    located = await resident.next()
    await resident.press("提交")
    await resident.expect("已受理，工单号")
    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert ticket.attachments == [{"kind": "photo", "ref": "photo-large"}]  # the largest size
    assert (ticket.latitude, ticket.longitude) == (39.9087, 116.3975), located.text


async def test_what_cannot_be_read_gets_a_clear_answer(bot, emulator: Emulator, token: str):
    resident = emulator.person(token, 5001, "张阿姨")
    await resident.sticker()
    await resident.expect("暂时只能处理文字、照片和位置")
    await resident.press_data("rm:-rf")  # forged callback data
    await resident.expect("这个按钮已失效")
    await resident.press_data("x" * 100)  # longer than Telegram allows
    await resident.expect("这个按钮已失效")
    await resident.say("/fly")
    await resident.expect("没有这个命令")
    await resident.say("/my@minhu_test_bot")  # a command addressed to the bot by name
    assert "没有这个命令" not in (await resident.next()).text


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_the_webhook_takes_only_telegrams_updates_each_once(
    framework: str, emulator: Emulator, token: str, tmp_path
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    settings = await start_bot(
        emulator, token, tmp_path, framework, webhook_url=url, webhook_secret=SECRET
    )
    update = {
        "update_id": 90001,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": NEWCOMER, "type": "private"},
            "from": {"id": NEWCOMER, "is_bot": False, "first_name": "新居民"},
            "text": "/start",
        },
    }
    newcomer = emulator.person(token, NEWCOMER, "新居民")
    async with running_bot(settings, webhook_port=port) as running, aiohttp.ClientSession() as http:
        header = "X-Telegram-Bot-Api-Secret-Token"
        for forged in ({}, {header: "not-the-secret"}):
            async with http.post(url, json=update, headers=forged) as answer:
                assert answer.status == 401
        async with running.services.sessions() as session:
            assert (await session.exec(select(ProcessedUpdate))).all() == []

        for _ in range(2):  # Telegram delivers again when it missed our answer
            async with http.post(url, json=update, headers={header: SECRET}) as answer:
                assert answer.status == 200
        await newcomer.expect("您好")
        await newcomer.expect("请先选择")
        assert await newcomer.quiet(0.5) == []
        # The emulator's own deliveries carry the secret too.
        await newcomer.say("/help")
        await newcomer.next()


async def test_messages_sent_at_once_are_handled_one_after_another(
    bot, emulator: Emulator, token: str
):
    """An album or a quick follow-up reaches the bot in one batch; the draft must see each."""
    resident = emulator.person(token, 5001, "张阿姨")
    await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑")
    await resident.expect("您反映的问题")
    await asyncio.gather(
        resident.location(39.9087, 116.3975), resident.photo("photo-1"), resident.photo("photo-2")
    )
    replies = [(await resident.next()).text for _ in range(3)]
    assert not any(text.startswith("操作未完成") for text in replies), replies
    await resident.press("提交")
    await resident.expect("已受理，工单号")
    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert sorted(a["ref"] for a in ticket.attachments) == ["photo-1", "photo-2"]
    assert ticket.latitude == 39.9087


@pytest.mark.postgres
@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_updates_of_one_chat_delivered_at_once_do_not_lose_each_other(
    framework: str, emulator: Emulator, token: str
):
    """Telegram may post several updates of one chat to the webhook at the same time (and behind
    a load balancer they may land in different processes): each sees what the one before did."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    settings = settings_for(
        emulator.url,
        token,
        postgres_url(),
        telegram_framework=framework,
        webhook_url=url,
        webhook_secret=SECRET,
    )
    await fresh_database(settings.database_url)
    resident = emulator.person(token, 5001, "张阿姨")
    async with running_bot(settings, webhook_port=port) as running, aiohttp.ClientSession() as http:
        await load_cast(running.services.sessions, settings)
        await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑")
        await resident.expect("您反映的问题")

        async def post(update_id: int, photo: str) -> None:
            message = {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": 5001, "type": "private"},
                "from": {"id": 5001, "is_bot": False, "first_name": "张阿姨"},
                "photo": [{"file_id": photo, "file_unique_id": photo, "width": 9, "height": 9}],
            }
            body = {"update_id": update_id, "message": message}
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(url, json=body, headers=headers) as answer:
                assert answer.status == 200

        await asyncio.gather(*(post(80000 + n, f"photo-{n}") for n in range(3)))
        replies = [(await resident.next()).text for _ in range(3)]
        assert not any(text.startswith("操作未完成") for text in replies), replies
        await resident.press("提交")
        await resident.expect("已受理，工单号")
        async with running.services.sessions() as session:
            ticket = (await session.exec(select(Ticket))).one()
        assert sorted(a["ref"] for a in ticket.attachments) == ["photo-0", "photo-1", "photo-2"]


async def test_a_reply_telegram_refuses_for_now_is_retried_from_the_outbox(
    bot, emulator: Emulator, token: str
):
    resident = emulator.person(token, 5001, "张阿姨")
    await emulator.fail("sendMessage", 1, retry_after=1)
    await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑")
    proposal = await resident.expect("您反映的问题")  # sent again by the delivery loop
    assert proposal.button("提交") is not None
    # The loop records the send just after Telegram answers it.
    deadline = time.monotonic() + 10
    while True:
        async with bot.services.sessions() as session:
            queued = (await session.exec(select(OutboxMessage))).all()
        if all(row.sent_at is not None for row in queued) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [row.dedupe_key.rsplit(":", 2)[0] for row in queued] == ["reply:telegram"]
    assert queued[0].chat_id == "5001" and queued[0].sent_at is not None
