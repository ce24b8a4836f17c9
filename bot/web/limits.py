"""Rate limits of the web console: sign-in attempts, new web residents, photos, and the
service requests each Open311 API key posts.

A bucket counts hits in a window that starts at its first hit. Past `limit` hits a rule either
refuses until the window is over (a plain limit), or lets hits through one at a time with a
growing pause between them, 1 s, 2 s, 4 s … up to `max_delay` (the sign-in name: someone who
keeps guessing cannot lock its owner out for longer than that pause).

A request names several buckets (the name, the client's address, everyone); it is let through
only if all of them allow it, and then counts in all of them, in one atomic step: a hit is
recorded *before* the work it guards, so thirty requests at once are thirty hits, not thirty
checks of the same count.

Where the buckets live: every process serving the console must see the same counts, or each
would allow the limit again. With `MINHU_REDIS_URL` they are Redis hashes changed by one Lua
script (atomic on the server, expiring by themselves); otherwise rows of `rate_limits` in the
database every process already shares, changed in one transaction that locks the rows it reads.
Keys are SHA-256 digests: neither store holds a name or an address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from storage.engine import SessionFactory
from storage.rate_limits import RateLimit

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.settings import Settings


@dataclass(frozen=True)
class Rule:
    limit: int
    window: timedelta
    # None: past the limit, refuse until the window is over. Otherwise a growing pause.
    max_delay: timedelta | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0  # seconds, when refused


Check = tuple[str, Rule]  # (bucket key, its rule)


@dataclass(frozen=True)
class Bucket:
    hits: int
    window_start: float
    not_before: float = 0.0


def bucket_key(kind: str, value: str) -> str:
    """The stored key: a digest, so the store holds no name or address."""
    return hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()


def decide(bucket: Bucket | None, rule: Rule, now: float) -> tuple[float, Bucket]:
    """(seconds to wait, 0 if allowed; the bucket after this hit if allowed)."""
    window = rule.window.total_seconds()
    if bucket is None or now >= bucket.window_start + window:
        bucket = Bucket(0, now, bucket.not_before if bucket else 0.0)
    if now < bucket.not_before:
        return bucket.not_before - now, bucket
    if rule.max_delay is None and bucket.hits >= rule.limit:
        return bucket.window_start + window - now, bucket
    hits, not_before = bucket.hits + 1, bucket.not_before
    if rule.max_delay is not None and hits >= rule.limit:
        not_before = now + min(2.0 ** (hits - rule.limit), rule.max_delay.total_seconds())
    return 0.0, Bucket(hits, bucket.window_start, not_before)


def expires_at(bucket: Bucket, rule: Rule) -> float:
    return max(bucket.window_start + rule.window.total_seconds(), bucket.not_before)


class Limiter(Protocol):
    async def hit(self, checks: Sequence[Check], now: datetime) -> Verdict:
        """Count one hit in every bucket if all allow it; otherwise count nothing."""
        ...

    async def undo(self, keys: Sequence[str]) -> None:
        """Give one hit back (the guarded work turned out fine: a right password)."""
        ...

    async def prune(self, now: datetime) -> int:
        """Forget buckets that no longer matter; how many."""
        ...

    async def aclose(self) -> None: ...


class DatabaseLimiter:
    """Buckets as rows of `rate_limits`: missing rows are inserted (a conflict leaves the other
    transaction's row), then the rows are read under a lock (FOR UPDATE on PostgreSQL; on SQLite
    the insert has already taken the database's one write lock), decided and written back."""

    def __init__(self, sessions: SessionFactory, dialect: str) -> None:
        self._sessions = sessions
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def hit(self, checks: Sequence[Check], now: datetime) -> Verdict:
        at = now.timestamp()
        rules = dict(checks)
        keys = sorted(rules)  # one order for every transaction: no deadlock between two
        fresh = [
            {"key": key, "hits": 0, "window_start": at, "not_before": 0.0, "expires_at": at}
            for key in keys
        ]
        async with self._sessions() as session:
            await session.exec(self._insert(RateLimit).values(fresh).on_conflict_do_nothing())
            rows = (await session.exec(self._locked_rows(keys))).all()
            wait, after = 0.0, []
            for key, hits, window_start, not_before in rows:
                seconds, bucket = decide(Bucket(hits, window_start, not_before), rules[key], at)
                wait = max(wait, seconds)
                after.append(
                    {
                        "key": key,
                        "hits": bucket.hits,
                        "window_start": bucket.window_start,
                        "not_before": bucket.not_before,
                        "expires_at": expires_at(bucket, rules[key]),
                    }
                )
            if wait > 0:
                await session.rollback()
                return Verdict(False, wait)
            # An UPDATE by primary key for every bucket, as one executemany.
            connection = await session.connection()
            updates = [{f"b_{name}": value for name, value in bucket.items()} for bucket in after]
            await connection.execute(_UPDATE_BUCKET, updates)
            await session.commit()
        return Verdict(True)

    @staticmethod
    def _locked_rows(keys: list[str]) -> Any:
        return (
            select(RateLimit.key, RateLimit.hits, RateLimit.window_start, RateLimit.not_before)
            .where(col(RateLimit.key).in_(keys))
            .order_by(col(RateLimit.key))
            .with_for_update()
        )

    async def undo(self, keys: Sequence[str]) -> None:
        async with self._sessions() as session:
            await session.exec(
                update(RateLimit)
                .where(col(RateLimit.key).in_(sorted(keys)), col(RateLimit.hits) > 0)
                .values(hits=RateLimit.hits - 1)
            )
            await session.commit()

    async def prune(self, now: datetime) -> int:
        async with self._sessions() as session:
            gone = await session.exec(
                delete(RateLimit).where(col(RateLimit.expires_at) < now.timestamp())
            )
            await session.commit()
        return gone.rowcount or 0

    async def aclose(self) -> None:
        return None


# KEYS: the buckets. ARGV: now, then limit, window, max_delay (-1: none) per key.
# Returns {allowed (0/1), seconds to wait as a string}. The same steps as decide() above.
_HIT = """
local now = tonumber(ARGV[1])
local wait = 0
local states = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 1])
  local window = tonumber(ARGV[3 * i])
  local max_delay = tonumber(ARGV[3 * i + 1])
  local h = redis.call('HMGET', key, 'hits', 'start', 'not_before')
  local hits, start, nb = tonumber(h[1]), tonumber(h[2]), tonumber(h[3]) or 0
  if hits == nil or now >= start + window then hits = 0; start = now end
  if now < nb then
    wait = math.max(wait, nb - now)
  elseif max_delay < 0 and hits >= limit then
    wait = math.max(wait, start + window - now)
  end
  states[i] = {hits, start, nb, limit, window, max_delay}
end
if wait > 0 then return {0, string.format('%.17g', wait)} end
for i, key in ipairs(KEYS) do
  local s = states[i]
  local hits, nb = s[1] + 1, s[3]
  if s[6] >= 0 and hits >= s[4] then nb = now + math.min(2 ^ (hits - s[4]), s[6]) end
  redis.call('HSET', key, 'hits', hits, 'start', string.format('%.17g', s[2]),
             'not_before', string.format('%.17g', nb))
  local ttl = math.max(s[2] + s[5], nb) - now
  redis.call('PEXPIRE', key, math.ceil(ttl * 1000) + 1000)
end
return {1, '0'}
"""

# KEYS: the buckets. Gives one hit back where there is one.
_UNDO = """
for _, key in ipairs(KEYS) do
  local hits = tonumber(redis.call('HGET', key, 'hits') or '0')
  if hits > 0 then redis.call('HSET', key, 'hits', hits - 1) end
end
return 0
"""


class RedisLimiter:
    """Buckets as Redis hashes that expire by themselves; one script call per hit."""

    def __init__(self, redis: Redis, *, prefix: str = "minhu:limit") -> None:
        self.redis = redis
        # One hash tag, so a script's keys stay in one slot on Redis Cluster.
        self._prefix = "{" + prefix + "}:"
        self._hit = redis.register_script(_HIT)
        self._undo = redis.register_script(_UNDO)

    async def hit(self, checks: Sequence[Check], now: datetime) -> Verdict:
        args: list[str | int] = [repr(now.timestamp())]
        for _, rule in checks:
            delay = rule.max_delay.total_seconds() if rule.max_delay is not None else -1.0
            args += [rule.limit, repr(rule.window.total_seconds()), repr(delay)]
        keys = [self._prefix + key for key, _ in checks]
        allowed, wait = await self._hit(keys=keys, args=args)
        return Verdict(bool(int(allowed)), float(wait))

    async def undo(self, keys: Sequence[str]) -> None:
        await self._undo(keys=[self._prefix + key for key in keys])

    async def prune(self, now: datetime) -> int:
        return 0  # keys expire by themselves

    async def aclose(self) -> None:
        await self.redis.aclose()


def build_limiter(settings: Settings, sessions: SessionFactory, dialect: str) -> Limiter:
    """Redis when `MINHU_REDIS_URL` is set, the database otherwise; the caller closes it."""
    if settings.redis_url:
        from redis.asyncio import Redis

        return RedisLimiter(Redis.from_url(settings.redis_url, decode_responses=True))
    return DatabaseLimiter(sessions, dialect)


@dataclass(frozen=True)
class WebLimits:
    """The rules the console applies (tests and the benchmark pass others)."""

    sign_in_name: Rule = Rule(5, timedelta(minutes=15), max_delay=timedelta(minutes=5))
    sign_in_address: Rule = Rule(20, timedelta(minutes=15), max_delay=timedelta(minutes=15))
    sign_in_everyone: Rule = Rule(100, timedelta(minutes=15), max_delay=timedelta(seconds=10))
    new_residents_per_address: Rule = Rule(20, timedelta(hours=1))
    photos: Rule = Rule(20, timedelta(hours=1))
    open311_posts: Rule = Rule(60, timedelta(minutes=1))

    @classmethod
    def from_settings(cls, settings: Settings) -> WebLimits:
        hour = timedelta(hours=1)
        return cls(
            new_residents_per_address=Rule(settings.web_new_residents_per_hour, hour),
            photos=Rule(settings.web_photos_per_hour, hour),
            open311_posts=Rule(settings.open311_posts_per_minute, timedelta(minutes=1)),
        )

    def sign_in(self, name_key: str, address: str) -> list[Check]:
        return [
            (bucket_key("sign-in", "*"), self.sign_in_everyone),
            (bucket_key("sign-in-address", address), self.sign_in_address),
            (bucket_key("sign-in-name", name_key), self.sign_in_name),
        ]

    def new_resident(self, address: str) -> list[Check]:
        return [(bucket_key("new-resident", address), self.new_residents_per_address)]

    def photo(self, user_id: str, address: str) -> list[Check]:
        return [
            (bucket_key("photo-resident", user_id), self.photos),
            (bucket_key("photo-address", address), self.photos),
        ]

    def open311_post(self, key_id: int) -> list[Check]:
        return [(bucket_key("open311-key", str(key_id)), self.open311_posts)]


_TABLE = RateLimit.__table__
_UPDATE_BUCKET = (
    update(_TABLE)
    .where(_TABLE.c.key == bindparam("b_key"))
    .values(
        hits=bindparam("b_hits"),
        window_start=bindparam("b_window_start"),
        not_before=bindparam("b_not_before"),
        expires_at=bindparam("b_expires_at"),
    )
)
