"""A running web console over a real database seeded with the demo district, and Debian's
headless chromium driven by Playwright (never Playwright's own browser downloads)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.demo import seed_demo
from bot.settings import Settings
from bot.web import build_web_app
from bot.web.auth import demo_accounts, set_password
from bot.wiring import Services, open_services
from storage.engine import make_engine
from storage.schema import drop_all
from tickets.clock import ManualClock

CHROMIUM = os.environ.get("MINHU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
DEMO_PASSWORD = "demo-pass-2026"


@dataclass
class Console:
    url: str
    services: Services
    media: Path
    clock: ManualClock
    app: web.Application


async def _empty(url: str) -> None:
    engine = make_engine(url)
    await drop_all(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()


@asynccontextmanager
async def running_console(
    database_url: str, media: Path, **settings: Any
) -> AsyncIterator[Console]:
    """The console on a free loopback port, over the demo district (migrated by Alembic), on a
    manual clock (the throttles' windows pass when a test says so)."""
    await _empty(database_url)
    settings.setdefault("listen_host", "127.0.0.1")
    config = Settings(database_url=database_url, _env_file=None, **settings)
    clock = ManualClock(datetime.now(UTC))
    async with open_services(config) as opened:
        services = dataclasses.replace(
            opened, policy=dataclasses.replace(opened.policy, clock=clock)
        )
        await seed_demo(services.sessions, services.policy, tickets=60, days=30)
        async with services.sessions() as session:
            for person in await demo_accounts(session):
                await set_password(session, person, DEMO_PASSWORD)
            await session.commit()
        app = build_web_app(services, media_dir=media)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            yield Console(f"http://{host}:{port}", services, media, clock, app)
        finally:
            await runner.cleanup()


@pytest.fixture
async def console(database_url: str, tmp_path: Path) -> AsyncIterator[Console]:
    async with running_console(database_url, tmp_path / "media") as running:
        yield running


@pytest.fixture
def console_with(
    database_url: str, tmp_path: Path
) -> Callable[..., AbstractAsyncContextManager[Console]]:
    """A console with other settings: `async with console_with(public_url=...) as console:`."""
    return lambda **settings: running_console(database_url, tmp_path / "media", **settings)


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing, but CI=true requires the browser tests")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does as root)")
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
