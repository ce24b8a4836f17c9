"""What a conversation works with: the long-lived dependencies, and the turn being handled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from handlers.conversation import ChatState, Draft
from handlers.events import Button, Incoming, Reply
from handlers.texts import label, locale_or_default, tr
from storage import Session
from storage.engine import SessionFactory
from storage.models import Person
from storage.outbox import outbox_row
from tickets.places import GridFinder
from tickets.policy import Policy


class ClassificationLike(Protocol):
    category: str | None
    subcategory: str | None
    confidence: float
    keywords: Sequence[str]
    urgency: str
    urgency_kind: str | None

    @property
    def is_classified(self) -> bool: ...


class ClassifierLike(Protocol):
    def classify(self, text: str) -> ClassificationLike: ...


@dataclass(frozen=True)
class Deps:
    """Built once at start-up and shared by every turn."""

    sessions: SessionFactory
    policy: Policy
    classifier: ClassifierLike
    max_message_chars: int = 4096
    # A draft's follow-ups this close to its last proposal join it without an answer each; one
    # proposal of the whole draft follows once they stop (a burst, or a long text Telegram split).
    quiet_seconds: float = 3.0
    # The process's index of grid boundaries, rebuilt after each directory load.
    places: GridFinder = field(default_factory=GridFinder)


@dataclass
class Turn:
    """One incoming event being handled: its session (one transaction), its person, the
    conversation state, and the replies gathered so far."""

    deps: Deps
    session: Session
    event: Incoming
    person: Person
    state: ChatState = ChatState.IDLE
    data: dict[str, Any] = field(default_factory=dict)  # what the state keeps, as plain JSON
    replies: list[Reply] = field(default_factory=list)
    state_changed: bool = False
    state_stored: bool = False  # whether a stored state row was there when the turn began
    outgoing: list[dict[str, Any]] = field(default_factory=list)  # outbox rows, queued at the end
    # The answer held back for a burst when the turn began ({"key", "due"}), if any.
    held_back: dict[str, str] | None = None
    menu_was: tuple[str, str] = ("", "")  # the person's role and language when the turn began

    @property
    def locale(self) -> str:
        return locale_or_default(self.person.locale)

    @property
    def policy(self) -> Policy:
        return self.deps.policy

    def t(self, key: str, **params: Any) -> str:
        return tr(self.locale, key, **params)

    def label(self, kind: str, value: Any) -> str:
        return label(self.locale, kind, value)

    def say(
        self,
        text: str,
        buttons: Sequence[Sequence[Button]] = (),
        *,
        photos: Sequence[str] = (),
        location: tuple[float, float] | None = None,
    ) -> None:
        """Answer the sender; `photos` and `location` (evidence) are shown before the text."""
        rows = tuple(tuple(row) for row in buttons)
        self.replies.append(Reply(text, rows, photos=tuple(photos), location=location))

    def say_key(self, key: str, buttons: Sequence[Sequence[Button]] = (), **params: Any) -> None:
        self.say(self.t(key, **params), buttons)

    def button(self, key: str, data: str) -> Button:
        return Button(self.t(key), data)

    def expect(self, state: ChatState, **data: Any) -> None:
        """The next text from this person answers `state` (a reason, a reply, a comment …);
        `data` is kept with it (a Draft as its fields)."""
        kept = {k: v.to_data() if isinstance(v, Draft) else v for k, v in data.items()}
        self.state, self.data, self.state_changed = ChatState(state), kept, True

    def reset(self) -> None:
        self.state, self.data, self.state_changed = ChatState.IDLE, {}, True

    @property
    def draft(self) -> Draft | None:
        """The complaint being written, kept while choosing an area or drafting."""
        data = self.data.get("draft")
        return Draft.from_data(data) if data else None

    def hold_back(self, reply: Reply, *, key: str, due: datetime) -> None:
        """Queue `reply` for the sender themselves, delivered at `due` unless rewritten or taken
        back before (storage.outbox.postpone, withdraw)."""
        row = outbox_row(
            dedupe_key=key,
            person_id=self.person.id,
            channel=self.person.channel,
            chat_id=self.person.chat_id,
            body=reply.to_body(),
            now=self.policy.clock.now(),
        )
        self.outgoing.append({**row, "next_attempt_at": due})

    def notify(self, person: Person, reply: Reply, key: str) -> None:
        """Queue `reply` for `person` in this turn's transaction (never for the sender: they get
        their answer directly). `key` makes the message unique per event and recipient. The rows
        are written together when the turn finishes, just before its commit."""
        if person.id == self.person.id:
            return
        self.outgoing.append(
            outbox_row(
                dedupe_key=f"{key}:p{person.id}",
                person_id=person.id,
                channel=person.channel,
                chat_id=person.chat_id,
                body=reply.to_body(),
                now=self.policy.clock.now(),
            )
        )
