"""aiogram's Bot API answer models stay built for the life of the process, once the bot has
called the method."""

from __future__ import annotations

import gc
import weakref

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.methods.base import Response

from bot.settings import Settings
from bot.telegram.aiogram_adapter import make_bot


def _answer_model() -> weakref.ref:
    # Parametrised inside a function, as aiogram does for every answer: a module-level
    # subscription would be kept alive by the module's globals and prove nothing.
    return weakref.ref(Response[SendMessage.__returning__])


async def _send_through_the_session(bot: Bot) -> None:
    """A sendMessage through the bot's request middlewares, answered here instead of by HTTP."""

    async def bot_api(_bot: Bot, _method: SendMessage, **_options: object) -> None:
        return None

    chain = bot.session.middleware.wrap_middlewares(bot_api, timeout=None)
    await chain(bot, SendMessage(chat_id=42, text="您好"))


async def test_the_send_message_answer_model_survives_a_full_collection():
    bot = make_bot(Settings(_env_file=None, telegram_token="1:minhu"))
    await _send_through_the_session(bot)
    model = _answer_model()
    gc.collect()
    assert model() is not None, "pydantic dropped Response[Message]: the next send rebuilds it"
    assert _answer_model()() is model()
    await bot.session.close()
