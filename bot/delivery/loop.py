"""The delivery loop: claim due outbox rows, pace, send, record — one message at a time.

A pass claims a batch (a lease: `next_attempt_at` pushed `lease` seconds ahead, committed before
anything is sent), asks the pacer for each message's slot, sleeps until it, sends, and records the
outcome in its own short transaction right after the send. Several sends may be in flight at once
(`concurrency`), and the next batch is claimed while the last one's sends finish, so the schedule
has no gap between batches. A message whose chat is busy (1/s per chat, 20/min per group) is handed
back, due when the chat is free, instead of holding up the others. Slots are handed out one by one;
on top of the pacer, the loop counts the sends that actually left in the last second, because a
late wake-up (busy event loop) would otherwise put two slots' sends close together.

Outcomes: sent → `sent_at`; `RetryAfter` (429) → due again after `retry_after` and the whole pacer
paused that long (Telegram's flood control is mostly per bot), not counted as an attempt;
`TemporaryFailure` or any unexpected error → exponential backoff with jitter, parked after
`max_attempts`; `ChatUnreachable` → parked at once. Parked rows keep their error for staff
(`storage.outbox.parked_messages`) and are never retried.

Crash windows (a process can die anywhere):
- after the claim commits, before the send: the row's lease runs out and any deliverer claims it
  again — late by at most `lease`, never lost;
- during the send, or after it and before `mark_sent` commits: the row is claimed again after the
  lease and sent a second time. This is the only way to a double. It is kept to one send's
  round trip plus one small UPDATE per message (no batching of marks), and it covers only the
  messages in flight at the moment of the crash (at most `concurrency`). A send that times out
  or drops its connection has the same unknowable outcome and is retried the same way: Telegram's
  sendMessage has no idempotency key, so "at most once" cannot be had without risking "never";
- two live deliverers: claims skip each other's rows (SKIP LOCKED on PostgreSQL, the single
  writer on SQLite), and a deliverer never *starts* a send later than `send_timeout` before its
  lease ends, with sends cut off at `send_timeout` — so a lease cannot expire under a running send
  and a row cannot be sent by two live processes.

A stop (`deliver_forever`'s event: SIGTERM) claims nothing more and starts no send: the messages
claimed and not yet started are released, due at once for whoever delivers next, and the sends in
flight are waited for and recorded — a message Telegram has taken is marked sent, never released
to be sent again. A send that has no answer within `stop_grace` is cut off and retried like a
timeout (the one case left where a stop may double a message), so a stop takes seconds, not a
`send_timeout`. The channel must keep its HTTP session open until the loop has returned: a
session closed under a send turns a delivered message into a failed one (see `service.py`).

Time comes from the injected clock and every wait goes through the injected `sleep`, so tests run
the loop in virtual time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.delivery.pacing import Pacer
from bot.delivery.sending import ChatUnreachable, RetryAfter, Sender, TemporaryFailure
from storage import outbox
from storage.engine import SessionFactory
from tickets.clock import Clock

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# A message held behind its chat's earlier one falls due this much after it.
_BEHIND = 0.001
# Never poll more often than this, even when something is due at once.
_SHORTEST_IDLE = 0.05
# Epoch seconds as floats: differences this small are rounding, not lateness.
_CLOCK_NOISE = 1e-4


@dataclass(frozen=True)
class DeliveryPolicy:
    # Small batches: turning a claimed batch into objects holds the event loop, and a send
    # written late while a later one goes on time crowds Telegram's one-second window.
    batch: int = 50
    lease_seconds: float = 120.0
    # A send longer than this is cut off (and retried); no send starts later than this before
    # its lease ends. Must stay well under `lease_seconds`.
    send_timeout: float = 30.0
    max_attempts: int = 8
    backoff_base: float = 5.0
    backoff_cap: float = 1800.0
    concurrency: int = 16
    idle_seconds: float = 1.0
    # A 429 without a usable retry_after still waits this long.
    min_retry_after: float = 1.0
    # On stop, how long the sends in flight may take to answer before they are cut off.
    stop_grace: float = 5.0


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    parked: int = 0
    deferred: int = 0

    def add(self, other: DeliveryReport) -> None:
        for name in ("sent", "retried", "rate_limited", "parked", "deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff_seconds(attempt: int, policy: DeliveryPolicy, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half the delay is fixed (a floor, so retries never
    hammer), half random (so many failed messages do not come back in one wave)."""
    delay = min(policy.backoff_cap, policy.backoff_base * 2 ** max(0, attempt - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


class Deliverer:
    """One channel's delivery loop. Build one per process; several may share one database."""

    def __init__(
        self,
        sessions: SessionFactory,
        sender: Sender,
        pacer: Pacer,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        *,
        channel: str = "telegram",
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.pacer = pacer
        self.clock = clock
        self.sleep = sleep
        self.channel = channel
        self.policy = policy or DeliveryPolicy()
        self.rng = rng or random.Random()
        # A 429 seen here also holds back a slot reserved before it came in.
        self._paused_until = 0.0
        self._in_flight = asyncio.Semaphore(self.policy.concurrency)
        # When the last sends actually left (see `_keep_the_window`).
        self._window_limit = math.ceil(pacer.limits.per_second)
        self._departures: deque[float] = deque(maxlen=self._window_limit)
        self._sends: set[asyncio.Task[None]] = set()
        # The send timeouts in flight, so a stop can bring them forward (`_settle`).
        self._deadlines: set[asyncio.Timeout] = set()
        self._stop: asyncio.Event | None = None
        # Chats whose message was put back for later (429, a failure): chat → (that message,
        # when it is due again). The chat's later messages wait until it is sent or parked, so
        # a chat reads its messages in the order they were queued.
        self._held: dict[str, tuple[int, float]] = {}

    async def deliver_once(self) -> DeliveryReport:
        """Deliver what is due now, batch after batch, and return what happened."""
        report = DeliveryReport()
        while True:
            now = self.clock.now()
            lease_until = now + timedelta(seconds=self.policy.lease_seconds)
            async with self.sessions() as session:
                claimed = await outbox.claim_due(
                    session,
                    channel=self.channel,
                    now=now,
                    lease_until=lease_until,
                    limit=self.policy.batch,
                )
                await session.commit()
            if claimed:
                # The batch's last sends may still be in flight while the next batch is
                # claimed, so the schedule has no gap between batches.
                await self._deliver_batch(claimed, lease_until, report)
            if len(claimed) < self.policy.batch or self._stopping():
                await self._settle()
                return report

    async def next_due_in(self) -> float | None:
        """Seconds until the next pending message falls due; None when nothing is pending."""
        async with self.sessions() as session:
            due = await outbox.next_attempt_at(session, channel=self.channel)
        return None if due is None else max(0.0, (due - self.clock.now()).total_seconds())

    async def deliver_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a failed pass (database down) is logged and retried.
        Returns once the sends in flight at the stop are answered and recorded (or cut off
        after `stop_grace`), and the messages claimed but not sent are released."""
        self._stop = stop
        while not stop.is_set():
            idle = self.policy.idle_seconds
            try:
                report = await self.deliver_once()
                if report.parked:
                    log.warning("delivery: %d messages parked", report.parked)
                due = await self.next_due_in()
                if due is not None:
                    # A deferred message (busy chat) or a retry comes due before the next poll.
                    idle = min(idle, max(due, _SHORTEST_IDLE))
            except Exception:
                log.exception("delivery pass failed")
            await self._idle(stop, idle)

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        await _first(self.sleep(seconds), stop)

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _nap(self, seconds: float) -> bool:
        """Sleep unless a stop comes first; True when the whole nap was had."""
        if self._stop is None:
            await self.sleep(seconds)
            return True
        return await _first(self.sleep(seconds), self._stop)

    async def _deliver_batch(
        self, claimed: list[outbox.ClaimedMessage], lease_until: datetime, report: DeliveryReport
    ) -> None:
        deferred: list[tuple[int, float]] = []
        last_start = lease_until - timedelta(seconds=self.policy.send_timeout)
        for index, message in enumerate(claimed):
            if (behind := self._behind(message)) is not None:
                deferred.append((message.id, behind))
                continue
            wait_until = await self._wait_for_slot(message.chat_id)
            if wait_until is not None:
                deferred.append((message.id, wait_until))
                continue
            if (behind := self._behind(message)) is not None:
                # The chat's earlier message was refused while this one waited for its slot.
                deferred.append((message.id, behind))
                continue
            if not await self._take_a_send():
                # Stopped: this message and the rest go back, due at once for whoever
                # delivers next.
                due_now = self.clock.now().timestamp()
                deferred.extend((later.id, due_now) for later in claimed[index:])
                break
            if self.clock.now() > last_start:
                # Our lease is nearly over (a long 429 pause): the rest fall due again by
                # themselves when it ends; sending now could race another deliverer.
                self._in_flight.release()
                break
            send = asyncio.create_task(self._send_one(message, report))
            send.add_done_callback(self._sent)
            self._sends.add(send)
        if deferred:
            await self._release(deferred, lease_until)
            report.deferred += len(deferred)

    async def _take_a_send(self) -> bool:
        """A place among the sends in flight and the one-second window; False on a stop (and
        nothing is held)."""
        if not await _first(self._in_flight.acquire(), self._stop):
            return False
        await self._keep_the_window()
        if self._stopping():
            self._in_flight.release()
            return False
        return True

    async def _wait_for_slot(self, chat_id: str) -> float | None:
        """Wait for the chat's slot and any 429 pause; None when it is time to send, else when
        the chat is free again (the message goes back to the queue until then). A slot that a
        pause overtook is reserved anew: a chat's sends stay a gap apart however long the pause,
        instead of bunching up when it ends."""
        while True:
            now = self.clock.now().timestamp()
            slot = await self.pacer.reserve(chat_id, now)
            if not slot.granted:
                return slot.at
            if slot.at > now and not await self._nap(slot.at - now):
                return None  # stopped: the caller hands the message back
            if self.clock.now().timestamp() >= self._paused_until:
                return None
            while (now := self.clock.now().timestamp()) < self._paused_until:
                if not await self._nap(self._paused_until - now):
                    return None

    async def _keep_the_window(self) -> None:
        """Telegram counts messages in any one-second window. The pacer spaces the slots, but a
        late wake-up (a busy event loop) sends one slot late and the next on time, close
        together; this counts what actually left in the last second and waits if need be."""
        departures, limit = self._departures, self._window_limit
        while len(departures) == limit:
            wait = departures[0] + 1.0 - self.clock.now().timestamp()
            if wait <= _CLOCK_NOISE or not await self._nap(wait):
                break
        departures.append(self.clock.now().timestamp())

    def _sent(self, send: asyncio.Task[None]) -> None:
        self._in_flight.release()
        self._sends.discard(send)
        if not send.cancelled() and send.exception() is not None:
            # Sent or not, the record did not commit (database gone): the lease brings the
            # message back; the next pass finds out whether the database is back.
            log.error("delivery: recording an outcome failed: %s", type(send.exception()).__name__)

    async def _settle(self) -> None:
        """Wait for every send in flight to be sent and recorded. On a stop, a send still
        unanswered after `stop_grace` is cut off as if its timeout had come."""
        if self._sends and not await _first(asyncio.wait(set(self._sends)), self._stop):
            # Stopped while they were in flight: they get the grace, then are cut off.
            grace = self.sleep(self.policy.stop_grace)
            if not await _first(asyncio.wait(set(self._sends)), None, grace):
                log.warning(
                    "delivery: stopping, %d sends unanswered after %g s are cut off",
                    len(self._deadlines),
                    self.policy.stop_grace,
                )
                now = asyncio.get_running_loop().time()
                for deadline in list(self._deadlines):
                    deadline.reschedule(now)
        while self._sends:
            await asyncio.wait(set(self._sends))

    async def _send_one(self, message: outbox.ClaimedMessage, report: DeliveryReport) -> None:
        try:
            async with asyncio.timeout(self.policy.send_timeout) as deadline:
                self._deadlines.add(deadline)
                try:
                    await self.sender.send(message.chat_id, message.body)
                finally:
                    self._deadlines.discard(deadline)
        except TimeoutError:
            # No answer: it may or may not have arrived; sendMessage cannot be asked again
            # safely, so it is retried like any failure (see "Crash windows").
            log.info("outbox %d: no answer in time, retried later", message.id)
            await self._failed(message, "TimeoutError: no answer in time", report)
        except RetryAfter as error:
            await self._rate_limited(message, error, report)
        except ChatUnreachable as error:
            await self._park(message, _describe(error), report)
        except TemporaryFailure as error:
            await self._failed(message, _describe(error), report)
        except Exception as error:
            # A bug in a sender or an odd body: retried, then parked, never lost or looping.
            log.warning("outbox %d: sender raised %s", message.id, type(error).__name__)
            await self._failed(message, _describe(error), report)
        else:
            self._release_hold(message)
            await self._record(outbox.mark_sent, message.id, self.clock.now())
            report.sent += 1
            log.debug("outbox %d sent to chat %s", message.id, message.chat_id)

    async def _rate_limited(
        self, message: outbox.ClaimedMessage, error: RetryAfter, report: DeliveryReport
    ) -> None:
        seconds = max(self.policy.min_retry_after, float(error.seconds))
        now = self.clock.now()
        self._paused_until = max(self._paused_until, now.timestamp() + seconds)
        await self.pacer.pause(now.timestamp(), seconds)
        at = now + timedelta(seconds=seconds)
        self._hold(message, at)
        await self._record(
            outbox.retry_later, message.id, at=at, error=_describe(error), counts_as_attempt=False
        )
        report.rate_limited += 1
        log.info("delivery: 429, everyone waits %.1f s", seconds)

    async def _failed(
        self, message: outbox.ClaimedMessage, error: str, report: DeliveryReport
    ) -> None:
        attempt = message.attempts + 1
        if attempt >= self.policy.max_attempts:
            await self._park(message, error, report)
            return
        delay = backoff_seconds(attempt, self.policy, self.rng)
        at = self.clock.now() + timedelta(seconds=delay)
        self._hold(message, at)
        await self._record(outbox.retry_later, message.id, at=at, error=error)
        report.retried += 1

    def _hold(self, message: outbox.ClaimedMessage, until: datetime) -> None:
        held = self._held.get(message.chat_id)
        if held is None or held[0] == message.id:
            self._held[message.chat_id] = (message.id, until.timestamp())

    def _release_hold(self, message: outbox.ClaimedMessage) -> None:
        if self._held.get(message.chat_id, (None,))[0] == message.id:
            del self._held[message.chat_id]

    def _behind(self, message: outbox.ClaimedMessage) -> float | None:
        """When `message` may go if an earlier message of its chat waits for a retry, else None.
        A hold outlives its retry time by a lease at most (another deliverer may have it)."""
        held = self._held.get(message.chat_id)
        if held is None or held[0] == message.id:
            return None
        due, now = held[1], self.clock.now().timestamp()
        if due + self.policy.lease_seconds < now:
            del self._held[message.chat_id]
            return None
        return max(due, now) + _BEHIND

    async def _park(
        self, message: outbox.ClaimedMessage, error: str, report: DeliveryReport
    ) -> None:
        self._release_hold(message)
        await self._record(outbox.park, message.id, now=self.clock.now(), error=error)
        report.parked += 1
        log.info("outbox %d parked for chat %s", message.id, message.chat_id)

    async def _record(self, write: Callable[..., Awaitable[None]], *args, **kwargs) -> None:
        # Its own transaction, committed at once: the smaller the gap between a send and its
        # record, the fewer messages a crash can double.
        async with self.sessions() as session:
            await write(session, *args, **kwargs)
            await session.commit()

    async def _release(self, deferred: list[tuple[int, float]], lease_until: datetime) -> None:
        async with self.sessions() as session:
            for message_id, free_at in deferred:
                at = datetime.fromtimestamp(free_at, UTC)
                await outbox.release(session, message_id, lease_until=lease_until, at=at)
            await session.commit()


async def _first(
    work: Awaitable[object], stop: asyncio.Event | None, other: Awaitable[object] | None = None
) -> bool:
    """Await `work` until it finishes, `stop` is set or `other` finishes, whichever comes
    first; the losers are cancelled. True when `work` finished."""
    task = asyncio.ensure_future(work)
    racers = {task}
    if stop is not None:
        racers.add(asyncio.ensure_future(stop.wait()))
    if other is not None:
        racers.add(asyncio.ensure_future(other))
    try:
        done, _ = await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for racer in racers:
            racer.cancel()
    return task in done


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def deliver_once(
    sessions: SessionFactory,
    sender: Sender,
    pacer: Pacer,
    clock: Clock,
    sleep: Sleep = asyncio.sleep,
    *,
    channel: str = "telegram",
    policy: DeliveryPolicy | None = None,
) -> DeliveryReport:
    """What is due now, delivered (`minhu worker --once`, tests)."""
    deliverer = Deliverer(sessions, sender, pacer, clock, sleep, channel=channel, policy=policy)
    return await deliverer.deliver_once()


async def deliver_forever(
    sessions: SessionFactory,
    sender: Sender,
    pacer: Pacer,
    clock: Clock,
    stop: asyncio.Event,
    sleep: Sleep = asyncio.sleep,
    *,
    channel: str = "telegram",
    policy: DeliveryPolicy | None = None,
) -> None:
    """The delivery loop of `minhu run` / `minhu worker`, until `stop` is set."""
    deliverer = Deliverer(sessions, sender, pacer, clock, sleep, channel=channel, policy=policy)
    await deliverer.deliver_forever(stop)
