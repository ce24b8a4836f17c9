"""The clocks as the application runs them: `minhu worker` and the scheduler's job."""

from __future__ import annotations

import asyncio
from datetime import date

from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.cli import main
from bot.clocks import build_scheduler, unknown_holidays_note
from bot.settings import Settings
from bot.wiring import open_services
from tests.bot.test_cli import scratch_database  # noqa: F401  (the same scratch database)
from tickets.calendar import official_years


def test_worker_once_catches_up_once(capsys):
    assert main(["demo", "--tickets", "60", "--days", "20"]) == 0
    assert main(["worker", "--once"]) == 0
    first = capsys.readouterr().out
    fired = int(first.split("clocks: ")[1].split()[0])
    assert fired > 0  # two months of history: overdue tickets, unrated resolved ones
    assert main(["worker", "--once"]) == 0
    assert "clocks: 0 " in capsys.readouterr().out


async def test_the_scheduler_sweeps_at_start_and_then_periodically(monkeypatch):
    monkeypatch.setenv("MINHU_SWEEP_SECONDS", "45")
    async with open_services(Settings()) as services:
        scheduler = build_scheduler(services)
        job = scheduler.get_job("clocks")
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval.total_seconds() == 45
        assert job.coalesce and job.max_instances == 1
        assert job.next_run_time is not None  # the catch-up sweep at start


async def test_digest_and_ranking_are_scheduled_in_local_time(monkeypatch):
    monkeypatch.setenv("MINHU_DIGEST_TIME", "07:30")
    async with open_services(Settings()) as services:
        scheduler = build_scheduler(services)
        digest, ranking = scheduler.get_job("digest"), scheduler.get_job("ranking")
        assert str(digest.trigger.timezone) == "Asia/Shanghai"
        fields = {field.name: str(field) for field in digest.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("7", "30")
        assert {field.name: str(field) for field in ranking.trigger.fields}["day"] == "1"


def test_a_bad_digest_time_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("MINHU_DIGEST_TIME", "25:00")
    assert main(["worker", "--once"]) == 2
    assert "MINHU_DIGEST_TIME" in capsys.readouterr().err


async def test_a_stop_lets_a_running_job_finish_its_transaction():
    async with open_services(Settings()) as services:
        scheduler = build_scheduler(services)
        started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def slow(_services) -> int:
            started.set()
            await release.wait()
            finished.set()
            return 0

        scheduler.add_clock_job(slow, DateTrigger(services.policy.clock.now()), id="slow")
        scheduler.start()
        await asyncio.wait_for(started.wait(), timeout=30)
        stopping = asyncio.create_task(scheduler.stop())
        await asyncio.sleep(0)
        assert not stopping.done()  # it waits for the job
        release.set()
        await asyncio.wait_for(stopping, timeout=30)
        assert finished.is_set()


def test_settings_use_the_official_calendar_unless_told_not_to():
    assert not Settings(_env_file=None).calendar().is_working_day(date(2026, 10, 1))
    plain = Settings(_env_file=None, official_holidays=False).calendar()
    assert plain.is_working_day(date(2026, 10, 1))


def test_a_year_the_package_does_not_know_is_said():
    last = official_years()[-1]
    note = unknown_holidays_note(True, date(last, 12, 1))
    assert note is not None and f"public holidays of {last + 1} are not known yet" in note
    assert unknown_holidays_note(True, date(last, 6, 1)) is None
    assert unknown_holidays_note(False, date(last, 12, 1)) is None
