"""Photos sent on the web chat, kept on disk under their SHA-256 and referred to as
"web:<sha256>.<kind>" (in a ticket's attachments, a draft, a message body)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

MEDIA_PREFIX = "web:"
MEDIA_REF = re.compile(r"web:([0-9a-f]{64}\.(?:jpg|png|webp))")


def stored_photo(media_dir: Path | None, ref: str) -> Path | None:
    """The file behind a web chat photo reference, or None: not a web reference, no folder
    given, or the file is gone. Only names of the exact form are looked up (no paths)."""
    match = MEDIA_REF.fullmatch(ref)
    if match is None or media_dir is None:
        return None
    path = media_dir / match.group(1)
    return path if path.is_file() else None


def media_url(ref: str) -> str:
    """Where the web console loads a photo reference from: a web chat photo from disk, a
    Telegram photo through the Bot API (bot/web/chat.py serves both, to those allowed)."""
    if ref.startswith(MEDIA_PREFIX):
        return "/media/" + ref.removeprefix(MEDIA_PREFIX)
    return "/media/telegram/" + quote(ref, safe="")


def map_link(ticket: Any) -> str | None:
    """An OpenStreetMap address for the place the resident shared, or None."""
    if ticket.latitude is None or ticket.longitude is None:
        return None
    lat, lon = ticket.latitude, ticket.longitude
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"
    )
