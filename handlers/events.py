"""What comes in from a chat and what goes back, independent of any chat framework."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from tickets.plain_text import plain_text


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    LOCATION = "location"
    PHOTO = "photo"
    CONTACT = "contact"  # a phone number shared with Telegram's contact button
    OTHER = "other"  # stickers, files, voice …: things MinHu cannot read


@dataclass(frozen=True)
class Incoming:
    """One message or button press from one person in one chat."""

    channel: str
    user_id: str
    chat_id: str
    kind: Kind
    text: str = ""  # message text, photo caption, or the command's arguments
    command: str = ""  # without the slash, lower case
    button: str = ""  # callback data
    latitude: float | None = None
    longitude: float | None = None
    photo: str | None = None  # the channel's file reference
    phone: str | None = None  # a shared contact's number (Kind.CONTACT)
    update_id: int | None = None
    display_name: str | None = None
    language: str | None = None  # the client's language code, a hint for new people

    def cleaned(self) -> Incoming:
        """The event with every text a person typed passed through the domain's text check."""
        return replace(
            self,
            text=plain_text(self.text),
            command=plain_text(self.command),
            button=plain_text(self.button),
            display_name=None if self.display_name is None else plain_text(self.display_name),
            language=None if self.language is None else plain_text(self.language),
            phone=None if self.phone is None else plain_text(self.phone),
        )


@dataclass(frozen=True)
class Button:
    text: str
    data: str


@dataclass(frozen=True)
class ContactRequest:
    """Ask for a phone number: a button that shares the person's own (Telegram's
    request_contact; on the web the person types it) and one that skips the question."""

    share: str
    skip: str


@dataclass(frozen=True)
class Reply:
    """A message for the person who wrote, or (in the outbox) for someone else."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # A PNG picture (a /stats chart) sent with `text` as its caption; replies only, never queued.
    image: bytes | None = None
    # Evidence shown before the text: photos by their channel reference (a Telegram file id, or
    # "web:<name>" for one sent on the web chat) and a place (latitude, longitude).
    photos: tuple[str, ...] = ()
    location: tuple[float, float] | None = None
    # A keyboard under the text field instead of buttons under the message: asking for a
    # number, or taking that keyboard away once answered.
    contact: ContactRequest | None = None
    remove_keyboard: bool = False

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "text": self.text,
            "buttons": [[{"text": b.text, "data": b.data} for b in row] for row in self.buttons],
        }
        if self.photos:
            body["photos"] = list(self.photos)
        if self.location is not None:
            body["location"] = list(self.location)
        if self.contact is not None:
            body["contact"] = {"share": self.contact.share, "skip": self.contact.skip}
        if self.remove_keyboard:
            body["remove_keyboard"] = True
        return body

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Reply:
        rows = body.get("buttons") or []
        place, contact = body.get("location"), body.get("contact")
        return cls(
            body["text"],
            tuple(tuple(Button(b["text"], b["data"]) for b in row) for row in rows),
            photos=tuple(str(ref) for ref in body.get("photos") or ()),
            location=(float(place[0]), float(place[1])) if place else None,
            contact=ContactRequest(contact["share"], contact["skip"]) if contact else None,
            remove_keyboard=bool(body.get("remove_keyboard")),
        )


@dataclass
class Outcome:
    """What handling one incoming event produced: replies to the sender, in order."""

    replies: list[Reply] = field(default_factory=list)
    duplicate: bool = False  # the update was handled before; nothing was done again
