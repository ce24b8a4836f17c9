"""Answering the person who wrote. A reply Telegram refuses for now (429, a network fault) is not
dropped: it and the replies after it go to the outbox, where the delivery loop retries them in
order. A chat that takes no messages (the person blocked the bot) gets nothing more."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from bot.delivery.sending import ChatUnreachable, RetryAfter, TemporaryFailure
from bot.telegram.translate import CHANNEL
from handlers.context import Deps
from handlers.events import Incoming, Reply
from storage.outbox import enqueue

log = logging.getLogger(__name__)


class ReplySender(Protocol):
    async def send_reply(self, chat_id: str, reply: Reply) -> None: ...


async def send_replies(
    deps: Deps, sender: ReplySender, event: Incoming, replies: Sequence[Reply]
) -> None:
    for index, reply in enumerate(replies):
        try:
            await sender.send_reply(event.chat_id, reply)
        except (RetryAfter, TemporaryFailure) as error:
            # The kind of failure and the update id only: never the text.
            log.warning(
                "reply to update %s queued for retry: %s", event.update_id, type(error).__name__
            )
            await _queue(deps, event, replies, start=index)
            return
        except ChatUnreachable:
            log.warning("the chat of update %s takes no messages", event.update_id)
            return


async def _queue(deps: Deps, event: Incoming, replies: Sequence[Reply], start: int) -> None:
    async with deps.sessions() as session:
        for index in range(start, len(replies)):
            enqueue(
                session,
                # One row per reply of this update, whichever process queues it.
                dedupe_key=f"reply:{CHANNEL}:{event.update_id}:{index}",
                person_id=None,
                channel=CHANNEL,
                chat_id=event.chat_id,
                # A picture cannot wait in the outbox; its caption does.
                body=replies[index].to_body(),
                now=deps.policy.clock.now(),
            )
        await session.commit()
