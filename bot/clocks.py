"""Running the clocks: APScheduler's AsyncIOScheduler fires a short periodic sweep (not one job
per ticket); each sweep claims what is due, moves it on and queues the notices, batch by batch,
in one transaction per batch. The first sweep runs at start, so whatever fell due while the
process was down is done then, once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.wiring import Services
from handlers.clock_notices import announce
from tickets.sweeps import sweep

log = logging.getLogger(__name__)

BATCH = 5000


async def run_due_clocks(services: Services, *, batch: int = BATCH) -> int:
    """Sweep until nothing is due; returns how many clock events fired."""
    fired = 0
    while True:
        async with services.sessions() as session:
            events = await sweep(session, services.policy, limit=batch)
            await announce(session, services.policy, events)
            await session.commit()
        fired += len(events)
        if len(events) < batch:
            break
    if fired:
        log.info("clocks: %d reminders, escalations and auto-closes", fired)
    return fired


def build_scheduler(services: Services) -> AsyncIOScheduler:
    """The scheduler with the clock sweep every `MINHU_SWEEP_SECONDS`, first run at once."""
    scheduler = AsyncIOScheduler(timezone=services.settings.timezone)
    scheduler.add_job(
        run_due_clocks,
        IntervalTrigger(seconds=services.settings.sweep_seconds),
        args=[services],
        id="clocks",
        name="SLA clock sweep",
        next_run_time=datetime.now(UTC),
        coalesce=True,  # after a pause, one sweep catches up; not one per missed interval
        max_instances=1,
    )
    return scheduler
