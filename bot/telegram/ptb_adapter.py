"""python-telegram-bot 22, the second adapter: the same handlers behind one TypeHandler, long
polling through PTB's Updater, or a webhook route on the project's aiohttp app (PTB's own
webhook server would be a second web server), and the outbox sender."""

from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    TelegramError,
)
from telegram.error import RetryAfter as PtbRetryAfter
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.sending import ChatUnreachable, RetryAfter, TemporaryFailure
from bot.logs import redact
from bot.settings import Settings
from bot.telegram import translate
from bot.telegram.aiogram_adapter import webhook_path
from bot.telegram.chat_locks import ChatLocks
from bot.telegram.commands import chat_menu, menus, queue_chat_menus
from bot.telegram.replies import send_replies
from handlers.context import Deps
from handlers.dispatch import handle
from handlers.events import Reply
from handlers.menus import is_menu
from tickets.lifecycle import Role

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def build_application(settings: Settings, deps: Deps, locks: ChatLocks) -> Application:
    assert settings.telegram_token is not None
    builder = Application.builder().token(settings.telegram_token.get_secret_value())
    if settings.telegram_api_base is not None:
        base = str(settings.telegram_api_base).rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    # Updates of different chats need not wait for each other; the database keeps each
    # conversation consistent.
    application = builder.concurrent_updates(16).build()

    async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await _answer(deps, locks, context.bot, update, settings.media_dir)

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The kind of failure only: an update may carry a resident's words.
        log.error("python-telegram-bot: %s", type(context.error).__name__)

    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(on_error)
    return application


def markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if reply.contact is not None:
        share = KeyboardButton(reply.contact.share, request_contact=True)
        return ReplyKeyboardMarkup(
            [[share], [KeyboardButton(reply.contact.skip)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
    if not reply.buttons:
        return ReplyKeyboardRemove() if reply.remove_keyboard else None
    rows = translate.keyboard(reply.buttons)
    return InlineKeyboardMarkup([[InlineKeyboardButton(**b) for b in row] for row in rows])


async def send_evidence(
    bot: Bot, chat_id: int | str, reply: Reply, media_dir: Path | None = None
) -> None:
    """The reply's photos (one by sendPhoto, several as an album) and place, before its text."""
    inputs = [
        item.read_bytes() if isinstance(item, Path) else item
        for item in translate.photo_inputs(reply, media_dir)
    ]
    for album in translate.albums(inputs):
        if len(album) == 1:
            await bot.send_photo(chat_id, album[0])
        else:
            await bot.send_media_group(chat_id, [InputMediaPhoto(item) for item in album])
    if reply.location is not None:
        latitude, longitude = reply.location
        await bot.send_location(chat_id, latitude=latitude, longitude=longitude)


async def send_reply(
    bot: Bot, chat_id: int | str, reply: Reply, media_dir: Path | None = None
) -> None:
    await send_evidence(bot, chat_id, reply, media_dir)
    keyboard = markup(reply)
    if reply.image is not None:
        caption = reply.text if len(reply.text) <= translate.MAX_CAPTION else None
        await bot.send_photo(chat_id, reply.image, caption=caption, reply_markup=keyboard)
        if caption is not None:
            return
    pieces = translate.split_text(reply.text)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await bot.send_message(chat_id, piece, reply_markup=keyboard if last else None)


async def _answer(
    deps: Deps, locks: ChatLocks, bot: Bot, update: Update, media_dir: Path | None
) -> None:
    event = translate.incoming(update)
    if event is None:
        return
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except TelegramError:
            log.warning("answering callback query of update %s failed", update.update_id)
    async with locks.hold(event.chat_id):
        outcome = await handle(deps, event)
        await send_replies(deps, PtbSender(bot, media_dir), event, outcome.replies)


async def set_menu(bot: Bot) -> None:
    for language, commands in menus().items():
        await bot.set_my_commands(
            [BotCommand(name, text) for name, text in commands], language_code=language
        )


async def set_chat_menu(bot: Bot, chat_id: str, body: Mapping[str, Any]) -> None:
    """A person's own menu for their chat; a resident's chat goes back to the default menu."""
    role, commands = chat_menu(body)
    scope = BotCommandScopeChat(chat_id)
    if role == Role.RESIDENT:
        await bot.delete_my_commands(scope=scope)
    else:
        await bot.set_my_commands([BotCommand(n, t) for n, t in commands], scope=scope)


class PtbSender:
    """The outbox's way out through python-telegram-bot, with Telegram's errors sorted."""

    def __init__(self, bot: Bot, media_dir: Path | None = None) -> None:
        self.bot = bot
        self.media_dir = media_dir  # where the web chat's photos are, to upload them

    async def send(self, chat_id: str, body: Mapping[str, Any]) -> None:
        if is_menu(body):
            await self._sorted(set_chat_menu(self.bot, chat_id, body))
        else:
            await self.send_reply(chat_id, translate.reply_from_body(body))

    async def send_reply(self, chat_id: str, reply: Reply) -> None:
        await self._sorted(send_reply(self.bot, chat_id, reply, self.media_dir))

    async def _sorted(self, call: Awaitable[Any]) -> None:
        try:
            await call
        except PtbRetryAfter as error:
            raise RetryAfter(_seconds(error)) from error
        # Forbidden and BadRequest first: PTB derives BadRequest from NetworkError.
        except (Forbidden, ChatMigrated, BadRequest) as error:
            raise ChatUnreachable(error.message) from error
        except (TelegramError, OSError) as error:
            # Kept with the message and shown to staff: InvalidToken from getMe quotes the token.
            raise TemporaryFailure(redact(str(error), [self.bot.token])) from error


def _seconds(error: PtbRetryAfter) -> float:
    # PTB 22 warns that `retry_after` turns from int into timedelta; either is fine here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PtbChannel:
    """One bot served by python-telegram-bot: `mount` the webhook route, then `run`."""

    def __init__(self, settings: Settings, deps: Deps, locks: ChatLocks) -> None:
        self.settings = settings
        self.deps = deps
        self.application = build_application(settings, deps, locks)
        self.sender = PtbSender(self.application.bot, settings.media_dir)
        self.ready = asyncio.Event()  # set once the menu is set and updates can come in

    def mount(self, app: web.Application) -> None:
        app.router.add_post(webhook_path(self.settings), self._webhook_request)

    async def _webhook_request(self, request: web.Request) -> web.Response:
        secret = self.settings.webhook_secret
        expected = secret.get_secret_value() if secret else ""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return web.Response(status=401, text="Unauthorized")
        if not self.ready.is_set():
            # Telegram retries later; by then this process has started.
            return web.Response(status=503, text="Starting")
        try:
            update = Update.de_json(await request.json(), self.application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="Bad update")
        # Handled before answering, so an update of a process that dies is redelivered.
        await self.application.process_update(update)
        return web.Response(text="ok")

    async def run(self, stop: asyncio.Event) -> None:
        application = self.application
        async with application:
            await set_menu(application.bot)
            await queue_chat_menus(self.deps)
            if self.settings.webhook_url is None:
                await application.start()
                assert application.updater is not None
                await application.updater.start_polling(
                    allowed_updates=translate.ALLOWED_UPDATES, timeout=10
                )
                self.ready.set()
                await stop.wait()
                await application.updater.stop()
                await application.stop()
            else:
                secret = self.settings.webhook_secret
                await application.bot.set_webhook(
                    str(self.settings.webhook_url),
                    secret_token=secret.get_secret_value() if secret else None,
                    allowed_updates=translate.ALLOWED_UPDATES,
                )
                self.ready.set()
                await stop.wait()
