"""The delivery loop against the real database, in virtual time: everything sent once, pacing
kept, 429s honoured, failures backed off and parked, leases surviving a crash."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import timedelta

from bot.delivery.loop import Deliverer, DeliveryPolicy, backoff_seconds
from bot.delivery.pacing import MemoryPacer, PaceLimits, Slot
from bot.delivery.sending import RetryAfter, TemporaryFailure
from storage import outbox
from tests.bot.delivery_kit import RecordingSender, drain, queue, rows, virtual_sleep
from tickets.clock import SystemClock

TELEGRAM = PaceLimits(per_second=30, per_chat_seconds=1, per_group_minute=20)


def deliverer(sessions, clock, sender, *, policy=None, limits=TELEGRAM, pacer=None) -> Deliverer:
    return Deliverer(
        sessions,
        sender,
        pacer or MemoryPacer(limits),
        clock,
        virtual_sleep(clock),
        policy=policy or DeliveryPolicy(batch=50),
        rng=random.Random(7),
    )


def most_in_window(times: list[float], window: float) -> int:
    """The most `times` in any half-open window of `window` seconds. Epoch seconds as floats and a
    microsecond clock blur the edges by about a microsecond, so that much counts as outside."""
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window - 2e-6:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_every_message_is_sent_once_and_other_channels_are_left_alone(sessions, clock):
    chats = [str(1000 + index % 40) for index in range(200)] + ["-500"] * 5
    texts = await queue(sessions, clock.now(), chats)
    await queue(sessions, clock.now(), ["web-1", "web-2"], channel="web", prefix="w")
    sender = RecordingSender(clock)

    report = await drain(deliverer(sessions, clock, sender), clock)

    assert sorted(text for _, text, _ in sender.sent) == sorted(texts)
    assert report.sent == len(texts)
    stored = await rows(sessions)
    assert all(stored[text].sent_at is not None and stored[text].attempts == 1 for text in texts)
    assert stored["w0"].sent_at is None and stored["w1"].sent_at is None


async def test_each_chat_keeps_its_order(sessions, clock):
    chats = ["1", "2", "1", "1", "2", "1"]
    texts = await queue(sessions, clock.now(), chats)
    sender = RecordingSender(clock)
    await drain(deliverer(sessions, clock, sender), clock)
    for chat in ("1", "2"):
        mine = [text for text, c in zip(texts, chats, strict=True) if c == chat]
        assert [text for c, text, _ in sender.sent if c == chat] == mine


async def test_pacing_global_per_chat_and_per_group(sessions, clock):
    start = clock.now().timestamp()
    # 600 people, two messages each, and a busy group with 45 messages.
    people = [str(10_000 + index % 600) for index in range(1200)]
    chats = people[:300] + ["-42"] * 45 + people[300:]
    await queue(sessions, clock.now(), chats)
    sender = RecordingSender(clock)

    await drain(deliverer(sessions, clock, sender), clock)

    times = [moment for _, _, moment in sender.sent]
    assert len(times) == len(chats)
    assert most_in_window(times, 1.0) <= 30
    for chat in set(chats):
        mine = sorted(moment for c, _, moment in sender.sent if c == chat)
        assert all(b - a >= 1.0 - 1e-6 for a, b in itertools.pairwise(mine))
    group = [moment for c, _, moment in sender.sent if c == "-42"]
    assert most_in_window(group, 60.0) <= 20
    # The people's 1,200 messages do not wait for the group: they go at the full rate.
    people_done = max(moment for c, _, moment in sender.sent if c != "-42")
    assert people_done - start <= len(people) / 30 + 2


async def test_a_429_pauses_everyone_and_loses_nothing(sessions, clock):
    texts = await queue(sessions, clock.now(), [str(chat) for chat in range(100)])
    sender = RecordingSender(clock, failures={10: RetryAfter(7)})

    report = await drain(deliverer(sessions, clock, sender), clock)

    assert sorted(text for _, text, _ in sender.sent) == sorted(texts)
    assert report.rate_limited == 1
    limited_at = sender.calls[9][2]
    assert not [moment for _, _, moment in sender.calls if limited_at < moment < limited_at + 7]
    stored = await rows(sessions)
    limited = stored[sender.calls[9][1]]
    # The 429 was the channel's state, not the message's fault: one attempt, the successful one.
    assert limited.attempts == 1 and limited.sent_at is not None


async def test_temporary_failures_back_off_exponentially_then_succeed(sessions, clock):
    await queue(sessions, clock.now(), ["7"])
    failures = {call: TemporaryFailure("Bad Gateway") for call in (1, 2, 3)}
    sender = RecordingSender(clock, failures=failures)
    policy = DeliveryPolicy(backoff_base=10, max_attempts=8)

    await drain(deliverer(sessions, clock, sender, policy=policy), clock)

    times = [moment for _, _, moment in sender.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(sender.sent) == 1 and len(times) == 4
    for attempt, gap in enumerate(gaps, start=1):
        full = 10 * 2 ** (attempt - 1)
        assert full / 2 <= gap <= full + 0.1
    stored = (await rows(sessions))["m0"]
    assert stored.attempts == 4 and stored.last_error is None


def test_backoff_is_capped_and_jittered():
    policy = DeliveryPolicy(backoff_base=5, backoff_cap=60)
    rng = random.Random(1)
    delays = [backoff_seconds(20, policy, rng) for _ in range(50)]
    assert all(30 <= delay <= 60 for delay in delays)
    assert len({round(delay, 3) for delay in delays}) > 40


async def test_unreachable_chats_park_at_once_and_failing_ones_after_max_attempts(sessions, clock):
    await queue(sessions, clock.now(), ["1", "2", "3"])
    sender = RecordingSender(clock, blocked={"1"})
    always = {call: TemporaryFailure("Internal Server Error") for call in range(2, 200)}
    sender.failures = always  # everything after the first call fails
    policy = DeliveryPolicy(max_attempts=3, backoff_base=1)

    report = await drain(deliverer(sessions, clock, sender, policy=policy), clock)

    stored = await rows(sessions)
    assert report.parked == 3 and not sender.sent
    blocked = stored["m0"]
    assert blocked.parked_at is not None and blocked.attempts == 1
    assert "blocked" in (blocked.last_error or "")
    for text in ("m1", "m2"):
        assert stored[text].attempts == 3 and stored[text].parked_at is not None
        assert "Internal Server Error" in (stored[text].last_error or "")
    calls = len(sender.calls)
    clock.advance(timedelta(days=3))
    await deliverer(sessions, clock, sender, policy=policy).deliver_once()
    assert len(sender.calls) == calls


async def test_a_claim_whose_deliverer_died_is_sent_after_the_lease(sessions, clock):
    await queue(sessions, clock.now(), ["1"])
    async with sessions() as session:  # a deliverer claims, commits, and dies
        claimed = await outbox.claim_due(
            session,
            channel="telegram",
            now=clock.now(),
            lease_until=clock.now() + timedelta(seconds=120),
            limit=10,
        )
        await session.commit()
    assert len(claimed) == 1
    sender = RecordingSender(clock)
    live = deliverer(sessions, clock, sender)

    clock.advance(timedelta(seconds=119))
    await live.deliver_once()
    assert not sender.calls
    clock.advance(timedelta(seconds=2))
    await live.deliver_once()
    assert [text for _, text, _ in sender.sent] == ["m0"]


async def test_a_long_pause_does_not_send_past_the_lease(sessions, clock):
    await queue(sessions, clock.now(), [str(chat) for chat in range(5)])
    sender = RecordingSender(clock, failures={1: RetryAfter(200)})
    live = deliverer(sessions, clock, sender, policy=DeliveryPolicy(lease_seconds=120))

    await live.deliver_once()

    # The 429 paused sending beyond the lease: the others were not sent under an expired lease.
    assert len(sender.calls) == 1
    report = await drain(live, clock)
    assert report.sent == 5 and len(sender.sent) == 5


async def test_two_deliverers_never_send_a_message_twice(sessions):
    clock = SystemClock()
    texts = await queue(sessions, clock.now(), [str(chat) for chat in range(400)])
    sent: list[str] = []

    class SlowSender:
        async def send(self, chat_id, body) -> None:
            await asyncio.sleep(0.001)
            sent.append(body["text"])

    fast = PaceLimits(per_second=100_000, per_chat_seconds=0, per_group_minute=1000)
    policy = DeliveryPolicy(batch=25, concurrency=4)
    pair = [
        Deliverer(sessions, SlowSender(), MemoryPacer(fast), clock, policy=policy) for _ in range(2)
    ]

    reports = await asyncio.gather(*(one.deliver_once() for one in pair))

    assert sorted(sent) == sorted(texts)
    assert all(report.sent > 0 for report in reports) or len(texts) <= policy.batch


async def test_late_slots_never_crowd_a_second(sessions, clock):
    """However late the slots come (a busy event loop), no second holds more than the limit."""

    class LatePacer:
        limits = TELEGRAM

        async def reserve(self, chat_id: str, now: float) -> Slot:
            return Slot(now, granted=True)  # everything at once, as if every wake-up were late

        async def pause(self, now: float, seconds: float) -> None:
            pass

    await queue(sessions, clock.now(), [str(chat) for chat in range(100)])
    sender = RecordingSender(clock)

    await drain(deliverer(sessions, clock, sender, pacer=LatePacer()), clock)

    times = [moment for _, _, moment in sender.sent]
    assert len(times) == 100
    assert most_in_window(times, 1.0) == 30


async def test_deliver_forever_picks_up_new_and_deferred_messages_until_stopped(sessions, clock):
    stop = asyncio.Event()
    texts = await queue(sessions, clock.now(), ["1", "1", "2"])
    sender = RecordingSender(clock)
    live = deliverer(sessions, clock, sender)
    running = asyncio.create_task(live.deliver_forever(stop))
    try:
        async with asyncio.timeout(30):
            while len(sender.sent) < len(texts):
                await asyncio.sleep(0)
            # A message queued while the loop idles is found on its next poll.
            texts += await queue(sessions, clock.now(), ["3"], prefix="late")
            while len(sender.sent) < len(texts):
                await asyncio.sleep(0)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert sorted(text for _, text, _ in sender.sent) == sorted(texts)
