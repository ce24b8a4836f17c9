"""The process's log format: secrets masked, exception messages withheld, frameworks quiet."""

from __future__ import annotations

import logging
import sys

import pytest

from bot.logs import FRAMEWORK_LOGGERS, SafeFormatter, configure_logging, redact, secrets_of
from bot.settings import Settings

TOKEN = "7214839561:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
PRIVATE = "王秀英 13912345678"


def test_secrets_and_anything_shaped_like_a_token_are_masked():
    other_bot = "5550001111:BBHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
    line = f"POST /bot{TOKEN}/getMe and /bot{other_bot}/x with pw hunter2-long"
    masked = redact(line, ["hunter2-long"])
    assert TOKEN not in masked and other_bot not in masked and "hunter2" not in masked
    assert masked == "POST /bot***/getMe and /bot***/x with pw ***"


def test_the_settings_name_their_secrets():
    settings = Settings(
        _env_file=None,
        telegram_token=TOKEN,
        database_url="postgresql://minhu:db-pass-1@127.0.0.1/minhu",
        redis_url="redis://:redis-pass-2@127.0.0.1:6379/0",
    )
    assert set(secrets_of(settings)) == {TOKEN, "db-pass-1", "redis-pass-2"}


def test_a_logged_traceback_keeps_its_frames_but_not_its_message():
    formatter = SafeFormatter("%(levelname)s %(message)s", [TOKEN])

    def store_complaint(text: str) -> None:
        raise ValueError(f"invalid input: {text!r}")  # as a driver quotes a value

    try:
        store_complaint(PRIVATE)
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, None)
        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "store_complaint" in text and "builtins.ValueError (message withheld)" in text
    assert "13912345678" not in text and "王秀英" not in text


@pytest.fixture
def restore_levels():
    saved = {name: logging.getLogger(name).level for name in (*FRAMEWORK_LOGGERS, "")}
    handlers = list(logging.getLogger().handlers)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)


def test_frameworks_stay_at_warning_unless_named(restore_levels):
    configure_logging(Settings(_env_file=None, log_level="DEBUG", log_verbose=["httpx"]))
    assert logging.getLogger("telegram.ext").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("aiogram.event").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("bot.delivery").getEffectiveLevel() == logging.DEBUG
