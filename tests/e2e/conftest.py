"""End-to-end fixtures: one emulator for the session, a bot token per test (the emulator keeps
each bot's chats apart by token), a fresh database with the cast."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.e2e.emulator import Emulator, EmulatorProcess

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
