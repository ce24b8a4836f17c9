"""The limiter's buckets in each store the console may use: the database (SQLite, PostgreSQL)
and Redis. One behaviour, checked the same way on all three."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.web.limits import DatabaseLimiter, Limiter, RedisLimiter, Rule, bucket_key
from storage.engine import make_engine, make_session_factory
from storage.rate_limits import RateLimit
from storage.schema import create_all, drop_all
from tests.conftest import postgres_url, service_url
from tickets.clock import ManualClock

PLAIN = Rule(3, timedelta(minutes=10))
GROWING = Rule(3, timedelta(minutes=15), max_delay=timedelta(seconds=8))


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
async def limiter(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Limiter]:
    if request.param == "redis":
        from redis.asyncio import Redis

        client = Redis.from_url(service_url("MINHU_TEST_REDIS_URL"), decode_responses=True)
        prefix = f"minhu:test:{uuid.uuid4().hex}"
        try:
            yield RedisLimiter(client, prefix=prefix)
        finally:
            keys = [key async for key in client.scan_iter(match="{" + prefix + "}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}" if request.param == "sqlite" else None
    engine = make_engine(url or postgres_url())
    await drop_all(engine)
    await create_all(engine)
    try:
        yield DatabaseLimiter(make_session_factory(engine), engine.dialect.name)
    finally:
        await engine.dispose()


async def _allowed(limiter: Limiter, clock: ManualClock, *checks) -> bool:
    return (await limiter.hit(list(checks), clock.now())).allowed


async def test_a_plain_limit_refuses_until_its_window_is_over(limiter, clock):
    key = bucket_key("test", "a")
    assert [await _allowed(limiter, clock, (key, PLAIN)) for _ in range(4)] == [True] * 3 + [False]
    clock.advance(timedelta(minutes=4))
    verdict = await limiter.hit([(key, PLAIN)], clock.now())
    assert not verdict.allowed and verdict.retry_after == pytest.approx(360)
    clock.advance(timedelta(minutes=6))
    assert await _allowed(limiter, clock, (key, PLAIN))


async def test_past_its_limit_a_name_waits_longer_each_time_up_to_the_cap(limiter, clock):
    key = bucket_key("test", "pauses")
    for _ in range(2):
        assert await _allowed(limiter, clock, (key, GROWING))
    pauses = []
    for _ in range(6):
        assert await _allowed(limiter, clock, (key, GROWING))
        verdict = await limiter.hit([(key, GROWING)], clock.now())
        assert not verdict.allowed
        pauses.append(verdict.retry_after)
        clock.advance(timedelta(seconds=verdict.retry_after))
    assert pauses == pytest.approx([1, 2, 4, 8, 8, 8])


async def test_a_refusal_by_one_bucket_counts_in_none(limiter, clock):
    tight, loose = bucket_key("test", "tight"), bucket_key("test", "loose")
    assert await _allowed(limiter, clock, (tight, Rule(1, timedelta(hours=1))))
    for _ in range(5):
        assert not await _allowed(
            limiter, clock, (tight, Rule(1, timedelta(hours=1))), (loose, PLAIN)
        )
    assert [await _allowed(limiter, clock, (loose, PLAIN)) for _ in range(4)] == [True] * 3 + [
        False
    ]


async def test_undo_gives_a_hit_back(limiter, clock):
    key = bucket_key("test", "undo")
    for _ in range(10):
        assert await _allowed(limiter, clock, (key, PLAIN))
        await limiter.undo([key])


async def test_hits_at_the_same_moment_are_counted_one_by_one(limiter, clock):
    key = bucket_key("test", "crowd")
    rule = Rule(5, timedelta(minutes=15))
    verdicts = await asyncio.gather(*(limiter.hit([(key, rule)], clock.now()) for _ in range(30)))
    assert sum(v.allowed for v in verdicts) == 5


async def test_the_database_keeps_no_names_and_forgets_old_buckets(limiter, clock):
    if not isinstance(limiter, DatabaseLimiter):
        pytest.skip("Redis keys expire by themselves")
    await limiter.hit([(bucket_key("sign-in-name", "赵主任"), PLAIN)], clock.now())
    async with limiter._sessions() as session:
        keys = (await session.exec(select(RateLimit.key))).all()
    assert len(keys) == 1 and "赵" not in keys[0] and len(keys[0]) == 64
    assert await limiter.prune(clock.now()) == 0
    clock.advance(timedelta(minutes=11))
    assert await limiter.prune(clock.now()) == 1
