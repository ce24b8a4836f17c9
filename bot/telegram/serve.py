"""The one entry point of the Telegram channel.

    channel = telegram_channel(services)       # builds the bot; no network yet
    channel.mount(web_app)                     # webhook mode: before the aiohttp app starts
    await channel.run(stop)                    # polling, or setWebhook and wait; until `stop`

`serve_telegram` does all three, running its own aiohttp server in webhook mode when the caller
has none. `channel.sender` is the outbox's way out (`bot.delivery.sending.Sender`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import web

from bot.delivery.sending import Sender
from bot.telegram.chat_locks import ChatLocks
from bot.wiring import Services
from handlers.context import Deps

log = logging.getLogger(__name__)


class TelegramChannel(Protocol):
    sender: Sender
    ready: asyncio.Event  # set by `run` once updates can come in

    def mount(self, app: web.Application) -> None: ...

    async def run(self, stop: asyncio.Event) -> None: ...


def telegram_channel(services: Services, deps: Deps | None = None) -> TelegramChannel:
    """`deps`: the conversations' dependencies when the caller has them already (the classifier
    takes a second or two to load)."""
    settings = services.settings
    if settings.telegram_token is None:
        raise ValueError("MINHU_TELEGRAM_TOKEN is not set")
    deps = deps or services.deps()
    mode = "webhook" if webhook_mode(services) else "long polling"
    log.info("telegram: %s via %s", settings.telegram_framework, mode)
    locks = ChatLocks(services.engine)
    # Imported on demand: a process runs one framework, and need not load the other.
    if settings.telegram_framework == "ptb":
        from bot.telegram.ptb_adapter import PtbChannel

        return PtbChannel(settings, deps, locks)
    from bot.telegram.aiogram_adapter import AiogramChannel

    return AiogramChannel(settings, deps, locks)


def webhook_mode(services: Services) -> bool:
    return services.settings.webhook_url is not None


async def serve_telegram(
    services: Services, stop: asyncio.Event, web_app: web.Application | None = None
) -> None:
    """Serve the bot until `stop` is set. In webhook mode the route goes on `web_app` — which
    the caller must start after this coroutine has begun — or on a server of our own."""
    channel = telegram_channel(services)
    settings = services.settings
    if not webhook_mode(services):
        await channel.run(stop)
        return
    if web_app is not None:
        channel.mount(web_app)
        await channel.run(stop)
        return
    app = web.Application()
    channel.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port)
    await site.start()
    try:
        await channel.run(stop)
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def telegram_sender(services: Services) -> AsyncIterator[Sender]:
    """A sender without a channel (`minhu worker` delivers but does not take updates): aiogram's
    bot, whichever framework serves the updates — the Bot API is the same."""
    from bot.telegram.aiogram_adapter import AiogramSender, make_bot

    bot = make_bot(services.settings)
    try:
        yield AiogramSender(bot, services.settings.media_dir)
    finally:
        await bot.session.close()
