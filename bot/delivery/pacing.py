"""Pacing: when the next message may go out, so Telegram never has to tell us to slow down.

Three limits (Telegram's published guidance): about 30 messages a second over all chats, one a
second per chat, and 20 a minute per group chat (group ids are negative). Each message asks for a
slot before it is sent:

- the global limit is a GCRA schedule without burst: slots are at least `1/per_second` apart, so
  no window of one second ever holds more than `per_second` of them, even right after a lull;
- the per-chat limit is the chat's own next allowed time;
- the group limit is a sliding window: the last 20 slots of the group, the 21st only a minute
  after the oldest of them.

A message whose chat or group is not free when the next global slot comes is *not* given a slot:
reserving it would leave a hole in the global schedule that no other chat could use. The caller
gets the time the chat is free and defers that message, so the global schedule stays dense.

A 429 from Telegram pauses everybody (`pause`): its flood control is mostly per bot, not per chat.

`MemoryPacer` keeps the schedule in the process; `RedisPacer` keeps it in Redis behind one Lua
script, so several processes share one budget. Times are seconds since the epoch taken from the
injected clock (the Redis script does not read the server's clock), so tests can drive both.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.settings import Settings

# Telegram counts arrivals, we count departures: network and event-loop jitter can bring two sends
# closer together than we spaced them. Pacing a little under the limit absorbs that: at 95%, 30
# messages span 1.05 s, so a send may arrive up to ~50 ms late before a second holds 31 (at 97%
# and 96%, 10,000 messages on a busy 2-core machine still drew 4 429s from a strict server).
HEADROOM = 0.95
GROUP_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class PaceLimits:
    per_second: float = 30.0
    per_chat_seconds: float = 1.0
    per_group_minute: int = 20

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second

    @classmethod
    def from_settings(cls, settings: Settings, headroom: float = HEADROOM) -> PaceLimits:
        """The settings' limits, paced `headroom` under them."""
        return cls(
            per_second=settings.send_per_second * headroom,
            per_chat_seconds=settings.send_per_chat_seconds / headroom,
            per_group_minute=max(1, math.floor(settings.send_per_group_minute * headroom)),
        )


@dataclass(frozen=True)
class Slot:
    """`granted`: the message may go out at `at` (the slot is taken). Otherwise its chat or group
    is busy until `at` and nothing was reserved."""

    at: float
    granted: bool


class Pacer(Protocol):
    limits: PaceLimits

    async def reserve(self, chat_id: str, now: float) -> Slot: ...

    async def pause(self, now: float, seconds: float) -> None:
        """Nobody sends in the next `seconds` (a 429's retry_after)."""
        ...


def is_group(chat_id: str) -> bool:
    """Telegram's group, supergroup and channel ids are negative; people's are positive."""
    return chat_id.startswith("-")


class MemoryPacer:
    """The schedule in this process's memory: right for one delivery process."""

    # Past this many remembered chats, forget the ones already free again.
    _PRUNE_AT = 10_000

    def __init__(self, limits: PaceLimits) -> None:
        self.limits = limits
        self._next_global = 0.0
        self._paused_until = 0.0
        self._chat_free_at: dict[str, float] = {}
        self._group_slots: dict[str, deque[float]] = {}
        self._prune_at = self._PRUNE_AT

    async def reserve(self, chat_id: str, now: float) -> Slot:
        limits = self.limits
        earliest = max(now, self._next_global, self._paused_until)
        chat_free = self._chat_free_at.get(chat_id, 0.0)
        slots = self._group_slots.get(chat_id) if is_group(chat_id) else None
        if slots is not None and len(slots) >= limits.per_group_minute:
            chat_free = max(chat_free, slots[0] + GROUP_WINDOW_SECONDS)
        if chat_free > earliest + limits.interval:
            return Slot(chat_free, granted=False)
        at = max(earliest, chat_free)
        self._next_global = at + limits.interval
        self._chat_free_at[chat_id] = at + limits.per_chat_seconds
        if is_group(chat_id):
            window = self._group_slots.setdefault(chat_id, deque(maxlen=limits.per_group_minute))
            window.append(at)
        if len(self._chat_free_at) > self._prune_at:
            self._prune(now)
        return Slot(at, granted=True)

    async def pause(self, now: float, seconds: float) -> None:
        self._paused_until = max(self._paused_until, now + seconds)

    def _prune(self, now: float) -> None:
        self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}
        self._group_slots = {
            c: s for c, s in self._group_slots.items() if s and s[-1] + GROUP_WINDOW_SECONDS > now
        }
        # Many chats still busy: prune again only when the map has doubled, not at every slot.
        self._prune_at = max(self._PRUNE_AT, 2 * len(self._chat_free_at))


# KEYS: global next slot, pause-until, chat free-at, group slot list ("" if not a group)
# ARGV: now, interval, per-chat gap, group limit, group window
# Returns {granted (0/1), slot time as a string}: Lua numbers would come back truncated to integers
# (%.17g keeps every bit of the double, so the spacing does not drift).
_RESERVE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local gap = tonumber(ARGV[3])
local group_limit = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local earliest = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'),
                          tonumber(redis.call('GET', KEYS[2]) or '0'))
local chat_free = tonumber(redis.call('GET', KEYS[3]) or '0')
local group = KEYS[4] ~= ''
if group and redis.call('LLEN', KEYS[4]) >= group_limit then
  local oldest = tonumber(redis.call('LINDEX', KEYS[4], group_limit - 1))
  chat_free = math.max(chat_free, oldest + window)
end
if chat_free > earliest + interval then
  return {0, string.format('%.17g', chat_free)}
end
local at = math.max(earliest, chat_free)
local function ms(seconds) return math.ceil(seconds * 1000) + 1000 end
redis.call('SET', KEYS[1], string.format('%.17g', at + interval), 'PX', ms(at + interval - now))
redis.call('SET', KEYS[3], string.format('%.17g', at + gap), 'PX', ms(at + gap - now))
if group then
  redis.call('LPUSH', KEYS[4], string.format('%.17g', at))
  redis.call('LTRIM', KEYS[4], 0, group_limit - 1)
  redis.call('PEXPIRE', KEYS[4], ms(at + window - now))
end
return {1, string.format('%.17g', at)}
"""

# KEYS: pause-until. ARGV: until, now. Only ever moves the pause later.
_PAUSE = """
local resume = tonumber(ARGV[1])
if resume > tonumber(redis.call('GET', KEYS[1]) or '0') then
  local ttl = math.ceil((resume - tonumber(ARGV[2])) * 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.17g', resume), 'PX', math.max(ttl, 1000))
end
return 1
"""


class RedisPacer:
    """The schedule in Redis: every process delivering for one bot shares one budget. One script
    call per slot, atomic on the server, so two processes can never take the same slot."""

    def __init__(
        self, redis: Redis, limits: PaceLimits, *, prefix: str = "minhu:pace:telegram"
    ) -> None:
        self.limits = limits
        self.redis = redis
        # One hash tag, so the keys stay in one slot on Redis Cluster (a script's keys must).
        self._prefix = "{" + prefix + "}"
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)

    async def reserve(self, chat_id: str, now: float) -> Slot:
        limits = self.limits
        keys = [
            f"{self._prefix}:next",
            f"{self._prefix}:paused",
            f"{self._prefix}:chat:{chat_id}",
            f"{self._prefix}:group:{chat_id}" if is_group(chat_id) else "",
        ]
        args = [
            repr(now),
            repr(limits.interval),
            repr(limits.per_chat_seconds),
            limits.per_group_minute,
            repr(GROUP_WINDOW_SECONDS),
        ]
        granted, at = await self._reserve(keys=keys, args=args)
        return Slot(float(at), granted=bool(int(granted)))

    async def pause(self, now: float, seconds: float) -> None:
        await self._pause(keys=[f"{self._prefix}:paused"], args=[repr(now + seconds), repr(now)])

    async def aclose(self) -> None:
        await self.redis.aclose()


def build_pacer(settings: Settings, channel: str = "telegram") -> MemoryPacer | RedisPacer:
    """The Redis pacer when `MINHU_REDIS_URL` is set (several processes share one budget), the
    in-process one otherwise. The caller closes a RedisPacer (`aclose`) at shutdown."""
    limits = PaceLimits.from_settings(settings)
    if settings.redis_url:
        from redis.asyncio import Redis

        client = Redis.from_url(settings.redis_url, decode_responses=True)
        return RedisPacer(client, limits, prefix=f"minhu:pace:{channel}")
    return MemoryPacer(limits)
