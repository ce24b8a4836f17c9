"""Running the clocks: APScheduler's AsyncIOScheduler fires a short periodic sweep (not one job
per ticket); each sweep claims what is due, moves it on and queues the notices, batch by batch,
in one transaction per batch. The first sweep runs at start, so whatever fell due while the
process was down is done then, once. Staff get a morning digest and, on the first of the month,
the 三率 ranking; a start after their time sends a missed one (never a second one).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.wiring import Services
from handlers.clock_notices import announce, announce_parts
from handlers.digests import monthly_ranking, morning_digest
from handlers.whistle_notices import announce_summons_clocks
from storage.engine import SessionFactory, is_sqlite
from storage.retention import purge_expired
from tickets.calendar import unknown_years
from tickets.part_sweeps import sweep_parts
from tickets.policy import Policy
from tickets.summons_sweeps import sweep_summonses
from tickets.sweeps import sweep

log = logging.getLogger(__name__)

BATCH = 2500
# Sweepers working side by side on PostgreSQL: SKIP LOCKED gives each its own tickets, and one
# decides in Python while another waits on the database. SQLite has a single writer.
PARALLEL_SWEEPERS = 4
# How far ahead deadlines reach (10 working days of extension on top of a resolve clock).
HOLIDAY_HORIZON = timedelta(days=60)


async def sweep_until_done(
    sessions: SessionFactory, policy: Policy, *, batch: int = BATCH, sweepers: int = 1
) -> int:
    """Sweep until nothing is due, with `sweepers` side by side; returns the events fired."""

    async def sweeper() -> int:
        fired = 0
        while True:
            async with sessions() as session:
                events = await sweep(session, policy, limit=batch)
                await announce(session, policy, events)
                parts = await sweep_parts(session, policy, limit=batch)
                await announce_parts(session, policy, parts)
                summonses = await sweep_summonses(session, policy, limit=batch)
                await announce_summons_clocks(session, policy, summonses)
                await session.commit()
            fired += len(events) + len(parts) + len(summonses)
            if max(len(events), len(parts), len(summonses)) < batch:
                return fired

    return sum(await asyncio.gather(*(sweeper() for _ in range(sweepers))))


async def run_due_clocks(services: Services) -> int:
    """The scheduler's job: every reminder, escalation and auto-close that is due now."""
    sweepers = 1 if is_sqlite(services.settings.database_url) else PARALLEL_SWEEPERS
    fired = await sweep_until_done(services.sessions, services.policy, sweepers=sweepers)
    if fired:
        log.info("clocks: %d reminders, escalations and auto-closes", fired)
    return fired


async def send_digest(services: Services) -> int:
    async with services.sessions() as session:
        queued = await morning_digest(session, services.policy)
        await session.commit()
    return queued


async def send_ranking(services: Services) -> int:
    async with services.sessions() as session:
        queued = await monthly_ranking(session, services.policy)
        await session.commit()
    return queued


async def purge_bookkeeping(services: Services) -> int:
    """Sent messages and handled update ids past their keep (storage.retention)."""
    async with services.sessions() as session:
        purged = await purge_expired(session, services.policy.clock.now())
        await session.commit()
    return purged.sent_messages + purged.update_ids


class ClockScheduler(AsyncIOScheduler):
    """APScheduler's AsyncIOScheduler, knowing which of its jobs are running: a stop lets a
    sweep or digest under way finish its transaction, since cut off mid-batch its database
    connection would be closed under it and the process hang on exit."""

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(**options)
        self.services = services
        self._running: set[asyncio.Task[object]] = set()

    def add_clock_job(
        self, job: Callable[[Services], Awaitable[int]], trigger: BaseTrigger, **options: Any
    ) -> None:
        """`job(services)` on `trigger`; after a pause, one run catches up, not one per miss."""

        @functools.wraps(job)
        async def run() -> int:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                return await job(self.services)
            finally:
                self._running.discard(task)  # type: ignore[arg-type]

        self.add_job(run, trigger, coalesce=True, **options)

    async def stop(self, *, grace_seconds: float = 30) -> None:
        # Paused first: shutting down cancels the jobs under way, which is what must not be.
        self.pause()
        running = [task for task in self._running if not task.done()]
        if running:
            await asyncio.wait(running, timeout=grace_seconds)
        self.shutdown(wait=False)


def unknown_holidays_note(official: bool, today: date) -> str | None:
    """What to say at start when deadlines may reach a year whose public holidays the calendar
    package does not know yet (they count as working days until it is updated or listed)."""
    years = unknown_years(today, today + HOLIDAY_HORIZON) if official else []
    if not years:
        return None
    listed = ", ".join(str(year) for year in years)
    return (
        f"the public holidays of {listed} are not known yet (chinese-calendar): they count as "
        "working days until the package is updated or MINHU_HOLIDAYS lists them"
    )


def build_scheduler(services: Services) -> ClockScheduler:
    """The clock sweep every `MINHU_SWEEP_SECONDS` (first run at once), the morning digest at
    `MINHU_DIGEST_TIME` and the ranking on the first of the month, in local time; hourly, the
    bookkeeping tables are trimmed."""
    settings, now = services.settings, services.policy.clock.now()
    zone = services.policy.calendar.timezone
    note = unknown_holidays_note(settings.official_holidays, now.astimezone(zone).date())
    if note:
        log.warning(note)
    scheduler = ClockScheduler(services, timezone=zone)
    scheduler.add_clock_job(
        run_due_clocks,
        IntervalTrigger(seconds=settings.sweep_seconds),
        id="clocks",
        name="SLA clock sweep",
        next_run_time=now,
        max_instances=1,
    )
    hour, minute = (int(part) for part in settings.digest_time.split(":"))
    local_now = now.astimezone(zone)
    missed_digest = (local_now.hour, local_now.minute) >= (hour, minute)
    scheduler.add_clock_job(
        send_digest,
        CronTrigger(hour=hour, minute=minute, timezone=zone),
        id="digest",
        name="morning digest",
        misfire_grace_time=6 * 3600,
        **({"next_run_time": now} if missed_digest else {}),
    )
    scheduler.add_clock_job(
        send_ranking,
        CronTrigger(day=1, hour=hour, minute=minute, timezone=zone),
        id="ranking",
        name="monthly 三率 ranking",
        misfire_grace_time=24 * 3600,
        **({"next_run_time": now} if missed_digest or local_now.day > 1 else {}),
    )
    scheduler.add_clock_job(
        purge_bookkeeping, IntervalTrigger(hours=1), id="retention", name="retention"
    )
    return scheduler
