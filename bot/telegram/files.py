"""Fetching a file a Telegram user sent, by its file id (Bot API getFile, then the file's
download address), so the web console can show Telegram's photos. Plain HTTP: the Bot API is
the same whichever framework serves the updates."""

from __future__ import annotations

import logging

import aiohttp

from bot.settings import Settings

log = logging.getLogger(__name__)
TELEGRAM_API = "https://api.telegram.org"
MAX_FILE = 20 * 1024 * 1024  # the Bot API's own limit for getFile downloads
TIMEOUT = aiohttp.ClientTimeout(total=30)


async def fetch_telegram_file(settings: Settings, file_id: str) -> bytes | None:
    """The file's bytes, or None: no token, an unknown file id, or Telegram did not answer
    (logged without the token, which is part of the address)."""
    if settings.telegram_token is None:
        return None
    token = settings.telegram_token.get_secret_value()
    base = str(settings.telegram_api_base or TELEGRAM_API).rstrip("/")
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            async with http.get(f"{base}/bot{token}/getFile", params={"file_id": file_id}) as got:
                answer = await got.json(content_type=None)
            path = (answer.get("result") or {}).get("file_path") if answer.get("ok") else None
            if not path:
                return None
            async with http.get(f"{base}/file/bot{token}/{path}") as download:
                if download.status != 200:
                    return None
                data = await download.content.read(MAX_FILE + 1)
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        log.warning("fetching a Telegram file failed: %s", type(error).__name__)
        return None
    return data if len(data) <= MAX_FILE else None
