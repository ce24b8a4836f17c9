"""The process's log: one line per event on stderr, with secrets and messages kept out.

- The frameworks' own loggers (python-telegram-bot, aiogram, httpx, aiohttp, SQLAlchemy…) stay at
  WARNING unless named in MINHU_LOG_VERBOSE: at DEBUG they print every Bot API request (the token
  is in its URL) and every update (residents' names, phones and words).
- Whatever a line says, the bot's token, the webhook secret and the passwords in the database and
  Redis URLs are masked, and so is anything shaped like a Bot API token.
- A traceback keeps its frames and exception kinds but not their messages
  (`handlers.faults.describe_fault`): an error's message may quote a resident's words.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from sqlalchemy.engine import make_url

from bot.settings import Settings
from handlers.faults import describe_fault

# The loggers of the libraries MinHu runs on; their children follow them.
FRAMEWORK_LOGGERS = (
    "aiogram",
    "telegram",
    "httpx",
    "httpcore",
    "aiohttp",
    "asyncio",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "redis",
    "alembic",
    "apscheduler",
    "matplotlib",
    "PIL",
)
# A Bot API token: the bot's numeric id, a colon, then 30-odd letters, digits, _ and -.
_TOKEN_SHAPE = re.compile(r"(?<![0-9])[0-9]{3,}:[A-Za-z0-9_-]{30,}")
MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret, and anything shaped like a bot token, replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return _TOKEN_SHAPE.sub(MASK, text)


def secrets_of(settings: Settings) -> list[str]:
    """The configured values no log line may show, longest first (one may contain another)."""
    found = [
        secret.get_secret_value()
        for secret in (settings.telegram_token, settings.webhook_secret)
        if secret is not None
    ]
    for url in (settings.database_url, settings.redis_url):
        password = _password(url)
        if password:
            found.append(password)
    return sorted(found, key=len, reverse=True)


def _password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return make_url(url).password
    except Exception:  # not every URL SQLAlchemy can read (redis://…) must parse: mask none
        return None


class SafeFormatter(logging.Formatter):
    """Masks the secrets in every line; tracebacks keep their frames, not their messages."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)

    def formatException(self, ei) -> str:
        return describe_fault(ei[1]) if ei and ei[1] is not None else ""


def configure_logging(settings: Settings) -> None:
    """The root logger at MINHU_LOG_LEVEL through one SafeFormatter on stderr; the frameworks
    at WARNING unless MINHU_LOG_VERBOSE names them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets_of(settings))
    )
    root = logging.getLogger()
    for old in list(root.handlers):  # ours from an earlier call; others' handlers stay
        if isinstance(old.formatter, SafeFormatter):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    verbose = set(settings.log_verbose)
    level = logging.getLevelName(settings.log_level)
    for name in FRAMEWORK_LOGGERS:
        logging.getLogger(name).setLevel(level if name in verbose else max(level, logging.WARNING))
