"""Delivery as the commands run it: the loop beside a channel in `minhu run` (`serve_channel`,
which stops the delivery before the channel), on its own in `minhu worker`, once in
`minhu worker --once`; the pacer built from settings and closed after."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from bot.delivery.loop import DeliveryReport, deliver_forever, deliver_once
from bot.delivery.pacing import MemoryPacer, RedisPacer, build_pacer
from bot.delivery.sending import Sender
from bot.wiring import Services


@contextlib.asynccontextmanager
async def _pacer(services: Services) -> AsyncIterator[MemoryPacer | RedisPacer]:
    pacer = build_pacer(services.settings)
    try:
        yield pacer
    finally:
        if isinstance(pacer, RedisPacer):
            await pacer.aclose()


async def serve_delivery(
    services: Services,
    sender: Sender,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Deliver the outbox until `stop`; with `ready`, only once the channel has started (a
    framework's bot may not send before it is initialised)."""
    if ready is not None:
        waiting = asyncio.create_task(ready.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()
        if stop.is_set():
            return
    async with _pacer(services) as pacer:
        await deliver_forever(services.sessions, sender, pacer, services.policy.clock, stop)


class Channel(Protocol):
    """What `serve_channel` needs of a channel (bot.telegram.serve.TelegramChannel)."""

    sender: Sender
    ready: asyncio.Event

    async def run(self, stop: asyncio.Event) -> None: ...


async def serve_channel(services: Services, channel: Channel, stop: asyncio.Event) -> None:
    """A channel and the delivery of its outbox until `stop`, stopped in that order: the
    channel closes its HTTP session when it stops, and a send cut off by that would be recorded
    as failed though Telegram had taken it — and sent again after the restart. So the channel
    keeps serving until the delivery has finished (or handed back) what it had in flight."""
    channel_stop = asyncio.Event()
    serving = asyncio.create_task(channel.run(channel_stop))
    delivering = asyncio.create_task(
        serve_delivery(services, channel.sender, stop, ready=channel.ready)
    )
    try:
        await asyncio.wait({serving, delivering}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not delivering.done():
            # The channel ended first (it failed): its sender is gone, deliver no more.
            delivering.cancel()
        channel_stop.set()
        await asyncio.wait({serving, delivering})
    if not delivering.cancelled():
        delivering.result()  # a delivery failure surfaces here
    serving.result()  # and a channel's


async def deliver_due(services: Services, sender: Sender) -> DeliveryReport:
    """What is due now, delivered (`minhu worker --once`)."""
    async with _pacer(services) as pacer:
        return await deliver_once(services.sessions, sender, pacer, services.policy.clock)
