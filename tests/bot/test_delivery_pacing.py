"""Pacing math, for the in-process pacer and the Redis one (real Redis, MINHU_TEST_REDIS_URL)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from bot.delivery.pacing import MemoryPacer, PaceLimits, Pacer, RedisPacer, build_pacer, is_group
from bot.settings import Settings
from tests.conftest import service_url

LIMITS = PaceLimits(per_second=30, per_chat_seconds=1, per_group_minute=20)
T0 = 1_800_000_000.0
EPS = 1e-6


@pytest.fixture
async def redis_client() -> AsyncIterator:
    from redis.asyncio import Redis

    client = Redis.from_url(service_url("MINHU_TEST_REDIS_URL"), decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_pacer(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], Pacer]]:
    """Pacers sharing one budget: each call is another process's pacer."""
    if request.param == "memory":
        shared = MemoryPacer(LIMITS)
        yield lambda: shared
        return
    from redis.asyncio import Redis

    client = Redis.from_url(service_url("MINHU_TEST_REDIS_URL"), decode_responses=True)
    prefix = f"minhu:test:{uuid.uuid4().hex}"
    try:
        yield lambda: RedisPacer(client, LIMITS, prefix=prefix)
    finally:
        keys = [key async for key in client.scan_iter(match="{" + prefix + "}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_slots_are_spaced_evenly_without_a_burst(make_pacer):
    pacer = make_pacer()
    slots = [await pacer.reserve(str(chat), T0) for chat in range(60)]
    assert all(slot.granted for slot in slots)
    gaps = [b.at - a.at for a, b in itertools.pairwise(slots)]
    assert slots[0].at == pytest.approx(T0)
    assert all(gap == pytest.approx(1 / 30, abs=EPS) for gap in gaps)


async def test_after_a_lull_there_is_no_catch_up_burst(make_pacer):
    pacer = make_pacer()
    await pacer.reserve("1", T0)
    later = [await pacer.reserve(str(chat), T0 + 100) for chat in range(2, 5)]
    assert [slot.at - T0 - 100 for slot in later] == pytest.approx([0, 1 / 30, 2 / 30], abs=EPS)


async def test_a_busy_chat_is_deferred_without_holding_up_the_others(make_pacer):
    pacer = make_pacer()
    first = await pacer.reserve("7", T0)
    again = await pacer.reserve("7", T0 + 0.1)
    other = await pacer.reserve("8", T0 + 0.1)
    assert first.granted and not again.granted
    assert again.at == pytest.approx(T0 + 1, abs=EPS)
    assert other.granted and other.at == pytest.approx(T0 + 0.1, abs=EPS)
    assert (await pacer.reserve("7", T0 + 1)).granted


async def test_a_group_gets_twenty_a_minute(make_pacer):
    pacer = make_pacer()
    granted = []
    now = T0
    while len(granted) < 25:
        slot = await pacer.reserve("-100", now)
        if slot.granted:
            granted.append(slot.at)
        now = max(now + 0.5, slot.at)
    assert granted[19] - granted[0] < 60
    assert granted[20] >= granted[0] + 60 - EPS
    assert all(b - a >= 1 - EPS for a, b in itertools.pairwise(granted))


async def test_a_pause_holds_everyone(make_pacer):
    pacer = make_pacer()
    await pacer.pause(T0, 7)
    slot = await pacer.reserve("1", T0 + 1)
    assert slot.granted and slot.at == pytest.approx(T0 + 7, abs=EPS)
    await pacer.pause(T0 + 1, 2)  # a shorter pause never shortens the longer one
    assert (await pacer.reserve("2", T0 + 1)).at == pytest.approx(T0 + 7 + 1 / 30, abs=EPS)


@pytest.mark.redis
async def test_two_redis_pacers_share_one_budget(redis_client):
    prefix = f"minhu:test:{uuid.uuid4().hex}"
    one, two = (RedisPacer(redis_client, LIMITS, prefix=prefix) for _ in range(2))
    try:
        slots = await asyncio.gather(
            *((one if index % 2 else two).reserve(str(index), T0) for index in range(90))
        )
        times = sorted(slot.at for slot in slots)
        assert all(b - a == pytest.approx(1 / 30, abs=EPS) for a, b in itertools.pairwise(times))
        # Epoch seconds as doubles resolve 0.24 µs; 89 additions may round that much each.
        assert times[-1] - times[0] == pytest.approx(89 / 30, abs=89 * 2.4e-7)
        # A chat one process just sent to is busy for the other too.
        assert (await one.reserve("x", T0 + 10)).granted
        assert not (await two.reserve("x", T0 + 10.1)).granted
    finally:
        keys = [key async for key in redis_client.scan_iter(match="{" + prefix + "}*")]
        await redis_client.delete(*keys)


def test_group_ids_are_negative():
    assert is_group("-1001234") and is_group("-42")
    assert not is_group("12345")


def test_settings_pace_a_little_under_the_limits(monkeypatch):
    monkeypatch.delenv("MINHU_REDIS_URL", raising=False)
    settings = Settings(_env_file=None, send_per_second=30, send_per_group_minute=20)
    pacer = build_pacer(settings)
    assert isinstance(pacer, MemoryPacer)
    assert 28 < pacer.limits.per_second < 30
    assert pacer.limits.per_chat_seconds > 1
    assert pacer.limits.per_group_minute == 19


async def test_settings_with_redis_build_the_shared_pacer():
    url = service_url("MINHU_TEST_REDIS_URL")
    pacer = build_pacer(Settings(_env_file=None, redis_url=url))
    try:
        assert isinstance(pacer, RedisPacer)
        assert (await pacer.reserve(f"test-{uuid.uuid4().hex}", T0)).granted
    finally:
        await pacer.redis.delete("{minhu:pace:telegram}:next")
        await pacer.aclose()


async def test_the_memory_pacer_forgets_chats_that_are_free_again():
    pacer = MemoryPacer(PaceLimits(per_second=1e6, per_chat_seconds=1, per_group_minute=20))
    for chat in range(10_001):  # all busy at the first prune: kept
        await pacer.reserve(f"a{chat}", T0)
    for chat in range(10_002):  # by now the first ones are free again: forgotten
        await pacer.reserve(f"b{chat}", T0 + 5)
    assert "a0" not in pacer._chat_free_at and len(pacer._chat_free_at) <= 10_002
    assert not (await pacer.reserve("b0", T0 + 5.5)).granted
