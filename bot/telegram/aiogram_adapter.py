"""aiogram 3, the primary adapter: one router that turns every message and button press into a
channel-neutral event, long polling or an aiohttp webhook checked by its secret token, and the
outbox sender."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.delivery.sending import ChatUnreachable, RetryAfter, TemporaryFailure
from bot.logs import redact
from bot.settings import Settings
from bot.telegram import translate
from bot.telegram.chat_locks import ChatLocks
from bot.telegram.commands import chat_menu, menus, queue_chat_menus
from bot.telegram.replies import send_replies
from handlers.context import Deps
from handlers.dispatch import handle
from handlers.events import Reply
from handlers.menus import is_menu
from tickets.lifecycle import Role

log = logging.getLogger(__name__)


def make_bot(settings: Settings) -> Bot:
    assert settings.telegram_token is not None
    session = None
    if settings.telegram_api_base is not None:
        base = str(settings.telegram_api_base).rstrip("/")
        session = AiohttpSession(api=TelegramAPIServer.from_base(base))
    return Bot(settings.telegram_token.get_secret_value(), session=session)


def markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if reply.contact is not None:
        share = KeyboardButton(text=reply.contact.share, request_contact=True)
        return ReplyKeyboardMarkup(
            keyboard=[[share], [KeyboardButton(text=reply.contact.skip)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
    if not reply.buttons:
        return ReplyKeyboardRemove(remove_keyboard=True) if reply.remove_keyboard else None
    rows = translate.keyboard(reply.buttons)
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(**button) for button in row] for row in rows]
    )


async def send_evidence(
    bot: Bot, chat_id: int | str, reply: Reply, media_dir: Path | None = None
) -> None:
    """The reply's photos (one by sendPhoto, several as an album) and place, before its text."""
    inputs = [
        FSInputFile(item) if isinstance(item, Path) else item
        for item in translate.photo_inputs(reply, media_dir)
    ]
    for album in translate.albums(inputs):
        if len(album) == 1:
            await bot.send_photo(chat_id, album[0])
        else:
            await bot.send_media_group(chat_id, [InputMediaPhoto(media=item) for item in album])
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
        picture = BufferedInputFile(reply.image, filename="chart.png")
        await bot.send_photo(chat_id, picture, caption=caption, reply_markup=keyboard)
        if caption is not None:
            return
    pieces = translate.split_text(reply.text)
    for index, piece in enumerate(pieces):
        # The buttons go with the last piece, under the text they answer.
        last = index == len(pieces) - 1
        await bot.send_message(chat_id, piece, reply_markup=keyboard if last else None)


def build_dispatcher(deps: Deps, locks: ChatLocks, media_dir: Path | None = None) -> Dispatcher:
    """The root router: messages of any kind and button presses, all to the same handlers."""
    router = Router(name="minhu")

    @router.message()
    async def on_message(message: Message, bot: Bot, event_update: Update) -> None:
        await _answer(deps, locks, bot, event_update, media_dir)

    @router.callback_query()
    async def on_press(query: CallbackQuery, bot: Bot, event_update: Update) -> None:
        # Stop the client's spinner first: the answer may take a database round trip.
        try:
            await query.answer()
        except TelegramAPIError:
            log.warning("answering callback query of update %s failed", event_update.update_id)
        await _answer(deps, locks, bot, event_update, media_dir)

    # The conversation state lives in MinHu's database (handlers), so aiogram's own per-chat FSM
    # context, built for every update, would only cost time.
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.include_router(router)
    return dispatcher


async def _answer(
    deps: Deps, locks: ChatLocks, bot: Bot, update: Update, media_dir: Path | None
) -> None:
    event = translate.incoming(update)
    if event is None:
        return
    # The replies go out under the lock too, so a chat reads them in the order of its updates.
    async with locks.hold(event.chat_id):
        outcome = await handle(deps, event)
        await send_replies(deps, AiogramSender(bot, media_dir), event, outcome.replies)


async def set_menu(bot: Bot) -> None:
    for language, commands in menus().items():
        await bot.set_my_commands(
            [BotCommand(command=name, description=text) for name, text in commands],
            language_code=language,
        )


async def set_chat_menu(bot: Bot, chat_id: str, body: Mapping[str, Any]) -> None:
    """A person's own menu for their chat; a resident's chat goes back to the default menu."""
    role, commands = chat_menu(body)
    scope = BotCommandScopeChat(chat_id=chat_id)
    if role == Role.RESIDENT:
        await bot.delete_my_commands(scope=scope)
    else:
        menu = [BotCommand(command=name, description=text) for name, text in commands]
        await bot.set_my_commands(menu, scope=scope)


class AiogramSender:
    """The outbox's way out through aiogram, with Telegram's errors sorted for the loop."""

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
        except TelegramRetryAfter as error:
            raise RetryAfter(error.retry_after) from error
        except (TelegramForbiddenError, TelegramMigrateToChat) as error:
            raise ChatUnreachable(error.message) from error
        except TelegramBadRequest as error:
            # "chat not found" and every other 400: the same request cannot succeed later.
            raise ChatUnreachable(error.message) from error
        except (TimeoutError, TelegramAPIError, aiohttp.ClientError, OSError) as error:
            # Kept with the message and shown to staff: an HTTP error's text may hold the URL,
            # and the token is in the URL.
            raise TemporaryFailure(redact(str(error), [self.bot.token])) from error


class AiogramChannel:
    """One bot served by aiogram: `mount` the webhook route (webhook mode), then `run`."""

    def __init__(self, settings: Settings, deps: Deps, locks: ChatLocks) -> None:
        self.settings = settings
        self.bot = make_bot(settings)
        self.deps = deps
        self.dispatcher = build_dispatcher(deps, locks, settings.media_dir)
        self.sender = AiogramSender(self.bot, settings.media_dir)
        self.ready = asyncio.Event()  # set once the menu is set and updates can come in

    def mount(self, app: web.Application) -> None:
        secret = self.settings.webhook_secret
        handler = SimpleRequestHandler(
            self.dispatcher,
            self.bot,
            # Telegram waits for the answer, so a process that dies mid-update gets it redelivered
            # (the recorded update id keeps the second attempt from acting twice).
            handle_in_background=False,
            secret_token=secret.get_secret_value() if secret else None,
        )
        handler.register(app, path=webhook_path(self.settings))

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await set_menu(self.bot)
            await queue_chat_menus(self.deps)
            if self.settings.webhook_url is None:
                await self._poll(stop)
            else:
                await self._webhook(stop)
        finally:
            await self.bot.session.close()

    async def _poll(self, stop: asyncio.Event) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        self.ready.set()
        polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                allowed_updates=translate.ALLOWED_UPDATES,
                handle_signals=False,
                close_bot_session=False,
            )
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not polling.done():
            try:
                await self.dispatcher.stop_polling()
            except RuntimeError:
                # Stopped before polling had begun: nothing to wind down but the task.
                polling.cancel()
        await asyncio.wait({polling})
        if not polling.cancelled():
            polling.result()  # a polling failure surfaces here

    async def _webhook(self, stop: asyncio.Event) -> None:
        secret = self.settings.webhook_secret
        await self.bot.set_webhook(
            str(self.settings.webhook_url),
            secret_token=secret.get_secret_value() if secret else None,
            allowed_updates=translate.ALLOWED_UPDATES,
        )
        self.ready.set()
        # The webhook stays set on stop: other processes behind it keep serving the bot.
        await stop.wait()


def webhook_path(settings: Settings) -> str:
    """The route is the path of the public URL (e.g. https://bot.example.org/telegram/webhook),
    so a reverse proxy passes it through as is."""
    return (settings.webhook_url.path if settings.webhook_url else None) or "/"
