"""An in-memory chat channel for scenario tests: people send messages and press buttons through
the real handlers; replies and outbox deliveries land in each person's inbox.

Buttons are pressed by their visible text, found on the last message that carried them, so a test
presses exactly what a person would see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select

from handlers.context import Deps
from handlers.dispatch import handle
from handlers.events import Incoming, Kind, Outcome, Reply
from storage.models import OutboxMessage

CHANNEL = "telegram"


@dataclass
class Chat:
    deps: Deps
    inbox: dict[str, list[Reply]] = field(default_factory=dict)
    next_update: int = 1
    menus: dict[str, dict] = field(default_factory=dict)  # chat → the menu last set for it

    async def _send(self, user: str, kind: Kind, **fields) -> list[Reply]:
        event = Incoming(
            channel=CHANNEL,
            user_id=user,
            chat_id=user,
            kind=kind,
            update_id=self.next_update,
            **fields,
        )
        self.next_update += 1
        outcome: Outcome = await handle(self.deps, event)
        self.inbox.setdefault(user, []).extend(outcome.replies)
        await self.deliver()
        return outcome.replies

    async def text(self, user: str, text: str) -> list[Reply]:
        return await self._send(user, Kind.TEXT, text=text)

    async def command(self, user: str, command: str, args: str = "") -> list[Reply]:
        return await self._send(user, Kind.COMMAND, command=command, text=args)

    async def photo(self, user: str, ref: str, caption: str = "") -> list[Reply]:
        return await self._send(user, Kind.PHOTO, photo=ref, text=caption)

    async def location(self, user: str, latitude: float, longitude: float) -> list[Reply]:
        return await self._send(user, Kind.LOCATION, latitude=latitude, longitude=longitude)

    async def contact(self, user: str, phone: str) -> list[Reply]:
        return await self._send(user, Kind.CONTACT, phone=phone)

    async def sticker(self, user: str) -> list[Reply]:
        return await self._send(user, Kind.OTHER)

    async def data(self, user: str, data: str) -> list[Reply]:
        return await self._send(user, Kind.BUTTON, button=data)

    async def press(self, user: str, label: str, *, on: str = "") -> list[Reply]:
        """Press the button labelled `label` on the newest message of `user` that has it (and
        whose text contains `on`, to pick one ticket's message among several)."""
        for reply in reversed(self.inbox.get(user, [])):
            if on not in reply.text:
                continue
            for row in reply.buttons:
                for button in row:
                    if button.text == label:
                        return await self.data(user, button.data)
        raise AssertionError(f"{user} sees no button {label!r}")

    def last(self, user: str) -> str:
        return self.inbox[user][-1].text

    def all_text(self, user: str) -> str:
        return "\n".join(reply.text for reply in self.inbox.get(user, []))

    def clear(self) -> None:
        self.inbox.clear()

    async def deliver(self) -> None:
        """Hand queued outbox messages to their chats, as the delivery loop would."""
        async with self.deps.sessions() as session:
            pending = (
                await session.exec(
                    select(OutboxMessage)
                    .where(
                        col(OutboxMessage.sent_at).is_(None),
                        col(OutboxMessage.next_attempt_at) <= self.deps.policy.clock.now(),
                    )
                    .order_by(col(OutboxMessage.id))
                )
            ).all()
            for message in pending:
                if "menu" in message.body:  # a chat's command menu, not a message
                    self.menus[message.chat_id] = message.body["menu"]
                else:
                    self.inbox.setdefault(message.chat_id, []).append(Reply.from_body(message.body))
                message.sent_at = self.deps.policy.clock.now()
                session.add(message)
            await session.commit()
