"""What a channel's sender promises the delivery loop: send one message body to one chat, or say
why not in one of three ways the loop knows how to treat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class DeliveryError(Exception):
    """A message could not be sent now."""


class RetryAfter(DeliveryError):
    """The channel asked us to wait (Telegram's 429 with `retry_after`)."""

    def __init__(self, seconds: float, description: str = "Too Many Requests") -> None:
        super().__init__(f"{description} (retry after {seconds:g} s)")
        self.seconds = seconds


class TemporaryFailure(DeliveryError):
    """A network error or a server fault: worth retrying later with backoff."""


class ChatUnreachable(DeliveryError):
    """The chat will not take messages (bot blocked, chat deleted, user deactivated): retrying
    cannot help, so the message is parked and shown to staff."""


class Sender(Protocol):
    """One channel's way out. `body` is `handlers.events.Reply.to_body()`: text and buttons."""

    async def send(self, chat_id: str, body: Mapping[str, Any]) -> None: ...
