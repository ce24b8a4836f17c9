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
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import String, and_, cast, update
from sqlmodel import col, select

from bot.media import MEDIA_PREFIX, MEDIA_REF, media_url, stored_photo
from bot.telegram.files import fetch_telegram_file
from bot.web.pages import (
    MAX_UPLOAD,
    client_address,
    console,
    locale_of,
    message_page,
    render,
    set_cookie,
    too_many,
    viewer,
)
from bot.web.texts import web_text
from bot.wiring import Services
from handlers.dispatch import COMMANDS, handle
from handlers.events import Incoming, Kind, Reply
from handlers.menus import role_menu
from storage.models import ConversationState, OutboxMessage, Person, Ticket
from tickets.lifecycle import Role
from tickets.queries import may_see_photo

CHANNEL = "web"
RESIDENT_COOKIE = "minhu_resident"
DEMO_RESIDENT_PREFIX = "resident-"
NEW_RESIDENT_PREFIX = "web-"
MAX_JSON = 64 * 1024  # one message or button press is far smaller
# A photo is kept this long before it must belong to a ticket or a draft (a photo being handled
# right now is not yet written anywhere).
ORPHAN_AFTER = timedelta(days=1)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/chat", chat_page)
    router.add_post("/chat/send", send)
    router.add_get("/chat/inbox", inbox)
    router.add_post("/chat/persona", pick_persona)
    router.add_post("/chat/photo", send_photo)
    router.add_get("/media/telegram/{file_id}", telegram_media)
    router.add_get("/media/{name}", media)


@dataclass(frozen=True)
class Speaker:
    user_id: str
    shown_as: str
    # A resident cookie nobody has spoken with yet: the first message makes a new resident.
    new: bool = False


async def _speaker(request: web.Request) -> Speaker | None:
    """Whoever this browser speaks as, or None if its resident cookie names someone who must
    sign in."""
    person = viewer(request)
    if person is not None and person.channel == CHANNEL:
        return Speaker(person.channel_user_id, person.display_name or person.channel_user_id)
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
            return Speaker(user_id, found.display_name)
    return Speaker(user_id, web_text(locale_of(request), "chat_resident"), new=found is None)


async def chat_page(request: web.Request) -> web.Response:
    speaker = await _speaker(request)
    new_cookie = None
    if speaker is None:
        new_cookie = NEW_RESIDENT_PREFIX + secrets.token_urlsafe(18)
        speaker = Speaker(new_cookie, web_text(locale_of(request), "chat_resident"), new=True)
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
    role, locale = _role_and_locale(request)
    response = render(
        request,
        "chat.html",
        menu=role_menu(COMMANDS, role, locale),
        hint=web_text(locale, PLACEHOLDERS[role]),
        who=speaker.shown_as,
        demo=console(request).demo_personas,
        residents=residents,
        current=speaker.user_id,
    )
    if new_cookie:
        _set_resident(request, response, new_cookie)
    return response


# The composer's hint for each role: residents describe a problem, the others act by command.
PLACEHOLDERS = {
    Role.RESIDENT: "placeholder",
    Role.WORKER: "placeholder_worker",
    Role.STAFF: "placeholder_staff",
    Role.ADMIN: "placeholder_staff",
    Role.DEPARTMENT: "placeholder_department",
}


def _role_and_locale(request: web.Request) -> tuple[Role, str]:
    """Whose menu the page shows: a signed-in web account's own, else a resident's (a resident
    cookie never speaks for anyone else)."""
    person = viewer(request)
    if person is not None and person.channel == CHANNEL:
        return Role(person.role), locale_of(request)
    return Role.RESIDENT, locale_of(request)


def _set_resident(request: web.Request, response: web.StreamResponse, user_id: str) -> None:
    set_cookie(request, response, RESIDENT_COOKIE, user_id, max_age=365 * 86400)


async def pick_persona(request: web.Request) -> web.Response:
    """Speak as a demo resident (loopback consoles only)."""
    form = await request.post()
    user_id = str(form.get("resident", ""))
    if not console(request).demo_personas or not user_id.startswith(DEMO_RESIDENT_PREFIX):
        return message_page(request, "forbidden", 403)
    response = web.HTTPFound("/chat")
    _set_resident(request, response, user_id[:64])
    raise response


async def send(request: web.Request) -> web.Response:
    """One message or button press from the page; the replies come back as JSON."""
    speaker = await _speaker(request)
    if speaker is None:
        return web.json_response(
            {"error": web_text(locale_of(request), "sign_in_needed")}, status=403
        )
    try:
        body = json.loads(await _small_body(request))
        event = _event(speaker.user_id, body, locale_of(request))
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's stack; OverflowError: a number
        # too large for a float.
        return web.json_response({"error": web_text(locale_of(request), "bad_message")}, status=400)
    refused = await _new_resident_refused(request, speaker)
    if refused is not None:
        return refused
    outcome = await handle(console(request).deps, event)
    return web.json_response({"replies": [_reply_json(reply) for reply in outcome.replies]})


async def _small_body(request: web.Request) -> bytes:
    """The request's body, or ValueError past MAX_JSON (the server's limit is a photo's size)."""
    if request.content_length is not None and request.content_length > MAX_JSON:
        raise ValueError("too long")
    body = await request.content.read(MAX_JSON + 1)
    if len(body) > MAX_JSON:
        raise ValueError("too long")
    return body


async def _new_resident_refused(request: web.Request, speaker: Speaker) -> web.Response | None:
    """A 429 when this address has started too many new residents lately: a resident's own
    ticket limit would mean nothing to a browser that drops its cookie before each complaint."""
    if not speaker.new:
        return None
    here = console(request)
    checks = here.limits.new_resident(client_address(request))
    verdict = await here.limiter.hit(checks, here.services.policy.clock.now())
    return None if verdict.allowed else too_many(request, verdict, "too_many_new_residents")


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
    # Whole: a text over the limit is refused by the conversations with its true length (the
    # request's size is bounded by MAX_JSON).
    text = str(body["text"]).strip()
    if not text:
        raise ValueError("empty")
    if text.startswith("/"):
        command, _, rest = text[1:].partition(" ")
        return Incoming(kind=Kind.COMMAND, command=command.lower(), text=rest.strip(), **common)
    return Incoming(kind=Kind.TEXT, text=text, **common)


def _reply_json(reply: Reply) -> dict[str, Any]:
    shown = shown_body(reply.to_body())
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
                    OutboxMessage.chat_id == speaker.user_id,
                    # Not before its time: a proposal held back until a burst is over.
                    col(OutboxMessage.next_attempt_at) <= now,
                )
            )
            .values(sent_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id, OutboxMessage.body)
        )
        rows = sorted(claimed.all())
        await session.commit()
    return web.json_response({"messages": [shown_body(body) for _, body in rows]})


# The first bytes of the picture formats a phone sends; anything else is refused.
_IMAGE_KINDS = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}
_MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# Telegram's file ids: URL-safe base64 letters.
_TELEGRAM_FILE_ID = re.compile(r"[A-Za-z0-9_\-]{1,200}")


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
    refused = await _new_resident_refused(request, speaker) or await _photo_refused(
        request, speaker
    )
    if refused is not None:
        return refused
    name = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    folder = console(request).media_dir
    await asyncio.to_thread(_store, folder, name, data)
    event = Incoming(
        channel=CHANNEL,
        user_id=speaker.user_id,
        chat_id=speaker.user_id,
        kind=Kind.PHOTO,
        photo=MEDIA_PREFIX + name,
        text=str(form.get("caption", "")).strip(),
        language=locale,
    )
    outcome = await handle(console(request).deps, event)
    return web.json_response({"replies": [_reply_json(reply) for reply in outcome.replies]})


async def _photo_refused(request: web.Request, speaker: Speaker) -> web.Response | None:
    """A 429 past the photos one resident, or one address, may send in an hour: each is kept
    on disk, up to 5 MB."""
    here = console(request)
    checks = here.limits.photo(speaker.user_id, client_address(request))
    verdict = await here.limiter.hit(checks, here.services.policy.clock.now())
    return None if verdict.allowed else too_many(request, verdict, "too_many_photos")


def _store(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():  # named by content: the same photo twice is one file
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)


async def media(request: web.Request) -> web.StreamResponse:
    """A photo sent on the web chat, for those who may see a ticket that holds it: its
    resident, and the workers and staff handling it (residents' photos are personal)."""
    name = request.match_info["name"]
    path = stored_photo(console(request).media_dir, MEDIA_PREFIX + name)
    if path is None:
        raise web.HTTPNotFound()
    await _check_photo(request, MEDIA_PREFIX + name)
    kind = name.rpartition(".")[2]
    return web.FileResponse(path, headers={"Content-Type": _MEDIA_TYPES[kind]})


async def telegram_media(request: web.Request) -> web.StreamResponse:
    """A photo a Telegram user sent, fetched from the Bot API by its file id (getFile), for
    the same people as `media`: so the web chat and the ticket page show Telegram's evidence."""
    file_id = request.match_info["file_id"]
    if not _TELEGRAM_FILE_ID.fullmatch(file_id):
        raise web.HTTPNotFound()
    await _check_photo(request, file_id)
    data = await fetch_telegram_file(console(request).services.settings, file_id)
    kind = _image_kind(data) if data is not None else None
    if kind is None:
        raise web.HTTPNotFound()
    return web.Response(body=data, headers={"Content-Type": _MEDIA_TYPES[kind]})


async def _check_photo(request: web.Request, ref: str) -> None:
    person = viewer(request) or await _cookie_resident(request)
    if person is None:
        raise web.HTTPForbidden()
    async with console(request).services.sessions() as session:
        if not await may_see_photo(session, person, ref):
            raise web.HTTPForbidden()


async def _cookie_resident(request: web.Request) -> Person | None:
    speaker = await _speaker(request)
    if speaker is None or speaker.new:
        return None
    async with console(request).services.sessions() as session:
        query = select(Person).where(
            Person.channel == CHANNEL, Person.channel_user_id == speaker.user_id
        )
        return (await session.exec(query)).first()


def shown_body(body: dict[str, Any]) -> dict[str, Any]:
    """A message body as the page shows it: photo references become addresses."""
    photos = body.get("photos") or []
    if not photos:
        return body
    return {**body, "photos": [media_url(str(ref)) for ref in photos]}


async def remove_orphan_photos(services: Services, folder: Path) -> int:
    """Delete the stored photos older than ORPHAN_AFTER that no ticket and no draft refers to
    (the resident gave up, or the message was refused after the upload); how many."""
    cutoff = (services.policy.clock.now() - ORPHAN_AFTER).timestamp()
    old = await asyncio.to_thread(_old_media, folder, cutoff)
    if not old:
        return 0
    kept = await _referenced_media(services)
    orphans = [path for path in old if path.name not in kept]
    await asyncio.to_thread(_unlink_all, orphans)
    return len(orphans)


def _old_media(folder: Path, cutoff: float) -> list[Path]:
    if not folder.is_dir():
        return []
    return [
        path
        for path in folder.iterdir()
        if MEDIA_REF.fullmatch(MEDIA_PREFIX + path.name) and path.stat().st_mtime < cutoff
    ]


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


async def _referenced_media(services: Services) -> set[str]:
    """The photo names tickets and conversation states refer to (the JSON searched as text)."""
    found: set[str] = set()
    async with services.sessions() as session:
        for column in (Ticket.attachments, ConversationState.data):
            as_text = cast(column, String)
            rows = await session.exec(select(as_text).where(as_text.like("%web:%")))
            for value in rows.all():
                found.update(MEDIA_REF.findall(value or ""))
    return found
