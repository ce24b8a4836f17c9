"""Before serving: do the outside parts the configuration names answer? Each failure is a
`StartupProblem` of one line naming the setting to fix, never echoing a secret; `minhu` prints it
and exits with status 2 instead of starting half-working."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from bot.settings import Settings

# Long enough for a slow network, short enough that a typo is told at once.
CHECK_SECONDS = 10.0


class StartupProblem(Exception):
    """A setting that cannot be used; the message is the one line to show."""


async def check_outside_parts(settings: Settings) -> None:
    """Redis, when configured; the Bot API with the bot's token, when one is set."""
    if settings.redis_url:
        await check_redis(settings.redis_url)
    if settings.telegram_token is not None:
        await check_telegram_token(settings)


async def check_redis(url: str) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(url, socket_connect_timeout=CHECK_SECONDS)
    except ValueError:
        raise StartupProblem(
            "MINHU_REDIS_URL: not a Redis URL (redis://host:6379/0, rediss://… or unix://…)"
        ) from None
    try:
        await asyncio.wait_for(client.ping(), CHECK_SECONDS)
    except (RedisError, OSError, TimeoutError) as error:
        where = urlsplit(url).hostname or url.split("://")[0]
        raise StartupProblem(
            f"MINHU_REDIS_URL: Redis at {where} does not answer ({type(error).__name__})"
        ) from None
    finally:
        await client.aclose()


async def check_telegram_token(settings: Settings) -> None:
    """getMe with the token. The Bot API is the same whichever framework serves the updates,
    so aiogram's client asks for both."""
    from aiogram.exceptions import (
        TelegramNetworkError,
        TelegramNotFound,
        TelegramUnauthorizedError,
    )

    from bot.telegram.aiogram_adapter import make_bot

    bot = make_bot(settings)
    where = str(settings.telegram_api_base or "https://api.telegram.org")
    try:
        await asyncio.wait_for(bot.get_me(), CHECK_SECONDS)
    except (TelegramUnauthorizedError, TelegramNotFound):
        raise StartupProblem(
            "MINHU_TELEGRAM_TOKEN: the Bot API refused this token (wrong or revoked); "
            "@BotFather gives the bot's current one"
        ) from None
    except (TelegramNetworkError, TimeoutError, OSError) as error:
        raise StartupProblem(
            f"cannot reach the Telegram Bot API at {where} ({type(error).__name__})"
        ) from None
    finally:
        await bot.session.close()
