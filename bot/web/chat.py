"""The chat page: the same channel-neutral conversations as Telegram, on channel "web".

Who is speaking:
* a signed-in worker or staff member whose account is on channel "web" speaks as themselves;
* anyone else is a resident identified by an HttpOnly cookie: a random id for a new browser, or a
  demo resident picked on the persona list (only on a loopback console). A cookie never speaks for
  a worker or staff account: those must sign in.

Messages for the speaker from other people's actions (the outbox rows of channel "web") are
claimed when the page polls /chat/inbox and shown once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import and_, update
from sqlmodel import col, select

from bot.web.app import MAX_UPLOAD, console, locale_of, message_page, render, viewer
from bot.web.texts import web_text
from handlers.dispatch import handle
from handlers.events import Incoming, Kind, Reply
from storage.models import OutboxMessage, Person
from tickets.lifecycle import Role

CHANNEL = "web"
RESIDENT_COOKIE = "minhu_resident"
DEMO_RESIDENT_PREFIX = "resident-"
NEW_RESIDENT_PREFIX = "web-"
MAX_TEXT = 4096


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/chat", chat_page)
    router.add_post("/chat/send", send)
    router.add_get("/chat/inbox", inbox)
    router.add_post("/chat/persona", pick_persona)
    router.add_post("/chat/photo", send_photo)
    router.add_get("/media/{name}", media)


async def _speaker(request: web.Request) -> tuple[str, str] | None:
    """(user id, how to call them) of whoever this browser speaks as, or None if its resident
    cookie names someone who must sign in."""
    person = viewer(request)
    if person is not None and person.channel == CHANNEL:
        return person.channel_user_id, person.display_name or person.channel_user_id
    user_id = request.cookies.get(RESIDENT_COOKIE)
    if not user_id:
        return None
    async with console(request).services.sessions() as session:
        found = (
            await session.exec(
                select(Person).where(Person.channel == CHANNEL, Person.channel_user_id == user_id)
            )
        ).first()
    if found is not None and Role(found.role) is not Role.RESIDENT:
        return None
    if user_id.startswith(DEMO_RESIDENT_PREFIX):
        if not console(request).demo_personas:
            return None
        # A demo persona's made-up name, so the person at the console knows who they play.
        if found is not None and found.display_name:
            return user_id, found.display_name
    return user_id, web_text(locale_of(request), "chat_resident")


async def chat_page(request: web.Request) -> web.Response:
    speaker = await _speaker(request)
    new_cookie = None
    if speaker is None:
        new_cookie = NEW_RESIDENT_PREFIX + secrets.token_urlsafe(18)
        speaker = (new_cookie, web_text(locale_of(request), "chat_resident"))
    residents: list[Person] = []
    if console(request).demo_personas:
        async with console(request).services.sessions() as session:
            residents = list(
                (
                    await session.exec(
                        select(Person)
                        .where(
                            Person.channel == CHANNEL,
                            Person.role == Role.RESIDENT,
                            col(Person.channel_user_id).startswith(DEMO_RESIDENT_PREFIX),
                        )
                        .order_by(col(Person.channel_user_id))
                        .limit(12)
                    )
                ).all()
            )
    response = render(
        request,
        "chat.html",
        who=speaker[1],
        demo=console(request).demo_personas,
        residents=residents,
        current=speaker[0],
    )
    if new_cookie:
        _set_resident(response, new_cookie)
    return response


def _set_resident(response: web.StreamResponse, user_id: str) -> None:
    response.set_cookie(
        RESIDENT_COOKIE, user_id, httponly=True, samesite="Lax", max_age=365 * 86400
    )


async def pick_persona(request: web.Request) -> web.Response:
    """Speak as a demo resident (loopback consoles only)."""
    form = await request.post()
    user_id = str(form.get("resident", ""))
    if not console(request).demo_personas or not user_id.startswith(DEMO_RESIDENT_PREFIX):
        return message_page(request, "forbidden", 403)
    response = web.HTTPFound("/chat")
    _set_resident(response, user_id[:64])
    raise response


async def send(request: web.Request) -> web.Response:
    """One message or button press from the page; the replies come back as JSON."""
    speaker = await _speaker(request)
    if speaker is None:
        return web.json_response(
            {"error": web_text(locale_of(request), "sign_in_needed")}, status=403
        )
    try:
        body = await request.json()
        event = _event(speaker[0], body, locale_of(request))
    except (ValueError, TypeError, KeyError):
        return web.json_response({"error": web_text(locale_of(request), "bad_message")}, status=400)
    outcome = await handle(console(request).deps, event)
    return web.json_response({"replies": [_reply_json(reply) for reply in outcome.replies]})


def _event(user_id: str, body: Any, language: str) -> Incoming:
    if not isinstance(body, dict):
        raise ValueError("not an object")
    # The page numbers its messages at random, so a double-sent request is handled once.
    update_id = body.get("id")
    if update_id is not None and not (isinstance(update_id, int) and 0 < update_id < 2**53):
        raise ValueError("bad id")
    common = {
        "channel": CHANNEL,
        "user_id": user_id,
        "chat_id": user_id,
        "update_id": update_id,
        "language": language,
    }
    if "button" in body:
        return Incoming(kind=Kind.BUTTON, button=str(body["button"])[:64], **common)
    if "latitude" in body:
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("not a place on earth")
        return Incoming(kind=Kind.LOCATION, latitude=latitude, longitude=longitude, **common)
    text = str(body["text"])[:MAX_TEXT].strip()
    if not text:
        raise ValueError("empty")
    if text.startswith("/"):
        command, _, rest = text[1:].partition(" ")
        return Incoming(kind=Kind.COMMAND, command=command.lower(), text=rest.strip(), **common)
    return Incoming(kind=Kind.TEXT, text=text, **common)


def _reply_json(reply: Reply) -> dict[str, Any]:
    shown = reply.to_body()
    if reply.image is not None:
        shown["image"] = "data:image/png;base64," + base64.b64encode(reply.image).decode()
    return shown


async def inbox(request: web.Request) -> web.Response:
    """Claim this chat's queued messages (from other people's actions) and return them once."""
    speaker = await _speaker(request)
    if speaker is None:
        return web.json_response({"messages": []})
    services = console(request).services
    now = services.policy.clock.now()
    async with services.sessions() as session:
        claimed = await session.exec(
            update(OutboxMessage)
            .where(
                and_(
                    col(OutboxMessage.sent_at).is_(None),
                    col(OutboxMessage.parked_at).is_(None),
                    OutboxMessage.channel == CHANNEL,
                    OutboxMessage.chat_id == speaker[0],
                )
            )
            .values(sent_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id, OutboxMessage.body)
        )
        rows = sorted(claimed.all())
        await session.commit()
    return web.json_response({"messages": [body for _, body in rows]})


# The first bytes of the picture formats a phone sends; anything else is refused.
_IMAGE_KINDS = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}
_MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
MEDIA_PREFIX = "web:"


def _image_kind(data: bytes) -> str | None:
    for magic, kind in _IMAGE_KINDS.items():
        if data.startswith(magic) and (kind != "webp" or data[8:12] == b"WEBP"):
            return kind
    return None


async def send_photo(request: web.Request) -> web.Response:
    """A photo (with an optional caption) from the page: stored under its SHA-256, then handled
    as a PHOTO event whose reference is "web:<name>"."""
    speaker = await _speaker(request)
    locale = locale_of(request)
    if speaker is None:
        return web.json_response({"error": web_text(locale, "sign_in_needed")}, status=403)
    try:
        form = await request.post()
    except (ValueError, web.HTTPRequestEntityTooLarge):
        return web.json_response({"error": web_text(locale, "bad_photo")}, status=400)
    upload = form.get("photo")
    data = upload.file.read(MAX_UPLOAD + 1) if hasattr(upload, "file") else b""
    kind = _image_kind(data)
    if kind is None or len(data) > MAX_UPLOAD:
        return web.json_response({"error": web_text(locale, "bad_photo")}, status=400)
    name = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    folder = console(request).media_dir
    await asyncio.to_thread(_store, folder, name, data)
    event = Incoming(
        channel=CHANNEL,
        user_id=speaker[0],
        chat_id=speaker[0],
        kind=Kind.PHOTO,
        photo=MEDIA_PREFIX + name,
        text=str(form.get("caption", ""))[:MAX_TEXT].strip(),
        language=locale,
    )
    outcome = await handle(console(request).deps, event)
    return web.json_response({"replies": [_reply_json(reply) for reply in outcome.replies]})


def _store(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():  # named by content: the same photo twice is one file
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)


async def media(request: web.Request) -> web.StreamResponse:
    """A stored photo, for signed-in workers and staff only (residents' photos are personal)."""
    person = viewer(request)
    name = request.match_info["name"]
    if person is None or Role(person.role) is Role.RESIDENT:
        return message_page(request, "sign_in_needed", 403)
    stem, _, kind = name.partition(".")
    if (
        len(stem) != 64
        or not all(c in "0123456789abcdef" for c in stem)
        or kind not in _MEDIA_TYPES
    ):
        raise web.HTTPNotFound()
    path = console(request).media_dir / name
    if not path.exists():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": _MEDIA_TYPES[kind]})
