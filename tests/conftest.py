"""Shared fixtures: a database per test (SQLite always; PostgreSQL when MINHU_TEST_DATABASE_URL is
set), a manual clock, and a small directory of areas and people to act with.

On CI (CI=true) a test that needs PostgreSQL or Redis fails instead of skipping when its server is
not configured, so a green run cannot hide a silently skipped database test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from storage.engine import SessionFactory, make_engine, make_session_factory
from storage.schema import create_all, drop_all
from tickets.calendar import WorkingCalendar
from tickets.clock import ManualClock
from tickets.policy import Policy
from tickets.sla import SlaPolicy

# A Monday morning in Beijing (02:00 UTC = 10:00 local).
MONDAY_10AM = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def service_url(variable: str) -> str:
    """The URL of a real server the test needs, or a skip (a failure on CI) without one."""
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{variable} is not set, but CI=true requires the real server")
    pytest.skip(f"{variable} is not set")


def postgres_url() -> str:
    return service_url("MINHU_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'minhu.db'}"
    return postgres_url()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = make_engine(database_url)
    await drop_all(engine)
    await create_all(engine)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10AM)


@pytest.fixture
def policy(clock: ManualClock) -> Policy:
    # No flood guard by default: tests make many tickets for few residents within the hour.
    return Policy(
        sla=SlaPolicy(),
        calendar=WorkingCalendar.build("Asia/Shanghai"),
        clock=clock,
        max_new_tickets_per_hour=10_000,
    )
