"""A delivery process for the crash test: `python -m tests.bot.delivery_child DB_URL API_BASE`.

Delivers the telegram outbox through `HttpSender` until nothing is pending, then exits. Short
leases, so a restart after a kill picks the dead process's claims up within seconds.
"""

from __future__ import annotations

import asyncio
import sys

from bot.delivery.loop import Deliverer, DeliveryPolicy
from bot.delivery.pacing import MemoryPacer, PaceLimits
from storage.engine import make_engine, make_session_factory
from storage.outbox import outbox_counts
from tests.bot.bot_api_stub import HttpSender
from tickets.clock import SystemClock

POLICY = DeliveryPolicy(batch=20, lease_seconds=3, send_timeout=1, concurrency=4)
LIMITS = PaceLimits(per_second=200, per_chat_seconds=0.01, per_group_minute=1000)


async def main(database_url: str, api_base: str) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    sender = HttpSender(api_base)
    deliverer = Deliverer(sessions, sender, MemoryPacer(LIMITS), SystemClock(), policy=POLICY)
    try:
        while True:
            await deliverer.deliver_once()
            async with sessions() as session:
                if (await outbox_counts(session, channel="telegram"))["pending"] == 0:
                    return
            await asyncio.sleep(0.1)  # a dead process's leases running out
    finally:
        await sender.aclose()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
