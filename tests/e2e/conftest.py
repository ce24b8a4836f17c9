"""End-to-end fixtures: one emulator for the session, a bot token per test (the emulator keeps
each bot's chats apart by token), a fresh database with the cast."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.e2e.emulator import Emulator, EmulatorProcess
from tests.e2e.harness import fresh_database, load_cast, running_bot, settings_for

_tokens = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[EmulatorProcess]:
    process = EmulatorProcess()
    yield process
    process.stop()


@pytest.fixture
async def emulator(emulator_process: EmulatorProcess) -> AsyncIterator[Emulator]:
    async with aiohttp.ClientSession() as http:
        yield Emulator(emulator_process.url, http)


@pytest.fixture
def token() -> str:
    return f"{next(_tokens)}00:e2e-token"


@pytest.fixture(params=["aiogram", "ptb"])
async def bot(request: pytest.FixtureRequest, emulator: Emulator, token: str, tmp_path):
    """A bot through each framework on a fresh SQLite database with the cast loaded. Test files
    that need another clock or settings define their own `bot`."""
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=request.param,
    )
    await fresh_database(settings.database_url)
    async with running_bot(settings) as running:
        await load_cast(running.services.sessions, settings)
        yield running
