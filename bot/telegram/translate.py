"""Telegram updates in, channel-neutral events out, and replies back to Bot API fields.

aiogram and python-telegram-bot model the Bot API with the same attribute names (`from_user`,
`chat.id`, `photo[-1].file_id` …), so one translation serves both adapters without importing
either framework.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.media import MEDIA_PREFIX, stored_photo
from handlers.events import Button, Incoming, Kind, Reply

CHANNEL = "telegram"
# The update kinds MinHu reads; everything else is not even fetched.
ALLOWED_UPDATES = ["message", "callback_query"]
# Bot API limits: a message's text and a photo's caption.
MAX_TEXT, MAX_CAPTION = 4096, 1024
MAX_CALLBACK_DATA = 64
MAX_ALBUM = 10  # photos in one sendMediaGroup


def incoming(update: Any) -> Incoming | None:
    """The event for one update, or None for updates MinHu does not answer (edits, channel
    posts, messages without a sender)."""
    if update.callback_query is not None:
        return _pressed(update.update_id, update.callback_query)
    message = update.message
    if message is None or message.from_user is None:
        return None
    user = message.from_user
    common = {
        "channel": CHANNEL,
        "user_id": str(user.id),
        "chat_id": str(message.chat.id),
        "update_id": update.update_id,
        "display_name": user.full_name,
        "language": user.language_code,
    }
    if message.text is not None:
        command, rest = _command(message.text)
        if command is not None:
            return Incoming(kind=Kind.COMMAND, command=command, text=rest, **common)
        return Incoming(kind=Kind.TEXT, text=message.text, **common)
    if message.photo:
        # Telegram sends several sizes, smallest first; the largest is the evidence.
        photo = message.photo[-1].file_id
        return Incoming(kind=Kind.PHOTO, photo=photo, text=message.caption or "", **common)
    if message.contact is not None:
        phone = message.contact.phone_number
        return Incoming(kind=Kind.CONTACT, phone=phone, **common)
    if message.location is not None:
        location = message.location
        return Incoming(
            kind=Kind.LOCATION,
            latitude=location.latitude,
            longitude=location.longitude,
            **common,
        )
    return Incoming(kind=Kind.OTHER, **common)


def _pressed(update_id: int, query: Any) -> Incoming:
    message = query.message
    user = query.from_user
    chat_id = message.chat.id if message is not None else user.id
    return Incoming(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(chat_id),
        kind=Kind.BUTTON,
        button=query.data or "",
        update_id=update_id,
        display_name=user.full_name,
        language=user.language_code,
    )


def _command(text: str) -> tuple[str | None, str]:
    """`/ticket@minhu_bot 2026-0001` → ("ticket", "2026-0001"); not a command → (None, text)."""
    if not text.startswith("/") or len(text) == 1:
        return None, text
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    if not name:
        return None, text
    return name, rest.strip()


def keyboard(buttons: tuple[tuple[Button, ...], ...]) -> list[list[dict[str, str]]]:
    """Inline keyboard rows in Bot API shape. Callback data is made by handlers/buttons.py and
    checked again here: a button Telegram would refuse must fail loudly, not vanish."""
    rows = []
    for row in buttons:
        for button in row:
            if len(button.data.encode()) > MAX_CALLBACK_DATA:
                raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes")
        rows.append([{"text": b.text, "callback_data": b.data} for b in row])
    return rows


def reply_from_body(body: Any) -> Reply:
    """An outbox body ({"text", "buttons"}) as a reply."""
    return Reply.from_body(dict(body))


def split_text(text: str) -> list[str]:
    """Text in pieces Telegram accepts; handlers keep messages short, this is the safety net."""
    if not text:
        return [" "]
    return [text[start : start + MAX_TEXT] for start in range(0, len(text), MAX_TEXT)]


def photo_inputs(reply: Reply, media_dir: Path | None) -> list[str | Path]:
    """The reply's photos as Bot API input: a Telegram file id as it is (Telegram sends the very
    photo it received), a web chat photo as its stored file to upload; one whose file is gone
    is left out rather than failing the whole message."""
    inputs: list[str | Path] = []
    for ref in reply.photos:
        if ref.startswith(MEDIA_PREFIX):
            path = stored_photo(media_dir, ref)
            if path is not None:
                inputs.append(path)
        elif ref:
            inputs.append(ref)
    return inputs


def albums(inputs: list[Any]) -> list[list[Any]]:
    """Photos in groups Telegram accepts in one sendMediaGroup (2 to 10); a group of one goes
    by sendPhoto."""
    return [inputs[start : start + MAX_ALBUM] for start in range(0, len(inputs), MAX_ALBUM)]
