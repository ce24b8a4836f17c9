"""Evidence (证据): the photos and the place that travel with a ticket's messages.

A resident's photos and shared location go to the people handling the ticket with the
assignment, the triage alert and the ticket card; the photos a worker sends with 办结 go to the
resident with the reply. Photos are kept by their channel reference (`Reply.photos`), so the
channel sends the very photo it received (Telegram: the same file id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from storage.models import Ticket

# Telegram shows at most 10 photos in one album; more would be a flood in anyone's chat.
MAX_SHOWN = 10
WORKER = "worker"


def photo_refs(attachments: Iterable[Mapping[str, Any]], *, by_worker: bool = False) -> tuple:
    """The photo references among `attachments`: the resident's, or (`by_worker`) the
    worker's resolution photos."""
    refs = [
        str(a["ref"])
        for a in attachments
        if a.get("kind") == "photo" and a.get("ref") and (a.get("by") == WORKER) is by_worker
    ]
    return tuple(refs[:MAX_SHOWN])


def resident_photos(ticket: Ticket) -> tuple[str, ...]:
    return photo_refs(ticket.attachments or ())


def worker_photos(ticket: Ticket) -> tuple[str, ...]:
    return photo_refs(ticket.attachments or (), by_worker=True)


def place(ticket: Ticket) -> tuple[float, float] | None:
    """Where the resident said the problem is, if they shared a location."""
    if ticket.latitude is None or ticket.longitude is None:
        return None
    return ticket.latitude, ticket.longitude


def for_handlers(ticket: Ticket) -> dict[str, Any]:
    """The ticket card's evidence for the people handling it: every photo, and the place."""
    photos = (resident_photos(ticket) + worker_photos(ticket))[:MAX_SHOWN]
    return {"photos": photos, "location": place(ticket)}


def photo_attachment(ref: str, *, by_worker: bool = False) -> dict[str, str]:
    """One photo as a ticket keeps it."""
    kept = {"kind": "photo", "ref": ref}
    return {**kept, "by": WORKER} if by_worker else kept
